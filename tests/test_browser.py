"""Real browser: log in, the app's map draws roads and cameras, every page opens, and no
request leaves 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apptest import TEST_PASSWORD, page_user
from tracing import settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = settings.VAR_DIR / "screenshots"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer at {url}")


@pytest.fixture(scope="module")
def app_url(app_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    page_user(app_db, "admin")  # the account the test logs in with
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "TRACING_DB": str(app_db)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
            cwd=settings.REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: `make test` installs it")
        pytest.skip("chromium not installed (run `make browser` as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield launched
        launched.close()


def _is_local(url: str) -> bool:
    local = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")
    return url.startswith(local)


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
                  "Users & retention"):
        page.get_by_role("link", name=title).click()
        page.get_by_role("heading", level=1).filter(has_text=title.split(" ")[0]).wait_for(
            timeout=60_000)
    outside = sorted({url for url in requests if not _is_local(url)})
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
