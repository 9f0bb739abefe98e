"""Real browser: an analyst logs in, draws a polygon on the Geofences page's map with the
draw tool, saves it, and sees it listed and drawn, also after a reload; nothing is
requested outside 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.browser_support import SCREENSHOTS, browser, is_local, serve_app
from tracing import settings
from tracing.alerts import list_fences
from tracing.alerts.watchlist import add_watch
from tracing.store import Store

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the Chromium fixture of tests/browser_support.py

ANALYST = "browser-analyst"
PASSWORD = "draws fences in chromium"
FENCE = "Drawn in the browser"
STOLEN = "51A-999.99"
CUSTOM_STROKE = "#e65100"  # app_pages._fence_map.CUSTOM_STYLE


@pytest.fixture(scope="module")
def fence_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped cameras, no fence yet, and an analyst account."""
    from tracing import cameras
    from tracing.access import users

    path = tmp_path_factory.mktemp("fences_app") / "fences.duckdb"
    with Store(path) as store:
        store.replace_cameras(cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv"))
        users.add_user(store, ANALYST, "analyst", who="tests", password=PASSWORD)
        camera = str(store_cameras(store)[0])
        read = pd.DataFrame({"read_id": ["b1"], "plate": [STOLEN], "camera_id": [camera],
                             "ts": [(datetime.now(UTC) - timedelta(minutes=5)).isoformat()],
                             "confidence": [0.8]})
        store.ingest(read)
        add_watch(store, STOLEN, match_kind="exact", reason="reported stolen", priority=1,
                  who=ANALYST)
        store.ingest(read.assign(read_id="b2", plate="51A-888.88"))
    return path


def store_cameras(store: Store) -> list[str]:
    with store.reader() as con:
        return [r[0] for r in con.execute(
            "SELECT id FROM cameras WHERE is_lpr ORDER BY id").fetchall()]


@pytest.fixture(scope="module")
def fence_app(fence_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_app(fence_db, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def log_in(page: Any, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("textbox", name="User name", exact=True).fill(ANALYST)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def open_geofences(page: Any, url: str) -> Any:
    """Log in as the analyst, open the Geofences page; its map's frame once drawn."""
    log_in(page, url)
    page.get_by_role("link", name="Geofences & watchlists").click()
    page.get_by_text("Geofences & watchlists", exact=True).first.wait_for(timeout=60_000)
    return map_frame(page)


def map_frame(page: Any) -> Any:
    element = page.wait_for_selector("iframe[title*='streamlit_folium']", timeout=90_000)
    frame = element.content_frame()
    frame.wait_for_selector(".leaflet-draw-draw-polygon", timeout=60_000)
    return frame


def settled(page: Any) -> Any:
    """Wait until the app has finished its rerun (Streamlit's running indicator is gone):
    clicks on a map that a rerun is replacing are lost on a loaded machine. Returns the
    map's frame as it is now."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached")
    return map_frame(page)


def draw_square(page: Any, frame: Any) -> None:
    """Pick the polygon tool and click four corners around the map's centre, then the first."""
    frame.click(".leaflet-draw-draw-polygon")
    box = page.locator("iframe[title*='streamlit_folium']").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(x - 50, y - 40), (x + 50, y - 40), (x + 50, y + 40), (x - 50, y + 40)]
    for cx, cy in [*corners, corners[0]]:
        page.mouse.click(cx, cy)
        page.wait_for_timeout(250)


def move_a_corner(page: Any, fence: Any) -> None:
    """Put the fence on the draw layer, drag one corner with the edit tool, save the shape."""
    page.get_by_role("textbox", name="Reason or case number for changes (audit log)") \
        .fill("case 2026-0412")
    page.get_by_role("textbox", name="Reason or case number for changes (audit log)") \
        .press("Enter")
    page.get_by_role("button", name="Edit the shape on the map").click()
    page.get_by_text(f"Editing the shape of #{fence.id}").wait_for()
    frame = settled(page)
    frame.click(".leaflet-draw-edit-edit")
    corner = frame.locator(".leaflet-editing-icon").first.bounding_box()
    x, y = corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 30, y - 25, steps=6)
    page.mouse.up()
    frame.get_by_text("Save", exact=True).click()
    page.get_by_text("Drawn: 1 polygon").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "geofence_edited.png"))
    page.get_by_role("button", name="Save this shape").click()
    page.get_by_text(f"Shape of #{fence.id} {fence.name} (custom) saved.").wait_for()


