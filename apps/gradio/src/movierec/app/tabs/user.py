"""Tab 1, "Recommend for a user": a user id and an engine in, ten titles with reasons and the user's favourites out."""

from __future__ import annotations

import random
from typing import Any

import gradio as gr
import pandas as pd

from movierec.app.callbacks import (
    RECOMMENDATION_COLUMNS,
    InputError,
    Recommendations,
    check_engine,
    check_k,
    check_min_ratings,
    floor_note,
    movie_details,
    ranking_note,
    recommendation_table,
)
from movierec.app.engines import ProgressFn
from movierec.app.state import AppState
from movierec.app.widgets import (
    Outputs,
    engine_picker,
    gradio_progress,
    ranking_sliders,
    ResultTable,
)

TOP_RATED_COLUMNS = ["title", "year", "rating", "date"]
#: fixed widths keep every column readable on a phone, where the table scrolls sideways instead
RECOMMENDATION_WIDTHS = {"rank": "52px", "title": "190px", "year": "60px", "predicted stars": "80px", "reason": "400px"}
TOP_RATED_WIDTHS = {"title": "190px", "year": "60px", "rating": "64px", "date": "100px"}


def parse_user(state: AppState, user: Any) -> int:
    """A user id of the dataset from a dropdown value or typed text."""
    text = "" if user is None else str(user).strip()
    if not text:
        raise InputError("choose a user id (or press 'A random user')")
    try:
        number = float(text)
        value = int(number)
    except (ValueError, OverflowError):  # 'abc', and 'inf' (which float accepts but int cannot hold)
        raise InputError(f"user id must be a number, got {text!r}") from None
    if number != value:
        raise InputError(f"{text} is not a user id: user ids are whole numbers (e.g. {int(state.users[0])})")
    if value not in state.ratings_by_user:
        raise InputError(
            f"unknown user {value}: this dataset has {len(state.users):,} users "
            f"with ids {int(state.users[0])}..{int(state.users[-1])}"
        )
    return value


def random_user(state: AppState, seed: int | None = None) -> str:
    """Any user of the dataset, as the dropdown's string value."""
    rng = random.Random(seed)
    return str(int(state.users[rng.randrange(len(state.users))]))


def top_rated(state: AppState, user: int, limit: int = 10) -> pd.DataFrame:
    """The movies `user` rated highest (latest first among equal ratings)."""
    rows = state.dataset.ratings.iloc[state.ratings_by_user[user]]
    rows = rows.sort_values(["rating", "date", "movie"], ascending=[False, False, True], kind="stable").head(limit)
    details = movie_details(state, rows["movie"].tolist())
    return pd.DataFrame(
        {
            "title": details["title"],
            "year": details["year"],
            "rating": rows["rating"].to_numpy(dtype=float),
            "date": [None if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d") for d in rows["date"]],
        }
    )


def recommend_for_user(
    state: AppState, user: Any, engine: Any, k: Any, progress: ProgressFn | None = None, min_ratings: Any = 0
) -> tuple[Recommendations, pd.DataFrame]:
    """Top-k for a known user from one engine, with reasons where the engine gives them.

    `min_ratings` leaves out movies with fewer training ratings (the page's default on real data: 5).
    """
    user_id = parse_user(state, user)
    name = check_engine(engine, state.offered, "recommendations")
    k = check_k(k)
    min_ratings = check_min_ratings(min_ratings)
    fitted = state.engines.get(name, progress)
    ranked = fitted.recommend(user_id, k=k, min_ratings=min_ratings)
    reasons = fitted.explain(user_id, ranked["movie"].to_numpy()) if len(ranked) else []
    table, figure, summary = recommendation_table(state, ranked, name, k, reasons, user_id)
    message = f"{len(table)} recommendations for user {user_id} from {name}{floor_note(min_ratings)}"
    if figure is None:
        message += f". {ranking_note(name)}"
    return Recommendations(table, figure, message, summary), top_rated(state, user_id)


def build(state: AppState) -> None:
    """The tab's widgets and wiring."""
    first = state.user_choices[0] if state.user_choices else ""
    with gr.Row():
        user = gr.Textbox(first, label="User id", scale=2, min_width=160, max_lines=1,
                          info=f"a number from {int(state.users[0])} to {int(state.users[-1])}; Enter recommends")
        random_button = gr.Button("A random user", scale=1, min_width=120)
        engine = engine_picker(state, "user", "Engine", scale=4)
    with gr.Row():
        k, min_ratings = ranking_sliders(state)
    button = gr.Button("Recommend", variant="primary")
    message = gr.Markdown(elem_classes="movierec-message")
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            listed = ResultTable("Recommendations", RECOMMENDATION_COLUMNS, RECOMMENDATION_WIDTHS)
            table = listed.widget
            chart = gr.Plot(label="Recommendation scores", visible=False)
            summary = gr.Markdown(elem_classes="movierec-chart-summary")
        with gr.Column(scale=2, min_width=300):
            top_rated = ResultTable("Movies this user rated highest", TOP_RATED_COLUMNS, TOP_RATED_WIDTHS)
            rated = top_rated.widget
    outputs = Outputs(table=(table, listed.empty),
                      chart=(chart, lambda: gr.update(value=None, visible=False)), summary=(summary, ""),
                      rated=(rated, top_rated.empty), message=(message, None))

    @outputs.guard
    def recommend(user: Any, engine: Any, k: Any, min_ratings: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        result, top = recommend_for_user(state, user, engine, k, gradio_progress(progress), min_ratings)
        chart = gr.update(value=result.figure, visible=result.figure is not None)
        return outputs.answer(table=listed.show(result.table), chart=chart,
                              summary=result.summary, rated=top_rated.show(top), message=result.message)

    inputs = [user, engine, k, min_ratings]  # min_ratings last: API callers may leave it at its default
    button.click(recommend, inputs, outputs.widgets, api_name="recommend", show_progress_on=table)
    user.submit(recommend, inputs, outputs.widgets, api_visibility="private", show_progress_on=table)
    random_button.click(lambda: random_user(state), None, user, api_name="random_user").then(
        recommend, inputs, outputs.widgets, api_visibility="private", show_progress_on=table
    )
