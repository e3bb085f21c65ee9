"""Tab 2, "Rate a few movies yourself": up to ten titles with stars in, a list folded in from them out."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import gradio as gr
import numpy as np

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
    ranking_note,
    recommendation_table,
    resolve_title,
    titles_of,
)
from movierec.app.engines import ProgressFn
from movierec.app.state import AppState
from movierec.app.widgets import (
    Outputs,
    engine_row,
    gradio_progress,
    ResultTable,
    title_widget,
)
from movierec.core.errors import UnknownMovieError

RATE_ROWS = MAX_RATED
STARS = [1, 2, 3, 4, 5]
RANKED_COLUMNS = ["rank", "title", "year", "predicted stars", "reason"]
#: fixed widths keep every column readable on a phone, where the table scrolls sideways instead
RANKED_WIDTHS = {"rank": "52px", "title": "260px", "year": "60px", "predicted stars": "80px", "reason": "560px"}
#: rated movies a reason names at most
REASON_MOVIES = 3


def parse_rated(state: AppState, rows: Sequence[tuple[Any, Any]]) -> dict[int, float]:
    """{movie: stars} in the order rated, from (title label, stars) pairs; empty titles are unused rows.

    A title given twice is refused (two star values for one movie cannot both count); the order is
    kept because engines that read a sequence use it.
    """
    rated: dict[int, float] = {}
    row_of: dict[int, int] = {}
    for row, (title, stars) in enumerate(rows, start=1):
        label = "" if title is None else str(title).strip()
        if not label:
            continue
        movie = state.catalogue.movie_of_label.get(label)
        if movie is None:
            movie = resolve_title(state, label).movie
        if movie in rated:
            raise InputError(f"{state.catalogue.label_of_movie.get(movie, label)} is rated twice (movies "
                             f"{row_of[movie]} and {row}); rate each title once")
        row_of[movie] = row
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
    known = {movie: stars for movie, stars in rated.items() if movie not in unknown}
    reasons = rated_reasons(state, fitted, known, ranked)
    table, figure, summary = recommendation_table(state, ranked, name, k, reasons)
    used = f"{len(rated) - len(unknown)} of your " if unknown else ""
    message = f"{len(table)} recommendations from {used}{len(rated)} rated movies with {name}{floor_note(min_ratings)}"
    if unknown:
        message += f"; ignored (unknown to {name}): {titles_of(state, unknown)}"
    if figure is None:
        message += f". {ranking_note(name)}"
    return Recommendations(table, figure, message, summary)


def rated_reasons(state: AppState, fitted: Any, rated: dict[int, float], ranked: Any,
                  most: int = REASON_MOVIES) -> list[str | None]:
    """Per recommended title, the rated movies that put it on the list: those without which it scores lowest.

    Each rated movie is left out once and the list folded in again from the others (the engine's
    own fold-in, so the reason holds for any engine); a rated movie whose absence lowers a title's
    score is named, the largest drops first, at most `most`. A title no rated movie lifts gets none.
    """
    if not len(ranked):
        return []
    movies = ranked["movie"].to_numpy()
    full = ranked["score"].to_numpy(dtype=float)
    drops = np.zeros((len(rated), len(movies)))
    everything = len(fitted.movies_)
    for row, movie in enumerate(rated):
        others = {m: stars for m, stars in rated.items() if m != movie}
        try:
            without = fitted.recommend_for_ratings(others, k=everything, exclude_rated=False) if others else None
        except UnknownMovieError:  # the others alone are unknown to the engine: this movie is all it had
            without = None
        if without is None:
            drops[row] = np.inf
            continue
        scores = dict(zip(without["movie"].tolist(), without["score"].tolist()))
        drops[row] = [full[i] - scores.get(int(m), -np.inf) for i, m in enumerate(movies)]
    ids, stars = list(rated), list(rated.values())
    reasons: list[str | None] = []
    for column in range(len(movies)):
        order = [r for r in np.argsort(-drops[:, column], kind="stable")[:most] if drops[r, column] > 0]
        named = [f"{state.dataset.title_of(ids[r])} ({stars[r]:g})" for r in order]
        reasons.append(_because(named))
    return reasons


def _because(named: list[str]) -> str | None:
    if not named:
        return None
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    return f"because you rated {listed}"


def stars_label(title: Any, row: int) -> str:
    """The name of a star group: the movie it rates, so a screen reader says which movie each group is for."""
    text = "" if title is None else str(title).strip()
    return f"Stars for {text}" if text else f"Stars for movie {row}"


def build(state: AppState) -> None:
    """The tab's widgets and wiring."""
    gr.Markdown(
        "Rate 5 to 10 movies you know (1 = disliked, 5 = loved), each title once. The engine folds your "
        "ratings into what it learned, without retraining, and says which of your movies led to each title."
    )
    engine, k, min_ratings = engine_row(state, "rate", "Engine")
    with gr.Row():
        example = gr.Button("Fill in an example", min_width=120)
        clear = gr.Button("Clear", min_width=120)
    titles: list[gr.Dropdown] = []
    stars: list[gr.Radio] = []
    with gr.Row():  # two columns of five movies keep the form on one screen (one column on a phone)
        for first in range(0, RATE_ROWS, RATE_ROWS // 2):
            with gr.Column(min_width=300):
                for row in range(first, first + RATE_ROWS // 2):
                    with gr.Row(equal_height=True, elem_classes="movierec-rated"):
                        titles.append(title_widget(state, value=None, label=f"Movie {row + 1}", scale=1,
                                                   min_width=200))
                        stars.append(gr.Radio(STARS, value=None, label=stars_label(None, row + 1), scale=1,
                                              min_width=240, elem_classes="movierec-stars"))
    button = gr.Button("Recommend for me", variant="primary")
    message = gr.Markdown(elem_classes="movierec-message")
    ranked = ResultTable("Recommended for you", RANKED_COLUMNS, RANKED_WIDTHS)
    table = ranked.widget
    chart = gr.Plot(label="Recommendation scores", visible=False)
    summary = gr.Markdown(elem_classes="movierec-chart-summary")
    outputs = Outputs(table=(table, ranked.empty),
                      chart=(chart, lambda: gr.update(value=None, visible=False)), summary=(summary, ""),
                      message=(message, None))

    @outputs.guard
    # progress before *pairs: Gradio passes gr.Progress only to a positional parameter
    def rate(engine: Any, k: Any, progress: gr.Progress = gr.Progress(), *values: Any) -> tuple:
        # ten (title, stars) pairs, then the minimum ratings (last, so API callers may leave it out)
        pairs, floor = values[: 2 * RATE_ROWS], values[2 * RATE_ROWS:]
        rows = list(zip(pairs[0::2], pairs[1::2]))
        result = recommend_for_new_user(state, engine, k, rows, gradio_progress(progress), floor[0] if floor else 0)
        chart = gr.update(value=result.figure, visible=result.figure is not None)
        return outputs.answer(table=ranked.show(result.table), chart=chart,
                              summary=result.summary, message=result.message)

    def fill_example() -> list[Any]:
        chosen = example_ratings(state)
        values: list[Any] = [label for label, _ in chosen] + [None] * (RATE_ROWS - len(chosen))
        values += [value for _, value in chosen] + [None] * (RATE_ROWS - len(chosen))
        return values

    inputs: list[Any] = [engine, k]
    for row, (title, star) in enumerate(zip(titles, stars), start=1):
        inputs.extend([title, star])
        title.change(lambda picked, row=row: gr.update(label=stars_label(picked, row)), title, star, queue=False,
                     show_progress="hidden", api_visibility="private")
    inputs.append(min_ratings)
    button.click(rate, inputs, outputs.widgets, api_name="rate", show_progress_on=table)
    example.click(fill_example, None, titles + stars, api_visibility="private")
    clear.click(lambda: [None] * (2 * RATE_ROWS), None, titles + stars, api_visibility="private")
