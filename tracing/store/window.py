"""The accepted time window of reads: the one place that says which timestamps a read may
carry, and what happens to stored reads outside it.

A read is timed from :data:`settings.READ_TS_EARLIEST` to the clock plus
:data:`settings.READ_TS_MAX_AHEAD`, with a UTC offset within
:data:`settings.READ_TS_MAX_OFFSET` either way. Ingest rejects other rows with one of the
reasons below (they go to ``rejects``). Reads an older store already holds outside the
window (a read in year 294247 breaks every conversion to a local time) are *quarantined*:
moved to ``rejects`` with the reason and their values, and dropped from ``reads`` and
``read_keys`` — by the schema migration to version 6 when the store is opened, and by every
retention purge (a read dated in the future would otherwise never age out); the SQL is
:func:`tracing.store.schema.quarantine`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from tracing import settings

TOO_OLD: Final = f"timestamp before {settings.READ_TS_EARLIEST:%Y-%m-%d %H:%M} UTC"
TOO_FAR_AHEAD: Final = (f"timestamp more than {settings.READ_TS_MAX_AHEAD.total_seconds() / 3600:g}"
                        " h ahead of the clock")
OFFSET_RANGE: Final = (f"UTC offset beyond ±{settings.READ_TS_MAX_OFFSET.total_seconds() / 3600:g}"
                       " h")
MAX_OFFSET_US: Final = int(settings.READ_TS_MAX_OFFSET.total_seconds() * 1_000_000)
"""Largest UTC offset in microseconds (the text checks compare epoch differences)."""


def latest(now: datetime | None = None) -> datetime:
    """The latest accepted read time at ``now`` (default the clock)."""
    return (now or datetime.now(UTC)).astimezone(UTC) + settings.READ_TS_MAX_AHEAD


def refusal(ts: datetime, now: datetime | None = None) -> str | None:
    """Why an aware instant ``ts`` is outside the accepted window at ``now``, or None."""
    offset = ts.utcoffset()
    if offset is None:
        return "timestamp without a UTC offset"
    if abs(offset) > settings.READ_TS_MAX_OFFSET:
        return OFFSET_RANGE
    if ts < settings.READ_TS_EARLIEST:
        return TOO_OLD
    if ts > latest(now):
        return TOO_FAR_AHEAD
    return None
