"""Real browser: log in, the app's map draws roads and cameras, every page opens, and no
request leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apptest import TEST_PASSWORD, page_user
from tests.browser_support import SCREENSHOTS, browser, is_local, serve_app

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the Chromium fixture


@pytest.fixture(scope="module")
def app_url(app_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    page_user(app_db, "admin")  # the account the test logs in with
    with serve_app(app_db, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def test_city_map_draws_offline(app_url: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1100})  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("textbox", name="User name").fill("test-admin", timeout=90_000)
    page.get_by_role("textbox", name="Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    frame_element = page.wait_for_selector("iframe[title*='streamlit_folium']", timeout=90_000)
    frame = frame_element.content_frame()
    frame.wait_for_selector(".leaflet-container", timeout=60_000)
    frame.wait_for_selector("path.camera-lpr", state="attached", timeout=60_000)
    roads = frame.locator("path.leaflet-interactive").count()
    lpr = frame.locator("path.camera-lpr").count()
    others = frame.locator("path.camera-other").count()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "city_map.png"), full_page=False)
    assert roads > 1000, f"only {roads} vector paths drawn"
    assert lpr > 0 and others > 0
    # every page, not only the map, stays offline (sidebar links keep the session)
    for title in ("Find a vehicle", "Trace a vehicle", "Recognise plates", "Alerts",
                  "Geofences & watchlists", "Coverage & health", "Audit log",
                  "Users, devices & retention"):
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", level=1).filter(has_text=title.split(" ")[0]).wait_for(
            timeout=60_000)
    outside = sorted({url for url in requests if not is_local(url)})
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
