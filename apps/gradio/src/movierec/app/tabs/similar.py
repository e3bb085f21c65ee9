"""Tab 3, "Similar titles": a title in, the titles most like it by movie text, by ratings, or both."""

from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

from movierec.app.callbacks import (
    K_MAX,
    InputError,
    Recommendations,
    TitleMatch,
    check_engine,
    check_k,
    check_min_ratings,
    floor_note,
    movie_details,
    ranked_table,
    resolve_title,
)
from movierec.app.engines import ProgressFn
from movierec.app.state import TEXT_ENGINE, AppState
from movierec.app.widgets import (
    Outputs,
    ResultTable,
    fit_titles,
    engine_row,
    gradio_progress,
    title_widget,
)
from movierec.core.errors import MovierecError, UnknownMovieError
from movierec.core.models.similarity import blended_similar
from movierec.viz.describe import figure_summary
from movierec.viz.ranking_charts import top_similar_movies

SIMILARITY_TEXT = "text"
SIMILARITY_COLLABORATIVE = "collaborative"
SIMILARITY_BLENDED = "blended"
SIMILARITIES = (SIMILARITY_TEXT, SIMILARITY_COLLABORATIVE, SIMILARITY_BLENDED)
#: how deep each source's similar-movies list goes before a blend (see `similar_titles`)
BLEND_POOL = 10 * K_MAX
SIMILAR_COLUMNS = ["rank", "title", "year", "score", "about"]
#: fixed widths keep every column readable on a phone, where the table scrolls sideways instead
SIMILAR_WIDTHS = {"rank": "52px", "title": "220px", "year": "60px", "score": "70px", "about": "560px"}


def similarity_choices(state: AppState) -> list[tuple[str, str]]:
    """The similarities the served data allows, as (label, value): text only where movies have text."""
    choices: list[tuple[str, str]] = []
    if state.text_source is not None and TEXT_ENGINE in state.offered:
        choices.append((f"text ({state.text_source})", SIMILARITY_TEXT))
    if state.collaborative_engines():
        choices.append(("collaborative (ratings)", SIMILARITY_COLLABORATIVE))
        if choices[0][1] == SIMILARITY_TEXT:
            choices.append(("blended (text and ratings)", SIMILARITY_BLENDED))
    return choices


