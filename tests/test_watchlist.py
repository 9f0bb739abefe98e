"""Watchlists: pattern rules (the search's), entries, CSV import/export and retroactive
hits on past reads; alert records (listing, acknowledge, dismiss)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.alerts_support import box, new_store, reads
from tracing.alerts import (
    add_watch,
    create_fence,
    export_watch_csv,
    import_watch_csv,
    list_alerts,
    list_watches,
    remove_watch,
    set_alert_status,
)
from tracing.alerts.matcher import Matcher, compile_pattern
from tracing.errors import AlertError, WatchlistError
from tracing.search.matching import plate_distance, wildcard_regex
from tracing.store import Store

NOW = datetime.now(UTC)


@pytest.mark.parametrize(("pattern", "kind", "message"), [
    ("51A-12*", "exact", "holds a wildcard"),
    ("00A-123.45", "exact", "'00A-123.45'.*province code 00"),
    ("51A-12345", "wildcard", "holds no \\* or \\?"),
    ("5*", "wildcard", "at least 4"),
    ("*", "wildcard", "holds no letter or digit"),
    ("51A", "fuzzy", "too short"),
    ("51A1234*", "fuzzy", "holds a wildcard"),
    ("", "exact", "is empty"),
    ("51A-123.45", "regex", "match kind 'regex'"),
])
def test_bad_patterns_are_refused_naming_them(pattern: str, kind: str, message: str) -> None:
    with pytest.raises(WatchlistError, match=message):
        compile_pattern(pattern, kind)


def test_patterns_are_stored_canonical() -> None:
    assert compile_pattern("51a12345", "exact").text == "51A-123.45"
    assert compile_pattern("51a-12*", "wildcard").compact == "51A12*"


PLATES = st.text(alphabet="0123456789ABDGOSZ", min_size=6, max_size=9)


@settings(max_examples=60, deadline=None)
@given(plates=st.lists(PLATES, min_size=1, max_size=30), query=PLATES,
       prefix=st.integers(4, 6))
def test_matcher_agrees_with_the_search_rules(plates: list[str], query: str, prefix: int) -> None:
    wildcard = query[:prefix] + "*"
    matcher = Matcher([(1, compile_pattern(query, "fuzzy")),
                       (2, compile_pattern(wildcard, "wildcard"))])
    found = {(h.position, h.key) for h in matcher.match(plates)}
    import re

    regex = re.compile(wildcard_regex(wildcard))
    expected = {(i, 1) for i, p in enumerate(plates) if plate_distance(query, p) <= 1.0}
    expected |= {(i, 2) for i, p in enumerate(plates) if regex.match(p)}
    assert found == expected


def test_add_list_remove(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    fence = create_fence(store, "Depot", box(106.77), who="an")
    low, _ = add_watch(store, "51A-12*", match_kind="wildcard", reason="fleet", priority=3,
                       who="an")
    high, retro = add_watch(store, "51a12345", match_kind="exact", reason="stolen",
                            priority=1, who="binh", fence_ids=[fence],
                            expires_at=NOW + timedelta(days=1))
    assert retro == 0
    entries = list_watches(store)
    assert [(e.id, e.pattern, e.priority, e.fence_ids) for e in entries] == [
        (high, "51A-123.45", 1, (fence,)), (low, "51A-12*", 3, ())]
    with pytest.raises(WatchlistError, match="already on the watchlist"):
        add_watch(store, "51A-123.45", match_kind="exact", reason="x", priority=2, who="an")
    remove_watch(store, high, who="an")
    assert [e.id for e in list_watches(store)] == [low]
    with pytest.raises(WatchlistError, match="no watch entry"):
        remove_watch(store, high, who="an")


@pytest.mark.parametrize(("options", "message"), [
    ({"priority": 0}, "priority 0"), ({"priority": True}, "priority True"),
    ({"reason": " "}, "needs a reason"),
    ({"expires_at": datetime(2030, 1, 1)}, "time zone"),
    ({"expires_at": NOW - timedelta(hours=1)}, "in the past"),
    ({"fence_ids": [99]}, "unknown fence ids: 99"),
    ({"retro_days": -1}, "retroactive days"),
    ({"who": ""}, "user name"),
])
def test_bad_entries_are_refused(tmp_path: Path, options: dict[str, object],
                                 message: str) -> None:
    store = new_store(tmp_path / "s.duckdb")
    args: dict[str, object] = {"match_kind": "exact", "reason": "stolen", "priority": 1,
                               "who": "an", **options}
    with pytest.raises(WatchlistError, match=message):
        add_watch(store, "51A-123.45", **args)  # type: ignore[arg-type]
    assert list_watches(store) == []


def test_expired_entries_are_listed_only_on_request(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    watch, _ = add_watch(store, "51A-123.45", match_kind="exact", reason="r", priority=1,
                         who="an", expires_at=NOW + timedelta(days=1))
    with store.writer() as con:
        con.execute("UPDATE watchlist SET expires_at = ? WHERE id = ?",
                    [NOW - timedelta(days=1), watch])
    assert list_watches(store) == []
    assert [e.id for e in list_watches(store, include_expired=True)] == [watch]


def test_csv_import_keeps_valid_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    text = ("pattern,match_kind,reason,priority,expires_at,fence_ids\n"
            "51A-123.45,exact,stolen,1,,\n"
            "00A-999.99,exact,bad plate,1,,\n"
            "59-X1 123.45,fuzzy,witness,2,2099-01-01T00:00:00+07:00,\n"
            "51A-12*,wildcard,fleet,7,,\n"
            "60A-1*,wildcard,fleet,2,2020-01-01T00:00:00+07:00,\n"
            "60A-11*,wildcard,fleet,2,tomorrow,\n")
    report = import_watch_csv(store, text, who="an")
    assert report.added == 2 and report.retro_alerts == 0
    assert [e.split(":")[0] for e in report.errors] == ["line 3", "line 5", "line 6", "line 7"]
    assert "priority 7" in report.errors[1] and "in the past" in report.errors[2]
    exported = export_watch_csv(store)
    other = new_store(tmp_path / "t.duckdb")
    again = import_watch_csv(other, exported, who="binh")
    assert again.added == 2 and again.errors == ()
    assert [(e.pattern, e.match_kind, e.priority, e.expires_at) for e in list_watches(other)] \
        == [(e.pattern, e.match_kind, e.priority, e.expires_at) for e in list_watches(store)]
    with pytest.raises(WatchlistError, match="needs a header"):
        import_watch_csv(store, "plate,why\n51A-123.45,x\n", who="an")


def _recent_reads(store: Store) -> None:
    """Reads of 1 to 3 hours ago: 51A-123.45 at A then B, 51A-128.80 at C, 30A-555.55 at D."""
    frame = reads(("51A-123.45", "A", 0), ("51A-123.45", "B", 5), ("51A-128.80", "C", 10),
                  ("30A-555.55", "D", 20))
    start = NOW - timedelta(hours=3)
    frame["ts"] = [(start + timedelta(minutes=m)).isoformat() for m in (0, 5, 10, 20)]
    assert store.ingest(frame).inserted == 4


def test_retroactive_hits_one_alert_per_plate(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    _recent_reads(store)
    watch, retro = add_watch(store, "51A-12*", match_kind="wildcard", reason="fleet",
                             priority=2, who="an")
    assert retro == 2
    alerts = list_alerts(store)
    assert sorted(alerts["plate"]) == ["51A-123.45", "51A-128.80"]
    first = alerts[alerts["plate"] == "51A-123.45"].iloc[0]
    assert first["kind"] == "retroactive" and first["watch_id"] == watch
    assert first["camera_id"] == "B" and first["read_id"] == "r1"  # the latest read
    assert "read 2 times at 2 cameras" in first["detail"]
    assert first["reason"] == "fleet" and first["priority"] == 2 and first["status"] == "new"
    _, none = add_watch(store, "30A-555.55", match_kind="exact", reason="x", priority=1,
                        who="an", retro_days=0)
    assert none == 0


def test_retroactive_hits_respect_fences_and_the_engine_checkpoint(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    _recent_reads(store)
    depot = create_fence(store, "Depot", box(106.78), who="an")  # camera C only
    _, retro = add_watch(store, "51A-12*", match_kind="wildcard", reason="fleet", priority=2,
                         who="an", fence_ids=[depot])
    assert retro == 1 and list(list_alerts(store)["plate"]) == ["51A-128.80"]
    with store.writer() as con:  # the engine has evaluated nothing yet: it will see them
        con.execute("INSERT INTO alert_checkpoint (name, ingested_at) VALUES "
                    "('engine', TIMESTAMPTZ '2000-01-01 00:00:00+00')")
    _, retro = add_watch(store, "30A-555.55", match_kind="exact", reason="x", priority=1,
                         who="an")
    assert retro == 0


def test_alert_status_and_filters(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    _recent_reads(store)
    add_watch(store, "51A-12*", match_kind="wildcard", reason="fleet", priority=2, who="an")
    first, second = list_alerts(store)["id"].tolist()
    set_alert_status(store, first, "acknowledged", who="binh", note=" patrol sent ")
    set_alert_status(store, second, "dismissed", who="chi", note="")
    acked = list_alerts(store, status="acknowledged")
    assert acked["id"].tolist() == [first] and acked["note"].iloc[0] == "patrol sent"
    assert acked["status_by"].iloc[0] == "binh" and acked["status_at"].notna().all()
    assert list_alerts(store, status=["new"]).empty
    assert len(list_alerts(store, since=NOW - timedelta(minutes=5))) == 2
    assert list_alerts(store, ids=[second])["id"].tolist() == [second]
    checks: list[tuple[Callable[[], object], str]] = [
        (lambda: set_alert_status(store, 999, "dismissed", who="a"), "no alert with id 999"),
        (lambda: set_alert_status(store, first, "new", who="a"), "status 'new'"),
        (lambda: list_alerts(store, status="closed"), "closed"),
        (lambda: list_alerts(store, limit=0), "limit 0"),
        (lambda: list_alerts(store, since=datetime(2026, 1, 1)), "time zone")]
    for bad, message in checks:
        with pytest.raises(AlertError, match=message):
            bad()
