"""Small helpers shared by the alert modules: who did it, when, and fetching frames."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from tracing import settings
from tracing.errors import TracingError

MAX_WHO_LENGTH: Final = 64
_LOCAL: Final = ZoneInfo(settings.LOCAL_TZ)


def check_who(who: object, error: type[TracingError]) -> str:
    """The user name of an action, stripped; ``error`` when missing or too long."""
    if not isinstance(who, str) or not who.strip():
        raise error(f"who did it must be a user name, not {who!r}")
    name = who.strip()
    if len(name) > MAX_WHO_LENGTH:
        raise error(f"user name {name[:20]!r}… is longer than {MAX_WHO_LENGTH} characters")
    return name


def utc_now() -> datetime:
    """The current instant (UTC)."""
    return datetime.now(UTC)


def aware(value: datetime | None, what: str, error: type[TracingError]) -> datetime | None:
    """``value`` when it is None or time-zone aware; ``error`` naming it when naive."""
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise error(f"{what} {value!r} must be a date and time with a time zone")
    return value


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()
          ) -> pd.DataFrame:
    """Run a query and return pandas (through Arrow: TIMESTAMPTZ stays tz-aware UTC)."""
    frame: pd.DataFrame = con.execute(sql, list(params)).to_arrow_table().to_pandas()
    return frame


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as dictionaries (column name → value)."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def to_datetime(value: Any) -> datetime | None:
    """A pandas/numpy timestamp from a frame as an aware datetime (None for NaT/None)."""
    if value is None or (not isinstance(value, str | list | tuple) and bool(pd.isna(value))):
        return None
    stamp = pd.Timestamp(value)
    return (stamp if stamp.tzinfo else stamp.tz_localize("UTC")).to_pydatetime()


def optional(value: Any) -> Any:
    """None for a missing value (None, NaN, NA) from a frame, else the value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return value


def local_text(value: datetime) -> str:
    """An instant as local wall-clock text (``settings.LOCAL_TZ``), to the second."""
    return value.astimezone(_LOCAL).strftime("%Y-%m-%d %H:%M:%S")
