"""Alerts: the live list of watchlist and geofence alerts, each with its evidence, and the
operators' acknowledge / dismiss decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _alert_evidence, _review, auth, resources
from tracing import settings
from tracing.alerts import ALERT_KINDS, STATUSES, list_alerts, set_alert_status
from tracing.cameras import load_registry
from tracing.errors import TracingError

SELECTED_KEY = "alert_selected"  # session state: id of the alert shown below the list
PRIORITY_COLOURS = {1: "#f5b7b1", 2: "#fad7a0", 3: "#f9e79f"}
PRIORITY_TEXT = {1: "1 · high", 2: "2 · medium", 3: "3 · low"}
KIND_TEXT = {"watchlist": "watchlist hit", "geofence_entry": "geofence entry",
             "impossible_travel": "impossible travel", "retroactive": "retroactive hit"}
SINCE = {"last hour": timedelta(hours=1), "last 24 hours": timedelta(days=1),
         "last 7 days": timedelta(days=7), "last 30 days": timedelta(days=30), "any time": None}
LIST_LIMIT = 500


def priority_text(value: Any) -> str:
    return "" if value is None or pd.isna(value) else PRIORITY_TEXT.get(int(value), str(value))


def row_colour(row: pd.Series) -> list[str]:
    """Background of a table row by its alert's priority."""
    colour = PRIORITY_COLOURS.get(int(row["_priority"])) if pd.notna(row["_priority"]) else None
    return [f"background-color: {colour}" if colour else ""] * len(row)


def alert_table(alerts: pd.DataFrame) -> pd.io.formats.style.Styler:
    """The list as shown: newest first, coloured by priority."""
    table = pd.DataFrame({
        "raised": alerts["raised_at"].map(_alert_evidence.local),
        "priority": alerts["priority"].map(priority_text),
        "kind": alerts["kind"].map(lambda k: KIND_TEXT.get(k, k)),
        "plate": alerts["plate"],
        "read as": alerts["plate_raw"].fillna(""),
        "camera": alerts["camera_name"].fillna(alerts["camera_id"]),
        "fence": alerts["fence_name"].fillna(""),
        "watch": alerts["pattern"].fillna(""),
        "status": alerts["status"],
        "_priority": alerts["priority"],
    })
    return table.style.apply(row_colour, axis=1)


def filters() -> tuple[list[str], list[str], datetime | None, bool]:
    a, b, c, d = st.columns([2, 3, 2, 1])
    statuses = a.multiselect("Status", STATUSES, default=["new"], key="alert_status")
    kinds = b.multiselect("Kind", ALERT_KINDS, format_func=lambda k: KIND_TEXT.get(k, k),
                          key="alert_kind", placeholder="every kind")
    window = SINCE[c.selectbox("Raised", list(SINCE), index=1, key="alert_since")]
    live = d.toggle("Live", value=True, key="alert_live",
                    help=f"Refresh the list every {settings.ALERT_PAGE_REFRESH_S:g} s")
    since = None if window is None else datetime.now(UTC) - window
    return statuses, kinds, since, live


def alert_list(statuses: list[str], kinds: list[str], since: datetime | None) -> None:
    """The list (re-run on its own while live); picking a row shows it below."""
    alerts = list_alerts(resources.store(), status=statuses or None, since=since,
                         limit=LIST_LIMIT)
    if kinds:
        alerts = alerts[alerts["kind"].isin(kinds)]
    alerts = alerts.reset_index(drop=True)
    new = int((alerts["status"] == "new").sum())
    st.caption(f"{len(alerts)} alert{'' if len(alerts) == 1 else 's'} ({new} new) · updated "
               f"{datetime.now(_alert_evidence.LOCAL):%H:%M:%S} · newest first"
               + (f" · showing the newest {LIST_LIMIT}" if len(alerts) == LIST_LIMIT else ""))
    if alerts.empty:
        st.info("No alert matches these filters.")
        return
    # A new key when the rows change: a selection is a row position, never carried over to
    # another alert when new ones push the rows down.
    rows_key = f"alert_rows_{hash(tuple(alerts['id']))}"
    picked = st.dataframe(alert_table(alerts), hide_index=True, width="stretch",
                          column_config={"_priority": None}, on_select="rerun",
                          selection_mode="single-row", key=rows_key)
    rows = picked.selection.rows if picked is not None else []
    chosen = int(alerts.at[rows[0], "id"]) if rows else None
    if chosen is not None and chosen != st.session_state.get(SELECTED_KEY):
        st.session_state[SELECTED_KEY] = chosen
        st.rerun(scope="app")


def decision(alert: pd.Series, who: str | None) -> None:
    """Who decided what and when; acknowledge / dismiss buttons for those allowed."""
    if alert["status"] != "new":
        st.info(f"**{str(alert['status']).capitalize()}** by {alert['status_by']} at "
                f"{_alert_evidence.local(alert['status_at'])}"
                + (f": {alert['note']}" if pd.notna(alert["note"]) and alert["note"] else ""))
    if who is None:
        st.caption("Your role may see alerts but not acknowledge or dismiss them.")
        return
    note = st.text_input("Note (what was done, why it is a false alarm, …)",
                         key=f"alert_note_{alert['id']}")
    left, right, _ = st.columns([1, 1, 4])
    for column, status, label in ((left, "acknowledged", "Acknowledge"),
                                  (right, "dismissed", "Dismiss")):
        if column.button(label, key=f"{status}_{alert['id']}",
                         type="primary" if status == "acknowledged" else "secondary"):
            why = note.strip() if len(note.strip()) >= 3 else f"alert #{alert['id']} {status}"
            try:  # the library checks the role and audits the decision with it
                set_alert_status(resources.store(), int(alert["id"]), status,
                                 who=auth.actor(why[:200]), note=note)
            except TracingError as exc:
                st.error(f"Alert #{alert['id']} not {status}: {exc}")
                return
            st.session_state["alert_done"] = f"Alert #{alert['id']} {status}."
            st.rerun()


def detail(alert_id: int, who: str | None) -> None:
    found = list_alerts(resources.store(), ids=[alert_id], limit=1)
    if found.empty:
        st.session_state.pop(SELECTED_KEY, None)
        return
    alert = found.iloc[0]
    kind = KIND_TEXT.get(alert["kind"], alert["kind"])
    st.subheader(f"#{alert['id']} · {alert['plate']} · {kind} · priority "
                 f"{priority_text(alert['priority']) or 'none'}")
    _alert_evidence.evidence(alert)
    if pd.notna(alert["read_id"]) and auth.may("review"):
        with st.expander("Is the plate right? Confirm or correct the read"):
            _review.review_controls(alert, reason=f"alert #{alert['id']} evidence",
                                    key=f"alert_review_{alert['id']}")
    decision(alert, who)
    _alert_evidence.show_where(alert, load_registry(resources.store()))


st.title("Alerts")
user = auth.require("alerts_view")
deciding = user.name if auth.may("alerts") else None
_review.show_done()
done = st.session_state.pop("alert_done", None)
if done:
    st.success(done)
try:
    statuses, kinds, since, live = filters()
    every = settings.ALERT_PAGE_REFRESH_S if live else None
    st.fragment(run_every=every)(alert_list)(statuses, kinds, since)
    selected = st.session_state.get(SELECTED_KEY)
    if selected is None:
        st.caption("Pick an alert in the list to see its evidence, the camera on the map and "
                   "the vehicle's recent path.")
    else:
        detail(int(selected), deciding)
except TracingError as exc:
    st.error(f"Cannot show the alerts: {exc}")
