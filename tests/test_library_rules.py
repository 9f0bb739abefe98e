"""The library owns its rules (issue 15): every sensitive operation — looks (search, trace,
the review queue), exports and changes (watchlists, fences, alerts, cases, read reviews, the
registry, accounts) — asked for
by a role that may not is refused and audited as ``denied``; asked for by a role that may,
it writes exactly one audit entry, and a look asked again with the same session memo none."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import shapely

from tests.test_search import CAMERAS, READS, T0, line_graph
from tracing import exports, settings
from tracing.access import audit, cases, retention, roles, users
from tracing.access.actor import Actor, Looks
from tracing.access.registry import replace_registry
from tracing.alerts import geofences as gf
from tracing.alerts import set_alert_status
from tracing.alerts import watchlist as wl
from tracing.errors import AccessError, AuditError
from tracing.live import devices
from tracing.reads import PlateRead
from tracing.reviews import correct_read, review_queue, reviewed_crops
from tracing.routes import Route, RouteSummary, Sighting
from tracing.routes.stored import stored_sightings
from tracing.search import (
    Place,
    SearchFilters,
    find_clones,
    find_convoy,
    link_reads,
    reachability_from_graph,
    reads_of_plates,
    search_plates,
    stakeout,
)
from tracing.store import Store

SYSTEM = "system:test"
"""Who sets the stores up: a system process, neither checked nor audited."""
PLATE = "51A-123.45"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Operation:
    """One sensitive operation: its audit action, the permission it needs, a call of it."""

    action: str
    permission: str
    call: Callable[[Actor], object]


def _store(path: Path) -> Store:
    """The cameras and reads of :mod:`tests.test_search`, a fence, a watch entry, an alert
    and the account ``ann`` (an investigator)."""
    store = Store(path)
    store.replace_cameras(CAMERAS)
    store.ingest_reads([PlateRead(f"r{i}", cam, T0 + timedelta(seconds=dt), plate, 0.9, kind)
                        for i, (plate, cam, dt, kind) in enumerate(READS)])
    users.add_user(store, "ann", "investigator", who=SYSTEM, password=PASSWORD)
    return store


def _shape() -> shapely.Polygon:
    return shapely.Polygon([(106.76, 10.85), (106.77, 10.85), (106.77, 10.86), (106.76, 10.86)])


def _route() -> Route:
    seen = Sighting(camera_id="A", ts=T0, read_id="r0")
    return Route(PLATE, (seen,), (0,), (), RouteSummary(1, 1, 0, 0.0, 0.0, 0))


def looks(store: Store) -> list[Operation]:
    """Every look: a search's panels and a trace."""
    reach = reachability_from_graph(line_graph(), CAMERAS)
    places = [Place("a", SearchFilters(cameras={"A"})), Place("c", SearchFilters(cameras={"C"}))]
    return [
        Operation("search", "search", lambda a: search_plates(store, "51A-12*", who=a)),
        Operation("search.vehicle", "search", lambda a: reads_of_plates(store, [PLATE], who=a)),
        Operation("search.links", "search", lambda a: link_reads(store, PLATE, reach, who=a)),
        Operation("search.clones", "search",
                  lambda a: find_clones(store, reach, who=a, plate="60A-111.11")),
        Operation("search.convoy", "search", lambda a: find_convoy(store, PLATE, who=a)),
        Operation("search.stakeout", "search", lambda a: stakeout(store, places, who=a)),
        Operation("trace", "trace", lambda a: stored_sightings(store, PLATE, who=a)),
        Operation("reads.review_queue", "review", lambda a: review_queue(store, who=a)),
        Operation("reads.training_set", "review", lambda a: reviewed_crops(store, who=a)),
    ]


def downloads(store: Store) -> list[Operation]:
    """Every export: reads and routes in each format, the audit log, the watchlist."""
    reads = reads_of_plates(store, [PLATE], who=SYSTEM)
    route, where = _route(), {"A": (106.715, 10.8)}

    def reads_as(fmt: exports.ReadsFormat) -> Operation:
        return Operation("export", "export", lambda a: exports.reads_file(
            store, reads, who=a, plate=PLATE, fmt=fmt))

    def route_as(fmt: exports.RouteFormat) -> Operation:
        return Operation("export", "export", lambda a: exports.route_file(
            store, route, who=a, fmt=fmt, positions=where))

    return [reads_as("csv"), reads_as("geojson"),
            route_as("geojson"), route_as("kml"), route_as("csv"),
            Operation("audit.export", "audit",
                      lambda a: exports.audit_file(store, {"plate": PLATE}, who=a)),
            Operation("watchlist.export", "watchlists",
                      lambda a: exports.watchlist_file(store, who=a))]


