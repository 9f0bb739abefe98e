"""AppTest of the Coverage & health page on the shipped registry with a few days of reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tracing import cameras, settings
from tracing.reads import PlateRead

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture(scope="module")
def coverage_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """Two plate-reading cameras read 3 per hour for 3 days; the first stops 10 h early."""
    from tracing.store import Store

    path = tmp_path_factory.mktemp("coverage_page") / "coverage.duckdb"
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    lpr = registry[registry["is_lpr"]]
    quiet, busy = str(lpr["id"].iloc[0]), str(lpr["id"].iloc[1])
    reads = []
    for minute in range(0, 72 * 60, 20):
        for cam in (quiet, busy):
            if cam == quiet and minute > 62 * 60:
                continue
            i = len(reads)
            reads.append(PlateRead(f"r{i}", cam, T0 + timedelta(minutes=minute),
                                   f"51A-{100 + i % 900:03d}.{i % 100:02d}", 0.9))
    with Store(path) as store:
        store.replace_cameras(registry)
        store.ingest_reads(reads)
    return path, quiet, busy


@pytest.fixture(scope="module")
def page(coverage_db: tuple[Path, str, str],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppTest]:
    with pytest.MonkeyPatch.context() as mp:  # kept for the reruns of the module's tests
        mp.setattr(settings, "LIVE_DIR", tmp_path_factory.mktemp("live"))  # no heartbeat yet
        yield open_page("app_pages/coverage.py", coverage_db[0], mp)


def test_page_shows_coverage_health_and_plan(page: AppTest,
                                             coverage_db: tuple[Path, str, str]) -> None:
    _, quiet, busy = coverage_db
    assert page.title[0].value.startswith("Coverage")
    assert not page.error, [e.value for e in page.error]
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Road length watched"].endswith("%")
    assert " of " in metrics["Gateways covered"]
    assert float(metrics["Trips seen by ≥ 1 camera"].rstrip("%")) > float(
        metrics["Trips seen by ≥ 1 / ≥ 2"].split("%")[0])
    frames = [d.value for d in page.dataframe]
    health = next(f for f in frames if "issue" in f.columns)
    flagged = dict(zip(health["camera_id"], health["issue"], strict=True))
    assert flagged[quiet] == "silent" and busy not in flagged
    plan = next(f for f in frames if "new_trips" in f.columns)
    assert len(plan) == settings.COVERAGE_PLAN_K
    assert plan["new_trips"].is_monotonic_decreasing
    assert len(page.get("download_button")) == 2
    assert any("No stream worker has reported yet" in i.value for i in page.info)


def test_slider_changes_the_plan(page: AppTest) -> None:
    page.slider[0].set_value(10).run()
    assert not page.exception, page.exception
    plan = next(d.value for d in page.dataframe if "new_trips" in d.value.columns)
    assert len(plan) == 10


def test_stream_workers_section_marks_a_dead_stream(page: AppTest,
                                                    coverage_db: tuple[Path, str, str]) -> None:
    from tracing.live.heartbeats import Heartbeat, heartbeat_dir, write_heartbeat

    _, quiet, busy = coverage_db
    now = datetime.now(UTC)
    for camera, last_frame in ((quiet, now - timedelta(minutes=5)), (busy, now)):
        write_heartbeat(Heartbeat(camera, "rtsp://admin:***@10.0.0.5/live", "reconnecting"
                                  if camera == quiet else "streaming", now - timedelta(hours=1),
                                  now, last_frame_at=last_frame, frames=100,
                                  last_error="stream ended" if camera == quiet else ""),
                        heartbeat_dir())
    page.run()
    assert not page.exception, page.exception
    metrics = {m.label: m.value for m in page.metric}
    assert (metrics["Streams dead"], metrics["Streams live"]) == ("1", "1")
    streams = next(d.value for d in page.dataframe if "verdict" in d.value.columns)
    assert list(streams["verdict"]) == ["⛔ dead", "✅ live"]
    assert list(streams["camera_id"]) == [quiet, busy]
    assert any("1 stream(s) dead" in e.value and "no frame for 5 min" in e.value
               for e in page.error)
