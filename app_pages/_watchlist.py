"""The watchlist part of the Geofences & watchlists page: table, add, remove, CSV in/out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from app_pages import resources
from tracing import settings
from tracing.access.actor import Actor
from tracing.alerts import geofences as gf
from tracing.alerts import watchlist as wl
from tracing.alerts.matcher import MATCH_KINDS
from tracing.exports import watchlist_file

LOCAL = ZoneInfo(settings.LOCAL_TZ)
IMPORT_KEY = "watch_import_report"
PRIORITY_TEXT = {1: "1 · high", 2: "2 · medium", 3: "3 · low"}
KIND_HELP = ("exact: one plate (`51A-123.45`); wildcard: `*` any characters, `?` one "
             "(`51A-*`, `59-X1 12?.45`); fuzzy: the plate or OCR misreads of it "
             "(0/O/D/Q, 1/I/7, 8/B, …)")

Act = Callable[[str, Callable[[Actor], object]], bool]


def _local(ts: datetime | None) -> str:
    return "" if ts is None else ts.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def watch_table(entries: list[wl.WatchEntry], fences: dict[int, str]) -> pd.DataFrame:
    now = datetime.now(LOCAL)
    return pd.DataFrame([{
        "id": e.id, "pattern": e.pattern, "kind": e.match_kind,
        "priority": PRIORITY_TEXT.get(e.priority, str(e.priority)), "reason": e.reason,
        "only in fences": ", ".join(fences.get(i, f"#{i} (deleted)") for i in e.fence_ids),
        "expires": _local(e.expires_at) + (" (expired)" if e.expires_at and e.expires_at <= now
                                          else ""),
        "added by": e.created_by, "added": _local(e.created_at)} for e in entries])


def _expiry(day: Any, at: time) -> datetime | None:
    return None if day is None else datetime.combine(day, at, tzinfo=LOCAL)


def add_form(fences: dict[int, str], act: Act) -> None:
    with st.form("add_watch"):
        a, b, c = st.columns([2, 1, 1])
        pattern = a.text_input("Plate or pattern", key="watch_pattern",
                                placeholder="51A-123.45 · 51A-* · 59-X1 1234")
        kind = b.selectbox("Match", MATCH_KINDS, help=KIND_HELP, key="watch_kind")
        priority = c.selectbox("Priority", list(PRIORITY_TEXT), format_func=PRIORITY_TEXT.get,
                               key="watch_priority")
        reason = st.text_input("Why is it watched", key="watch_reason",
                               placeholder="e.g. reported stolen 2026-11-20")
        d, e, f = st.columns(3)
        day = d.date_input("Expires on (local; empty: never)", value=None, key="watch_day")
        at = e.time_input("at", value=time(23, 59), key="watch_time")
        retro = f.number_input("Check past reads (days)", min_value=0,
                               max_value=settings.WATCH_MAX_RETRO_DAYS,
                               value=settings.WATCH_RETRO_DAYS, key="watch_retro")
        only = st.multiselect("Only inside these fences (empty: everywhere)", list(fences),
                              format_func=fences.get, key="watch_fences")
        submitted = st.form_submit_button("Add to the watchlist", type="primary",
                                          key="watch_add")
    if submitted:
        def add(actor: Actor) -> str:
            entry, retro_alerts = wl.add_watch(
                resources.store(), pattern, match_kind=kind, reason=reason,
                priority=int(priority or 1), who=actor, expires_at=_expiry(day, at),
                fence_ids=only, retro_days=int(retro))
            return f"#{entry} ({retro_alerts} retroactive alerts)"

        if act(f"Watch entry {{result}} added for {pattern.strip()!r}.", add):
            st.rerun()


def remove_form(entries: list[wl.WatchEntry], act: Act) -> None:
    entry = st.selectbox("Entry to remove", entries, index=None, key="remove_pick",
                         format_func=lambda e: f"#{e.id} {e.pattern} ({e.match_kind}) — "
                                               f"{e.reason}")
    if st.button("Remove from the watchlist", disabled=entry is None, key="remove_watch") \
            and entry is not None \
            and act(f"Watch entry #{entry.id} ({entry.pattern}) removed.",
                    lambda actor: wl.remove_watch(resources.store(), entry.id, who=actor)):
        st.rerun()


def csv_forms(act: Act, export_as: Actor | None) -> None:
    left, right = st.columns(2)
    with left:
        file = st.file_uploader("Import a CSV (columns: " + ", ".join(wl.CSV_COLUMNS) + ")",
                                type=["csv"], key="watch_csv")
        if st.button("Import", disabled=file is None, key="watch_import") and file is not None:
            def load(actor: Actor) -> int:
                report = wl.import_watch_csv(resources.store(),
                                             file.getvalue().decode("utf-8-sig", "replace"),
                                             who=actor)
                st.session_state[IMPORT_KEY] = report
                return report.added

            if act("{result} watch entries imported.", load):
                st.rerun()
        report = st.session_state.get(IMPORT_KEY)
        if report is not None:
            st.caption(f"Last import: {report.added} added, {report.retro_alerts} retroactive "
                       f"alerts, {len(report.errors)} lines refused.")
            for line in report.errors:
                st.warning(line)
    with right:
        if export_as is None:
            st.caption("Give a reason (top of the page) to export the watchlist.")
            return
        store = resources.store()
        st.download_button("Export the watchlist (CSV)",
                           lambda: watchlist_file(store, who=export_as), "watchlist.csv",
                           "text/csv", key="watch_export")


def show(*, may_edit: bool, act: Act, export_as: Actor | None) -> None:
    """The watchlist tab (editing only with ``may_edit``; ``export_as``: who exports, None
    until a reason is given)."""
    store = resources.store()
    fences = {f.id: f"#{f.id} {f.name}" for f in gf.list_fences(store)}
    expired = st.toggle("Show expired entries", key="show_expired")
    entries = wl.list_watches(store, include_expired=expired)
    st.subheader(f"Watchlist ({len(entries)})")
    if entries:
        st.dataframe(watch_table(entries, fences), hide_index=True, width="stretch")
    else:
        st.info("The watchlist is empty.")
    if not may_edit:
        st.info("Your role may see the watchlist but not change it.")
        return
    st.subheader("Add an entry")
    add_form(fences, act)
    if entries:
        st.subheader("Remove an entry")
        remove_form(entries, act)
    st.subheader("CSV import and export")
    csv_forms(act, export_as)