def changes(store: Store) -> list[Operation]:
    """Every change: watchlists, fences, alerts, cases, the registry, accounts."""
    fence = gf.create_fence(store, "Depot", _shape(), who=SYSTEM)
    watch, _ = wl.add_watch(store, PLATE, match_kind="exact", reason="stolen", priority=1,
                            who=SYSTEM)
    with store.writer() as con:
        con.execute("INSERT INTO alerts (kind, plate) VALUES ('watchlist', ?)", [PLATE])
        alert = int(con.execute("SELECT max(id) FROM alerts").fetchone()[0])  # type: ignore[index]
    cameras = pd.DataFrame({"id": ["cam-z"], "lon": [106.75], "lat": [10.85], "is_lpr": [True]})
    return [
        Operation("case.attach", "cases", lambda a: cases.attach_reads(store, "CASE-1", ["r0"],
                                                                       by=a)),
        Operation("geofence.create", "geofences",
                  lambda a: gf.create_fence(store, "New", _shape(), who=a)),
        Operation("geofence.update", "geofences",
                  lambda a: gf.update_fence(store, fence, who=a, name="Renamed")),
        Operation("geofence.delete", "geofences", lambda a: gf.delete_fence(store, fence, who=a)),
        Operation("watchlist.add", "watchlists", lambda a: wl.add_watch(
            store, "51A-999.99", match_kind="exact", reason="seen", priority=2, who=a)),
        Operation("watchlist.remove", "watchlists", lambda a: wl.remove_watch(store, watch, who=a)),
        Operation("watchlist.import", "watchlists", lambda a: wl.import_watch_csv(
            store, "pattern,match_kind,reason\n51A-888.88,exact,seen\n", who=a)),
        Operation("read.review", "review", lambda a: correct_read(store, "r0", "51A-999.99",
                                                                  who=a)),
        Operation("alert.status", "alerts", lambda a: set_alert_status(
            store, alert, "dismissed", who=a, note="false alarm")),
        Operation("device.create", "devices", lambda a: devices.create_device(
            store, f"dev-{a.role}", vendor="json", cameras=["A"], who=a)),
        Operation("registry.replace", "registry",
                  lambda a: replace_registry(store, cameras, who=a, source="cams.csv")),
        Operation("users.add", "users", lambda a: users.add_user(store, "carol", "analyst", who=a)),
        Operation("users.reset_password", "users",
                  lambda a: users.reset_password(store, "ann", who=a)),
        Operation("users.set_role", "users",
                  lambda a: users.set_role(store, "ann", "analyst", who=a)),
        Operation("users.disable", "users",
                  lambda a: users.set_disabled(store, "ann", True, who=a)),
        Operation("users.enable", "users",
                  lambda a: users.set_disabled(store, "ann", False, who=a)),
        Operation("retention.policy", "retention", lambda a: retention.save_policy(
            store, retention.RetentionPolicy(200, 30), who=a)),
        Operation("retention.purge", "retention", lambda a: retention.purge(
            store, who=a, crops_dir=store.path.parent / "crops")),
    ]


def every_operation(store: Store) -> list[Operation]:
    return [*looks(store), *downloads(store), *changes(store)]


def _tables(store: Store) -> tuple[object, ...]:
    with store.reader() as con:
        return tuple(con.execute(f"SELECT count(*), {extra} FROM {table}").fetchone()  # noqa: S608
                     for table, extra in (("geofences", "max(name), count(deleted_at)"),
                                          ("watchlist", "count(removed_at)"),
                                          ("alerts", "max(status)"), ("cameras", "max(id)"),
                                          ("case_reads", "max(case_ref)"),
                                          ("reads", "string_agg(plate, ',' ORDER BY read_id)"),
                                          ("read_reviews", "max(new_plate)"),
                                          ("users", "max(role), count(*) FILTER (disabled), "
                                                    "sum(epoch)")))


def _count(store: Store) -> int:
    with store.reader() as con:
        return int(con.execute("SELECT count(*) FROM audit_log").fetchone()[0])  # type: ignore[index]


