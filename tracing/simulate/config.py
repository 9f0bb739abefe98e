"""Parameters of a simulation run, validated once: :class:`SimulationConfig`."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tracing import settings
from tracing.errors import SimulationError


def parse_start(text: str) -> datetime:
    """An ISO 8601 instant with a UTC offset (``2026-03-02T00:00:00+07:00``)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise SimulationError(f"start {text!r} is not an ISO 8601 date and time") from exc
    _check_aware(value, "start")
    return value


def _check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise SimulationError(
            f"{what} {value.isoformat()} has no UTC offset; give one, e.g. "
            f"{value.isoformat()}+07:00")


def _rate(name: str, value: float) -> None:
    if not isinstance(value, int | float) or math.isnan(value) or not 0.0 <= value <= 1.0:
        raise SimulationError(f"{name} must be a probability in [0, 1], got {value!r}")


def _fraction_table(name: str, shares: dict[str, float]) -> None:
    if any(not v >= 0 for v in shares.values()) or not math.isclose(sum(shares.values()), 1.0):
        raise SimulationError(f"{name} must be non-negative shares summing to 1, got {shares}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationConfig:
    """One run: the period ``[start, end)``, the number of background trips, the seed, and
    the sensor rates. Invalid values raise :class:`~tracing.errors.SimulationError`.

    ``trips`` counts background trips departing in the period; the planted cases add a few
    more. The same config (same seed) gives the same vehicles, trips and reads.
    """

    start: datetime = field(default_factory=lambda: parse_start(settings.SIM_DEFAULT_START))
    end: datetime | None = None
    """Defaults to start + SIM_DEFAULT_HOURS."""
    trips: int = settings.SIM_DEFAULT_TRIPS
    seed: int = 0
    detection_rate: float = settings.SIM_DETECTION_RATE
    ocr_error_rate: float = settings.SIM_OCR_ERROR_RATE
    duplicate_rate: float = settings.SIM_DUPLICATE_RATE
    clock_skew_s: float = settings.SIM_CLOCK_SKEW_S
    route_variants: int = settings.SIM_ROUTE_VARIANTS
    zone_nodes_per_ward: int = settings.SIM_ZONE_NODES_PER_WARD
    detour_rate: float = settings.SIM_DETOUR_RATE
    stop_rate: float = settings.SIM_STOP_RATE
    planted: bool = True
    both_directions: bool = False
    """Cameras also read oncoming traffic (front plates; motorbikes carry none)."""
    all_cameras_read: bool = False
    """Every registry camera reads plates, marked ``is_lpr`` or not."""
    heading_error_rate: float = 0.0
    """Share of reading cameras the registry (as the centre knows it) puts on the reverse
    direction of their road."""
    unmarked_rate: float = 0.0
    """Share of reading cameras the registry (as the centre knows it) does not mark is_lpr."""
    class_restrictions: bool = True
    """Motorbikes keep off expressways, ``motorroad=yes`` and ``motorcycle=no`` roads (the
    rules of tracing.vehicles)."""

    def __post_init__(self) -> None:
        if not isinstance(self.start, datetime):
            raise SimulationError(f"start must be a datetime, got {self.start!r}")
        _check_aware(self.start, "start")
        if self.end is None:
            object.__setattr__(
                self, "end", self.start + timedelta(hours=settings.SIM_DEFAULT_HOURS))
        assert self.end is not None
        _check_aware(self.end, "end")
        if self.end <= self.start:
            raise SimulationError(
                f"period end {self.end.isoformat()} is not after its start "
                f"{self.start.isoformat()}")
        if self.hours > settings.SIM_MAX_HOURS:
            raise SimulationError(
                f"period of {self.hours:g} hours is longer than {settings.SIM_MAX_HOURS:g}")
        if isinstance(self.trips, bool) or not isinstance(self.trips, int) or not (
                0 <= self.trips <= settings.SIM_MAX_TRIPS):
            raise SimulationError(
                f"trips must be an integer in [0, {settings.SIM_MAX_TRIPS}], got {self.trips!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SimulationError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("detection_rate", "ocr_error_rate", "duplicate_rate", "detour_rate",
                     "stop_rate", "heading_error_rate", "unmarked_rate"):
            _rate(name, getattr(self, name))
        if self.detour_rate + self.stop_rate > 1.0:
            raise SimulationError("detour_rate + stop_rate must not exceed 1")
        if not (isinstance(self.clock_skew_s, int | float) and 0 <= self.clock_skew_s <= 600):
            raise SimulationError(f"clock_skew_s must be in [0, 600] s, got {self.clock_skew_s!r}")
        most = len(settings.SIM_MINOR_ROAD_COST)
        if not (isinstance(self.route_variants, int) and 1 <= self.route_variants <= most):
            raise SimulationError(
                f"route_variants must be in [1, {most}], got {self.route_variants!r}")
        if not (isinstance(self.zone_nodes_per_ward, int) and 1 <= self.zone_nodes_per_ward
                <= 200):
            raise SimulationError(
                f"zone_nodes_per_ward must be in [1, 200], got {self.zone_nodes_per_ward!r}")
        _fraction_table("SIM_ROLE_SHARES", settings.SIM_ROLE_SHARES)
        _fraction_table("SIM_OCR_EDIT_SHARES", settings.SIM_OCR_EDIT_SHARES)
        for role, kinds in settings.SIM_KIND_SHARES.items():
            _fraction_table(f"SIM_KIND_SHARES[{role!r}]", kinds)

    @classmethod
    def for_hours(cls, *, start: datetime | None = None, hours: float, **options: Any
                  ) -> SimulationConfig:
        """A config for ``hours`` from ``start`` (default: the demo day's start)."""
        if not isinstance(hours, int | float) or math.isnan(hours) or hours <= 0:
            raise SimulationError(f"hours must be a positive number, got {hours!r}")
        if hours > settings.SIM_MAX_HOURS:
            raise SimulationError(f"hours must be at most {settings.SIM_MAX_HOURS:g}, "
                                  f"got {hours!r}")
        begin = parse_start(settings.SIM_DEFAULT_START) if start is None else start
        if not isinstance(begin, datetime):
            raise SimulationError(f"start must be a datetime, got {begin!r}")
        _check_aware(begin, "start")
        return cls(start=begin, end=begin + timedelta(hours=hours), **options)

    @property
    def period_end(self) -> datetime:
        """``end`` (always set after construction)."""
        assert self.end is not None
        return self.end

    @property
    def hours(self) -> float:
        """Length of the period in hours."""
        return (self.period_end - self.start).total_seconds() / 3600.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (datetimes as ISO 8601)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["end"] = self.period_end.isoformat()
        return out

    @property
    def fingerprint(self) -> str:
        """Hex digest of the parameters (part of a run's fingerprint)."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
