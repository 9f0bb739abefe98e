"""Login sessions: they end after a spell of inactivity, after a maximum length, and when
the account changes (password reset, role change, disabled)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tracing import settings
from tracing.access.users import User, get_user
from tracing.store import Store


@dataclass(frozen=True)
class Session:
    """A logged-in user and the times that decide when the session ends."""

    user: User
    started: datetime
    last_seen: datetime


def start_session(user: User, *, now: datetime | None = None) -> Session:
    """A new session for an authenticated user."""
    when = now or datetime.now(UTC)
    return Session(user, when, when)


def expired(session: Session, *, now: datetime | None = None) -> bool:
    """Whether the session is past its idle or its maximum time."""
    when = now or datetime.now(UTC)
    idle = timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    longest = timedelta(hours=settings.SESSION_MAX_HOURS)
    return when - session.last_seen > idle or when - session.started > longest


def resume(store: Store, session: Session, *, now: datetime | None = None) -> Session | None:
    """The session with its user re-read and its activity time updated; None when it has
    expired or the account was removed, disabled or changed since the login."""
    when = now or datetime.now(UTC)
    if expired(session, now=when):
        return None
    current = get_user(store, session.user.name)
    if current is None or current.disabled or current.epoch != session.user.epoch:
        return None
    return replace(session, user=current, last_seen=when)
