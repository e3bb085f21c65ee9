"""The web app under measurement: cold start, per-interaction latency, and 20 concurrent clients.

Each app runs as its own process (`python apps/gradio/app.py`), as on a Space; clients talk to it
through gradio_client.

    hatch run python benchmarks/bench_app.py                       # everything (about 4 minutes)
    hatch run python benchmarks/bench_app.py --part startup        # cold and warm start, first deep engine
    hatch run python benchmarks/bench_app.py --part latency --requests 50
    hatch run python benchmarks/bench_app.py --part concurrency --clients 20 --seconds 60
    hatch run python benchmarks/bench_app.py --part weight --datasets sample,movielens:DIR,netflix:DIR
    hatch run python benchmarks/bench_app.py --part charts --datasets movielens:DIR

Comparisons in the same run:
- startup: first start (engines trained) against the second start (engines loaded from the cache).
- latency: each endpoint through the server against the same callback called in-process
  (the ratio is what HTTP, the queue and serialization cost).
- concurrency: the app's queue settings (default_concurrency_limit=4) against Gradio's default (1).
- weight: what chromium downloads to open the page (the HTML with its embedded config and every
  JSON answer until the page is idle; the JavaScript and CSS bundles are the same for every app and
  cached), decoded and as transferred, and the largest components of the config.
- charts: chromium's drawing of each Benchmarks and Explore chart (plotly.js from the plotly
  package) against building the same figures on the server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "apps" / "gradio" / "app.py"
ENDPOINTS = ("recommend", "similar", "rate")


def _free_port() -> int:
    from movierec.app.cli import free_port

    return free_port()


@contextmanager
def running_app(cache_dir: Path, concurrency: int | None = None, extra_env: dict[str, str] | None = None
                ) -> Iterator[tuple[str, float, subprocess.Popen]]:
    """Start app.py on a free port; yield (url, seconds until it answered HTTP, process)."""
    port = _free_port()
    env = {**os.environ, "MOVIEREC_CACHE_DIR": str(cache_dir), "GRADIO_ANALYTICS_ENABLED": "False",
           "TF_CPP_MIN_LOG_LEVEL": "3", **(extra_env or {})}
    env.pop("PORT", None)
    if concurrency is not None:
        env["GRADIO_DEFAULT_CONCURRENCY_LIMIT"] = str(concurrency)
    started = time.perf_counter()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, str(APP), "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        import httpx

        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"app.py exited with {process.returncode}:\n{log.read().decode()[-3000:]}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url, time.perf_counter() - started, process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False)


def _arguments(client: Any, endpoint: str, user: str) -> tuple[Any, ...]:
    if endpoint == "recommend":
        return (user, "item_knn", 10)
    if endpoint == "similar":
        return ("the wild hollow", "blended", "item_knn", 10)
    rate = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/rate"]["parameters"][2]["type"]["enum"]
    pairs = [rate[0], 5, rate[1], 4, rate[2], 2, rate[3], 5, rate[4], 3] + [None, None] * 5
    return ("item_knn", 10, *pairs)


def percentiles(seconds: list[float]) -> str:
    """p50 / p95 / max in milliseconds."""
    values = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(values, 50):7.1f} ms   p95 {np.percentile(values, 95):7.1f} ms   max {values.max():7.1f} ms"


# ----------------------------------------------------------------- startup
def bench_startup() -> None:
    print("== startup: process start until the first recommendation is answered (sample, 2 cores)")
    with tempfile.TemporaryDirectory() as cache:
        answered: dict[str, float] = {}
        deep: dict[str, float] = {}
        for attempt in ("first", "second"):
            began = time.perf_counter()
            with running_app(Path(cache)) as (url, up, _):
                client = _client(url)
                client.predict("672", "item_knn", 10, api_name="/recommend")
                answered[attempt] = time.perf_counter() - began
                began = time.perf_counter()
                client.predict("672", "keras_mf", 10, api_name="/recommend")
                deep[attempt] = time.perf_counter() - began
            how = "empty cache: trains item_knn and content_tfidf" if attempt == "first" else "engines from the cache"
            print(f"  {attempt} start ({how}): serving after {up:5.1f} s, first answer after {answered[attempt]:5.1f} s")
            what = "TensorFlow import + training" if attempt == "first" else "TensorFlow import + loading"
            print(f"    then the first keras_mf answer ({what}): {deep[attempt]:5.1f} s")
        print(f"  first start including keras_mf: {answered['first'] + deep['first']:.1f} s; "
              f"first/second start to first answer: {answered['first'] / answered['second']:.2f}x, "
              f"keras_mf trained/loaded: {deep['first'] / deep['second']:.1f}x")


# ----------------------------------------------------------------- latency
def bench_latency(requests: int) -> None:
    print(f"== latency: {requests} sequential requests per endpoint, engines loaded (sample)")
    from movierec.app.state import AppState

    with tempfile.TemporaryDirectory() as cache, running_app(Path(cache)) as (url, _, _):
        client = _client(url)
        state = AppState.create("sample", Path(cache))
        users = state.user_choices
        for endpoint in ENDPOINTS:
            served: list[float] = []
            direct: list[float] = []
            for i in range(requests + 3):
                arguments = _arguments(client, endpoint, users[i % len(users)])
                began = time.perf_counter()
                client.predict(*arguments, api_name=f"/{endpoint}")
                if i >= 3:  # the first calls warm the engines and the connection
                    served.append(time.perf_counter() - began)
                began = time.perf_counter()
                _direct(state, endpoint, arguments)
                if i >= 3:
                    direct.append(time.perf_counter() - began)
            ratio = np.median(served) / np.median(direct)
            print(f"  /{endpoint:<9} served   {percentiles(served)}")
            print(f"  {'':<10} in-process {percentiles(direct)}   server/in-process {ratio:.1f}x")
        bench_stored_view(client, state, requests)


def bench_stored_view(client: Any, state: Any, requests: int) -> None:
    """The Benchmarks tab's stored result: charts drawn anew each time against the view kept per metric."""
    from movierec.app import results
    from movierec.app.tabs import benchmarks as benchmarks_tab

    stored = results.stored_results()
    if not stored:
        print("  /stored_benchmark: no stored results in benchmarks/results, skipped")
        return
    name = benchmarks_tab.result_choices(stored, state.name)[0][1]
    metrics = benchmarks_tab.metrics_of(stored[name])[:2]
    drawn: list[float] = []
    kept: list[float] = []
    served: list[float] = []
    for i in range(requests + 2):
        metric = metrics[i % len(metrics)]
        began = time.perf_counter()
        benchmarks_tab.benchmark_view(stored[name], metric, state.name)
        if i >= 2:
            drawn.append(time.perf_counter() - began)
        began = time.perf_counter()
        benchmarks_tab.stored_view(name, metric, served=state.name)
        if i >= 2:  # the first call for each metric draws it
            kept.append(time.perf_counter() - began)
        began = time.perf_counter()
        client.predict(name, metric, api_name="/stored_benchmark")
        if i >= 2:
            served.append(time.perf_counter() - began)
    print(f"  /stored_benchmark ({name}, {' and '.join(metrics)} in turn)")
    print(f"  {'':<10} served     {percentiles(served)}")
    print(f"  {'':<10} drawn anew {percentiles(drawn)}")
    print(f"  {'':<10} kept view  {percentiles(kept)}   drawn/kept {np.median(drawn) / np.median(kept):.0f}x")


