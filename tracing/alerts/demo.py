"""Alerts in the demo database: gateway fences, the planted watchlisted car on the watchlist,
and the engine run once over the simulated day, so the Alerts page has something to show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import networkx as nx

from tracing.alerts.engine import AlertEngine
from tracing.alerts.geofences import ensure_gateway_fences
from tracing.alerts.shapes import FenceGeometry
from tracing.alerts.watchlist import CHECKPOINT, add_watch, list_watches
from tracing.plates import normalize_plate
from tracing.store import Store

CASE: Final = "watchlist_gateway"
WHO: Final = "demo"


def seed_demo(store: Store, graph: nx.MultiDiGraph, outline: FenceGeometry,
              planted: Sequence[Mapping[str, Any]]) -> str:
    """Create the gateway fences, watch the plate of the planted ``watchlist_gateway`` case
    (``planted``: the cases of the simulator's ``planted.json``) and, when the alert engine
    never ran on this store, evaluate every stored read once. Idempotent; a summary line."""
    fences = ensure_gateway_fences(store, graph, outline, who=WHO)
    watched = {e.pattern for e in list_watches(store)}
    added = []
    for case in planted:
        if case.get("case") != CASE:
            continue
        for plate in case.get("plates", []):
            if normalize_plate(str(plate)) not in watched:
                add_watch(store, str(plate), match_kind="exact", priority=1, who=WHO,
                          reason=str(case.get("watchlist_reason") or "planted demo case"),
                          retro_days=0)
                added.append(str(plate))
    with store.writer() as con:
        row = con.execute("SELECT count(*) FROM alert_checkpoint").fetchone()
        fresh = not (row and row[0])
        if fresh:  # from the first read: the engine evaluates the whole simulated period
            con.execute("INSERT INTO alert_checkpoint (name, ingested_at) VALUES (?, NULL)",
                        [CHECKPOINT])
    alerts = 0
    if fresh:
        engine = AlertEngine(store)
        while True:
            report = engine.step()
            alerts += len(report.alerts)
            if not report.more:
                break
    return (f"alerts: {fences} gateway fences created, watching {', '.join(added) or 'nothing new'}"
            f", {alerts} alerts raised on the stored reads")