def custom_fences_drawn(frame: Any) -> int:
    return int(frame.locator(f"path[stroke='{CUSTOM_STROKE}']").count())


def test_draw_a_fence_save_it_and_see_it_after_reload(fence_app: str, browser: Any,
                                                      fence_db: Path) -> None:
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.set_default_timeout(90_000)  # a loaded CI machine renders the map slowly
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    frame = open_geofences(page, fence_app)
    assert custom_fences_drawn(frame) == 0
    reason = page.get_by_role("textbox", name="Reason or case number for changes (audit log)")
    reason.fill("case 2026-0412")
    reason.press("Enter")
    frame = settled(page)
    draw_square(page, frame)
    page.get_by_text("Drawn: 1 polygon, 5 vertices.").wait_for(timeout=60_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "geofence_drawn.png"))
    name = page.get_by_role("textbox", name="Name of the new fence", exact=True)
    name.fill(FENCE)
    name.press("Enter")
    page.get_by_role("button", name="Save fence").click()
    page.get_by_text(f"Fence '{FENCE}' saved").wait_for(timeout=60_000)
    frame = map_frame(page)
    frame.wait_for_selector(f"path[stroke='{CUSTOM_STROKE}']", timeout=60_000)
    page.get_by_text(FENCE).first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "geofence_saved.png"))

    page.reload(wait_until="domcontentloaded")  # a new session: log in again
    frame = open_geofences(page, fence_app)
    frame.wait_for_selector(f"path[stroke='{CUSTOM_STROKE}']", timeout=60_000)
    assert custom_fences_drawn(frame) == 1
    assert page.locator("[data-testid='stDataFrame']").first.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "geofence_reloaded.png"))

    with Store(fence_db) as store:
        saved = {f.name: f for f in list_fences(store)}
    assert saved[FENCE].created_by == ANALYST and saved[FENCE].kind == "custom"
    assert len(saved[FENCE].geometry.exterior.coords) == 5

    move_a_corner(page, saved[FENCE])
    with Store(fence_db) as store:
        edited = {f.name: f for f in list_fences(store)}[FENCE]
    assert edited.geometry.bounds != saved[FENCE].geometry.bounds
    assert edited.updated_by == ANALYST
    outside = sorted({url for url in requests if not is_local(url)})
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"


def test_alerts_page_shows_an_alert_and_refreshes_by_itself(fence_app: str, browser: Any,
                                                            fence_db: Path) -> None:
    page = browser.new_page(viewport={"width": 1500, "height": 1300})
    page.set_default_timeout(90_000)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, fence_app)
    page.get_by_role("link", name="Alerts", exact=True).click()
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 52)  # the first row's selection cell
    page.get_by_text(f"{STOLEN} · retroactive hit").first.wait_for()
    page.wait_for_selector("iframe[title*='streamlit_folium']").content_frame() \
        .wait_for_selector("path.alert-camera", state="attached")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "alerts.png"), full_page=True)
    page.get_by_text("1 alert (1 new)").wait_for()
    with Store(fence_db) as store:  # a new alert arrives while the page is open
        add_watch(store, "51A-888.88", match_kind="exact", reason="late entry", priority=2,
                  who=ANALYST)
    page.get_by_text("2 alerts (2 new)").wait_for(timeout=30_000)  # live refresh, no click
    page.get_by_text(f"{STOLEN} · retroactive hit").first.wait_for()
    outside = sorted({url for url in requests if not is_local(url)})
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