def _direct(state: Any, endpoint: str, arguments: tuple[Any, ...]) -> None:
    from movierec.app.tabs import rate as rate_tab
    from movierec.app.tabs import similar as similar_tab
    from movierec.app.tabs import user as user_tab

    if endpoint == "recommend":
        user_tab.recommend_for_user(state, *arguments)
    elif endpoint == "similar":
        similar_tab.similar_titles(state, *arguments)
    else:
        engine, k, *pairs = arguments
        rate_tab.recommend_for_new_user(state, engine, k, list(zip(pairs[0::2], pairs[1::2])))


# ----------------------------------------------------------------- page weight
CHROMIUM = "/usr/bin/chromium"


def bench_weight(datasets: list[str]) -> None:
    print("== page weight: HTML + config + JSON chromium fetches until idle (static JS/CSS bundles left out)")
    with tempfile.TemporaryDirectory() as cache:
        for spec in datasets:
            with running_app(Path(cache), extra_env={"MOVIEREC_DATASET": spec}) as (url, _, _):
                decoded, transferred, parts = page_weight(url)
                largest = ", ".join(f"{what} {size / 1024:.0f} KB" for what, size in config_components(url)[:3])
                name = Path(spec.partition(":")[2]).name or spec
                print(f"  {name:<16} page {decoded / 1e6:6.2f} MB decoded, {transferred / 1e6:6.2f} MB transferred "
                      f"({parts} responses); largest config entries: {largest}")


