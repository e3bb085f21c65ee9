"""Export to standalone HTML and PNG (Kaleido with the system chromium), and `movierec report`."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from movierec.core.cli import main
from movierec.core.errors import MovierecError
from movierec.viz import rating_distribution, write_html
from movierec.viz.export import ExportError, find_browser, missing_browser_reason, to_png, write_pngs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium Kaleido drives; skip without one, except where CI requires every test to run."""
    path = find_browser()
    if path is None:
        reason = f"PNG export cannot run here: {missing_browser_reason()}"
        if os.environ.get("MOVIEREC_REQUIRE_SHARED_DATA") == "1" or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def pixels(png: bytes) -> np.ndarray:
    """Decode PNG bytes to an RGB array."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_html_export_is_standalone_and_escapes_titles(tmp_path, sample):
    figure = rating_distribution(sample.ratings, "Netflix")
    path = write_html(figure, tmp_path / "charts" / "rating.html")
    page = path.read_text(encoding="utf-8")
    assert " src=" not in page, "no script or asset is fetched"
    assert "* plotly.js v" in page and len(page) > 1_000_000, "plotly.js is embedded"
    assert "Distribution Of 56,597 Netflix-Ratings" in page


def test_png_export_draws_the_red_bars_and_titles(tmp_path, sample, chromium):
    figure = rating_distribution(sample.ratings, "Netflix")
    png = to_png(figure, width=800)
    assert png.startswith(PNG_SIGNATURE)
    image = pixels(png)
    assert image.shape == (figure.layout.height, 800, 3)
    red = np.all(np.abs(image.astype(int) - [0xDB, 0x00, 0x00]) <= 8, axis=2)
    dark = image.max(axis=2) < 100
    assert red.mean() > 0.05, "bars in #db0000 cover the plot"
    assert dark.sum() > 500, "titles, ticks and labels are drawn"
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20, "not a blank canvas"


def test_png_export_without_a_browser_says_how_to_get_one(monkeypatch, tmp_path, sample):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    assert find_browser() is None
    with pytest.raises(ExportError, match="BROWSER_PATH='.*no-such-chromium' does not exist") as caught:
        write_pngs([(rating_distribution(sample.ratings), tmp_path / "x.png")])
    assert isinstance(caught.value, MovierecError)


def test_report_command_writes_every_chart_and_an_index(tmp_path, chromium, capsys):
    import pandas as pd

    from movierec.core.evaluation.results import BenchmarkResult

    rows = [
        dict(engine=engine, fold=f"fold{fold}", metric=metric, value=value * (1 + 0.01 * fold),
             fit_seconds=fit, predict_seconds=0.2)
        for engine, fit, values in (("mean", 0.01, (1.02, 0.03)), ("svd", 4.0, (0.87, 0.12)),
                                    ("knn", 2.5, (0.93, 0.09)), ("a <b> & c", 40.0, (0.9, 0.1)))
        for fold in (1, 2, 3)
        for metric, value in zip(("rmse", "ndcg@10"), values)
    ]
    bench = BenchmarkResult(pd.DataFrame(rows), dataset="sample", split="kfold:3").save(tmp_path / "bench.json")
    out = tmp_path / "report"
    # through core's parser: `report` comes from movierec-viz's movierec.cli entry point
    status = main(["report", "sample", "--out", str(out), "--benchmark", str(bench)])
    assert status == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    index = (out / "index.html").read_text()
    for name in ("release", "rating", "time", "rating_per_movie", "rating_per_user", "mean_rating",
                 "weighted_mean_rating", "bench_errors", "bench_ranking", "bench_fit_time"):
        assert f'href="{name}.html"' in index and f'src="{name}.png"' in index
        assert (out / f"{name}.png").read_bytes().startswith(PNG_SIGNATURE)
        assert "plotly.min.js" in (out / f"{name}.html").read_text()
    assert (out / "plotly.min.js").exists()
    assert "Crossvalidated Comparison Of 4 Engines" in index
    assert "a &lt;b&gt; &amp; c" in (out / "bench_errors.html").read_text(), "engine names are escaped"
    assert pixels((out / "bench_errors.png").read_bytes()).std() > 10


def test_report_names_a_missing_benchmark_file(tmp_path, capsys):
    status = main(["report", "sample", "--out", str(tmp_path), "--no-png", "--benchmark", str(tmp_path / "missing.json")])
    assert status == 2
    assert "missing.json: benchmark file not found" in capsys.readouterr().err


def test_report_without_png_needs_no_browser(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    assert main(["report", "sample", "--out", str(tmp_path / "r"), "--no-png"]) == 0
    index = (tmp_path / "r" / "index.html").read_text()
    assert 'href="rating_per_user.html"' in index and ".png" not in index


def test_viz_and_the_report_command_load_no_engine_library():
    from conftest import modules_loaded_by

    statements = "import movierec.viz, movierec.viz.report\nfrom movierec.core.cli import build_parser; build_parser()"
    assert modules_loaded_by(statements, ("tensorflow", "keras", "surprise", "lightfm", "gradio")) == []


def test_report_index_escapes_titles_once():
    import pandas as pd

    from movierec.viz import top_similar_movies
    from movierec.viz.report import Chart, _index_page

    similar = pd.DataFrame({"movie": [1], "score": [0.3]})
    page = _index_page([Chart("similar", "Tom & Jerry", top_similar_movies(similar, "Tom & Jerry <b>"))], png=True)
    assert "<h2>Tom &amp; Jerry</h2>" in page
    assert 'To "Tom &amp; Jerry &lt;b&gt;"' in page and "&amp;amp;" not in page
