"""The page: five tabs of widgets wired to the plain functions in `callbacks` and `insights`.

Every handler goes through `_guard`, so bad input becomes a `gr.Warning` plus a message in the
page (never a traceback) and the server keeps serving.
"""

from __future__ import annotations

import functools
import html
import logging
import os
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from movierec.app import callbacks, insights
from movierec.app.callbacks import InputError
from movierec.app.state import AppState
from movierec.core.errors import MovierecError
from movierec.core.models import ENGINES

log = logging.getLogger(__name__)

RATE_ROWS = callbacks.MAX_RATED
RATE_VISIBLE_CHOICES = 3000  # per dropdown; ten dropdowns share the page
STARS = [1, 2, 3, 4, 5]
#: simultaneous runs of one handler; the handlers are short numpy calls on 2-core machines
CONCURRENCY_LIMIT = 4
QUEUE_MAX_SIZE = 256
RANKED_COLUMNS = ["rank", "title", "year", "score"]
RANKED_WIDTHS = ["8%", "62%", "15%", "15%"]
RECOMMENDATION_WIDTHS = ["8%", "30%", "9%", "10%", "43%"]
TOP_RATED_COLUMNS = ["title", "year", "rating", "date"]
TOP_RATED_WIDTHS = ["46%", "14%", "14%", "26%"]
SIMILAR_COLUMNS = ["rank", "title", "year", "score", "overview"]
SIMILAR_WIDTHS = ["7%", "25%", "8%", "9%", "51%"]
CSS = """
.movierec-message p { margin: 0.2em 0; }
/* five star buttons on one line next to each title */
.movierec-stars .wrap { flex-wrap: nowrap !important; gap: 4px !important; }
.movierec-stars label { padding: 4px 9px !important; margin: 0 !important; }
"""


def _warn(text: str) -> str:
    """Show `text` as a warning toast and return it for the page's message line."""
    safe = html.escape(text, quote=False)  # the toast renders HTML, and the text may quote what a visitor typed
    gr.Warning(safe)
    return f"**Note:** {safe}"


def _guard(empty: Callable[[str], tuple]) -> Callable[[Callable[..., tuple]], Callable[..., tuple]]:
    """Run a handler; on a user error show a warning and return `empty(message)` instead."""

    def decorate(handler: Callable[..., tuple]) -> Callable[..., tuple]:
        @functools.wraps(handler)
        def run(*args: Any, **kwargs: Any) -> tuple:
            try:
                return handler(*args, **kwargs)
            except (InputError, MovierecError) as error:
                return empty(_warn(str(error)))
            except (ValueError, KeyError) as error:  # e.g. a core check on k or an id
                log.info("rejected input: %s", error)
                return empty(_warn(str(error).strip("'\"")))
            except Exception as error:  # keep serving; the log has the traceback
                log.exception("handler %s failed", handler.__name__)
                return empty(_warn(f"something went wrong ({type(error).__name__}); please try again"))

        return run

    return decorate


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


def _gradio_progress(progress: gr.Progress) -> Callable[[float, str], None]:
    return lambda fraction, text: progress(fraction, desc=text)


def _engine_choices(names: list[str]) -> list[tuple[str, str]]:
    """Dropdown entries 'name: summary'; deep engines warn that their first use trains for a while."""
    slow = {name for name in names if ENGINES[name].family == "deep"}
    return [(f"{name}: {ENGINES[name].summary}" + (" (first use trains, about 30 s)" if name in slow else ""), name)
            for name in names]


