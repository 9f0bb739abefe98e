"""Login, the forced change of a one-time password, and the account of the logged-in user."""

from __future__ import annotations

import streamlit as st

from app_pages import auth, resources
from tracing import settings
from tracing.access import users
from tracing.access.roles import PERMISSIONS, ROLE_PERMISSIONS
from tracing.errors import TracingError


def login_form() -> None:
    st.title("Log in")
    if notice := st.session_state.pop(auth.NOTICE_KEY, None):
        st.info(notice)
    with st.form("login"):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    st.caption("First run: the administrator's one-time password was printed on the server "
               "console. Lost it? `python -m tracing users reset-password admin` prints a "
               f"new one. After {settings.LOGIN_MAX_FAILURES} failed logins an account is "
               f"locked for {settings.LOGIN_LOCKOUT_MINUTES:.0f} minutes.")
    if not submitted:
        return
    try:
        user = users.authenticate(resources.store(), name, password, source=auth.source())
    except TracingError as exc:
        st.error(f"Login refused: {exc}")
        return
    auth.login(user)
    st.rerun()


def change_password_form(user: users.User, *, forced: bool) -> None:
    if forced:
        st.warning("You logged in with a one-time password: choose your own to continue.")
    with st.form("change_password", clear_on_submit=True):
        old = st.text_input("Current password", type="password")
        new = st.text_input(f"New password (at least {settings.PASSWORD_MIN_LENGTH} "
                            "characters)", type="password")
        again = st.text_input("New password again", type="password")
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return
    if new != again:
        st.error("The two new passwords differ.")
        return
    try:
        changed = users.change_password(resources.store(), user.name, old, new,
                                        source=auth.source())
    except TracingError as exc:
        st.error(f"Password not changed: {exc}")
        return
    auth.login(changed)
    st.toast("Password changed.")
    st.rerun()


def account(user: users.User) -> None:
    st.title("Account")
    st.write(f"Logged in as **{user.name}**, role **{user.role}**. You may:")
    st.markdown("\n".join(f"- {PERMISSIONS[p]}" for p in PERMISSIONS
                          if p in ROLE_PERMISSIONS[user.role]))
    if user.must_change:
        change_password_form(user, forced=True)
    else:
        with st.expander("Change my password"):
            change_password_form(user, forced=False)
    if st.button("Log out", key="logout_account"):
        auth.logout()
        st.rerun()


current = auth.current_user()
if current is None:
    login_form()
else:
    account(current)
