"""A real chromium uses every tab of the app as a Space serves it (ml-latest-small), and the sample without network.

The Space start runs `apps/gradio/app.py` as its own process with `SPACE_ID` set, no
`MOVIEREC_DATASET`, and `MOVIEREC_DATA_DIR` holding ml-latest-small (as the Space's storage does
after its first fetch; a download would fail here). Click-to-result times per tab are printed
(warm: each action is clicked once before it is timed), not asserted. Every tab is used at 1400 px and
at a phone's 390 px, checked by axe (the accessibility rules), and shot to the test's output folder
(`test-results/`), from where docs/screenshots/ is refreshed.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from conftest import REPO
from movierec.app.cli import free_port

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000
MOVIELENS_FILES = ("ratings.csv", "movies.csv", "links.csv", "tags.csv")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium, quiet and offline (playwright cannot download its own build here)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@contextmanager
def _space(root: Path) -> Iterator[str]:
    """app.py started the way a Space starts it (SPACE_ID, PORT, no MOVIEREC_DATASET), storage in `root`/data."""
    port = free_port()
    env = {**os.environ, "SPACE_ID": "someone/movierec", "PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "MOVIEREC_DATA_DIR": str(root / "data"), "MOVIEREC_CACHE_DIR": str(root / "engines"),
           "MOVIEREC_MOVIELENS_URL": (root / "offline").as_uri(),  # a download fails, as without network
           "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("MOVIEREC_DATASET", None)
    log_path = root / "app.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, str(REPO / "apps" / "gradio" / "app.py")], env=env, cwd=REPO,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 600  # a first start on ml-latest-small trains item_knn and content_tfidf
            while True:
                if process.poll() is not None:
                    pytest.fail(f"app.py exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(url, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("app.py did not answer within 600 s")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=60)
    assert "Traceback" not in log_path.read_text()


@pytest.fixture(scope="module")
def space_url(movielens_small_dir, tmp_path_factory):
    """A Space whose storage already holds ml-latest-small (fetched at an earlier start)."""
    root = tmp_path_factory.mktemp("space")
    storage = root / "data" / "ml-latest-small"
    storage.mkdir(parents=True)
    for name in MOVIELENS_FILES:
        (storage / name).symlink_to(movielens_small_dir / name)
    with _space(root) as url:
        yield url


def _shot(page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _open_tab(page, name: str):
    page.get_by_role("tab", name=name).click()
    return page.get_by_role("tabpanel")  # only the selected tab's panel is shown


def _pick(page, panel, label: str, text: str, option: str | None = None) -> None:
    """Type into a searchable dropdown key by key (the server searches) and choose the option shown, or Enter."""
    box = panel.get_by_label(label, exact=True).first
    box.click()
    box.fill("")
    box.press_sequentially(text, delay=40)
    if option is not None:
        page.get_by_role("option", name=option, exact=True).first.click()
    else:
        box.press("Enter")


# In the page: the time of the first click from now, and of the first DOM change after which an
# element matching the selector (an answer's `.movierec-message`, or a chart) shows the expected
# text; Playwright's own click and polling overheads are not counted.
_WATCH = """([pattern, selector]) => {
  const done = new RegExp(pattern);
  window.__movierecClick = null; window.__movierecDone = null;
  document.addEventListener("click", () => { window.__movierecClick ??= performance.now(); },
                            {capture: true, once: true});
  const shown = () => [...document.querySelectorAll(selector)].some((m) => done.test(m.textContent));
  const observer = new MutationObserver(() => {
    if (window.__movierecClick !== null && shown()) { window.__movierecDone = performance.now(); observer.disconnect(); }
  });
  observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def _timed(panel, button: str, done: str | re.Pattern) -> float:
    """Seconds from a click on `button` until `done` shows in the panel (a text the page did not show before).

    Measured in the page: from the click event to the DOM change that shows the answer's message.
    """
    return _timed_click(panel, panel.get_by_role("button", name=button, exact=True), done)


def _timed_click(panel, target, done: str | re.Pattern, where: str = ".movierec-message") -> float:
    """Seconds from a click on `target` (any element) until `done` shows in an element matching `where`."""
    pattern = done.pattern if isinstance(done, re.Pattern) else re.escape(done)
    panel.page.evaluate(_WATCH, [pattern, where])
    target.click()
    panel.get_by_text(done).first.wait_for()
    panel.page.wait_for_function("window.__movierecDone !== null")
    return panel.page.evaluate("(window.__movierecDone - window.__movierecClick) / 1000")


#: Gradio's own parts that axe flags and the page cannot change: the footer's icons repeat their link
#: text, and an empty plot's placeholder carries an aria-label on a plain div
GRADIO_OWN = {"image-redundant-alt", "aria-prohibited-attr"}


def _accessible(page, where: str, found: dict[str, list[str]]) -> None:
    """Run axe on the page as shown; note each violation that is not Gradio's own, by rule and place."""
    result = Axe().run(page)
    for violation in result.response["violations"]:
        if violation["id"] not in GRADIO_OWN:
            found.setdefault(where, []).append(f"{violation['id']}: {violation['nodes'][0]['html'][:100]}")


def _options(page, settled) -> list[str]:
    """The options shown once `settled(options)` holds (the server's answer to the last key, then the page's filter)."""
    shown: list[str] = []
    for _ in range(40):
        page.wait_for_timeout(100)
        # read in one step: the list is redrawn as answers land
        shown = page.evaluate("() => [...document.querySelectorAll('[role=option]')].map((o) => o.innerText.trim())")
        if settled(shown):
            break
    return shown


def _visit_every_tab(page, url: str, folder: Path, width: int) -> dict[str, float]:
    """Use each tab as a visitor would at `width` px; screenshots named by tab (and '-phone' at 390 px)."""
    suffix = "" if width > 800 else "-phone"
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(url, wait_until="networkidle")
    page.get_by_role("heading", name="movierec").wait_for()
    header = page.locator("#movierec-header").inner_text()
    assert "ml-latest-small" in header and "GroupLens" in header and "Synthetic" not in header
    assert "How to use this demo" in header and "/work" not in header and "/tmp" not in header
    for name in ("Recommend for a user", "Rate a few movies yourself", "Similar titles", "Benchmarks",
                 "Explore the data"):  # every tab reachable, none behind a menu
        expect(page.get_by_role("tab", name=name)).to_be_visible()
    times: dict[str, float] = {}
    found: dict[str, list[str]] = {}

    # 1. recommend for a user: opens on the engine ranked best (ease); a typed id is taken exactly
    panel = _open_tab(page, "Recommend for a user")
    box = panel.get_by_role("textbox", name="User id")
    box.fill("53")
    box.press("Enter")
    panel.get_by_text("recommendations for user 53 from ease").first.wait_for()
    box.fill("599")
    times["recommend"] = _timed(panel, "Recommend", "recommendations for user 599 from ease")
    assert "rank is its scale" in panel.inner_text() and "which you rated" in panel.inner_text()
    _shot(page, folder, f"recommend-for-a-user{suffix}")
    _accessible(page, "recommend", found)
    box.fill("1.5")
    panel.get_by_role("button", name="Recommend", exact=True).click()
    page.get_by_test_id("toast-text").filter(has_text="1.5 is not a user id").wait_for()
    assert panel.get_by_role("columnheader", name="title").count() >= 1  # headers stay after an error
    page.get_by_test_id("toast-close").first.click()

    # 2. rate a few movies: the search shows what the server found; star groups are named for their movie
    panel = _open_tab(page, "Rate a few movies yourself")
    panel.get_by_role("button", name="Fill in an example").click()
    expect(panel.get_by_label("Movie 6", exact=True)).not_to_have_value("")  # filled before the click reads it
    _timed(panel, "Recommend for me", re.compile(r"recommendations from 6 rated movies"))
    box = panel.get_by_label("Movie 7", exact=True)
    box.click()
    box.press_sequentially("harry met", delay=40)
    shown = _options(page, lambda options: "When Harry Met Sally... (1989)" in options)
    assert "When Harry Met Sally... (1989)" in shown and len(shown) == len(set(shown)), shown
    box.fill("")
    box.press_sequentially("toy story 3", delay=40)
    shown = _options(page, lambda options: options == ["Toy Story 3 (2010)"])
    assert shown == ["Toy Story 3 (2010)"], shown  # not Toy Story 2, shown for "toy story"
    page.get_by_role("option", name="Toy Story 3 (2010)", exact=True).click()
    expect(box).to_have_value("Toy Story 3 (2010)")  # the picked option, not the typed text
    stars = panel.get_by_role("group", name="Stars for Toy Story 3 (2010)", exact=True)
    stars.get_by_label("5", exact=True).check()
    page.wait_for_timeout(500)  # as a visitor pauses before the click: the typed search's last answers land
    times["rate"] = _timed(panel, "Recommend for me", re.compile(r"recommendations from 7 rated movies"))
    assert "because you rated" in panel.inner_text()
    _shot(page, folder, f"rate-a-few-movies{suffix}")
    _accessible(page, "rate", found)

    # 3. similar titles: Toy Story by genres and tags, then blended
    panel = _open_tab(page, "Similar titles")
    _pick(page, panel, "Title", "toy story", option="Toy Story (1995)")
    # picking a title answers at once (blended): that answer lands before the timed click, as a visitor reads it
    panel.get_by_text("titles similar to Toy Story (1995) by blended").first.wait_for()
    panel.get_by_label("text (genres, tags and title words)").check()
    times["similar (text)"] = _timed(panel, "Find similar titles", "titles similar to Toy Story (1995) by text")
    assert "Toy Story 2" in panel.inner_text()
    panel.get_by_label("blended (text and ratings)").check()
    times["similar (blended)"] = _timed(panel, "Find similar titles", "titles similar to Toy Story (1995) by blended")
    panel.locator(".js-plotly-plot").first.wait_for()
    assert "Chart: " in panel.inner_text()
    _shot(page, folder, f"similar-titles{suffix}")
    _accessible(page, "similar", found)

    # 4. benchmarks: drawn when opened, this dataset's results first, in plain words
    panel = page.get_by_role("tabpanel")  # resolves to the tab shown at each use
    charts = "[role=tabpanel] .js-plotly-plot"  # timed until the scatter, the last chart, is drawn
    times["benchmarks (open)"] = _timed_click(panel, page.get_by_role("tab", name="Benchmarks"),
                                              re.compile(r"RMSE Versus Fit Time"), where=charts)
    panel.get_by_text(re.compile(r"engines measured on ml-latest-small")).first.wait_for()
    text = panel.inner_text()
    assert "/work" not in text and "results/" not in text and "not on the data served here" not in text
    assert "fallback" in text and "cross-validation" in text
    panel.get_by_label("Metric for the scatter", exact=True).click()  # warm: another metric redraws every chart
    times["benchmarks (metric)"] = _timed_click(panel, page.get_by_role("option", name="mae", exact=True),
                                                 re.compile(r"MAE Versus Fit Time"), where=charts)
    panel.get_by_text(re.compile(r"mae shown")).first.wait_for()
    _shot(page, folder, f"benchmarks{suffix}")
    _accessible(page, "benchmarks", found)

    # 5. explore the data: drawn when opened (timed until its last chart's title shows), captions in plain English
    times["explore (open)"] = _timed_click(panel, page.get_by_role("tab", name="Explore the data"),
                                           re.compile("Highest weighted rating"), where=charts)
    panel.get_by_text("sparsity").first.wait_for()
    panel.get_by_text(re.compile("came out each year")).first.wait_for()
    assert "Clipped" not in panel.inner_text() and "MovieLens-Ratings" not in panel.inner_text()
    if width < 800:  # on a phone, every chart fits the screen's width
        widths = page.locator(charts).evaluate_all("plots => plots.map((p) => p.getBoundingClientRect().right)")
        assert max(widths) <= width, widths
    _shot(page, folder, f"explore-the-data{suffix}")
    _accessible(page, "explore", found)
    assert "Traceback" not in page.content()
    assert not found, found
    return times


def test_a_space_serves_ml_latest_small_on_every_tab_at_desktop_and_phone_width(page, space_url, output_path):
    folder = Path(output_path)
    page.set_default_timeout(TIMEOUT_MS)
    responses: list = []
    page.on("response", lambda response: responses.append(response))
    page.goto(space_url, wait_until="networkidle")
    weight = sum(len(r.body()) for r in responses if r.request.resource_type in ("document", "fetch", "xhr"))
    timings = {width: _visit_every_tab(page, space_url, folder, width) for width in (1400, 390)}

    # the upload route is closed to the browser too
    refused = page.request.post(space_url + "gradio_api/upload",
                                multipart={"files": {"name": "a.txt", "mimeType": "text/plain", "buffer": b"hi"}})
    assert refused.status == 403
    print(f"\nml-latest-small page: {weight / 1e6:.2f} MB of HTML and JSON fetched on opening")
    for width, times in timings.items():
        print(f"  at {width} px (warm; median {1000 * statistics.median(times.values()):.0f} ms)")
        for what, seconds in times.items():
            print(f"    click to result, {what:<18} {1000 * seconds:7.0f} ms")


def test_a_space_without_network_serves_the_sample_and_says_it_is_synthetic(page, tmp_path):
    page.set_default_timeout(TIMEOUT_MS)
    with _space(tmp_path) as url:
        page.goto(url)
        header = page.locator("#movierec-header")
        header.get_by_text("Synthetic sample").wait_for()
        text = header.inner_text()
        assert "not real movies" in text and "could not be fetched from GroupLens" in text
        assert str(tmp_path) not in text
