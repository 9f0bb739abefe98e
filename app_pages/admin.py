"""Administration: accounts (add, reset password, role, disable), camera devices' keys and
data retention."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import auth, resources
from app_pages._devices import devices_section
from tracing import settings
from tracing.access import retention, roles, users
from tracing.access.actor import Actor
from tracing.errors import TracingError


def show_secret() -> None:
    """A one-time password just made, shown once."""
    if made := st.session_state.pop("admin_secret", None):
        name, secret = made
        st.success(f"One-time password of **{name}** (shown once; they must change it at "
                   f"their first login): `{secret}`")


def accounts(reason: str | None) -> None:
    st.subheader("Accounts")
    show_secret()
    table = users.list_users(resources.store())
    st.dataframe(table, hide_index=True, width="stretch")
    if reason is None:
        st.info("Give a reason above to add or change accounts.")
        return
    store = resources.store()
    add, change = st.columns(2)
    with add.form("add_user", clear_on_submit=True):
        name = st.text_input("New user name")
        role = st.selectbox("Role", roles.ROLES)
        if st.form_submit_button("Add user"):
            secret = users.add_user(store, name, role, who=auth.actor(reason))
            st.session_state["admin_secret"] = (name.strip().lower(), secret)
            st.rerun()
    with change.form("change_user"):
        account = st.selectbox("User", list(table["name"]))
        new_role = st.selectbox("New role", roles.ROLES, index=None)
        what = st.radio("Action", ["Change role", "Reset password", "Disable", "Enable"],
                        horizontal=True)
        if st.form_submit_button("Apply") and account:
            apply_change(account, what, new_role, auth.actor(reason))


def apply_change(name: str, what: str, new_role: str | None, admin: Actor) -> None:
    store = resources.store()
    if what == "Change role":
        if new_role is None:
            st.error("Choose the new role.")
            return
        users.set_role(store, name, new_role, who=admin)
    elif what == "Reset password":
        st.session_state["admin_secret"] = (name, users.reset_password(store, name, who=admin))
    else:
        users.set_disabled(store, name, what == "Disable", who=admin)
    st.rerun()


def retention_section(reason: str | None) -> None:
    st.subheader("Retention")
    store = resources.store()
    policy = retention.load_policy(store)
    st.caption("Reads attached to a case or to an alert (watchlist hits, geofence entries) "
               "are kept whatever their age. Schedule the purge daily, e.g. cron: "
               "`15 3 * * * .venv/bin/python -m tracing retention purge`.")
    with st.form("policy"):
        left, right = st.columns(2)
        reads = left.number_input("Keep reads (days)", 1, settings.RETENTION_MAX_DAYS,
                                  policy.reads_days)
        crops = right.number_input("Keep crop images (days)", 1, settings.RETENTION_MAX_DAYS,
                                   policy.crops_days)
        if st.form_submit_button("Save retention periods", disabled=reason is None):
            retention.save_policy(store, retention.RetentionPolicy(int(reads), int(crops)),
                                  who=auth.actor(reason or ""))
            st.rerun()
    if done := st.session_state.pop("purged", None):
        st.success(done)
    preview = retention.purge(store, dry_run=True)
    st.write(f"Now: {preview}.")
    nothing = not preview.reads_deleted and not preview.crops_cleared
    if st.button("Purge now", disabled=reason is None or nothing):
        st.session_state["purged"] = str(retention.purge(store, who=auth.actor(reason or "")))
        st.rerun()


def page() -> None:
    auth.require("users")
    st.title("Users, devices & retention")
    reason = auth.reason_input("Reason or ticket for these changes", key="admin_reason")
    try:
        accounts(reason)
        if auth.may("devices"):
            devices_section(reason)
        if auth.may("retention"):
            retention_section(reason)
    except TracingError as exc:
        st.error(str(exc))
    with st.expander("What each role may do"):
        st.dataframe(pd.DataFrame(roles.permission_table()), hide_index=True, width="stretch")


page()
