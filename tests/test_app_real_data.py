"""The app's callbacks on the real datasets in ../shared/data (skipped when absent)."""

from __future__ import annotations

import pytest

from movierec.app import callbacks
from movierec.app.tabs import explore as explore_tab
from movierec.app.tabs import rate as rate_tab
from movierec.app.tabs import similar as similar_tab
from movierec.app.tabs import user as user_tab
from movierec.app.state import AppState

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def movielens(movielens_small_dir, tmp_path_factory) -> AppState:
    return AppState.create(f"movielens:{movielens_small_dir}", tmp_path_factory.mktemp("engines"),
                           metadata=movielens_small_dir / "movies_with_overview.csv")


def test_movielens_recommendations_and_reasons(movielens):
    user = movielens.user_choices[0]
    result, top = user_tab.recommend_for_user(movielens, user, "item_knn", 10)
    assert len(result.table) == 10
    assert result.table["reason"].str.contains("which you rated").all()
    assert top["rating"].iloc[0] == 5.0


def test_movielens_similar_titles_find_the_sequels(movielens):
    result, match = similar_tab.similar_titles(movielens, "toy story", similar_tab.SIMILARITY_BLENDED, "item_knn", 10)
    assert match.label == "Toy Story (1995)"
    assert "Toy Story 2" in set(result.table["title"])
    assert result.table["about"].str.len().gt(0).all()


def test_movielens_rate_yourself_with_real_titles(movielens):
    rows = [("Toy Story (1995)", 5), ("Finding Nemo (2003)", 5), ("Shrek (2001)", 4),
            ("Saw (2004)", 1), ("Monsters, Inc. (2001)", 5)]
    result = rate_tab.recommend_for_new_user(movielens, "item_knn", 10, rows)
    assert len(result.table) == 10
    assert not {"Toy Story", "Finding Nemo", "Shrek"} & set(result.table["title"])


def test_without_overviews_toy_story_is_similar_by_genres_and_tags(movielens_small_dir, tmp_path):
    state = AppState.create(f"movielens:{movielens_small_dir}", tmp_path)
    assert similar_tab.similarity_choices(state)[0] == ("text (genres, tags and title words)", similar_tab.SIMILARITY_TEXT)
    assert "keras_hybrid" in state.offered  # it reads the genres, tags and title words too
    assert callbacks.default_min_ratings(state) == 5
    result, _ = similar_tab.similar_titles(state, "toy story", similar_tab.SIMILARITY_TEXT, "item_knn", 5, min_ratings=5)
    assert {"Toy Story 2", "Toy Story 3"} <= set(result.table["title"])
    assert result.table["about"].head(3).str.contains("Children").all() and "left out" not in result.message
    blended, _ = similar_tab.similar_titles(state, "Toy Story (1995)", similar_tab.SIMILARITY_BLENDED, "item_knn", 10,
                                          min_ratings=5)
    assert "Toy Story 2" in set(blended.table["title"]) and "left out" not in blended.message


def test_netflix_titles_without_text_offer_collaborative_similarity_only(netflix_dir, tmp_path):
    state = AppState.create(f"netflix:{netflix_dir}", tmp_path)
    assert state.text_source is None
    assert [value for _, value in similar_tab.similarity_choices(state)] == [similar_tab.SIMILARITY_COLLABORATIVE]
    # engines that read movie text could only fail here: not offered
    assert "keras_hybrid" not in state.offered and "content_tfidf" not in state.offered and "item_knn" in state.offered
    rated = state.catalogue.labels[0]
    result, _ = similar_tab.similar_titles(state, rated, similar_tab.SIMILARITY_COLLABORATIVE, "item_knn", 3)
    assert len(result.table) == 3
    unrated = state.catalogue.labels[-1]  # 17,765 titles have no rating in the sample
    with pytest.raises(callbacks.InputError, match="has no ratings in this dataset"):
        similar_tab.similar_titles(state, unrated, similar_tab.SIMILARITY_COLLABORATIVE, "item_knn", 3)
    assert state.warm(["content_tfidf"])["content_tfidf"]  # start-up warming reports, never crashes


def test_netflix_titles_with_commas_are_all_offered(netflix_dir, tmp_path):
    state = AppState.create(f"netflix:{netflix_dir}", tmp_path)
    labels = state.catalogue.labels
    assert len(labels) == len(set(labels)) == 17_770
    assert sum("," in label for label in labels) >= 336
    summary = dict(explore_tab.dataset_summary(state).itertuples(index=False))
    assert summary["titles"] == "17,770"
