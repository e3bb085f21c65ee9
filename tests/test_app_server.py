"""The launched app (a real server on 127.0.0.1) through gradio_client: every tab's endpoint."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from html.parser import HTMLParser

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from conftest import REPO
from movierec.app.cli import serving

STARS_EMPTY = [None, None] * 10


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving("sample", cache_dir=tmp_path_factory.mktemp("engines")) as url:
        yield url


@pytest.fixture(scope="module")
def client(served) -> Client:
    return Client(served, verbose=False)


def _figure(output: dict | None) -> dict | None:
    """The plot an output holds; None when hidden (plots come back wrapped in visibility updates)."""
    if output is not None and output.get("__type__") == "update":
        return output.get("value") if output.get("visible", True) else None
    return output


class _TableReader(HTMLParser):
    """The header and body cells of the one HTML table a result holds."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.data: list[list[str]] = []
        self._cell: list[str] | None = None
        self._head = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("th", "td"):
            self._cell, self._head = [], tag == "th"
        elif tag == "tr":
            self.data.append([])
        elif tag == "caption":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            (self.headers if self._head else self.data[-1]).append("".join(self._cell))
            self._cell = None


def _number(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _table(shown: str) -> dict:
    """{"headers", "data"} of a result table as the page shows it (an HTML table; numbers read back)."""
    reader = _TableReader()
    reader.feed(shown)
    rows = [[_number(cell) for cell in row] for row in reader.data if row]
    # an empty table shows one row spanning every column
    rows = [row for row in rows if len(row) == len(reader.headers)]
    return {"headers": reader.headers, "data": rows}


def _rows(shown: str) -> list[dict]:
    table = _table(shown)
    return [dict(zip(table["headers"], row)) for row in table["data"]]


def test_the_api_lists_one_endpoint_per_action(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/recommend", "/random_user", "/rate", "/similar", "/stored_benchmark", "/quick_benchmark",
            "/explore"} <= names


def test_recommend_endpoint_returns_table_chart_and_top_rated(client):
    user = client.predict(api_name="/random_user")
    table, chart, _, rated, message = client.predict(user, "item_knn", 5, api_name="/recommend")
    rows = _rows(table)
    ranks = [row["rank"] for row in rows]
    assert len(rows) == 5 and ranks[0] == 1 and ranks == sorted(ranks)  # equal stars share a rank
    assert all(row["title"] for row in rows)
    chart = chart.get("value", chart)  # the chart comes as an update: it is hidden for ranking engines
    assert chart["type"] == "plotly" and json.loads(chart["plot"])["layout"]["height"]
    assert _rows(rated)[0]["rating"] >= _rows(rated)[-1]["rating"]
    assert f"user {user}" in message


@pytest.mark.parametrize("user", ["not-a-user", "123456789", ""])
def test_recommend_endpoint_explains_a_bad_user(client, user):
    table, chart, _, rated, message = client.predict(user, "item_knn", 5, api_name="/recommend")
    assert message.startswith("**Note:**")
    assert _rows(table) == []
    assert chart is None or chart.get("value") is None


def test_k_beyond_the_slider_is_refused_and_the_server_keeps_serving(client):
    user = client.predict(api_name="/random_user")
    with pytest.raises(AppError, match="greater than maximum value 50"):
        client.predict(user, "item_knn", 500, api_name="/recommend")
    _, _, _, _, message = client.predict(user, "item_knn", 3, api_name="/recommend")
    assert "3 recommendations" in message


def test_rate_endpoint_folds_in_a_visitors_ratings(client, served):
    titles = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/rate"]["parameters"][2]
    choices = titles["type"]["enum"]
    pairs = [choices[0], 5, choices[1], 4, choices[2], 1, choices[3], 5, choices[4], 2] + [None, None] * 5
    table, chart, _, message = client.predict("item_knn", 6, *pairs, api_name="/rate")
    assert len(_rows(table)) == 6
    assert "from 5 rated movies" in message
    assert {row["title"] for row in _rows(table)}.isdisjoint({c.rsplit(" (", 1)[0] for c in choices[:5]})


def test_first_use_of_an_engine_shows_progress_in_the_page(client):
    choices = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/rate"]["parameters"][2]
    titles = choices["type"]["enum"]
    pairs = [titles[0], 5, titles[1], 4, titles[2], 2] + [None, None] * 7
    job = client.submit("surprise_svdpp", 5, *pairs, api_name="/rate")  # a few seconds of training
    shown: set[str] = set()
    while not job.done():
        shown.update(unit.desc or "" for unit in job.status().progress_data or [])
        time.sleep(0.05)
    assert "3 rated movies" in job.result()[3]
    assert any(text.startswith("training surprise_svdpp") for text in shown)


def test_rate_endpoint_explains_nothing_rated_and_bad_stars(client):
    _, _, _, message = client.predict("item_knn", 5, *STARS_EMPTY, api_name="/rate")
    assert "rate at least one movie" in message
    titles = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/rate"]["parameters"][2]["type"]["enum"]
    with pytest.raises(AppError):  # the Radio only accepts 1..5; the page cannot send 9
        client.predict("item_knn", 5, titles[0], 9, *STARS_EMPTY[2:], api_name="/rate")


def test_similar_endpoint_by_each_similarity(client):
    for similarity in ("text", "collaborative", "blended"):
        table, chart, sentence, message, candidates = client.predict(
            "the wild hollow", similarity, "item_knn", 5, api_name="/similar"
        )
        assert sentence.startswith("Chart: ")
        assert len(_rows(table)) == 5, message
        assert "about" in _table(table)["headers"]
        assert chart["type"] == "plotly"
    # a remake: both versions are offered to choose from
    assert sum(choice[0].startswith("The Wild Hollow (") for choice in candidates["choices"]) == 2


def test_similar_endpoint_explains_empty_and_unmatched_titles(client):
    for title in ("", "qqqq zzzz xxxx"):
        _, chart, _, message, _ = client.predict(title, "blended", "item_knn", 5, api_name="/similar")
        assert message.startswith("**Note:**") and chart is None


def test_typed_markup_is_shown_as_text(client):
    *_, message, _ = client.predict("<img src=x onerror=alert(1)>", "blended", "item_knn", 5, api_name="/similar")
    assert "<img" not in message and "&lt;img" in message


def test_quick_benchmark_endpoint(client):
    surprise, engines, scatter, summary, message, about = client.predict(["mean", "baseline"], api_name="/quick_benchmark")
    assert about.startswith("Chart: ")
    assert _figure(surprise) is None and _figure(engines)["type"] == "plotly" and scatter["type"] == "plotly"
    assert {row["engine"] for row in _rows(summary)} == {"mean", "baseline"}
    _, _, _, summary, message, _ = client.predict([], api_name="/quick_benchmark")
    assert "tick at least one engine" in message
    assert _table(summary)["headers"][:3] == ["engine", "metric", "mean"]  # not "1 2 3" after an error


def test_stored_benchmark_endpoint_draws_a_stored_result(client):
    parameters = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/stored_benchmark"]["parameters"]
    files = parameters[0]["type"].get("enum", [])
    if not files:
        pytest.skip("no stored benchmark results in benchmarks/results")
    surprise, engines, scatter, summary, message, _ = client.predict(files[0], "rmse", api_name="/stored_benchmark")
    shown = [_figure(plot) for plot in (surprise, engines) if _figure(plot) is not None]
    assert shown and all(plot["type"] == "plotly" for plot in shown) and scatter["type"] == "plotly"
    assert _rows(summary) and "rmse" in message
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("no-such-file.json", "rmse", api_name="/stored_benchmark")


def test_explore_endpoint_returns_summary_and_the_data_charts(client):
    summary, *rest = client.predict(api_name="/explore")
    assert dict((row["what"], row["value"]) for row in _rows(summary))["dataset"].startswith("sample (synthetic")
    charts, sentences = rest[:7], rest[7:]
    assert len(charts) == 7 and all(chart["type"] == "plotly" for chart in charts)
    assert len(sentences) == 7 and all(sentence.startswith("Chart: ") for sentence in sentences)


def test_movierec_serve_is_a_registered_subcommand():
    out = subprocess.run([sys.executable, "-m", "movierec.core.cli", "serve", "--help"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    assert "--dataset" in out.stdout and "--port" in out.stdout


def test_a_bad_dataset_spec_is_one_error_line_not_a_traceback():
    out = subprocess.run([sys.executable, str(REPO / "apps" / "gradio" / "app.py"), "--dataset", "nowhere:x"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 2
    assert "app.py: error: unknown dataset spec 'nowhere:x'" in out.stderr
    assert "Traceback" not in out.stderr


def test_host_and_port_follow_the_space_environment(monkeypatch):
    from movierec.app.cli import resolve_host, resolve_port

    for name in ("GRADIO_SERVER_NAME", "SPACE_ID", "PORT", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert (resolve_host(None), resolve_port(None)) == ("127.0.0.1", 7860)
    monkeypatch.setenv("SPACE_ID", "user/movierec")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    assert (resolve_host(None), resolve_port(None)) == ("0.0.0.0", 7861)
    monkeypatch.setenv("PORT", "8080")
    assert resolve_port(None) == 8080
    assert (resolve_host("10.0.0.1"), resolve_port(9000)) == ("10.0.0.1", 9000)


# ----------------------------------------------------------------- hostile or odd requests
def test_the_upload_route_is_refused_and_stores_nothing(served):
    answer = httpx.post(served + "gradio_api/upload", files={"files": ("big.bin", b"x" * 50_000)}, timeout=30)
    assert answer.status_code == 403 and "no file uploads" in answer.text
    small = httpx.post(served + "gradio_api/upload?upload_id=abc", files={"files": ("a.txt", b"hi")}, timeout=30)
    assert small.status_code == 403


def test_the_page_and_its_config_are_gzipped_and_light(served):
    for path in ("", "config"):
        answer = httpx.get(served + path, headers={"Accept-Encoding": "gzip"}, timeout=30)
        assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
        assert int(answer.headers["content-length"]) < 0.2 * len(answer.content)
    config = httpx.get(served + "config", timeout=30).json()
    longest = max(len(c.get("props", {}).get("choices") or []) for c in config["components"])
    assert longest <= 200  # the user list; title widgets open with 50 titles and search on the server
    # the checked k slider is drawn by Gradio's own slider (an unknown type leaves the page loading forever)
    types = {c["type"] for c in config["components"]}
    assert "slider" in types and not {t for t in types if t.endswith("slider") and t != "slider"}


def test_each_action_shows_one_progress_bar(served):
    config = httpx.get(served + "config", timeout=30).json()
    actions = [d for d in config["dependencies"] if d.get("api_name") in ("recommend", "rate", "similar", "quick_benchmark")]
    assert len(actions) == 4
    for action in actions:  # on the action's main output, not on each of its outputs
        assert len(action["show_progress_on"]) == 1 and action["show_progress_on"][0] in action["outputs"]


@pytest.mark.parametrize("k", ["abc", True, None])
def test_a_k_that_is_not_a_number_is_a_clear_error_not_a_traceback(client, k, capfd):
    user = client.predict(api_name="/random_user")
    with pytest.raises(AppError, match="How many \\(k\\) must be a number from 1 to 50"):
        client.predict(user, "item_knn", k, api_name="/recommend")
    assert "Traceback" not in capfd.readouterr().err


def test_recommend_and_rate_take_a_minimum_of_ratings_as_their_last_input(client):
    user = client.predict(api_name="/random_user")
    _, _, _, _, message = client.predict(user, "item_knn", 5, 50, api_name="/recommend")
    assert "at least 50 ratings each" in message
    _, _, _, _, message = client.predict(user, "item_knn", 5, api_name="/recommend")  # left at its default
    assert "ratings each" not in message  # 0 on the synthetic sample
    titles = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/rate"]["parameters"][2]
    pairs = [titles["type"]["enum"][0], 5] + [None, None] * 9
    _, _, _, message = client.predict("item_knn", 5, *pairs, 50, api_name="/rate")
    assert "from 1 rated movies" in message and "at least 50 ratings each" in message


def test_a_fractional_user_id_is_explained_and_tables_keep_their_headers(client):
    table, chart, _, rated, message = client.predict("1.5", "item_knn", 5, api_name="/recommend")
    assert "1.5 is not a user id" in message and (chart is None or chart.get("value") is None)
    assert _table(table)["headers"] == ["rank", "title", "year", "predicted stars", "reason"]
    assert _table(rated)["headers"] == ["title", "year", "rating", "date"]
    table, _, _, message, _ = client.predict("", "blended", "item_knn", 5, api_name="/similar")
    assert _table(table)["headers"] == ["rank", "title", "year", "score", "about"]


# ----------------------------------------------------------------- limits (movierec.app.limits, middleware)
def _search_call(served: str, text: str) -> httpx.Response:
    """The title widgets' per-keystroke search, called directly as a script could."""
    config = httpx.get(served + "config", timeout=30).json()
    search = next(d for d in config["dependencies"] if any(t[1] == "key_up" for t in d["targets"]))
    body = {"fn_index": search["id"], "data": [], "session_hash": "limits", "trigger_id": search["targets"][0][0],
            "event_data": {"key": "a", "input_value": text}}
    return httpx.post(served + "gradio_api/run/predict", json=body, timeout=30)


def test_a_huge_title_is_refused_at_once_and_a_long_one_by_its_length(client, served, capfd):
    started = time.perf_counter()
    reply = httpx.post(served + "gradio_api/queue/join", timeout=30,
                       json={"data": ["x " * 500_000, "blended", "item_knn", 5, 0], "fn_index": 0, "session_hash": "big"})
    assert reply.status_code == 413 and "request body over 65,536 bytes" in reply.text
    with pytest.raises(AppError, match="takes at most 300 characters"):
        client.predict("word " * 200, "blended", "item_knn", 5, api_name="/similar")
    assert time.perf_counter() - started < 10  # a 1 MB title took 82 s before
    assert "Traceback" not in capfd.readouterr().err
    _, _, _, message, _ = client.predict("", "blended", "item_knn", 5, api_name="/similar")
    assert message.startswith("**Note:**")  # still serving


def test_the_title_search_is_bounded_when_called_directly(served):
    started = time.perf_counter()
    for _ in range(4):  # four 60 kB queries kept the server busy for 16 s before
        reply = _search_call(served, "word " * 12_000)
        assert reply.status_code == 200 and reply.json()["data"][0]["choices"] == []
    assert time.perf_counter() - started < 5
    assert _search_call(served, "word " * 30_000).status_code == 413


def test_values_gradio_refuses_leave_one_log_line_not_a_traceback(client, capfd):
    user = client.predict(api_name="/random_user")
    with pytest.raises(AppError, match="greater than maximum value 50"):
        client.predict(user, "item_knn", 500, api_name="/recommend")
    assert "Traceback" not in capfd.readouterr().err


def test_an_unknown_engine_is_refused_with_a_note_not_a_traceback(client, capfd):
    user = client.predict(api_name="/random_user")
    table, *_, message = client.predict(user, "no_such_engine", 5, api_name="/recommend")
    assert message.startswith("**Note:** ") and "engine" in message
    assert "Traceback" not in capfd.readouterr().err


def test_seven_stars_leave_no_traceback(client, capfd):
    titles = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/rate"]["parameters"][2]
    pairs = [titles["type"]["enum"][0], 7] + [None, None] * 9
    with pytest.raises(AppError, match="Value: 7 .*is not in the list of choices"):
        client.predict("item_knn", 5, *pairs, api_name="/rate")
    assert "Traceback" not in capfd.readouterr().err


def test_recording_and_component_server_routes_are_refused(served, capfd):
    recording = httpx.post(served + "gradio_api/process_recording", files={"files": ("a.wav", b"RIFF0000WAVE")}, timeout=30)
    assert recording.status_code == 403
    for body in ({"bad": 1}, {"data": 1, "component_id": "x", "fn_name": 3, "session_hash": None}):
        answer = httpx.post(served + "gradio_api/component_server", json=body, timeout=30)
        assert answer.status_code == 403
    assert "Traceback" not in capfd.readouterr().err
    config = httpx.get(served + "config", timeout=30).json()
    # refusing the route takes nothing away: no widget of the app has server functions
    assert not [c for c in config["components"] if c.get("props", {}).get("server_fns")]


def test_markdown_typed_into_a_title_is_shown_as_text(client):
    typed = "[click](http://evil.example) ![x](http://evil.example/a.png) **bold** www.evil.example"
    *_, message, _ = client.predict(typed, "blended", "item_knn", 5, api_name="/similar")
    assert message.startswith("**Note:** ")
    note = message.removeprefix("**Note:** ")
    assert "\\[click\\](http\\://evil.example)" in note and "\\!\\[x\\]" in note and "\\*\\*bold\\*\\*" in note
    assert "www\\.evil" in note
    assert "](" not in note.replace("\\](", "")  # every link opener is escaped


def test_calls_of_unknown_events_or_with_too_few_values_leave_no_traceback(served, capfd):
    config = httpx.get(served + "config", timeout=30).json()
    recommend = next(d for d in config["dependencies"] if d.get("api_name") == "recommend")
    join = served + "gradio_api/queue/join"
    few = httpx.post(join, json={"data": ["1", "item_knn"], "fn_index": recommend["id"], "session_hash": "few"}, timeout=30)
    assert few.status_code == 422 and few.text == f"event {recommend['id']} takes 4 values, got 2"
    unknown = httpx.post(join, json={"data": [], "fn_index": 999, "session_hash": "none"}, timeout=30)
    assert unknown.status_code == 404 and unknown.text == "no event 999"
    named = httpx.post(served + "gradio_api/call/recommend", json={"data": ["1"]}, timeout=30)
    assert named.status_code == 422 and named.text == "event recommend takes 4 values, got 1"
    assert "Traceback" not in capfd.readouterr().err