def page_weight(url: str) -> tuple[int, int, int]:
    """(decoded bytes, transferred bytes, responses) of the document and its JSON answers."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        responses: list[Any] = []
        page.on("response", lambda response: responses.append(response))
        page.goto(url, wait_until="networkidle")
        decoded = transferred = counted = 0
        for response in responses:
            kind = response.request.resource_type
            if kind not in ("document", "xhr", "fetch", "eventsource"):
                continue
            try:
                body = response.body()
            except Exception:  # a stream (server-sent events) has no body to read back
                body = b""
            decoded += len(body)
            transferred += response.request.sizes()["responseBodySize"]
            counted += 1
        browser.close()
    return decoded, transferred, counted


# ----------------------------------------------------------------- chart drawing
CHART_ROUNDS = 4


def bench_charts(spec: str) -> None:
    """How long chromium takes to draw each chart of the Benchmarks and Explore tabs, against building it."""
    import json

    import plotly
    from playwright.sync_api import sync_playwright

    from movierec.app import results
    from movierec.app.tabs import benchmarks as benchmarks_tab
    from movierec.app.state import dataset_name
    from movierec.core.data import load_dataset
    from movierec.viz.report import data_charts

    dataset = load_dataset(spec)
    name = dataset_name(spec)
    began = time.perf_counter()
    figures = {f"explore: {chart.name}": chart.figure for chart in data_charts(dataset)}
    built_explore = time.perf_counter() - began
    stored = results.stored_results()
    built_view = 0.0
    if stored:
        result = benchmarks_tab.result_choices(stored, name)[0][1]
        began = time.perf_counter()
        view = benchmarks_tab.benchmark_view(stored[result], None, name)
        built_view = time.perf_counter() - began
        for label, figure in (("surprise heatmap", view.surprise_heatmap), ("engines heatmap", view.engines_heatmap),
                              ("scatter", view.scatter)):
            if figure is not None:
                figures[f"benchmarks: {label}"] = figure
    print(f"== chart drawing in chromium ({spec}): first draw and median of {CHART_ROUNDS - 1} later ones, "
          f"plotly.js {plotly.__version__}")
    script = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    draw = """async (spec) => { const box = document.getElementById('chart'); Plotly.purge(box);
        const began = performance.now(); await Plotly.newPlot(box, spec.data, spec.layout, {responsive: true});
        await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0))); return performance.now() - began; }"""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_content("<div id='chart' style='width: 1300px'></div>")
        page.add_script_tag(path=str(script))
        times: dict[str, list[float]] = {label: [] for label in figures}
        for _ in range(CHART_ROUNDS):
            for label, figure in figures.items():
                times[label].append(page.evaluate(draw, json.loads(figure.to_json())))
        browser.close()
    for tab in ("benchmarks", "explore"):
        rows = {label: ms for label, ms in times.items() if label.startswith(tab)}
        warm = sum(float(np.median(ms[1:])) for ms in rows.values())
        for label, ms in rows.items():
            print(f"  {label:<58} first {ms[0]:6.0f} ms   later {np.median(ms[1:]):6.0f} ms")
        built = built_view if tab == "benchmarks" else built_explore
        if rows:
            print(f"  {tab}: {len(rows)} charts drawn in {warm:.0f} ms (later draws), built on the server in "
                  f"{1000 * built:.0f} ms: drawing/building {warm / max(1000 * built, 1e-9):.1f}x")


def config_components(url: str) -> list[tuple[str, int]]:
    """(label or type, bytes of its JSON) of the page config's components, largest first."""
    import json

    import httpx

    config = httpx.get(url + "config", timeout=60).json()
    sizes = [(str(c.get("props", {}).get("label") or c.get("type")), len(json.dumps(c))) for c in config["components"]]
    return sorted(sizes, key=lambda item: -item[1])


