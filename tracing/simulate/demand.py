"""When and where vehicles travel: destination choice and each vehicle's day.

*Days*: every vehicle has a role (``SIM_ROLE_SHARES``) and makes the same kind of day every
day of the period: commuters go to work in the morning peak and back in the evening (some
out again for leisure); residents on errands make one or two round trips; taxis and
delivery vehicles chain several stops; visitors enter through a gateway, stay hours and
leave; through traffic crosses from one gateway to another. Destinations follow a gravity
model (attraction × exp(−travel time / ``SIM_GRAVITY_TAU_S``)).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from tracing import settings
from tracing.errors import SimulationError
from tracing.roads import BoolArray, FloatArray, IntArray
from tracing.simulate import fleet as fl
from tracing.simulate.zones import Zones

logger = logging.getLogger(__name__)

HOUR: Final = 3600.0
ROUTE_WINDOW_BEFORE_S: Final = 3 * HOUR
"""Trips planned this long before the period starts are still routed (they may run late)."""
ROUTE_WINDOW_AFTER_S: Final = 0.5 * HOUR
"""Trips planned up to this long after the period ends are routed (planned times move)."""
TRIP_MARGIN: Final = 1.04
"""Plan this many times the wanted trips: some move out of the period when timed."""
_NOMINAL_TRIP_S: Final = 20 * 60.0
"""Assumed trip duration when estimating the departure of a chained trip."""
PILOT_VEHICLES: Final = 2_000
"""Vehicles of the first planning round, which measures the trips per vehicle in the period."""


# --- destination choice ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Gravity:
    """Cumulative destination probabilities from every zone row to the ward rows."""

    cdf: FloatArray
    """(rows, ward rows)."""
    ward_rows: IntArray

    def sample(self, rng: np.random.Generator, origin_rows: IntArray) -> IntArray:
        """A destination ward row for each origin row."""
        out = np.empty(len(origin_rows), np.int64)
        u = rng.random(len(origin_rows))
        for lo in range(0, len(origin_rows), 20_000):
            part = slice(lo, lo + 20_000)
            pos = (self.cdf[origin_rows[part]] < u[part, None]).sum(axis=1)
            out[part] = self.ward_rows[np.minimum(pos, len(self.ward_rows) - 1)]
        return out


def gravity(zones: Zones, dist: FloatArray) -> Gravity:
    """Destination choice from every row, from variant-0 travel times ``dist`` (rows, nodes)."""
    ward_rows = zones.ward_rows
    times = dist[:, zones.sources[ward_rows]]
    attraction = zones.weight[ward_rows][None, :] * np.exp(-times / settings.SIM_GRAVITY_TAU_S)
    attraction[~np.isfinite(times)] = 0.0
    same = zones.sources[:, None] == zones.sources[ward_rows][None, :]
    attraction[same] = 0.0
    totals = attraction.sum(axis=1, keepdims=True)
    fallback = np.where(same, 0.0, zones.weight[ward_rows][None, :])
    attraction = np.where(totals > 0, attraction, fallback)
    cdf = np.cumsum(attraction, axis=1)
    cdf /= np.maximum(cdf[:, -1:], 1e-300)
    return Gravity(cdf, ward_rows)


# --- vehicles' days ----------------------------------------------------------------------


@dataclass(slots=True)
class TripPlan:
    """Planned trips, one row each: who, from which zone row to which node, and when."""

    vehicle: IntArray
    seq: IntArray
    """Order of the trip among its vehicle's trips."""
    origin_row: IntArray
    dest_node: IntArray
    planned: FloatArray
    """Planned departure (s after the period start); an estimate for chained trips."""
    scheduled: BoolArray
    """Whether ``planned`` is a fixed earliest departure (else: leave ``gap`` after arriving)."""
    gap: FloatArray
    """Least time (s) between arriving from the previous trip and departing."""
    purpose: npt.NDArray[np.object_]

    def take(self, rows: IntArray) -> TripPlan:
        """The trips ``rows``."""
        return TripPlan(*(getattr(self, name)[rows] for name in TripPlan.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.vehicle)


@dataclass(slots=True)
class _Rows:
    parts: dict[str, list[npt.NDArray[np.generic]]] = field(
        default_factory=lambda: {name: [] for name in TripPlan.__dataclass_fields__})

    def add(self, vehicle: IntArray, seq: IntArray | int, origin_row: IntArray,
            dest_node: IntArray, planned: FloatArray, *, scheduled: bool, gap: FloatArray | float,
            purpose: str | npt.NDArray[np.str_]) -> None:
        n = len(vehicle)
        values: Mapping[str, object] = {
            "vehicle": vehicle, "seq": seq, "origin_row": origin_row, "dest_node": dest_node,
            "planned": planned, "scheduled": scheduled, "gap": gap, "purpose": purpose}
        for name, value in values.items():
            array = np.asarray(value)
            dtype = object if name == "purpose" else array.dtype
            self.parts[name].append(np.broadcast_to(array, (n,)).astype(dtype))

    def build(self) -> TripPlan:
        dtypes = {"vehicle": np.int64, "seq": np.int64, "origin_row": np.int64,
                  "dest_node": np.int64, "planned": float, "scheduled": bool, "gap": float,
                  "purpose": object}
        return TripPlan(*(np.concatenate(self.parts[n]).astype(dtypes[n]) if self.parts[n]
                          else np.empty(0, dtypes[n]) for n in TripPlan.__dataclass_fields__))


def day_starts(start: datetime, end: datetime) -> FloatArray:
    """Seconds from ``start`` to each local midnight of a day that overlaps ``[start, end)``."""
    zone = ZoneInfo(settings.LOCAL_TZ)
    local = start.astimezone(zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone)
    out = []
    while day < end:
        out.append((day - start).total_seconds())
        day = (day + timedelta(hours=26)).replace(hour=0, minute=0, second=0, microsecond=0)
    return np.asarray(out, float)


def profile_hours(rng: np.random.Generator, n: int, *, lo: float = 0.0, hi: float = 24.0
                  ) -> FloatArray:
    """Local clock hours drawn from ``SIM_DEPARTURE_PROFILE`` restricted to [lo, hi)."""
    weights = np.asarray(settings.SIM_DEPARTURE_PROFILE, float)
    hours = np.arange(24)
    weights = np.where((hours + 1 > lo) & (hours < hi), weights, 0.0)
    hour = rng.choice(24, n, p=weights / weights.sum())
    return np.clip(hour + rng.random(n), lo, hi - 1e-6)


class _Planner:
    """Draws each vehicle's trips for each day (vectorised over vehicles of one role)."""

    def __init__(self, zones: Zones, grav: Gravity, rng: np.random.Generator,
                 days: FloatArray) -> None:
        self.zones, self.grav, self.rng, self.days = zones, grav, rng, days
        self.rows = _Rows()

    def _uniform(self, lo: float, hi: float, n: int) -> FloatArray:
        return self.rng.uniform(lo, hi, n)

    def commuters(self, v: IntArray, home: IntArray, work: IntArray, work_exit: IntArray
                  ) -> None:
        z, n = self.zones, len(v)
        outside = np.flatnonzero(work_exit >= 0)
        work_node = z.sources[np.maximum(work, 0)]
        back_row = work.copy()
        if len(outside):
            work_node[outside] = z.exit_nodes[work_exit[outside]]
            back_row[outside] = z.entry_rows[z.exit_entry[work_exit[outside]]]
        for d, day in enumerate(self.days):
            am = day + np.clip(self.rng.normal(7.3, 0.6, n), 5.0, 10.0) * HOUR
            pm = am + np.clip(self.rng.normal(9.3, 0.9, n), 6.0, 12.0) * HOUR
            base = d * 100
            self.rows.add(v, base, home, work_node, am, scheduled=True, gap=0.0,
                          purpose="commute")
            self.rows.add(v, base + 1, back_row, z.sources[home], pm, scheduled=True,
                          gap=30 * 60.0, purpose="home")
            out = np.flatnonzero(self.rng.random(n) < 0.3)
            if len(out):
                leave = pm[out] + self._uniform(1.5, 3.5, len(out)) * HOUR
                place = self.grav.sample(self.rng, home[out])
                stay = self._uniform(0.5, 2.0, len(out)) * HOUR
                self.rows.add(v[out], base + 2, home[out], z.sources[place], leave,
                              scheduled=True, gap=10 * 60.0, purpose="leisure")
                self.rows.add(v[out], base + 3, place, z.sources[home[out]],
                              leave + _NOMINAL_TRIP_S + stay, scheduled=False, gap=stay,
                              purpose="home")

    def errands(self, v: IntArray, home: IntArray) -> None:
        z, n = self.zones, len(v)
        for d, day in enumerate(self.days):
            loops = 1 + (self.rng.random(n) < 0.4)
            times = np.sort(profile_hours(self.rng, 2 * n, lo=6.0, hi=22.0).reshape(n, 2), axis=1)
            for k in range(2):
                idx = np.flatnonzero(loops > k)
                if not len(idx):
                    continue
                leave = day + times[idx, k] * HOUR
                place = self.grav.sample(self.rng, home[idx])
                stay = self._uniform(0.25, 2.5, len(idx)) * HOUR
                self.rows.add(v[idx], d * 100 + 2 * k, home[idx], z.sources[place], leave,
                              scheduled=True, gap=10 * 60.0, purpose="errand")
                self.rows.add(v[idx], d * 100 + 2 * k + 1, place, z.sources[home[idx]],
                              leave + _NOMINAL_TRIP_S + stay, scheduled=False, gap=stay,
                              purpose="home")

    def commercial(self, v: IntArray, depot: IntArray) -> None:
        z, n = self.zones, len(v)
        for d, day in enumerate(self.days):
            stops = self.rng.integers(3, 9, n)
            at = depot.copy()
            when = day + self._uniform(6.0, 9.5, n) * HOUR
            for k in range(int(stops.max()) + 1):
                idx = np.flatnonzero(stops >= k)
                last = stops[idx] == k
                nxt = np.where(last, depot[idx], self.grav.sample(self.rng, at[idx]))
                gap = self._uniform(5.0, 40.0, len(idx)) * 60.0 if k else np.zeros(len(idx))
                if k:
                    when[idx] += _NOMINAL_TRIP_S + gap
                self.rows.add(v[idx], d * 100 + k, at[idx], z.sources[nxt], when[idx],
                              scheduled=k == 0, gap=gap,
                              purpose=np.where(last, "depot", "delivery"))
                at[idx] = nxt

    def visitors(self, v: IntArray) -> None:
        z, n = self.zones, len(v)
        ward_rows = z.ward_rows
        weights = z.weight[ward_rows] / z.weight[ward_rows].sum()
        for d, day in enumerate(self.days):
            entry = self.rng.choice(len(z.entry_rows), n, p=z.entry_weight)
            place = ward_rows[self.rng.choice(len(ward_rows), n, p=weights)]
            leave = day + profile_hours(self.rng, n, lo=6.0, hi=18.0) * HOUR
            stay = self._uniform(1.0, 6.0, n) * HOUR
            same = self.rng.random(n) < 0.7
            exit_ = np.where(same, z.entry_exit[entry],
                             self.rng.choice(len(z.exit_nodes), n, p=z.exit_weight))
            self.rows.add(v, d * 100, z.entry_rows[entry], z.sources[place], leave,
                          scheduled=True, gap=0.0, purpose="visit")
            self.rows.add(v, d * 100 + 1, place, z.exit_nodes[exit_],
                          leave + _NOMINAL_TRIP_S + stay, scheduled=False, gap=stay,
                          purpose="leave")

    def through(self, v: IntArray) -> None:
        z, n = self.zones, len(v)
        for d, day in enumerate(self.days):
            entry = self.rng.choice(len(z.entry_rows), n, p=z.entry_weight)
            exit_ = self.rng.choice(len(z.exit_nodes), n, p=z.exit_weight)
            clash = exit_ == z.entry_exit[entry]
            exit_[clash] = self.rng.choice(len(z.exit_nodes), int(clash.sum()), p=z.exit_weight)
            flat = self.rng.random(n) < 0.5
            hours = np.where(flat, self._uniform(0.0, 24.0, n), profile_hours(self.rng, n))
            leave = day + hours * HOUR
            self.rows.add(v, d * 100, z.entry_rows[entry], z.exit_nodes[exit_], leave,
                          scheduled=True, gap=0.0, purpose="through")
            back = np.flatnonzero(self.rng.random(n) < 0.4)
            if len(back):
                stay = self._uniform(1.0, 5.0, len(back)) * HOUR
                self.rows.add(v[back], d * 100 + 1, z.entry_rows[z.exit_entry[exit_[back]]],
                              z.exit_nodes[z.entry_exit[entry[back]]],
                              leave[back] + _NOMINAL_TRIP_S + stay, scheduled=False, gap=stay,
                              purpose="through")


def _fleet_chunk(zones: Zones, grav: Gravity, rng: np.random.Generator, n: int,
                 used: set[str]) -> fl.Fleet:
    roles = fl.draw_roles(rng, n, gateways=zones.has_gateways)
    kinds = fl.draw_kinds(rng, roles)
    colours = fl.draw_colours(rng, roles, kinds)
    plates, provinces = fl.draw_plates(rng, kinds, colours, fl.draw_provinces(rng, roles, kinds),
                                       used)
    ward_rows = zones.ward_rows
    weights = zones.weight[ward_rows] / zones.weight[ward_rows].sum()
    resident = np.isin(roles, list(fl.RESIDENT_ROLES))
    home = np.where(resident, ward_rows[rng.choice(len(ward_rows), n, p=weights)], -1)
    commuter = roles == "commuter"
    out = commuter & (rng.random(n) < settings.SIM_OUT_COMMUTER_SHARE) & zones.has_gateways
    work = np.where(commuter & ~out, grav.sample(rng, np.maximum(home, 0)), -1)
    work_exit = np.full(n, -1, np.int64)
    if zones.has_gateways:
        work_exit[out] = rng.choice(len(zones.exit_nodes), int(out.sum()), p=zones.exit_weight)
    return fl.Fleet(role=roles, kind=kinds, colour=colours, plate=plates, province=provinces,
                    home_row=home.astype(np.int64), work_row=work.astype(np.int64),
                    work_exit=work_exit)


def plan_days(zones: Zones, grav: Gravity, fleet: fl.Fleet, rng: np.random.Generator, *,
              days: FloatArray, first_vehicle: int = 0) -> TripPlan:
    """Every trip of every vehicle of ``fleet`` on every day (vehicle ids from
    ``first_vehicle``), ordered by vehicle and sequence."""
    planner = _Planner(zones, grav, rng, days)
    ids = np.arange(len(fleet), dtype=np.int64) + first_vehicle
    for role in fl.ROLES:
        m = fleet.role == role
        if not m.any():
            continue
        if role == "commuter":
            planner.commuters(ids[m], fleet.home_row[m], fleet.work_row[m], fleet.work_exit[m])
        elif role == "errand":
            planner.errands(ids[m], fleet.home_row[m])
        elif role == "commercial":
            planner.commercial(ids[m], fleet.home_row[m])
        elif role == "visitor":
            planner.visitors(ids[m])
        else:
            planner.through(ids[m])
    plan = planner.rows.build()
    order = np.lexsort((plan.seq, plan.vehicle))
    return plan.take(order)


def plan_demand(zones: Zones, grav: Gravity, rng: np.random.Generator, *, trips: int,
                start: datetime, end: datetime, used: set[str]
                ) -> tuple[fl.Fleet, TripPlan]:
    """A fleet and its trips such that about ``trips`` depart in ``[start, end)`` (a few
    percent more are planned; the caller keeps the first ``trips`` that do)."""
    if trips <= 0:
        return _fleet_chunk(zones, grav, rng, 0, used), _Rows().build()
    days = day_starts(start, end)
    horizon = (end - start).total_seconds()
    want = math.ceil(trips * TRIP_MARGIN) + 5
    fleets: list[fl.Fleet] = []
    plans: list[TripPlan] = []
    counted, vehicles, rate = 0, 0, 2.8 * max(horizon / 86_400.0, 0.05)
    for attempt in range(60):
        n = max(50, math.ceil((want - counted) / rate * 1.02))
        if attempt == 0:
            n = min(n, PILOT_VEHICLES)  # measures trips per vehicle in this period
        chunk = _fleet_chunk(zones, grav, rng, n, used)
        plan = plan_days(zones, grav, chunk, rng, days=days, first_vehicle=vehicles)
        keep = (plan.planned >= -ROUTE_WINDOW_BEFORE_S) & (
            plan.planned < horizon + ROUTE_WINDOW_AFTER_S)
        inside = int(((plan.planned >= 0) & (plan.planned < horizon)).sum())
        fleets.append(chunk)
        plans.append(plan.take(np.flatnonzero(keep)))
        counted, vehicles = counted + inside, vehicles + n
        rate = max(counted / vehicles, 1e-3)
        if counted >= want:
            break
    else:
        raise SimulationError(f"could not plan {trips} trips in the period {start} – {end}")
    merged = TripPlan(*(np.concatenate([getattr(p, name) for p in plans])
                        for name in TripPlan.__dataclass_fields__))
    logger.info("planned %s vehicles, %s trips (%s in the period)", vehicles, len(merged),
                counted)
    return fl.concat_fleets(fleets), merged
