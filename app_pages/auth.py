"""Who is logged in, what they may do, and the reason every sensitive action needs.

Every page starts with ``user = auth.require("<permission>")`` (permissions:
:data:`tracing.access.roles.PERMISSIONS`) to decide what to render. Sensitive operations take
a reason from ``auth.reason_input(...)`` and pass ``auth.actor(reason)`` to the library,
which checks the role and writes the audit entry (:mod:`tracing.access.actor`); the actor
carries this session's memo of looks, so a rerun of the same search or trace is no new entry.
"""

from __future__ import annotations

import streamlit as st

from app_pages import resources
from tracing.access import audit, sessions
from tracing.access.actor import Actor, Looks
from tracing.access.roles import PERMISSIONS, allowed
from tracing.access.users import User
from tracing.errors import AccessError, AuditError, TracingError

SESSION_KEY = "auth_session"
"""Session-state key of the logged-in :class:`tracing.access.sessions.Session`."""
NOTICE_KEY = "auth_notice"
"""Session-state key of a message for the login page (why the session ended)."""
LOOKS_KEY = "auth_looks"
"""Session-state key of this session's :class:`tracing.access.actor.Looks` memo."""


def current_user() -> User | None:
    """The logged-in user, or None (never logged in, session expired or account changed)."""
    session = st.session_state.get(SESSION_KEY)
    if session is None:
        return None
    try:
        resumed = sessions.resume(resources.store(), session)
    except TracingError as exc:
        st.error(f"Cannot check your session: {exc}")
        st.stop()
    if resumed is None:
        del st.session_state[SESSION_KEY]
        st.session_state[NOTICE_KEY] = "Your session ended; please log in again."
        return None
    st.session_state[SESSION_KEY] = resumed
    return resumed.user


def source() -> str | None:
    """The browser's address, for login throttling (None: unknown or this machine)."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return None
    return str(address) if address else None


def login(user: User) -> None:
    """Start a session for an authenticated user."""
    st.session_state[SESSION_KEY] = sessions.start_session(user)
    st.session_state.pop(NOTICE_KEY, None)


def logout() -> None:
    """End the session (written to the audit log)."""
    session = st.session_state.pop(SESSION_KEY, None)
    if session is not None:
        try:
            audit.record(resources.store(), who=session.user.name, action="logout", params={},
                         reason="sign-out")
        except TracingError as exc:
            st.error(f"Logout not recorded: {exc}")


def actor(reason: str) -> Actor:
    """The logged-in user acting for ``reason``, with this session's memo of looks: what
    the library's sensitive operations take (they check the role and write the audit entry)."""
    user = current_user()
    if user is None:
        raise AccessError("nobody is logged in")
    looks: Looks = st.session_state.setdefault(LOOKS_KEY, Looks())
    return Actor(user.name, user.role, reason, looks=looks)


def may(permission: str) -> bool:
    """Whether the logged-in user holds ``permission`` (False when nobody is logged in)."""
    user = current_user()
    return user is not None and not user.must_change and allowed(user.role, permission)


def require(permission: str) -> User:
    """The logged-in user if they hold ``permission``; otherwise a clear message and
    ``st.stop()``. A misspelt permission raises ValueError (a bug, caught by the tests)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    user = current_user()
    if user is None:
        st.warning("Please log in (Login page) to use this page.")
        st.stop()
    if user.must_change:
        st.warning("Change your one-time password first (Account page).")
        st.stop()
    if not allowed(user.role, permission):
        st.error(f"Not allowed: the {user.role} role may not {PERMISSIONS[permission]}. "
                 "Ask an administrator if you need it.")
        st.stop()
    return user


def reason_input(label: str = "Reason or case number", key: str = "reason") -> str | None:
    """A required reason / case number field; its value once valid, None until then."""
    text = st.text_input(label, key=key, placeholder="e.g. case 2026-0412, theft report",
                         help="Required: written to the audit log with what you do here.")
    try:
        return audit.check_reason(text)
    except AuditError as exc:
        if text.strip():
            st.caption(str(exc))
        return None

