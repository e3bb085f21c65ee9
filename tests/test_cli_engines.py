"""`movierec benchmark`, `recommend` and `similar` on the sample: outputs and error messages."""

from __future__ import annotations

import json

import pytest

from movierec.core.cli import main
from movierec.core.evaluation import load_benchmark
from movierec.core.models.registry import engine_names


@pytest.fixture(scope="module")
def a_user(sample) -> int:
    return int(sample.ratings["user"].value_counts().index[0])


def test_recommend_prints_titles_scores_and_reasons(capsys, sample, a_user):
    assert main(["recommend", "sample", "--user", str(a_user), "--engine", "item_knn", "-k", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert f"top 3 for user {a_user} by item_knn" in lines[0] and len(lines) == 4
    assert "similar to " in out and "which you rated" in out and "{movie:" not in out


def test_recommend_json_lists_k_movies(capsys, a_user):
    assert main(["recommend", "sample", "--user", str(a_user), "--engine", "baseline", "-k", "4", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in document["recommendations"]] == [1, 2, 3, 4]
    assert all(r["title"] and r["year"] for r in document["recommendations"])
    assert all(1 <= r["predicted_rating"] <= 5 for r in document["recommendations"])


def test_recommend_shows_stars_for_a_rating_engine_and_a_labelled_relevance_for_a_ranking_engine(capsys, a_user):
    assert main(["recommend", "sample", "--user", str(a_user), "--engine", "baseline", "-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "predicted stars" in lines[0] and all(" stars  [id " in line for line in lines[1:])
    assert main(["recommend", "sample", "--user", str(a_user), "--engine", "ease", "-k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "relevance scores of a ranking engine" in lines[0]
    assert all("relevance " in line and "stars" not in line for line in lines[1:])
    assert main(["recommend", "sample", "--user", str(a_user), "--engine", "ease", "-k", "2", "--json"]) == 0
    assert all("predicted_rating" not in r for r in json.loads(capsys.readouterr().out)["recommendations"])


def test_unknown_user_is_a_clear_message(capsys):
    assert main(["recommend", "sample", "--user", "424242424", "--engine", "mean"]) == 2
    assert "unknown user 424242424: sample has 1,500 users" in capsys.readouterr().err


def test_similar_finds_a_title_despite_a_typo_only_when_asked_exactly(capsys):
    assert main(["similar", "sample", "--title", "wild holow"]) == 2
    err = capsys.readouterr().err
    assert "no movie titled 'wild holow'; closest titles: The Wild Hollow" in err


def test_ambiguous_remake_lists_years_and_year_picks_one(capsys):
    assert main(["similar", "sample", "--title", "The Wild Hollow"]) == 2
    err = capsys.readouterr().err
    assert "2 movies are titled" in err and "(2001)" in err and "(1970)" in err and "--year" in err
    assert main(["similar", "sample", "--title", "The Wild Hollow", "--year", "1970", "-k", "3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["movie"] == 2 and len(document["similar"]) == 3


def test_similar_needs_an_engine_with_movie_representations(capsys):
    assert main(["similar", "sample", "--movie-id", "1", "--engine", "baseline"]) == 2
    assert "no movie representations" in capsys.readouterr().err


def test_benchmark_prints_a_table_and_writes_json(capsys, tmp_path):
    out_path = tmp_path / "bench.json"
    code = main(["benchmark", "sample", "--suite", "classic", "--split", "user:0.25", "--sample", "8000",
                 "-k", "5", "--json", str(out_path), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    for name in ("mean", "weighted", "baseline", "user_knn", "item_knn", "content_tfidf", "ndcg@5", "rmse"):
        assert name in out
    result = load_benchmark(out_path)
    assert set(result.table["engine"]) == set(engine_names("classic", available_only=True))
    assert result.extra["sample"] == 8000


def test_benchmark_rejects_unknown_engines_before_loading_data(capsys):
    assert main(["benchmark", "sample", "--engines", "mean,nope"]) == 2
    assert "unknown engine(s) nope" in capsys.readouterr().err
