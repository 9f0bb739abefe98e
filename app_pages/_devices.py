"""Admin page section: the keys cameras and NVRs post their events with."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import auth, resources
from tracing import cameras as registry
from tracing.live import devices

SECRET_KEY = "device_secret"


def devices_section(reason: str | None) -> None:
    """List devices; add one, rotate or revoke its key (the library checks and audits)."""
    st.subheader("Camera devices")
    st.caption("Each camera or NVR posting plate events to the receiver has its own key, "
               "bound to the cameras it may post for. Keys are shown once and stored hashed.")
    if made := st.session_state.pop(SECRET_KEY, None):
        st.success(f"Key of **{made[0]}** (shown once; configure it on the device): "
                   f"`{made[1]}`")
    store = resources.store()
    codes = registry.load_registry(store).set_index("id")["code"].astype(str).to_dict()
    table = pd.DataFrame([_named(row, codes) for row in devices.device_table(store)])
    if table.empty:
        st.info("No device yet.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")
    if reason is None:
        st.info("Give a reason above to add or change devices.")
        return
    add, change = st.columns(2)
    with add.form("add_device", clear_on_submit=True):
        name = st.text_input("Device id", placeholder="e.g. nvr-gate-3")
        vendor = st.selectbox("Event format", devices.VENDORS)
        bound = st.multiselect("Cameras it may post for", sorted(codes),
                               format_func=lambda i: codes[i])
        zone = st.text_input("Time zone of timestamps sent without one (optional)",
                             placeholder="Asia/Ho_Chi_Minh")
        if st.form_submit_button("Add device"):
            key = devices.create_device(store, name, vendor=vendor, cameras=bound,
                                        time_zone=zone.strip() or None,
                                        who=auth.actor(reason))
            st.session_state[SECRET_KEY] = (name, key)
            st.rerun()
    active = [] if table.empty else table.loc[table["revoked_at"].isna(), "id"].tolist()
    with change.form("change_device"):
        chosen = st.selectbox("Device", active)
        action = st.radio("Device change", ["Rotate key", "Revoke"], horizontal=True)
        if st.form_submit_button("Apply to device") and chosen:
            if action == "Revoke":
                devices.revoke_device(store, chosen, who=auth.actor(reason))
            else:
                st.session_state[SECRET_KEY] = (
                    chosen, devices.rotate_key(store, chosen, who=auth.actor(reason)))
            st.rerun()


def _named(row: dict[str, object], codes: dict[str, str]) -> dict[str, object]:
    """A device row with camera codes instead of registry ids."""
    bound = row["cameras"] if isinstance(row["cameras"], list) else []
    channels = row["channels"] if isinstance(row["channels"], dict) else {}
    return {**row, "cameras": [codes.get(str(c), str(c)) for c in bound],
            "channels": {k: codes.get(str(c), str(c)) for k, c in channels.items()}}
