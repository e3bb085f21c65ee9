"""A real chromium uses every tab of the app and saves screenshots in the test's output folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from movierec.app.cli import serving

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 30_000

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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with serving("sample", cache_dir=tmp_path_factory.mktemp("engines")) as url:
        yield url


def _shot(page, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _open_tab(page, name: str):
    page.get_by_role("tab", name=name).click()
    return page.get_by_role("tabpanel")  # only the selected tab's panel is shown


def _pick(page, panel, label: str, text: str, option: str | None = None) -> None:
    """Type into a searchable dropdown and choose the option shown (or keep the typed text)."""
    box = panel.get_by_label(label, exact=True).first
    box.click()
    box.fill(text)
    choice = page.get_by_role("option", name=option or text, exact=True).first
    if option is not None or choice.count():
        choice.click()
    else:
        box.press("Enter")


def test_every_tab_works_in_a_browser(page, app_url, output_path):
    folder = Path(output_path)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    page.get_by_role("heading", name="movierec").wait_for()

    # 1. recommend for a user: pick one by typing its id, then ask
    panel = _open_tab(page, "Recommend for a user")
    user = "672"
    _pick(page, panel, "User id", user, option=user)
    panel.get_by_role("button", name="Recommend", exact=True).click()
    panel.get_by_text(f"recommendations for user {user} from item_knn").wait_for()
    panel.locator(".js-plotly-plot").first.wait_for()
    _shot(page, folder, "1-recommend-for-a-user")
    assert "which you rated" in panel.inner_text()

    # a bad id is a warning in the page, not a traceback
    _pick(page, panel, "User id", "not-a-number")
    panel.get_by_role("button", name="Recommend", exact=True).click()
    page.get_by_test_id("toast-text").filter(has_text="user id must be a number").wait_for()
    assert "Traceback" not in page.content()
    page.get_by_test_id("toast-close").first.click()

    # 2. rate a few movies yourself
    panel = _open_tab(page, "Rate a few movies yourself")
    panel.get_by_role("button", name="Fill in an example").click()
    panel.get_by_role("button", name="Recommend for me").click()
    panel.get_by_text(re.compile(r"recommendations from 6 rated movies")).wait_for()
    panel.locator(".js-plotly-plot").first.wait_for()
    _shot(page, folder, "2-rate-a-few-movies")

    # 3. similar titles: a typed title with two versions (a remake)
    panel = _open_tab(page, "Similar titles")
    _pick(page, panel, "Title", "the wild hollow")
    panel.get_by_role("button", name="Find similar titles").click()
    panel.get_by_text("Several titles match").wait_for()
    panel.get_by_text(re.compile(r"titles similar to The Wild Hollow \(\d{4}\)")).wait_for()
    panel.locator(".js-plotly-plot").first.wait_for()
    _shot(page, folder, "3-similar-titles")

    # 4. benchmarks: the stored heatmap (when results exist) and a quick run
    panel = _open_tab(page, "Benchmarks")
    panel.get_by_role("button", name="Run a quick benchmark").click()
    panel.get_by_text(re.compile(r"engines on sample, user:0\.25")).wait_for(timeout=90_000)
    assert panel.locator(".js-plotly-plot").count() >= 2
    _shot(page, folder, "4-benchmarks")

    # 5. explore the data
    panel = _open_tab(page, "Explore the data")
    panel.get_by_text("sparsity").first.wait_for()
    panel.get_by_text(re.compile("Movies Grouped By Year Of Release")).first.wait_for()
    _shot(page, folder, "5-explore-the-data")
    assert "Traceback" not in page.content()