def build_demo(state: AppState) -> gr.Blocks:
    """The five-tab Blocks app for `state` (call `.queue(...)` / `configure_queue` before launch)."""
    stats = state.dataset_stats
    with gr.Blocks(title="movierec") as demo:
        gr.Markdown(
            f"# movierec\nMovie recommendations on **{state.dataset.spec}**: "
            f"{stats['ratings']:,} ratings by {stats['users']:,} users of {stats['movies']:,} movies."
        )
        with gr.Tabs():
            with gr.Tab("Recommend for a user", id="user"):
                _user_tab(state)
            with gr.Tab("Rate a few movies yourself", id="rate"):
                _rate_tab(state)
            with gr.Tab("Similar titles", id="similar"):
                _similar_tab(state)
            with gr.Tab("Benchmarks", id="benchmarks"):
                _benchmark_tab(state)
            with gr.Tab("Explore the data", id="explore"):
                _explore_tab(state, demo)
    return demo


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """The queue settings the app is measured with (see docs/app.md)."""
    # Gradio's own variable still overrides the limit, so the benchmark can compare settings
    limit = int(os.environ.get("GRADIO_DEFAULT_CONCURRENCY_LIMIT", CONCURRENCY_LIMIT))
    return demo.queue(default_concurrency_limit=limit, max_size=QUEUE_MAX_SIZE)


