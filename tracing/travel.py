"""The one impossible-travel rule, and the split of a plate's reads into drivable tracks.

Two reads of a plate, at cameras A then B with ``gap`` seconds between them, are
*impossible* for one vehicle when

    gap + TRAVEL_CLOCK_SLACK_S < TRAVEL_SPEED_FACTOR × least(A → B)

and, when the gap is under the clock slack (skewed clocks can swap two reads seconds apart),
the reverse order is impossible too. ``least`` is the direction-free lower bound of every
drive between the two cameras' roads (shortest free-flow time between any end nodes of the
two edges, :attr:`tracing.routes.PathCache.bound_s`): a camera's direction or a snapping
error can never make a drive look longer than it is. With the defaults a pair is impossible
only when the vehicle would have had to drive at more than twice the free-flow speed of every
road between the cameras after 30 s of clock disagreement. Trace, Find (clones) and the alert
engine all call :func:`impossible`, so they never contradict each other.

When some reads of a plate cannot be one vehicle (a cloned plate, or another vehicle's
misread), :func:`split_tracks` splits them into the fewest tracks each of which is drivable
(a minimum path cover of the "could drive from i to j" order, by assignment), preferring
links between nearby cameras (least drive time, plus a tenth of the gap): two cars with one
plate mostly keep to their own parts of the city.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from tracing import settings

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_NO_LINK: Final = 1e12
_TRACK_COST: Final = 1e8
"""Cost of one more track (any drivable link costs less than this)."""
_GAP_WEIGHT: Final = 0.1
"""Link cost per second of gap, beside the least drive time between the two reads: a
vehicle's next read is more likely near it than across the city."""
_WINDOW_MAX: Final = 300
"""Largest window of reads split at once (an assignment over 2n × 2n)."""


def impossible(gap_s: npt.ArrayLike, least_s: npt.ArrayLike, back_s: npt.ArrayLike,
               *, speed_factor: float = settings.TRAVEL_SPEED_FACTOR,
               slack_s: float = settings.TRAVEL_CLOCK_SLACK_S) -> BoolArray:
    """Per pair: no single vehicle can have made both reads (``gap_s`` from the first to the
    second, ``least_s`` the least drive time first → second, ``back_s`` second → first)."""
    gap = np.asarray(gap_s, np.float64)
    least, back = np.asarray(least_s, np.float64), np.asarray(back_s, np.float64)
    swapped = (gap < slack_s) & (slack_s - gap >= speed_factor * back)
    return np.asarray((gap + slack_s < speed_factor * least) & ~swapped)


def split_tracks(times_s: FloatArray, rows: IntArray, least_s: FloatArray) -> IntArray:
    """Track number (0, 1, …) of each read of one plate, reads ordered by time.

    ``rows`` index the reads' cameras in ``least_s`` (the bound matrix; -1: a camera with no
    bound, which any read may precede or follow). One track when every consecutive pair is
    drivable; else the fewest tracks of drivable consecutive reads.
    """
    t = np.asarray(times_s, np.float64)
    rows = np.asarray(rows, np.int64)
    if len(t) < 2 or not _bad_links(t, rows, least_s).any():
        return np.zeros(len(t), np.int64)
    out = np.zeros(len(t), np.int64)
    for start, stop in _windows(t, least_s):
        out[start:stop] = _cover(t[start:stop], rows[start:stop], least_s)
    return out


def _least(rows_a: IntArray, rows_b: IntArray, least_s: FloatArray) -> FloatArray:
    known = (rows_a >= 0) & (rows_b >= 0)
    out = np.zeros(np.broadcast(rows_a, rows_b).shape)
    out[known] = least_s[np.broadcast_to(rows_a, out.shape)[known],
                         np.broadcast_to(rows_b, out.shape)[known]]
    return out


def _bad_links(t: FloatArray, rows: IntArray, least_s: FloatArray) -> BoolArray:
    a, b = rows[:-1], rows[1:]
    return impossible(t[1:] - t[:-1], _least(a, b, least_s), _least(b, a, least_s))


def _windows(t: FloatArray, least_s: FloatArray) -> list[tuple[int, int]]:
    """Runs of reads separated by gaps after which any read is reachable from any, cut
    further to at most _WINDOW_MAX reads."""
    finite = least_s[np.isfinite(least_s)]
    longest = float(finite.max()) if finite.size else 0.0
    free = settings.TRAVEL_SPEED_FACTOR * longest
    cuts = [0, *(np.flatnonzero(np.diff(t) > free) + 1).tolist(), len(t)]
    out = []
    for start, stop in pairwise(cuts):
        out += [(i, min(i + _WINDOW_MAX, stop)) for i in range(start, stop, _WINDOW_MAX)]
    return out


def _cover(t: FloatArray, rows: IntArray, least_s: FloatArray) -> IntArray:
    """Minimum path cover of one window: successor of each read by assignment."""
    n = len(t)
    gap = t[None, :] - t[:, None]
    least = _least(rows[:, None], rows[None, :], least_s)
    ok = ~impossible(gap, least, least.T) & (np.arange(n)[:, None] < np.arange(n)[None, :])
    link = np.where(ok, least + _GAP_WEIGHT * gap + 10.0 * np.maximum(least - gap, 0.0),
                    _NO_LINK)
    cost = np.full((2 * n, 2 * n), _NO_LINK)
    cost[:n, :n] = link
    cost[np.arange(n), n + np.arange(n)] = _TRACK_COST / 2
    cost[n + np.arange(n), np.arange(n)] = _TRACK_COST / 2
    cost[n:, n:] = 0.0
    pred_rows, succ_cols = linear_sum_assignment(cost)
    successor = np.full(n, -1, np.int64)
    for i, j in zip(pred_rows, succ_cols, strict=True):
        if i < n and j < n and ok[i, j]:
            successor[i] = j
    return _label(successor)


def _label(successor: IntArray) -> IntArray:
    """Track numbers from successor links, numbered by their first read."""
    n = len(successor)
    has_pred = np.zeros(n, bool)
    has_pred[successor[successor >= 0]] = True
    track = np.full(n, -1, np.int64)
    for number, head in enumerate(np.flatnonzero(~has_pred)):
        node = int(head)
        while node >= 0 and track[node] < 0:
            track[node] = number
            node = int(successor[node])
    return track
