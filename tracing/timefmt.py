"""Times shown to people: instants in the local zone (``settings.LOCAL_TZ``).

Every page, table and map label formats a time with :func:`local_time`, so the app's date
and time formats change here only; each language's way of writing them is
:func:`tracing.i18n.format_datetime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from tracing import settings
from tracing.i18n import format_datetime

if TYPE_CHECKING:
    from pandas._libs import NaTType

LOCAL_ZONE: Final = ZoneInfo(settings.LOCAL_TZ)
"""The zone times are shown in (and local dates are read in)."""

Instant: TypeAlias = "datetime | np.datetime64 | NaTType | None"
"""What :func:`local_time` formats: a datetime or pandas Timestamp, a NumPy datetime, or a
missing time (None, NaT)."""


def local_time(ts: Instant, *, seconds: bool = True, date: bool = True,
               language: str = "en") -> str:
    """``ts`` in local time as ``language`` writes it ('' when missing): English
    ``YYYY-MM-DD HH:MM:SS``, Vietnamese ``DD/MM/YYYY HH:MM:SS``. ``seconds`` False drops the
    seconds, ``date`` False the date. A naive time is read as UTC, the way the store keeps
    instants."""
    if ts is None or pd.isna(ts):
        return ""
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return format_datetime(language, stamp, seconds=seconds, with_date=date)
