"""Scoring of a leg's candidate paths: time fit, negative evidence, a detour prior.

log score = log p(observed time | path's free-flow time)
          + (cameras on the path that did not read the plate) × log(1 − detection rate)
            (oncoming ones: log(1 − detection rate × ROUTE_ONCOMING_SHARE))
          − detour penalty × (path's free-flow time / fastest candidate's − 1)
          − minor-road penalty × (path's time on minor roads / fastest candidate's time),
          + log prior of the directions the path passes its two cameras in
normalised per leg with a softmax at a fitted temperature. The time fit is a mixture on
x = log((observed + offset) / (free-flow + offset)): ordinary driving N(μ, σ) and a broad
slow component (stops, detours) of prior share ``slow_share``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tracing import settings
from tracing.errors import RouteError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ScoringModel:
    """Parameters of the leg scoring (defaults: settings.ROUTE_*)."""

    detection_rate: float = settings.ROUTE_DETECTION_RATE
    time_mu: float = settings.ROUTE_TIME_MU
    time_sigma: float = settings.ROUTE_TIME_SIGMA
    slow_share: float = settings.ROUTE_SLOW_SHARE
    slow_sigma: float = settings.ROUTE_SLOW_SIGMA
    time_offset_s: float = settings.ROUTE_TIME_OFFSET_S
    detour_penalty: float = settings.ROUTE_DETOUR_PENALTY
    temperature: float = settings.ROUTE_TEMPERATURE
    minor_road_penalty: float = settings.ROUTE_MINOR_ROAD_PENALTY
    oncoming_share: float = settings.ROUTE_ONCOMING_SHARE
    reversed_share: float = settings.ROUTE_REVERSED_SHARE

    def __post_init__(self) -> None:
        if not 0.0 <= self.detection_rate < 1.0:
            raise RouteError(f"detection rate {self.detection_rate} is not in [0, 1)")
        if not 0.0 <= self.oncoming_share <= 1.0:
            raise RouteError(f"oncoming share {self.oncoming_share} is not in [0, 1]")
        if not 0.0 < self.reversed_share < 1.0:
            raise RouteError(f"reversed share {self.reversed_share} is not in (0, 1)")
        if not 0.0 <= self.slow_share < 1.0:
            raise RouteError(f"slow share {self.slow_share} is not in [0, 1)")
        for name in ("time_sigma", "slow_sigma", "time_offset_s", "temperature"):
            if not getattr(self, name) > 0:
                raise RouteError(f"{name} must be positive, not {getattr(self, name)}")


def _log_normal_pdf(x: FloatArray, mu: float, sigma: float) -> FloatArray:
    return np.asarray(-0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi)))


def time_fit(observed_s: float | FloatArray, free_flow_s: FloatArray, model: ScoringModel
             ) -> FloatArray:
    """Log-likelihood of the observed leg time given each path's free-flow time
    (arrays broadcast)."""
    x = np.log((np.maximum(observed_s, 0.0) + model.time_offset_s)
               / (np.asarray(free_flow_s, float) + model.time_offset_s))
    ordinary = _log_normal_pdf(x, model.time_mu, model.time_sigma) + math.log1p(-model.slow_share)
    if model.slow_share == 0:
        return ordinary
    slow = _log_normal_pdf(x, model.time_mu + 1.0, model.slow_sigma) + math.log(model.slow_share)
    return np.logaddexp(ordinary, slow)


def log_scores(observed_s: float, free_flow_s: FloatArray, missed: FloatArray,
               model: ScoringModel, *, minor_s: FloatArray | None = None,
               oncoming: FloatArray | None = None) -> FloatArray:
    """Unnormalised log score of each candidate (see the module docstring); ``oncoming``
    counts the missed cameras that would have seen the vehicle coming (they read its front
    plate with ``detection rate × oncoming share``: a registry's "both" is uncertain)."""
    free = np.asarray(free_flow_s, float)
    if free.size == 0:
        return free
    fastest = max(float(free.min()), 1.0)
    minor = np.zeros_like(free) if minor_s is None else np.asarray(minor_s, float)
    miss = np.asarray(missed, float) * math.log1p(-model.detection_rate)
    if oncoming is not None:
        miss = miss + np.asarray(oncoming, float) * math.log1p(
            -model.detection_rate * model.oncoming_share)
    return (time_fit(observed_s, free, model) + miss
            - model.detour_penalty * (free / fastest - 1.0)
            - model.minor_road_penalty * minor / fastest)


def direction_prior(reversed_ends: FloatArray, model: ScoringModel, *, front_plate: bool
                    ) -> FloatArray:
    """Log prior of each candidate from the directions it passes its two cameras in:
    ``reversed_ends`` (0–2) counts the ends driven against the camera's registry direction.
    A camera reads rear plates of the traffic moving away (its registry direction); a
    vehicle with a front plate is read coming towards it too when the camera reads oncoming
    traffic (ROUTE_ONCOMING_SHARE), one without (a motorbike) only when the registry's
    direction is wrong (ROUTE_REVERSED_SHARE)."""
    share = model.oncoming_share
    q = max(share / (1.0 + share), model.reversed_share) if front_plate else model.reversed_share
    n = np.asarray(reversed_ends, float)
    return np.asarray(n * math.log(q) + (2.0 - n) * math.log1p(-q))


def probabilities(scores: FloatArray, *, temperature: float = 1.0) -> FloatArray:
    """Softmax of log scores at ``temperature`` (sums to 1; empty in, empty out)."""
    s = np.asarray(scores, float) / temperature
    if s.size == 0:
        return s
    e = np.exp(s - s.max())
    return np.asarray(e / e.sum())


def is_long_gap(observed_s: float, fastest_s: float, *,
                extra_s: float = settings.ROUTE_LONG_GAP_S) -> bool:
    """True when the leg took much longer than its fastest path (a stop or a detour)."""
    return observed_s - fastest_s > extra_s