# ----------------------------------------------------------------- concurrency
def bench_concurrency(clients: int, seconds: float) -> None:
    print(f"== concurrency: {clients} gradio_client threads, recommend and similar in turn, {seconds:g} s each")
    with tempfile.TemporaryDirectory() as cache:
        results = {}
        for label, limit in (("app settings (concurrency 4)", None), ("Gradio default (concurrency 1)", 1)):
            with running_app(Path(cache), concurrency=limit) as (url, _, process):
                cpu_before = _cpu_seconds(process.pid)
                results[label] = _hammer(url, clients, seconds)
                server_cpu = _cpu_seconds(process.pid) - cpu_before
            latencies, errors, done = results[label]
            print(f"  {label:<32} {done:5d} requests  {done / seconds:6.1f}/s  errors {errors}  "
                  f"{percentiles(latencies)}  server CPU {1000 * server_cpu / max(done, 1):.0f} ms/request")
        ours = np.percentile(results["app settings (concurrency 4)"][0], 95)
        default = np.percentile(results["Gradio default (concurrency 1)"][0], 95)
        print(f"  p95 ratio default/app settings: {default / ours:.2f}x")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hammer(url: str, clients: int, seconds: float) -> tuple[list[float], int, int]:
    warm = _client(url)
    users = [str(u) for u in warm.view_api(print_info=False, return_format="dict")["named_endpoints"]["/recommend"]
             ["parameters"][0]["type"].get("enum", ["672"])][:200] or ["672"]
    for endpoint in ("recommend", "similar"):
        warm.predict(*_arguments(warm, endpoint, users[0]), api_name=f"/{endpoint}")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        client = _client(url)
        step = 0
        while time.perf_counter() < deadline:
            endpoint = ("recommend", "similar")[(index + step) % 2]
            arguments = _arguments(client, endpoint, users[(index * 7 + step) % len(users)])
            began = time.perf_counter()
            try:
                client.predict(*arguments, api_name=f"/{endpoint}")
            except Exception as error:  # counted and reported, the run goes on
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
            else:
                with lock:
                    latencies.append(time.perf_counter() - began)
            step += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    if errors:
        print(f"    first error: {errors[0]}")
    return latencies, len(errors), len(latencies) + len(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "startup", "latency", "concurrency", "weight", "charts"), default="all")
    parser.add_argument("--datasets", default="sample", help="comma-separated dataset specs for --part weight and charts")
    parser.add_argument("--requests", type=int, default=50, help="sequential requests per endpoint")
    parser.add_argument("--clients", type=int, default=20, help="concurrent gradio_client threads")
    parser.add_argument("--seconds", type=float, default=60, help="length of each concurrency run")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    if args.part in ("all", "startup"):
        bench_startup()
    if args.part in ("all", "latency"):
        bench_latency(args.requests)
    if args.part in ("all", "concurrency"):
        bench_concurrency(args.clients, args.seconds)
    if args.part in ("all", "weight"):
        bench_weight([spec.strip() for spec in args.datasets.split(",") if spec.strip()])
    if args.part in ("all", "charts"):
        for spec in (spec.strip() for spec in args.datasets.split(",") if spec.strip()):
            bench_charts(spec)


if __name__ == "__main__":
    main()