def similar_titles(
    state: AppState, title: Any, similarity: Any, collaborative_engine: Any, k: Any,
    progress: ProgressFn | None = None, min_ratings: Any = 0,
) -> tuple[Recommendations, TitleMatch]:
    """Top-k movies like a title by movie text, collaborative representations, or both (rank fusion)."""
    allowed = [value for _, value in similarity_choices(state)]
    if similarity not in allowed:
        raise InputError(f"similarity must be one of {', '.join(allowed)} on this dataset, got {similarity!r}")
    k = check_k(k)
    min_ratings = check_min_ratings(min_ratings)
    match = resolve_title(state, title)
    sources: list[str] = []
    if similarity in (SIMILARITY_TEXT, SIMILARITY_BLENDED):
        sources.append(TEXT_ENGINE)
    if similarity in (SIMILARITY_COLLABORATIVE, SIMILARITY_BLENDED):
        sources.append(check_engine(collaborative_engine, state.collaborative_engines(), "collaborative similarity"))
    fitted = []
    failures: list[str] = []
    for name in sources:  # in a blend, one side that cannot answer leaves the other
        try:
            fitted.append(state.engines.get(name, progress))
        except MovierecError as error:
            failures.append(f"{name}: {error}")
    if not fitted:
        raise InputError(f"{match.label}: " + "; ".join(failures))
    try:
        if len(fitted) == 1:
            ranked = fitted[0].similar_movies(match.movie, k=k, min_ratings=min_ratings)
        else:
            ranked = blended_similar(fitted, match.movie, k=k, min_ratings=min_ratings, pool=BLEND_POOL)
            failures.extend(ranked.attrs.get("failures", []))
    except UnknownMovieError:
        rated = int(state.ratings_per_movie.get(match.movie, 0))
        why = "has no ratings in this dataset" if rated == 0 else f"is not known to {sources[-1]}"
        hint = "; try similarity by text" if SIMILARITY_TEXT in allowed and similarity != SIMILARITY_TEXT else ""
        if similarity == SIMILARITY_TEXT:
            why, hint = "has no text (overview, genres or tags) to compare", ""
        raise InputError(f"{match.label} {why}, so {similarity} similarity cannot place it{hint}") from None
    details = movie_details(state, ranked["movie"].tolist())
    table = ranked_table(state, ranked, details=details,
                         shown=("score", np.round(ranked["score"].to_numpy(dtype=float), 3)))
    table["about"] = details["about"].to_numpy()
    measure = {SIMILARITY_TEXT: "Text Cosine Similarity", SIMILARITY_COLLABORATIVE: f"Similarity ({sources[-1]})",
               SIMILARITY_BLENDED: "Blended Score (rank fusion)"}[similarity]
    figure = fit_titles(top_similar_movies(ranked.assign(title=table["title"].to_numpy()), match.label, n=k,
                                           measure=measure))
    others = [label for label in match.candidates if label != match.label][:3]
    note = f" (also matching: {', '.join(others)})" if others else ""
    message = f"{len(table)} titles similar to {match.label} by {similarity}{floor_note(min_ratings)}{note}"
    if failures:
        message += f"; left out {'; '.join(failures)}"
    return Recommendations(table, figure, message, figure_summary(figure)), match


def build(state: AppState) -> None:
    """The tab's widgets and wiring."""
    similarities = similarity_choices(state)
    values = [value for _, value in similarities]
    preferred = SIMILARITY_BLENDED if SIMILARITY_BLENDED in values else next(iter(values), None)
    labels = state.search_labels("")
    with gr.Row():
        title = title_widget(state, value=labels[0] if labels else None, label="Title",
                             info="type a title; near matches count", scale=3)
        similarity = gr.Radio(similarities, value=preferred, label="Similarity by", scale=2)
    engine, k, min_ratings = engine_row(state, "similar", "Collaborative engine")
    button = gr.Button("Find similar titles", variant="primary")
    candidates = gr.Radio([], label="Several titles match: pick the one you mean", visible=False)
    message = gr.Markdown(elem_classes="movierec-message")
    listed = ResultTable("Similar titles", SIMILAR_COLUMNS, SIMILAR_WIDTHS)
    table = listed.widget
    chart = gr.Plot(label="Similarity")
    summary = gr.Markdown(elem_classes="movierec-chart-summary")
    outputs = Outputs(table=(table, listed.empty), chart=(chart, None),
                      summary=(summary, ""), message=(message, None),
                      candidates=(candidates, lambda: gr.update(visible=False)))

    @outputs.guard
    def similar(title: Any, similarity: Any, engine: Any, k: Any, min_ratings: Any,
                progress: gr.Progress = gr.Progress()) -> tuple:
        result, match = similar_titles(state, title, similarity, engine, k, gradio_progress(progress),
                                       min_ratings=min_ratings)
        pick = gr.update(choices=match.candidates, value=match.label, visible=len(match.candidates) > 1)
        return outputs.answer(table=listed.show(result.table), chart=result.figure, summary=result.summary, message=result.message,
                              candidates=pick)

    inputs = [title, similarity, engine, k, min_ratings]
    button.click(similar, inputs, outputs.widgets, api_name="similar", show_progress_on=table)
    title.select(similar, inputs, outputs.widgets, api_visibility="private", show_progress_on=table)
    candidates.input(lambda picked: picked, candidates, title, api_visibility="private").then(
        similar, inputs, outputs.widgets, api_visibility="private", show_progress_on=table
    )
