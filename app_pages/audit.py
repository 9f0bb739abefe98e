"""Audit log (supervisors): who looked at what and why; filter, export, verify the chain."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from app_pages import auth, resources
from tracing import settings
from tracing.access import audit
from tracing.errors import TracingError
from tracing.exports import audit_file

LOCAL = ZoneInfo(settings.LOCAL_TZ)
ANY = "(any)"


def filters() -> dict[str, object]:
    people, actions = audit.known_values(resources.store())
    a, b, c, d = st.columns([2, 2, 2, 3])
    who = a.selectbox("User", [ANY, *people])
    action = b.selectbox("Action", [ANY, *actions])
    plate = c.text_input("Plate (any spelling)")
    days = d.date_input("Dates (local)", value=(), help="Empty: every entry")
    start = end = None
    if isinstance(days, tuple) and len(days) == 2:
        start = datetime.combine(days[0], time(), LOCAL)
        end = datetime.combine(days[1], time(), LOCAL) + timedelta(days=1)
    return {"who": None if who == ANY else who, "action": None if action == ANY else action,
            "plate": plate.strip() or None, "start": start, "end": end}


def verify_section() -> None:
    if not st.button("Verify the hash chain"):
        return
    report = audit.verify(resources.store())
    if report.ok:
        st.success(f"Intact: {report.entries} entries chained; head {report.head}. Note the "
                   "head hash outside this system to detect a rewrite of the whole log.")
        return
    st.error(f"The audit log was tampered with: {len(report.problems)} problem(s).")
    st.dataframe(pd.DataFrame([{"entry": p.entry_id, "problem": p.kind, "detail": p.detail}
                               for p in report.problems]), hide_index=True)


def page() -> None:
    chosen = filters()
    frame = audit.entries(resources.store(), **chosen)
    shown = frame.assign(logged_at=frame["logged_at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    st.dataframe(shown.drop(columns=["entry_hash"]), hide_index=True, width="stretch")
    st.caption(f"{len(frame)} entries, newest first (times in {settings.LOCAL_TZ}).")
    reason = auth.reason_input("Reason for exporting the log", key="audit_export_reason")
    if reason:
        store, who = resources.store(), auth.actor(reason)
        st.download_button("Export CSV", lambda: audit_file(store, chosen, who=who),
                           "audit_log.csv", "text/csv")
    verify_section()


auth.require("audit")
st.title("Audit log")
st.caption("Every search, trace, export, watchlist and geofence change, login and "
           "administration step, with its reason. Entries are chained by SHA-256: editing or "
           "removing one breaks the chain.")
try:
    page()
except TracingError as exc:
    st.error(f"Cannot show the audit log: {exc}")
