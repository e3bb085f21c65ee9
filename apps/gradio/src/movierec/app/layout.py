"""The page: a header and five tabs, each built by its module in `movierec.app.tabs`.

Every handler goes through its tab's `Outputs.guard`, so bad input becomes a `gr.Warning` plus a
message in the page (never a traceback) and the server keeps serving. The page stays light: title
widgets open with the most rated titles and search every title on the server as the visitor types,
and the Benchmarks and Explore tabs draw their charts when first opened.
"""

from __future__ import annotations

import html
import os

import gradio as gr

from movierec.app import limits
from movierec.app.state import AppState
from movierec.app.tabs import benchmarks, explore, rate, similar, user

#: simultaneous runs of one handler; the handlers are short numpy calls on 2-core machines
CONCURRENCY_LIMIT = 4
QUEUE_MAX_SIZE = 256
CSS = """
.movierec-message p { margin: 0.2em 0; }
/* five star buttons on one line next to each title */
.movierec-stars .wrap { flex-wrap: nowrap !important; gap: 4px !important; }
.movierec-stars label { padding: 4px 9px !important; margin: 0 !important; }
.movierec-chart-summary p { font-size: 0.9em; margin: 0.1em 0 0.8em; }
/* widget labels dark enough to read on their tinted badges (WCAG AA contrast) */
[data-testid="block-info"], [data-testid="block-label"], .table-container .label p { color: #7a1212 !important; }
.gradio-container button.primary, .gradio-container label.selected {
  background: #b91c1c !important; border-color: #b91c1c !important; color: #ffffff !important;
}
.gradio-container label.selected span { color: #ffffff !important; }
[data-testid="max-value"], .info-text, footer a, footer button { color: #4b5563 !important; }
/* result tables (widgets.html_table): fixed column widths; one wider than a phone scrolls sideways in its
   box, which the keyboard can reach */
.movierec-table-box { overflow-x: auto; max-width: 100%; margin-bottom: 0.5em; }
.movierec-table-box table { table-layout: fixed; min-width: 100%; border-collapse: collapse; }
.movierec-table-box caption { text-align: left; font-weight: 600; padding: 4px 0; }
.movierec-table-box th, .movierec-table-box td {
  padding: 6px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere;
  border-bottom: 1px solid var(--border-color-primary, #e5e7eb);
}
.movierec-table-box thead th { background: var(--background-fill-secondary, #f3f4f6); }
.movierec-table-box tbody tr:nth-child(even) { background: var(--table-even-background-fill, #fafafa); }
/* a phone (390 px): smaller type and tighter margins, so tables and charts keep their width */
@media (max-width: 640px) {
  .movierec-table-box { font-size: 0.85em; }
  .movierec-stars label { padding: 4px 7px !important; }
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
  /* twenty engine names do not fit a phone's scatter without covering each other: there a point is
     named on touch, and the table under the chart lists every engine */
  .movierec-scatter .scatterlayer .textpoint { display: none; }
}
"""


#: names each star group (a fieldset Gradio draws without a legend) by its label, "Stars for <movie>",
#: and keeps the name in step as the label follows the picked title
NAME_GROUPS_JS = """() => {
  const name = () => {
    document.querySelectorAll("fieldset.movierec-stars").forEach((group) => {
      const label = group.querySelector('[data-testid="block-info"]');
      if (label && group.getAttribute("aria-label") !== label.textContent.trim()) {
        group.setAttribute("aria-label", label.textContent.trim());
      }
    });
  };
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""
#: the line under the title that tells a first-time visitor where to start
HOW_TO = ("rate a few movies you know on *Rate a few movies yourself* and press *Recommend for me*; or pick a "
          "person from the data on *Recommend for a user*, or a title on *Similar titles*. *Benchmarks* shows how "
          "well each engine did in tests.")


def header(state: AppState) -> str:
    """The page header: dataset name (never a local path), its size, a synthetic-sample notice, the credit."""
    stats = state.dataset_stats
    text = (f"# movierec\nMovie recommendations on **{state.name}**: "
            f"{stats['ratings']:,} ratings by {stats['users']:,} users of {stats['movies']:,} movies.\n\n"
            f"**How to use this demo:** {HOW_TO}")
    if state.synthetic:
        text += ("\n\n**Synthetic sample:** the titles, overviews and ratings here are made up, generated to show "
                 "what the app does. They are not real movies.")
        if state.notice:
            text += f" ({html.escape(state.notice, quote=False)}.)"
    if state.dataset.spec.startswith("movielens:"):
        text += ("\n\nData: [MovieLens](https://grouplens.org/datasets/movielens/) by GroupLens Research, "
                 "University of Minnesota (F. M. Harper and J. A. Konstan, *The MovieLens Datasets: History and "
                 "Context*, ACM TiiS 5(4), 2015), used under its terms.")
    return text


def build_demo(state: AppState) -> gr.Blocks:
    """The five-tab Blocks app for `state` (call `.queue(...)` / `configure_queue` before launch)."""
    with gr.Blocks(title="movierec") as demo:
        gr.Markdown(header(state), elem_id="movierec-header")
        with gr.Tabs(overflow_behavior="wrap"):  # every tab reachable on a phone, not behind a menu
            with gr.Tab("Recommend for a user", id="user"):
                user.build(state)
            with gr.Tab("Rate a few movies yourself", id="rate"):
                rate.build(state)
            with gr.Tab("Similar titles", id="similar"):
                similar.build(state)
            with gr.Tab("Benchmarks", id="benchmarks") as tab:
                benchmarks.build(state, tab)
            with gr.Tab("Explore the data", id="explore") as tab:
                explore.build(state, tab)
        demo.load(None, None, None, js=NAME_GROUPS_JS, api_visibility="private")
    return demo


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """The queue settings the app is measured with (see docs/app.md)."""
    # Gradio's own variable still overrides the limit, so the benchmark can compare settings
    limit = int(os.environ.get("GRADIO_DEFAULT_CONCURRENCY_LIMIT", CONCURRENCY_LIMIT))
    return limits.guard_inputs(demo).queue(default_concurrency_limit=limit, max_size=QUEUE_MAX_SIZE)