# ----------------------------------------------------------------- tab 1
def _user_tab(state: AppState) -> None:
    default_engine = state.default_engine("item_knn")
    with gr.Row():
        user = gr.Dropdown(
            state.user_choices, value=state.user_choices[0] if state.user_choices else None,
            label="User id", info="type to search; any id of the dataset works",
            filterable=True, allow_custom_value=True, scale=2,
        )
        random_button = gr.Button("A random user", scale=1)
        engine = gr.Dropdown(_engine_choices(state.offered), value=default_engine, label="Engine", scale=3)
        k = gr.Slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2)
    button = gr.Button("Recommend", variant="primary")
    message = gr.Markdown(elem_classes="movierec-message")
    with gr.Row():
        with gr.Column(scale=3):
            table = gr.Dataframe(_empty(callbacks.RECOMMENDATION_COLUMNS), label="Recommendations", wrap=True,
                                 interactive=False, column_widths=RECOMMENDATION_WIDTHS, max_height=760)
            chart = gr.Plot(label="Recommendation scores")
        with gr.Column(scale=2):
            rated = gr.Dataframe(_empty(TOP_RATED_COLUMNS), label="Movies this user rated highest", wrap=True,
                                 interactive=False, column_widths=TOP_RATED_WIDTHS)

    @_guard(lambda text: (pd.DataFrame(), None, pd.DataFrame(), text))
    def recommend(user: Any, engine: Any, k: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        result, top = callbacks.recommend_for_user(state, user, engine, k, _gradio_progress(progress))
        return result.table, result.figure, top, result.message

    outputs = [table, chart, rated, message]
    button.click(recommend, [user, engine, k], outputs, api_name="recommend")
    random_button.click(lambda: callbacks.random_user(state), None, user, api_name="random_user").then(
        recommend, [user, engine, k], outputs, api_visibility="private"
    )


# ----------------------------------------------------------------- tab 2
def _rate_tab(state: AppState) -> None:
    fold_in = state.engines_that("supports_fold_in")
    labels = state.catalogue.labels[:RATE_VISIBLE_CHOICES]
    gr.Markdown(
        "Rate 5 to 10 movies you know (1 = disliked, 5 = loved). The engine folds your ratings into "
        "what it learned, without retraining."
    )
    with gr.Row():
        engine = gr.Dropdown(_engine_choices(fold_in), value=state.default_engine("item_knn", "supports_fold_in"),
                             label="Engine", scale=3)
        k = gr.Slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2)
    with gr.Row():
        example = gr.Button("Fill in an example")
        clear = gr.Button("Clear")
    titles: list[gr.Dropdown] = []
    stars: list[gr.Radio] = []
    with gr.Row():  # two columns of five movies keep the form on one screen
        for first in range(0, RATE_ROWS, RATE_ROWS // 2):
            with gr.Column():
                for row in range(first, first + RATE_ROWS // 2):
                    with gr.Row(equal_height=True):
                        titles.append(gr.Dropdown(labels, value=None, label=f"Movie {row + 1}", filterable=True,
                                                  allow_custom_value=True, scale=1, min_width=200))
                        stars.append(gr.Radio(STARS, value=None, label="Stars", scale=1, min_width=290,
                                              elem_classes="movierec-stars"))
    button = gr.Button("Recommend for me", variant="primary")
    message = gr.Markdown(elem_classes="movierec-message")
    table = gr.Dataframe(_empty(RANKED_COLUMNS), label="Recommended for you", wrap=True, interactive=False,
                         column_widths=RANKED_WIDTHS, max_height=760)
    chart = gr.Plot(label="Recommendation scores")

    @_guard(lambda text: (pd.DataFrame(), None, text))
    # progress before *pairs: Gradio passes gr.Progress only to a positional parameter
    def rate(engine: Any, k: Any, progress: gr.Progress = gr.Progress(), *pairs: Any) -> tuple:
        rows = list(zip(pairs[0::2], pairs[1::2]))
        result = callbacks.recommend_for_new_user(state, engine, k, rows, _gradio_progress(progress))
        return result.table, result.figure, result.message

    def fill_example() -> list[Any]:
        chosen = callbacks.example_ratings(state)
        values: list[Any] = [label for label, _ in chosen] + [None] * (RATE_ROWS - len(chosen))
        values += [value for _, value in chosen] + [None] * (RATE_ROWS - len(chosen))
        return values

    inputs: list[Any] = [engine, k]
    for title, star in zip(titles, stars):
        inputs.extend([title, star])
    button.click(rate, inputs, [table, chart, message], api_name="rate")
    example.click(fill_example, None, titles + stars, api_visibility="private")
    clear.click(lambda: [None] * (2 * RATE_ROWS), None, titles + stars, api_visibility="private")


# ----------------------------------------------------------------- tab 3
def _similar_tab(state: AppState) -> None:
    collaborative = state.collaborative_engines()
    with gr.Row():
        title = gr.Dropdown(state.catalogue.labels, value=state.catalogue.labels[0] if state.catalogue.labels else None,
                            label="Title", info="type a title; near matches count", filterable=True,
                            allow_custom_value=True, scale=3)
        similarity = gr.Radio(list(callbacks.SIMILARITIES), value=callbacks.SIMILARITY_BLENDED,
                              label="Similarity by", scale=2)
    with gr.Row():
        default = "item_knn" if "item_knn" in collaborative else next(iter(collaborative), None)
        engine = gr.Dropdown(_engine_choices(collaborative), value=default, label="Collaborative engine", scale=3)
        k = gr.Slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2)
    button = gr.Button("Find similar titles", variant="primary")
    candidates = gr.Radio([], label="Several titles match: pick the one you mean", visible=False)
    message = gr.Markdown(elem_classes="movierec-message")
    table = gr.Dataframe(_empty(SIMILAR_COLUMNS), label="Similar titles", wrap=True, interactive=False,
                         column_widths=SIMILAR_WIDTHS, max_height=900)
    chart = gr.Plot(label="Similarity")

    @_guard(lambda text: (pd.DataFrame(), None, text, gr.update(visible=False)))
    def similar(title: Any, similarity: Any, engine: Any, k: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        result, match = callbacks.similar_titles(state, title, similarity, engine, k, _gradio_progress(progress))
        pick = gr.update(choices=match.candidates, value=match.label, visible=len(match.candidates) > 1)
        return result.table, result.figure, result.message, pick

    outputs = [table, chart, message, candidates]
    button.click(similar, [title, similarity, engine, k], outputs, api_name="similar")
    title.select(similar, [title, similarity, engine, k], outputs, api_visibility="private")
    candidates.input(lambda picked: picked, candidates, title, api_visibility="private").then(
        similar, [title, similarity, engine, k], outputs, api_visibility="private"
    )


# ----------------------------------------------------------------- tab 4
def _benchmark_tab(state: AppState) -> None:
    stored = insights.stored_results()
    # the result comparing the most engines opens the tab; the others are a pick away
    names = sorted(stored, key=lambda name: -stored[name].table["engine"].nunique())
    metrics = insights.metrics_of(stored[names[0]]) if names else []

    def empty(text: str) -> tuple:
        hidden = gr.update(value=None, visible=False)
        return hidden, hidden, None, pd.DataFrame(), text

    def shown(view: insights.BenchmarkView) -> tuple:
        # a heatmap without rows (e.g. no scikit-surprise engine ran) is hidden, not drawn empty
        heatmaps = [gr.update(value=figure, visible=figure is not None)
                    for figure in (view.surprise_heatmap, view.engines_heatmap)]
        return *heatmaps, view.scatter, view.summary, view.message

    @_guard(empty)
    def show(name: Any, metric: Any) -> tuple:
        return shown(insights.stored_view(name, metric))

    @_guard(empty)
    def quick(engines: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        return shown(insights.quick_benchmark(state, engines, _gradio_progress(progress)))

    def metrics_for(name: Any) -> Any:
        result = insights.stored_results().get(name)
        choices = insights.metrics_of(result) if result is not None else []
        return gr.update(choices=choices, value=choices[0] if choices else None)

    # the first stored result is drawn into the page, so the tab opens with its charts
    first = show(names[0], metrics[0]) if names else empty(
        f"No stored results yet in `{insights.benchmark_results_dir()}`: run the quick benchmark below."
    )
    gr.Markdown("Stored results from `benchmarks/results/` (written by `movierec benchmark ... --json`).")
    with gr.Row():
        result_name = gr.Dropdown(names, value=names[0] if names else None, label="Stored result", scale=3)
        metric = gr.Dropdown(metrics, value=metrics[0] if metrics else None, label="Metric for the scatter", scale=2)
    message = gr.Markdown(first[4], elem_classes="movierec-message")
    surprise_heatmap = gr.Plot(first[0]["value"], label="scikit-surprise algorithms", visible=first[0]["visible"])
    engines_heatmap = gr.Plot(first[1]["value"], label="movierec engines", visible=first[1]["visible"])
    scatter = gr.Plot(first[2], label="Quality versus fit time")
    summary = gr.Dataframe(first[3], label="Mean over folds", interactive=False)
    gr.Markdown(f"### Quick benchmark on {state.dataset.spec}\nOne `{insights.QUICK_SPLIT}` split, k = 10.")
    with gr.Row():
        engines = gr.CheckboxGroup(state.offered, label="Engines",
                                   value=[n for n in insights.QUICK_ENGINES if n in state.offered], scale=4)
        run = gr.Button("Run a quick benchmark", variant="primary", scale=1)
    quick_message = gr.Markdown(elem_classes="movierec-message")
    quick_surprise = gr.Plot(label="Quick benchmark: scikit-surprise algorithms", visible=False)
    quick_heatmap = gr.Plot(label="Quick benchmark: movierec engines", visible=False)
    quick_scatter = gr.Plot(label="Quick benchmark: quality versus fit time")
    quick_summary = gr.Dataframe(label="Quick benchmark results", interactive=False)

    outputs = [surprise_heatmap, engines_heatmap, scatter, summary, message]
    result_name.input(metrics_for, result_name, metric, api_visibility="private").then(
        show, [result_name, metric], outputs, api_visibility="private"
    )
    metric.input(show, [result_name, metric], outputs, api_name="stored_benchmark")
    run.click(quick, engines, [quick_surprise, quick_heatmap, quick_scatter, quick_summary, quick_message],
              api_name="quick_benchmark", concurrency_limit=1, concurrency_id="benchmark")


# ----------------------------------------------------------------- tab 5
def _explore_tab(state: AppState, demo: gr.Blocks) -> None:
    summary = gr.Dataframe(_empty(["what", "value"]), label="Summary", interactive=False, wrap=True,
                           column_widths=["22%", "78%"])
    plots = [gr.Plot(label=label) for label in insights.DATA_CHARTS]

    @_guard(lambda text: (pd.DataFrame(), *[None] * len(plots)))
    def explore() -> tuple:
        return insights.dataset_summary(state), *insights.data_figures(state)

    # drawn when the page opens (computed once per dataset, then reused)
    demo.load(explore, None, [summary, *plots], api_name="explore")
