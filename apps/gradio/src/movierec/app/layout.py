"""The page: five tabs of widgets wired to the plain functions in `callbacks` and `insights`.

Every handler goes through `_guard`, so bad input becomes a `gr.Warning` plus a message in the
page (never a traceback) and the server keeps serving. The page stays light: title widgets open
with the most rated titles and search every title on the server as the visitor types, and the
Benchmarks and Explore tabs draw their charts when first opened.
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

from movierec.app import callbacks, insights, limits
from movierec.app.callbacks import InputError
from movierec.app.engines import needs_tensorflow
from movierec.app.state import AppState
from movierec.core.errors import MovierecError
from movierec.core.models import ENGINES

log = logging.getLogger(__name__)

RATE_ROWS = callbacks.MAX_RATED
STARS = [1, 2, 3, 4, 5]
#: simultaneous runs of one handler; the handlers are short numpy calls on 2-core machines
CONCURRENCY_LIMIT = 4
QUEUE_MAX_SIZE = 256
RANKED_COLUMNS = ["rank", "title", "year", callbacks.PREDICTED_STARS]
RANKED_WIDTHS = ["8%", "62%", "15%", "15%"]
RECOMMENDATION_WIDTHS = ["7%", "29%", "8%", "12%", "44%"]
TOP_RATED_COLUMNS = ["title", "year", "rating", "date"]
TOP_RATED_WIDTHS = ["46%", "14%", "14%", "26%"]
SIMILAR_COLUMNS = ["rank", "title", "year", "score", "about"]
SUMMARY_COLUMNS = ["engine", "metric", "mean", "std", "folds", "fit_seconds", "predict_seconds"]
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
    return f"**Note:** {limits.plain_markdown(text)}"  # the page's note renders markdown: no links or images


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


def checked_slider(*args: Any, **options: Any) -> gr.Slider:
    """A gr.Slider whose API value must be a number: text or true/false get a clear error, not a traceback.

    The check wraps this slider's own preprocess: a subclass would make Gradio write a .pyi stub
    next to this module and need its own frontend name.
    """
    slider = gr.Slider(*args, **options)
    checks_range = slider.preprocess

    def preprocess(payload: Any) -> float:
        if isinstance(payload, bool) or not isinstance(payload, (int, float)):
            raise gr.Error(f"{slider.label or 'value'} must be a number from {slider.minimum:g} to {slider.maximum:g}, "
                           f"got {html.escape(repr(payload)[:40])}", print_exception=False)  # bad input, not a bug
        return checks_range(payload)

    slider.preprocess = preprocess  # type: ignore[method-assign]
    return slider


def _engine_choices(state: AppState, names: list[str]) -> list[tuple[str, str]]:
    """Dropdown entries 'name: summary'; engines that need TensorFlow say how long their first use took here, if measured."""
    measured = state.engines.trained_seconds()
    entries = []
    for name in names:
        label = f"{name}: {ENGINES[name].summary}"
        if needs_tensorflow(name, state.engines.params.get(name)) and not state.engines.loaded(name):
            label += (f" (first use trains: {measured[name]:.0f} s on {state.name} last time)" if name in measured
                      else " (first use imports TensorFlow and trains: slow)")
        entries.append((label, name))
    return entries


def header(state: AppState) -> str:
    """The page header: dataset name (never a local path), its size, a synthetic-sample notice, the credit."""
    stats = state.dataset_stats
    text = (f"# movierec\nMovie recommendations on **{state.name}**: "
            f"{stats['ratings']:,} ratings by {stats['users']:,} users of {stats['movies']:,} movies.")
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
        with gr.Tabs():
            with gr.Tab("Recommend for a user", id="user"):
                _user_tab(state)
            with gr.Tab("Rate a few movies yourself", id="rate"):
                _rate_tab(state)
            with gr.Tab("Similar titles", id="similar"):
                _similar_tab(state)
            with gr.Tab("Benchmarks", id="benchmarks") as benchmarks:
                _benchmark_tab(state, benchmarks)
            with gr.Tab("Explore the data", id="explore") as explore:
                _explore_tab(state, explore)
    return demo


def _title_widget(state: AppState, **options: Any) -> gr.Dropdown:
    """A title dropdown that opens with the most rated titles and searches them all on the server as one types."""
    widget = gr.Dropdown(state.search_labels(""), filterable=True, allow_custom_value=True, **options)

    def search(data: gr.KeyUpData) -> Any:
        return gr.update(choices=state.search_labels(data.input_value))

    # no queue: a search answers in milliseconds and must not wait behind a training
    widget.key_up(search, None, widget, queue=False, show_progress="hidden", api_visibility="private")
    return widget


def _min_ratings_slider(state: AppState) -> gr.Slider:
    """The "Minimum ratings per title" control (5 on real data, 0 on the sample)."""
    return checked_slider(0, callbacks.MIN_RATINGS_MAX, value=callbacks.default_min_ratings(state), step=1,
                          label="Minimum ratings per title", scale=2,
                          info="leaves out titles too few people rated to judge")


def configure_queue(demo: gr.Blocks) -> gr.Blocks:
    """The queue settings the app is measured with (see docs/app.md)."""
    # Gradio's own variable still overrides the limit, so the benchmark can compare settings
    limit = int(os.environ.get("GRADIO_DEFAULT_CONCURRENCY_LIMIT", CONCURRENCY_LIMIT))
    return limits.guard_inputs(demo).queue(default_concurrency_limit=limit, max_size=QUEUE_MAX_SIZE)


# ----------------------------------------------------------------- tab 1
def _user_tab(state: AppState) -> None:
    default_engine = state.default_engine("item_knn")
    top_rated_empty = _empty(TOP_RATED_COLUMNS)
    with gr.Row():
        user = gr.Dropdown(
            state.user_choices, value=state.user_choices[0] if state.user_choices else None,
            label="User id", info="type to search; any id of the dataset works",
            filterable=True, allow_custom_value=True, scale=2,
        )
        random_button = gr.Button("A random user", scale=1)
        engine = gr.Dropdown(_engine_choices(state, state.offered), value=default_engine, label="Engine", scale=4)
    with gr.Row():
        k = checked_slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2)
        min_ratings = _min_ratings_slider(state)
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

    @_guard(lambda text: (_empty(callbacks.RECOMMENDATION_COLUMNS), None, top_rated_empty, text))
    def recommend(user: Any, engine: Any, k: Any, min_ratings: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        result, top = callbacks.recommend_for_user(state, user, engine, k, _gradio_progress(progress), min_ratings)
        return result.table, result.figure, top, result.message

    outputs = [table, chart, rated, message]
    inputs = [user, engine, k, min_ratings]  # min_ratings last: API callers may leave it at its default
    button.click(recommend, inputs, outputs, api_name="recommend", show_progress_on=table)
    random_button.click(lambda: callbacks.random_user(state), None, user, api_name="random_user").then(
        recommend, inputs, outputs, api_visibility="private", show_progress_on=table
    )


# ----------------------------------------------------------------- tab 2
def _rate_tab(state: AppState) -> None:
    fold_in = state.engines_that("supports_fold_in")
    gr.Markdown(
        "Rate 5 to 10 movies you know (1 = disliked, 5 = loved). The engine folds your ratings into "
        "what it learned, without retraining."
    )
    with gr.Row():
        engine = gr.Dropdown(_engine_choices(state, fold_in),
                             value=state.default_engine("item_knn", "supports_fold_in"), label="Engine", scale=3)
        k = checked_slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2)
        min_ratings = _min_ratings_slider(state)
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
                        titles.append(_title_widget(state, value=None, label=f"Movie {row + 1}", scale=1,
                                                    min_width=200))
                        stars.append(gr.Radio(STARS, value=None, label="Stars", scale=1, min_width=290,
                                              elem_classes="movierec-stars"))
    button = gr.Button("Recommend for me", variant="primary")
    message = gr.Markdown(elem_classes="movierec-message")
    table = gr.Dataframe(_empty(RANKED_COLUMNS), label="Recommended for you", wrap=True, interactive=False,
                         column_widths=RANKED_WIDTHS, max_height=760)
    chart = gr.Plot(label="Recommendation scores")

    @_guard(lambda text: (_empty(RANKED_COLUMNS), None, text))
    # progress before *pairs: Gradio passes gr.Progress only to a positional parameter
    def rate(engine: Any, k: Any, progress: gr.Progress = gr.Progress(), *values: Any) -> tuple:
        # ten (title, stars) pairs, then the minimum ratings (last, so API callers may leave it out)
        pairs, floor = values[: 2 * RATE_ROWS], values[2 * RATE_ROWS:]
        rows = list(zip(pairs[0::2], pairs[1::2]))
        result = callbacks.recommend_for_new_user(state, engine, k, rows, _gradio_progress(progress),
                                                  floor[0] if floor else 0)
        return result.table, result.figure, result.message

    def fill_example() -> list[Any]:
        chosen = callbacks.example_ratings(state)
        values: list[Any] = [label for label, _ in chosen] + [None] * (RATE_ROWS - len(chosen))
        values += [value for _, value in chosen] + [None] * (RATE_ROWS - len(chosen))
        return values

    inputs: list[Any] = [engine, k]
    for title, star in zip(titles, stars):
        inputs.extend([title, star])
    inputs.append(min_ratings)
    button.click(rate, inputs, [table, chart, message], api_name="rate", show_progress_on=table)
    example.click(fill_example, None, titles + stars, api_visibility="private")
    clear.click(lambda: [None] * (2 * RATE_ROWS), None, titles + stars, api_visibility="private")


# ----------------------------------------------------------------- tab 3
def _similar_tab(state: AppState) -> None:
    collaborative = state.collaborative_engines()
    similarities = callbacks.similarity_choices(state)
    values = [value for _, value in similarities]
    preferred = callbacks.SIMILARITY_BLENDED if callbacks.SIMILARITY_BLENDED in values else next(iter(values), None)
    labels = state.search_labels("")
    with gr.Row():
        title = _title_widget(state, value=labels[0] if labels else None, label="Title",
                              info="type a title; near matches count", scale=3)
        similarity = gr.Radio(similarities, value=preferred, label="Similarity by", scale=2)
    with gr.Row():
        default = "item_knn" if "item_knn" in collaborative else next(iter(collaborative), None)
        engine = gr.Dropdown(_engine_choices(state, collaborative), value=default, label="Collaborative engine", scale=3)
        k = checked_slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2)
        min_ratings = _min_ratings_slider(state)
    button = gr.Button("Find similar titles", variant="primary")
    candidates = gr.Radio([], label="Several titles match: pick the one you mean", visible=False)
    message = gr.Markdown(elem_classes="movierec-message")
    table = gr.Dataframe(_empty(SIMILAR_COLUMNS), label="Similar titles", wrap=True, interactive=False,
                         column_widths=SIMILAR_WIDTHS, max_height=900)
    chart = gr.Plot(label="Similarity")

    @_guard(lambda text: (_empty(SIMILAR_COLUMNS), None, text, gr.update(visible=False)))
    def similar(title: Any, similarity: Any, engine: Any, k: Any, min_ratings: Any,
                progress: gr.Progress = gr.Progress()) -> tuple:
        result, match = callbacks.similar_titles(state, title, similarity, engine, k, _gradio_progress(progress),
                                                 min_ratings=min_ratings)
        pick = gr.update(choices=match.candidates, value=match.label, visible=len(match.candidates) > 1)
        return result.table, result.figure, result.message, pick

    inputs = [title, similarity, engine, k, min_ratings]
    outputs = [table, chart, message, candidates]
    button.click(similar, inputs, outputs, api_name="similar", show_progress_on=table)
    title.select(similar, inputs, outputs, api_visibility="private", show_progress_on=table)
    candidates.input(lambda picked: picked, candidates, title, api_visibility="private").then(
        similar, inputs, outputs, api_visibility="private", show_progress_on=table
    )


# ----------------------------------------------------------------- tab 4
def _benchmark_tab(state: AppState, tab: gr.Tab) -> None:
    choices, first_name, metrics = insights.opening_choices(state.name)

    def empty(text: str) -> tuple:
        hidden = gr.update(value=None, visible=False)
        return hidden, hidden, None, _empty(SUMMARY_COLUMNS), text

    def shown(view: insights.BenchmarkView) -> tuple:
        # a heatmap without rows (e.g. no scikit-surprise engine ran) is hidden, not drawn empty
        heatmaps = [gr.update(value=figure, visible=figure is not None)
                    for figure in (view.surprise_heatmap, view.engines_heatmap)]
        return *heatmaps, view.scatter, view.summary, view.message

    @_guard(empty)
    def show(name: Any, metric: Any) -> tuple:
        return shown(insights.stored_view(name, metric, served=state.name))

    @_guard(empty)
    def quick(engines: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        return shown(insights.quick_benchmark(state, engines, _gradio_progress(progress)))

    def metrics_for(name: Any) -> Any:
        result = insights.stored_results().get(name)
        choices = insights.metrics_of(result) if result is not None else []
        return gr.update(choices=choices, value=choices[0] if choices else None)

    def opened(name: Any, metric: Any) -> tuple:
        if not choices:
            return empty("No stored results yet in `benchmarks/results/`: run the quick benchmark below.")
        return show(name, metric)

    gr.Markdown("Stored results from `benchmarks/results/` (written by `movierec benchmark ... --json`), "
                f"those measured on {state.name} first.")
    with gr.Row():
        result_name = gr.Dropdown(choices, value=first_name, label="Stored result", scale=3)
        metric = gr.Dropdown(metrics, value=metrics[0] if metrics else None, label="Metric for the scatter", scale=2)
    message = gr.Markdown(elem_classes="movierec-message")
    surprise_heatmap = gr.Plot(label="scikit-surprise algorithms", visible=False)
    engines_heatmap = gr.Plot(label="movierec engines", visible=False)
    scatter = gr.Plot(label="Quality versus fit time")
    summary = gr.Dataframe(_empty(SUMMARY_COLUMNS), label="Mean over folds", interactive=False)
    gr.Markdown(f"### Quick benchmark on {state.name}\nOne `{insights.QUICK_SPLIT}` split, k = 10.")
    with gr.Row():
        engines = gr.CheckboxGroup(state.offered, label="Engines",
                                   value=[n for n in insights.QUICK_ENGINES if n in state.offered], scale=4)
        run = gr.Button("Run a quick benchmark", variant="primary", scale=1)
    quick_message = gr.Markdown(elem_classes="movierec-message")
    quick_surprise = gr.Plot(label="Quick benchmark: scikit-surprise algorithms", visible=False)
    quick_heatmap = gr.Plot(label="Quick benchmark: movierec engines", visible=False)
    quick_scatter = gr.Plot(label="Quick benchmark: quality versus fit time")
    quick_summary = gr.Dataframe(_empty(SUMMARY_COLUMNS), label="Quick benchmark results", interactive=False)

    outputs = [surprise_heatmap, engines_heatmap, scatter, summary, message]
    # drawn when the tab is opened, so the page itself carries no benchmark chart
    tab.select(opened, [result_name, metric], outputs, api_visibility="private", show_progress_on=scatter)
    result_name.input(metrics_for, result_name, metric, api_visibility="private").then(
        show, [result_name, metric], outputs, api_visibility="private", show_progress_on=scatter
    )
    metric.input(show, [result_name, metric], outputs, api_name="stored_benchmark", show_progress_on=scatter)
    run.click(quick, engines, [quick_surprise, quick_heatmap, quick_scatter, quick_summary, quick_message],
              api_name="quick_benchmark", concurrency_limit=1, concurrency_id="benchmark",
              show_progress_on=quick_scatter)


# ----------------------------------------------------------------- tab 5
def _explore_tab(state: AppState, tab: gr.Tab) -> None:
    summary = gr.Dataframe(_empty(["what", "value"]), label="Summary", interactive=False, wrap=True,
                           column_widths=["22%", "78%"])
    plots = [gr.Plot(label=label) for label in insights.DATA_CHARTS]

    @_guard(lambda text: (_empty(["what", "value"]), *[None] * len(plots)))
    def explore() -> tuple:
        return insights.dataset_summary(state), *insights.data_figures(state)

    # drawn when the tab is first opened (computed once per dataset, then reused)
    tab.select(explore, None, [summary, *plots], api_name="explore", show_progress_on=summary)