def test_each_operation_is_refused_and_audited_for_a_role_that_may_not(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb")
    for op in every_operation(store):
        role = next(r for r in roles.ROLES if not roles.allowed(r, op.permission))
        before = _tables(store), _count(store)
        with pytest.raises(AccessError, match="not allowed"):
            op.call(Actor("mallory", role, "case 77", looks=Looks()))
        assert _tables(store) == before[0], op.action  # nothing changed
        assert _count(store) == before[1] + 1, op.action  # the refusal, nothing else
        entry = audit.entries(store).iloc[0]
        assert (entry["who"], entry["action"], entry["reason"]) == ("mallory", "denied",
                                                                    "case 77")
        params = json.loads(entry["params"])
        assert (params["action"], params["permission"]) == (op.action, op.permission)
    assert audit.verify(store).ok


def test_each_operation_writes_exactly_one_entry_for_a_role_that_may(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb")
    for op in every_operation(store):
        before = _count(store)
        op.call(Actor("root", "admin", "case 78", looks=Looks()))
        assert _count(store) == before + 1, op.action
        entry = audit.entries(store).iloc[0]
        assert (entry["who"], entry["action"], entry["reason"]) == ("root", op.action,
                                                                    "case 78")
    assert audit.verify(store).ok


def test_a_look_asked_again_in_one_session_is_one_entry_and_each_download_is_one(
        tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb")
    session = Looks()
    for op in looks(store):
        before = _count(store)
        for reason in ("case 79", "case 79", "case 80"):  # a rerun, then another reason
            op.call(Actor("root", "admin", reason, looks=session))
        assert _count(store) == before + 2, op.action
        op.call(Actor("root", "admin", "case 79", looks=Looks()))  # another session
        op.call(Actor("root", "admin", "case 79"))  # no memo: every call
        assert _count(store) == before + 4, op.action
    for op in downloads(store):
        before = _count(store)
        op.call(Actor("root", "admin", "case 79", looks=session))
        op.call(Actor("root", "admin", "case 79", looks=session))
        assert _count(store) == before + 2, op.action


def test_the_memo_is_no_part_of_an_actor_and_names_who_looked(tmp_path: Path) -> None:
    session = Looks()
    assert Actor("ann", "investigator", "case 1", looks=session) == Actor(
        "ann", "investigator", "case 1")
    assert "looks" not in repr(Actor("ann", "investigator", "case 1", looks=session))
    store = _store(tmp_path / "s.duckdb")
    for name in ("ann", "bob"):  # one browser session, two logins: two entries
        search_plates(store, PLATE, who=Actor(name, "investigator", "case 1", looks=session))
    assert list(audit.entries(store, action="search")["who"]) == ["bob", "ann"]


def test_a_failed_audit_write_means_no_result_no_file_and_no_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path / "s.duckdb")
    operations = every_operation(store)

    def broken(*args: object, **kwargs: object) -> int:
        raise AuditError("the audit log cannot be written")

    monkeypatch.setattr(audit, "record_in", broken)
    for op in operations:
        before = _tables(store)
        with pytest.raises(AuditError):
            op.call(Actor("root", "admin", "case 81", looks=Looks()))
        assert _tables(store) == before, f"{op.action} was kept without its audit entry"


def test_system_processes_are_neither_checked_nor_audited(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb")
    before = _count(store)
    assert search_plates(store, PLATE, who=SYSTEM).candidates
    assert stored_sightings(store, PLATE, who=SYSTEM).sightings
    assert exports.reads_file(store, reads_of_plates(store, [PLATE], who=SYSTEM), who=SYSTEM,
                              plate=PLATE, fmt="csv").startswith(b"read_id")
    assert _count(store) == before


def test_anyone_may_change_their_own_password(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.duckdb")
    changed = users.change_password(store, "ann", PASSWORD, "a much better secret")
    assert changed.role == "investigator" and not changed.must_change
    assert audit.entries(store).iloc[0]["action"] == "users.change_password"


def test_pages_leave_checks_audit_entries_and_files_to_the_library() -> None:
    forbidden = ("auth.log(", "log_once", "audit.record", "reads_csv", "reads_geojson",
                 "route_csv", "route_kml", "route_geojson", "entries_csv", "export_watch_csv")
    for page in sorted((settings.REPO_ROOT / "app_pages").glob("*.py")):
        if page.name == "auth.py":  # the logout's entry
            continue
        text = page.read_text(encoding="utf-8")
        assert not [r for r in forbidden if r in text], page.name
