"""The one formatter of times shown to people (:func:`tracing.timefmt.local_time`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from tracing.timefmt import Instant, local_time

MOMENT = datetime(2026, 3, 2, 1, 2, 3, tzinfo=UTC)  # 08:02:03 in Hồ Chí Minh City


@pytest.mark.parametrize("ts", [
    MOMENT, MOMENT.astimezone(timezone(timedelta(hours=-5))), pd.Timestamp(MOMENT),
    MOMENT.replace(tzinfo=None), np.datetime64("2026-03-02T01:02:03"),
])
def test_every_kind_of_instant_is_shown_in_local_time(ts: Instant) -> None:
    assert local_time(ts) == "2026-03-02 08:02:03"


@pytest.mark.parametrize("ts", [None, pd.NaT, np.datetime64("NaT")])
def test_a_missing_time_is_empty(ts: Instant) -> None:
    assert local_time(ts) == ""


def test_seconds_and_date_can_be_left_out() -> None:
    assert local_time(MOMENT, seconds=False) == "2026-03-02 08:02"
    assert local_time(MOMENT, date=False) == "08:02:03"
    assert local_time(MOMENT, seconds=False, date=False) == "08:02"
