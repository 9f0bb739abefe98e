"""Injection-shaped input in every text field the library accepts gives a clean result or
a clear TracingError, stores text verbatim, and leaves every table in place."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracing import cameras, settings
from tracing.access import audit, cases, users
from tracing.alerts import geofences, shapes, watchlist
from tracing.errors import TracingError
from tracing.reads import PlateRead
from tracing.search import SearchFilters, find_convoy, search_plates
from tracing.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo(settings.LOCAL_TZ))
SYSTEM = "system:test"
"""Who the tests act as: a system process, neither checked nor audited."""
NASTY = ["'; DROP TABLE reads; --", "' OR '1'='1", "51A-123.45' --", "\"; DELETE FROM users; --",
         "x%' OR plate LIKE '%", "51A-12*'); DROP TABLE audit_log; --", "\\'; SELECT 1; --",
         "🚗'||(SELECT password_hash FROM users)||'"]
TABLES = {"cameras", "reads", "rejects", "watchlist", "geofences", "alerts", "audit_log",
          "users", "case_reads", "read_keys", "store_meta", "schema_version"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    registry = cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    camera = str(registry.loc[registry["is_lpr"], "id"].iloc[0])
    path = tmp_path_factory.mktemp("injection") / "injection.duckdb"
    with Store(path) as opened:
        opened.replace_cameras(registry)
        opened.ingest_reads([PlateRead("r1", camera, T0, "51A-123.45", 0.9),
                             PlateRead("r2", camera, T0 + timedelta(minutes=1), "51A-123.46",
                                       0.9)])
        users.add_user(opened, "ann", "investigator", who="test",
                       password="a good password")
        yield opened


def intact(store: Store) -> None:
    with store.reader() as con:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()}
        reads = con.execute("SELECT count(*) FROM reads").fetchone()
    assert tables >= TABLES and reads == (2,)


@pytest.mark.parametrize("text", NASTY)
def test_plate_search_fields(store: Store, text: str) -> None:
    for mode in (None, "exact", "wildcard", "fuzzy"):
        try:
            result = search_plates(store, text, mode=mode, who=SYSTEM)  # type: ignore[arg-type]
        except TracingError:
            continue
        assert {c.plate for c in result.candidates} <= {"51A-123.45", "51A-123.46"}
    with pytest.raises(TracingError):
        store.reads_of_plate(text)
    with pytest.raises(TracingError):
        find_convoy(store, text, who=SYSTEM)
    intact(store)


@pytest.mark.parametrize("text", NASTY)
def test_filters_camera_ids_and_wards(store: Store, text: str) -> None:
    filters = SearchFilters(cameras=frozenset({text}), wards=frozenset({text}))
    assert not search_plates(store, "51A-123.45", filters=filters, who=SYSTEM).candidates
    intact(store)


@pytest.mark.parametrize("text", NASTY)
def test_ingest_fields_are_stored_verbatim_or_rejected(store: Store, text: str) -> None:
    report = store.ingest_reads([
        PlateRead(f"bad-{text}", text, T0, "51A-999.99", 0.9),  # unknown camera: rejected
        PlateRead(f"bad2-{text}", "x", T0, text, 0.9)])  # invalid plate: rejected
    assert report.inserted == 0 and report.rejected == 2
    intact(store)


@pytest.mark.parametrize("text", NASTY)
def test_audit_case_and_user_fields(store: Store, text: str) -> None:
    entry = audit.record(store, who=text[:64], action="search", params={"plate": text},
                         reason=text)
    shown = audit.entries(store, who=text[:64])
    assert list(shown["id"]) == [entry] and list(shown["reason"]) == [text.strip()]
    assert audit.entries(store, action=text).empty
    assert len(audit.entries(store, plate=text)) >= 1
    if 3 <= len(text.strip()) <= 64:
        cases.attach_reads(store, text, ["r1", text], by="ann")
        assert list(cases.case_reads(store, text)["read_id"]) == ["r1"]
    for call in (lambda: users.authenticate(store, text, text),
                 lambda: users.add_user(store, text, "admin", who="x"),
                 lambda: users.reset_password(store, text, who="x")):
        with pytest.raises(TracingError):
            call()
    assert audit.verify(store).ok
    intact(store)


@pytest.mark.parametrize("text", NASTY)
def test_watchlist_patterns_reasons_and_fence_names(store: Store, text: str) -> None:
    for kind in ("exact", "wildcard", "fuzzy"):
        try:
            added, _ = watchlist.add_watch(store, text, match_kind=kind,  # type: ignore[arg-type]
                                           reason="case 1", priority=1, who="ann")
        except TracingError:
            continue
        pattern = next(w for w in watchlist.list_watches(store) if w.id == added).pattern
        assert pattern.replace(" ", "") in text.upper().replace(" ", "")  # stored verbatim
        watchlist.remove_watch(store, added, who="ann")
    watch_id, _ = watchlist.add_watch(store, "51A-123.45", match_kind="exact", reason=text,
                                      priority=1, who="ann")
    assert next(w for w in watchlist.list_watches(store) if w.id == watch_id).reason == \
        text.strip()
    watchlist.remove_watch(store, watch_id, who="ann")
    fence = shapes.point_fence(106.77, 10.85, 200.0)
    fence_id = geofences.create_fence(store, text, fence, who="ann")
    assert next(f for f in geofences.list_fences(store) if f.id == fence_id).name == \
        text.strip()
    geofences.delete_fence(store, fence_id, who="ann")
    intact(store)
