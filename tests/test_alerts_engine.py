"""The alert engine on hand-made read sequences: geofence entries (outside → inside, first
seen inside, re-entry after the unseen window), watchlist hits, suppression, fence
restrictions, fuzzy and wildcard entries, impossible travel, batching and the checkpoint.

Cameras (tests/alerts_support.py): A, B, C west to east about 1.1 km apart, D far off;
the fence "Depot" holds camera B only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.alerts_support import box, gateway_graph, new_store, reads
from tracing.alerts import add_watch, create_fence, list_alerts
from tracing.alerts.demo import seed_demo
from tracing.alerts.engine import AlertEngine, EngineConfig, evaluated_until
from tracing.search import Reachability
from tracing.store import Store

PLATE = "51A-123.45"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s.duckdb")
    create_fence(store, "Depot", box(106.77), who="an")
    add_watch(store, PLATE, match_kind="exact", reason="stolen", priority=1, who="an")
    return store


def _engine(store: Store, **options: object) -> AlertEngine:
    engine = AlertEngine(store, **options)  # type: ignore[arg-type]
    assert engine.step().reads == 0  # first run: starts after the stored reads (none here)
    return engine


def _alerts(store: Store) -> list[tuple[str, str, str | None]]:
    """(kind, read_id, fence name) oldest first."""
    frame = list_alerts(store).sort_values(["ts", "id"])
    names = frame["fence_name"].astype(object).where(frame["fence_name"].notna(), None)
    return list(zip(frame["kind"], frame["read_id"], names, strict=True))


def test_outside_then_inside_is_an_entry(store: Store) -> None:
    engine = _engine(store)
    store.ingest(reads((PLATE, "A", 0), (PLATE, "B", 5), (PLATE, "B", 8), ("30A-555.55", "B", 9)))
    report = engine.step()
    assert report.reads == 4 and len(report.alerts) == 2
    assert _alerts(store) == [("watchlist", "r0", None), ("geofence_entry", "r1", "Depot")]
    entry = list_alerts(store, limit=1).iloc[0]
    assert "previous read outside it at camera A" in entry["detail"]
    assert entry["priority"] == 1 and entry["reason"] == "stolen" and entry["camera_id"] == "B"
    assert entry["plate_raw"] == PLATE and entry["confidence"] == pytest.approx(0.9)


def test_first_seen_inside_and_reentry_after_the_window(store: Store) -> None:
    engine = _engine(store)
    # B@0 first seen inside; A@5 outside fences; B@10 re-enters but within the 15 min
    # suppression window; B@50 not seen for 40 min (> 30): a new entry.
    store.ingest(reads((PLATE, "B", 0), (PLATE, "A", 5), (PLATE, "B", 10), (PLATE, "B", 50)))
    engine.step()
    assert _alerts(store) == [("geofence_entry", "r0", "Depot"), ("watchlist", "r1", None),
                              ("geofence_entry", "r3", "Depot")]
    details = list_alerts(store).set_index("read_id")["detail"]
    assert "first read" in details["r0"] and "not seen for 40 min" in details["r3"]


def test_hits_are_suppressed_within_the_window_across_steps(store: Store) -> None:
    engine = _engine(store)
    store.ingest(reads((PLATE, "A", 0), (PLATE, "C", 5)))
    engine.step()
    store.ingest(reads((PLATE, "C", 14), (PLATE, "C", 20), prefix="s"))
    engine.step()
    assert _alerts(store) == [("watchlist", "r0", None), ("watchlist", "s1", None)]


def test_restricted_fuzzy_and_wildcard_entries(store: Store) -> None:
    fence = create_fence(store, "Market", box(106.78), who="an")  # camera C
    add_watch(store, "59-X1 888.88", match_kind="fuzzy", reason="witness", priority=2,
              who="an", fence_ids=[fence])
    add_watch(store, "62C-77*", match_kind="wildcard", reason="fleet", priority=3, who="an")
    engine = _engine(store)
    store.ingest(reads(("59-X1 888.83", "A", 0), ("59-X1 888.83", "C", 5),
                       ("62C-771.11", "D", 6), ("51A-123.46", "A", 7)))
    engine.step()
    frame = list_alerts(store).set_index("read_id")
    # r0: outside the fuzzy entry's fence; r3: an exact entry does not match a near plate
    assert sorted(frame.index) == ["r1", "r2"]
    assert frame.loc["r1", "kind"] == "geofence_entry" and frame.loc["r1", "fence_name"] == "Market"
    assert "distance 1" in str(frame.loc["r1", "detail"])
    assert frame.loc["r2", "pattern"] == "62C-77*" and frame.loc["r2", "priority"] == 3


def test_impossible_travel_of_a_watched_plate(store: Store) -> None:
    ids = ("A", "B", "C", "D")
    seconds = np.full((4, 4), 60.0)
    seconds[0, 3] = seconds[3, 0] = 900.0
    np.fill_diagonal(seconds, 0.0)
    reach = Reachability(ids, seconds, seconds * 15.0)
    engine = _engine(store, reach=reach)
    store.ingest(reads((PLATE, "A", 0), (PLATE, "D", 2), ("30A-555.55", "A", 0),
                       ("30A-555.55", "D", 1)))
    engine.step()
    travel = list_alerts(store, limit=10)
    travel = travel[travel["kind"] == "impossible_travel"]
    assert travel["read_id"].tolist() == ["r1"]  # the unwatched plate raises nothing
    assert "camera A" in travel["detail"].iloc[0] and "900 s" in travel["detail"].iloc[0]


def test_batches_checkpoint_and_no_second_evaluation(store: Store) -> None:
    engine = _engine(store, config=EngineConfig(max_batch_reads=2))
    for i in range(3):
        store.ingest(reads((PLATE, "A", 20 * i), ("30A-555.55", "C", 20 * i), prefix=f"b{i}-"))
    steps = [engine.step() for _ in range(4)]
    assert [s.reads for s in steps] == [2, 2, 2, 0]
    assert [s.more for s in steps] == [True, True, False, False]
    assert len(_alerts(store)) == 3
    with store.reader() as con:
        seen = con.execute("SELECT reads_seen FROM alert_checkpoint").fetchone()
    assert seen == (6,)
    stored = store.reads_of_plate(PLATE).column("ingested_at").to_pylist()
    assert evaluated_until(store) == max(stored)
    again = AlertEngine(store)  # a restarted engine resumes from the checkpoint
    assert again.step().reads == 0 and len(_alerts(store)) == 3
    store.ingest(reads(*[("30A-555.55", "C", 100 + i) for i in range(3)], prefix="big"))
    assert engine.step().reads == 3  # one transaction larger than a batch stays whole


def test_first_run_starts_after_stored_reads_and_retro_covers_them(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    recent = datetime.now(UTC) - timedelta(hours=2)
    store.ingest(reads((PLATE, "A", 0), start=recent))
    engine = AlertEngine(store)
    assert engine.step().reads == 0
    assert evaluated_until(store) is not None
    _, retro = add_watch(store, PLATE, match_kind="exact", reason="stolen", priority=1,
                         who="an", retro_days=1)
    store.ingest(reads((PLATE, "C", 30), prefix="n", start=recent))
    engine.step()
    assert retro == 1
    assert sorted(_alerts(store)) == [("retroactive", "r0", None), ("watchlist", "n0", None)]


def test_demo_seed_watches_the_planted_car_and_alerts_on_its_gateway_entry(
        tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    store.ingest(reads(("59C-222.22", "B", 0), ("61KT-039.48", "A", 1), ("61KT-039.48", "B", 3)))
    graph, outline = gateway_graph()
    planted: list[dict[str, object]] = [{"case": "watchlist_gateway", "plates": ["61KT-039.48"],
                                         "watchlist_reason": "stolen vehicle (simulated)"},
                                        {"case": "convoy"}]
    summary = seed_demo(store, graph, outline, planted)
    assert "2 gateway fences" in summary and "watching 61KT-039.48" in summary
    assert _alerts(store) == [("geofence_entry", "r1", "Gateway Main (west)"),
                              ("watchlist", "r2", None)]
    again = seed_demo(store, graph, outline, planted)
    assert "0 gateway fences" in again and "0 alerts" in again and len(_alerts(store)) == 2


def test_an_entry_stored_under_older_rules_is_skipped_not_fatal(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    with store.writer() as con:
        con.execute("INSERT INTO watchlist (pattern, match_kind, reason, priority, created_by) "
                    "VALUES ('5*', 'wildcard', 'too broad', 1, 'old')")
    engine = _engine(store)
    store.ingest(reads((PLATE, "A", 0)))
    with caplog.at_level("ERROR", logger="tracing.alerts.engine"):
        engine.step()
    assert _alerts(store) == [("watchlist", "r0", None)]
    assert "ignored" in caplog.text and "'5*'" in caplog.text
