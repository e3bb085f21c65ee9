"""Tab 2, "Rate a few movies yourself": up to ten titles with stars in, a list folded in from them out."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import gradio as gr

from movierec.app.callbacks import (
    MAX_RATED,
    STARS_MAX,
    STARS_MIN,
    InputError,
    Recommendations,
    check_engine,
    check_k,
    check_min_ratings,
    floor_note,
    recommendation_table,
    resolve_title,
    titles_of,
)
from movierec.app.engines import ProgressFn
from movierec.app.state import AppState
from movierec.app.widgets import (
    Outputs,
    empty_frame,
    engine_choices,
    gradio_progress,
    k_slider,
    min_ratings_slider,
    title_widget,
)

RATE_ROWS = MAX_RATED
STARS = [1, 2, 3, 4, 5]
RANKED_COLUMNS = ["rank", "title", "year", "predicted stars"]
RANKED_WIDTHS = ["8%", "62%", "15%", "15%"]


def parse_rated(state: AppState, rows: Sequence[tuple[Any, Any]]) -> dict[int, float]:
    """{movie: stars} from (title label, stars) pairs; empty titles are unused rows."""
    rated: dict[int, float] = {}
    for title, stars in rows:
        label = "" if title is None else str(title).strip()
        if not label:
            continue
        movie = state.catalogue.movie_of_label.get(label)
        if movie is None:
            movie = resolve_title(state, label).movie
        if stars is None or (isinstance(stars, str) and not stars.strip()):
            raise InputError(f"give '{label}' a star value from 1 to 5")
        try:
            value = float(stars)
        except (TypeError, ValueError):
            raise InputError(f"stars for '{label}' must be a number from 1 to 5, got {stars!r}") from None
        if not math.isfinite(value) or not STARS_MIN <= value <= STARS_MAX:
            raise InputError(f"stars for '{label}' must be from 1 to 5, got {stars!r}")
        rated[movie] = value
    if not rated:
        raise InputError("rate at least one movie (pick a title and give it stars) to get recommendations")
    if len(rated) > MAX_RATED:
        raise InputError(f"rate at most {MAX_RATED} movies, got {len(rated)}")
    return rated


def example_ratings(state: AppState, count: int = 6, seed: int = 7) -> list[tuple[str, int]]:
    """A plausible visitor: some of the most rated titles with varied star values."""
    rng = random.Random(seed)
    labels = state.catalogue.labels[: max(count * 4, count)]
    chosen = rng.sample(labels, k=min(count, len(labels)))
    return [(label, rng.choice([2, 3, 4, 5, 5])) for label in chosen]


def recommend_for_new_user(
    state: AppState, engine: Any, k: Any, rows: Sequence[tuple[Any, Any]], progress: ProgressFn | None = None,
    min_ratings: Any = 0,
) -> Recommendations:
    """Top-k for a visitor's own ratings by folding them into a fitted engine (no retraining)."""
    name = check_engine(engine, state.engines_that("supports_fold_in"), "your own ratings")
    k = check_k(k)
    min_ratings = check_min_ratings(min_ratings)
    rated = parse_rated(state, rows)
    fitted = state.engines.get(name, progress)
    # the catalogue also lists titles nobody rated; the engine leaves out movies it never saw
    unknown = [movie for movie in rated if movie not in fitted.movies_]
    if len(unknown) == len(rated):
        raise InputError(f"none of your rated movies is known to {name}: {titles_of(state, unknown)}; "
                         "rate some more widely seen titles")
    ranked = fitted.recommend_for_ratings(rated, k=k, min_ratings=min_ratings)
    table, figure = recommendation_table(state, ranked, name, k)
    used = f"{len(rated) - len(unknown)} of your " if unknown else ""
    message = f"{len(table)} recommendations from {used}{len(rated)} rated movies with {name}{floor_note(min_ratings)}"
    if unknown:
        message += f"; ignored (unknown to {name}): {titles_of(state, unknown)}"
    return Recommendations(table, figure, message)


def build(state: AppState) -> None:
    """The tab's widgets and wiring."""
    gr.Markdown(
        "Rate 5 to 10 movies you know (1 = disliked, 5 = loved). The engine folds your ratings into "
        "what it learned, without retraining."
    )
    with gr.Row():
        engine = gr.Dropdown(engine_choices(state, state.tab_engines("rate")), value=state.default_engine("rate"),
                             label="Engine", scale=3)
        k = k_slider()
        min_ratings = min_ratings_slider(state)
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
                        titles.append(title_widget(state, value=None, label=f"Movie {row + 1}", scale=1,
                                                   min_width=200))
                        stars.append(gr.Radio(STARS, value=None, label="Stars", scale=1, min_width=290,
                                              elem_classes="movierec-stars"))
    button = gr.Button("Recommend for me", variant="primary")
    message = gr.Markdown(elem_classes="movierec-message")
    table = gr.Dataframe(empty_frame(RANKED_COLUMNS), label="Recommended for you", wrap=True, interactive=False,
                         column_widths=RANKED_WIDTHS, max_height=760)
    chart = gr.Plot(label="Recommendation scores")
    outputs = Outputs(table=(table, lambda: empty_frame(RANKED_COLUMNS)), chart=(chart, None), message=(message, None))

    @outputs.guard
    # progress before *pairs: Gradio passes gr.Progress only to a positional parameter
    def rate(engine: Any, k: Any, progress: gr.Progress = gr.Progress(), *values: Any) -> tuple:
        # ten (title, stars) pairs, then the minimum ratings (last, so API callers may leave it out)
        pairs, floor = values[: 2 * RATE_ROWS], values[2 * RATE_ROWS:]
        rows = list(zip(pairs[0::2], pairs[1::2]))
        result = recommend_for_new_user(state, engine, k, rows, gradio_progress(progress), floor[0] if floor else 0)
        return outputs.answer(table=result.table, chart=result.figure, message=result.message)

    def fill_example() -> list[Any]:
        chosen = example_ratings(state)
        values: list[Any] = [label for label, _ in chosen] + [None] * (RATE_ROWS - len(chosen))
        values += [value for _, value in chosen] + [None] * (RATE_ROWS - len(chosen))
        return values

    inputs: list[Any] = [engine, k]
    for title, star in zip(titles, stars):
        inputs.extend([title, star])
    inputs.append(min_ratings)
    button.click(rate, inputs, outputs.widgets, api_name="rate", show_progress_on=table)
    example.click(fill_example, None, titles + stars, api_visibility="private")
    clear.click(lambda: [None] * (2 * RATE_ROWS), None, titles + stars, api_visibility="private")
