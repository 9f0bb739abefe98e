"""Vehicle classes on roads: which class a plate shows, which roads a class may use, how fast.

Classes (``VehicleClass``): ``motorbike``, ``car``, ``truck``, ``bus``.

**From a plate** (:func:`class_of_plate`): the plate grammar of :mod:`tracing.plates` tells a
motorbike plate (series letter + digit, two rows: ``59-X1 123.45``) from a car plate (series
of letters: ``51A-123.45``). That is all a plate says about the vehicle: trucks, buses,
vans and cars carry the same plates, so a car plate gives ``car``, the class with the fewest
road restrictions, and never excludes a road a truck or bus could have used. The plate's
colour (:func:`plate_category`) gives a category (private, commercial, state, military) only
when the reader saw it; a yellow (commercial) plate is a taxi as often as a truck.

**Road rules** (:func:`edge_allowed`, vectorised over the tag columns of the road graph,
:func:`edge_allowed_data` for one edge's attributes). Tags are the OSM ones kept by
:mod:`tracing.network` (``RESTRICTION_TAGS``); an edge merged from several ways may hold a
list of values, and a forbidding value anywhere on the edge forbids the whole edge (a
vehicle cannot drive an edge without driving all of it).

* every class: ``motor_vehicle=no``/``private`` forbids (ways closed to cars never reach
  the graph, see :func:`tracing.network.is_drivable`);
* motorbike: never on ``highway=motorway``/``motorway_link`` (expressways, closed to
  motorbikes by Vietnamese law, whatever the tags say), nor on ``motorroad=yes``
  (unless the way says ``motorcycle=yes``/``designated``/``permissive``), nor on
  ``motorcycle=no``/``private`` (``motorcycle`` overrides ``motor_vehicle``);
* truck: ``hgv=no``/``private`` forbids (``hgv`` overrides ``motor_vehicle``), and
  ``hgv:conditional`` (``no @ (06:00-22:00)``, ``no @ (Mo-Fr 06:00-09:00,16:00-19:00)``,
  ``yes @ (22:00-06:00)``, several rules separated by ``;``) is applied at the local time
  ``when``; with no time the conditional rules are ignored (the truck may have passed
  outside the window), conditions other than times (weight, wet, …) are never known and
  are ignored too;
* bus and car: only the rules for every class.

**Speeds** (:func:`class_speed_kph`): an edge's base speed (its ``speed_kph``: the signed
``maxspeed``, else the free-flow speed of its class) times the class factor of
``settings.VEHICLE_SPEED_FACTORS``, capped at the class's legal maximum
(``settings.VEHICLE_MAX_SPEED_KPH``; on expressways ``settings.EXPRESSWAY_MAX_SPEED_KPH``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

import networkx as nx
import numpy as np
import numpy.typing as npt

from tracing import settings
from tracing.plates import parse_plate

__all__ = [
    "EXPRESSWAY_HIGHWAYS",
    "VEHICLE_CLASSES",
    "ConditionalRule",
    "PlateCategory",
    "VehicleClass",
    "allowed_edges",
    "allowed_subgraph",
    "class_of_plate",
    "class_speed_kph",
    "conditional_value_at",
    "edge_allowed",
    "edge_allowed_data",
    "edge_tag_columns",
    "parse_conditional",
    "plate_category",
]

VehicleClass = Literal["motorbike", "car", "truck", "bus"]
VEHICLE_CLASSES: Final[tuple[VehicleClass, ...]] = get_args(VehicleClass)
PlateCategory = Literal["private", "commercial", "state", "military", "unknown"]

EXPRESSWAY_HIGHWAYS: Final = frozenset({"motorway", "motorway_link"})
"""OSM classes of expressways (đường cao tốc): closed to motorbikes."""
_NO: Final = frozenset({"no", "private"})
_YES: Final = frozenset({"yes", "designated", "permissive"})
_COLOUR_CATEGORY: Final[Mapping[str, PlateCategory]] = {
    "white": "private", "yellow": "commercial", "blue": "state", "red": "military",
}
_LOCAL_TZ: Final = ZoneInfo(settings.LOCAL_TZ)

TagValue = str | Sequence[str] | None
"""One edge's value of a tag: a string, the list of a merged edge's values, or missing."""
TagColumn = Sequence[Any] | npt.NDArray[Any]
"""A tag's values over many edges (None or NaN where missing)."""


# --- Plates -----------------------------------------------------------------------------------


def class_of_plate(plate: str) -> VehicleClass:
    """``motorbike`` for a motorbike plate, else ``car``; raises PlateError when invalid.

    A motorbike plate has a series of a letter and a digit and two rows (``59-X1 123.45``);
    every other plate (``51A-123.45``, ``51LD-123.45``, military ``TM-12-34``) gives ``car``.
    A plate alone cannot tell a truck or a bus from a car: all carry the same one-row or
    square plates, so ``car`` means "not a motorbike" and is the class with the fewest road
    restrictions. Use the registration record (or a class the camera detected) to get
    ``truck`` or ``bus``.
    """
    return "motorbike" if parse_plate(plate).kind == "motorbike" else "car"


def plate_category(plate: str, colour: str | None = None) -> PlateCategory:
    """Category of a plate from its colour when the reader saw it.

    White: private, yellow: commercial (taxis, trucks, buses, rental), blue: state, red:
    military. A military plate (``TM-12-34``) is military whatever the colour; otherwise
    without a colour the category is ``unknown``. Raises PlateError for an invalid plate
    and ValueError for a colour not in that list.
    """
    kind = parse_plate(plate).kind
    if colour is not None and colour.strip().lower() not in _COLOUR_CATEGORY:
        raise ValueError(f"unknown plate colour {colour!r}; expected one of "
                         f"{sorted(_COLOUR_CATEGORY)}")
    if kind == "military":
        return "military"
    return "unknown" if colour is None else _COLOUR_CATEGORY[colour.strip().lower()]


# --- Conditional restrictions -----------------------------------------------------------------

_DAYS: Final = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_TIME: Final = r"(\d{1,2}):(\d{2})"
_SPAN_RE: Final = re.compile(rf"^{_TIME}\s*-\s*{_TIME}$")
_DAY_RE: Final = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su)(?:\s*-\s*(Mo|Tu|We|Th|Fr|Sa|Su))?$")


@dataclass(frozen=True, slots=True)
class ConditionalRule:
    """One ``value @ (condition)`` of an OSM ``*:conditional`` tag.

    ``spans`` are (start, end) minutes after midnight, ``end`` may be below ``start`` (the
    span runs past midnight) and 1440 means midnight at the end; ``days`` are weekdays
    (Monday = 0) or None for every day. ``timed`` is False when the condition is not only
    days and times (``weight>7.5``, ``wet``, ``PH``, sunrise …): such a rule never applies.
    """

    value: str
    condition: str
    spans: tuple[tuple[int, int], ...]
    days: frozenset[int] | None
    timed: bool

    def applies_at(self, minute: int, weekday: int) -> bool:
        """Whether the condition holds at ``minute`` after midnight on ``weekday``."""
        if not self.timed:
            return False
        for start, end in self.spans:
            if start <= end:
                inside, day = start <= minute < end, weekday
            else:  # past midnight: the early part belongs to the day the span started
                inside = minute >= start or minute < end
                day = weekday if minute >= start else (weekday - 1) % 7
            if inside and (self.days is None or day in self.days):
                return True
        return False


def _split_top_level(text: str) -> list[str]:
    """``text`` split at ``;`` outside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _parse_days(token: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in token.split(","):
        match = _DAY_RE.match(part.strip())
        if match is None:
            return None
        first = _DAYS.index(match.group(1))
        last = _DAYS.index(match.group(2) or match.group(1))
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def _parse_condition(condition: str) -> tuple[tuple[tuple[int, int], ...],
                                              frozenset[int] | None, bool]:
    """(spans, days, timed) of a day-and-time condition (see ConditionalRule)."""
    head, _, rest = condition.partition(" ")
    days = _parse_days(head)
    if days is not None and not rest.strip():
        return ((0, 1440),), days, True  # "Su", "Mo-Fr": the whole day
    times = rest if days is not None else condition
    spans: list[tuple[int, int]] = []
    for token in times.split(","):
        span = _SPAN_RE.match(token.strip())
        if span is None:
            return (), None, False
        h1, m1, h2, m2 = (int(g) for g in span.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start > 1440 or end > 1440:
            return (), None, False
        spans.append((start % 1440, end))
    return tuple(spans), days, True


@cache
def parse_conditional(value: str) -> tuple[ConditionalRule, ...]:
    """Rules of an OSM conditional value, in order: ``"no @ (06:00-22:00); yes @ (Su)"``.

    Parentheses around a condition are optional where it has no ``;``. A part without
    ``@`` is skipped. Only day and time conditions are understood (``timed``); see
    :class:`ConditionalRule`.
    """
    rules = []
    for part in _split_top_level(value):
        if "@" not in part:
            continue
        head, _, condition = part.partition("@")
        condition = condition.strip()
        if condition.startswith("(") and condition.endswith(")"):
            condition = condition[1:-1].strip()
        spans, days, timed = _parse_condition(condition)
        rules.append(ConditionalRule(head.strip().lower(), condition, spans, days, timed))
    return tuple(rules)


def _local(when: datetime | time) -> tuple[int, int | None]:
    """(minute after midnight, weekday or None) of ``when`` in the city's time zone."""
    if isinstance(when, datetime):
        local = when.astimezone(_LOCAL_TZ) if when.tzinfo is not None else when
        return local.hour * 60 + local.minute, local.weekday()
    return when.hour * 60 + when.minute, None


def conditional_value_at(value: str | None, when: datetime | time | None) -> str | None:
    """The value a conditional tag gives at local time ``when``, None when no rule applies.

    The last applying rule wins. A naive datetime or a time is read as local time
    (Asia/Ho_Chi_Minh); an aware datetime is converted. With a bare ``time`` a rule
    limited to some weekdays applies when its time span holds (the day is unknown).
    ``when=None`` gives None: without a time no conditional rule is applied.
    """
    if value is None or when is None:
        return None
    minute, weekday = _local(when)
    result = None
    for rule in parse_conditional(value):
        if weekday is None:
            applies = rule.timed and any(
                rule.applies_at(minute, day) for day in (rule.days or {0}))
        else:
            applies = rule.applies_at(minute, weekday)
        if applies:
            result = rule.value
    return result


# --- Road rules -------------------------------------------------------------------------------


def _values(value: Any) -> tuple[str, ...]:
    """A tag value as a tuple of strings (empty when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(";") if v.strip())
    if isinstance(value, Iterable):
        return tuple(v for item in value for v in _values(item))
    return (str(value),)


def _column(values: TagColumn | None, n: int, name: str) -> list[Any]:
    if values is None:
        return [None] * n
    column = list(values)
    if len(column) != n:
        raise ValueError(f"{name} has {len(column)} values, highway has {n}")
    return column


def _key(raw: Any) -> Any:
    """A hashable stand-in for a tag value (a merged edge's list becomes a tuple)."""
    if raw is None or isinstance(raw, (str, float)):
        return raw
    return tuple(raw) if isinstance(raw, Iterable) else str(raw)


def _mask(column: Sequence[Any], test: Any) -> npt.NDArray[np.bool_]:
    """``test(values)`` per row, evaluated once per distinct value."""
    missing = np.fromiter((raw is None for raw in column), dtype=bool, count=len(column))
    out = np.full(len(column), bool(test(())))
    seen: dict[Any, bool] = {}
    for i in np.flatnonzero(~missing).tolist():
        raw = column[i]
        key = _key(raw)
        hit = seen.get(key)
        if hit is None:
            hit = seen[key] = bool(test(_values(raw)))
        out[i] = hit
    return out


def _check_class(vehicle_class: str) -> VehicleClass:
    if vehicle_class not in VEHICLE_CLASSES:
        raise ValueError(f"unknown vehicle class {vehicle_class!r}; expected one of "
                         f"{list(VEHICLE_CLASSES)}")
    return vehicle_class


def edge_allowed(
    highway: TagColumn,
    motorcycle: TagColumn | None,
    motorroad: TagColumn | None,
    hgv: TagColumn | None,
    hgv_conditional: TagColumn | None,
    vehicle_class: VehicleClass,
    *,
    motor_vehicle: TagColumn | None = None,
    when: datetime | time | None = None,
) -> npt.NDArray[np.bool_]:
    """Whether ``vehicle_class`` may drive each edge, from the edges' tag columns.

    Each column holds one value per edge (a string, a list for a merged edge, None or NaN
    where the tag is missing); a column passed as None is missing on every edge. ``when``
    is the local time for ``hgv:conditional`` (see :func:`conditional_value_at`). The rules
    are in the module docstring.
    """
    vehicle_class = _check_class(vehicle_class)
    n = len(highway)
    hw = _column(highway, n, "highway")
    mv = _column(motor_vehicle, n, "motor_vehicle")
    allowed = ~_mask(mv, lambda v: bool(_NO.intersection(v)))
    if vehicle_class == "motorbike":
        mc = _column(motorcycle, n, "motorcycle")
        mr = _column(motorroad, n, "motorroad")
        explicit = _mask(mc, lambda v: bool(v) and set(v) <= _YES)
        allowed = (allowed | explicit) & ~_mask(mc, lambda v: bool(_NO.intersection(v)))
        allowed &= ~_mask(hw, lambda v: bool(EXPRESSWAY_HIGHWAYS.intersection(v)))
        allowed &= ~(_mask(mr, lambda v: "yes" in v) & ~explicit)
    elif vehicle_class == "truck":
        hv = _column(hgv, n, "hgv")
        explicit = _mask(hv, lambda v: bool(v) and not _NO.intersection(v))
        allowed = (allowed | explicit) & ~_mask(hv, lambda v: bool(_NO.intersection(v)))
        if when is not None and hgv_conditional is not None:
            cond = _column(hgv_conditional, n, "hgv:conditional")
            seen: dict[tuple[str, ...], str | None] = {}
            for i, raw in enumerate(cond):
                key = _conditional_values(raw)
                if key not in seen:
                    seen[key] = _conditional_at(key, when)
                if (value := seen[key]) is not None:
                    allowed[i] = value not in _NO
    return allowed


def _conditional_values(value: Any) -> tuple[str, ...]:
    """A conditional tag as its separate values (several on a merged edge); unlike other
    tags a value is not split at ``;``, which separates its rules."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(v for item in value for v in _conditional_values(item))
    return (str(value),)


def _conditional_at(values: tuple[str, ...], when: datetime | time) -> str | None:
    """Value of a (possibly merged) conditional tag at ``when``: a forbidding value of any
    merged way wins, else the first applying one."""
    found = [v for v in (conditional_value_at(x, when) for x in values) if v is not None]
    return next((v for v in found if v in _NO), found[0] if found else None)


def edge_allowed_data(
    data: Mapping[str, Any], vehicle_class: VehicleClass, *, when: datetime | time | None = None
) -> bool:
    """:func:`edge_allowed` for one edge's attribute dict (as on the road graph)."""
    return bool(edge_allowed(
        [data.get("highway")], [data.get("motorcycle")], [data.get("motorroad")],
        [data.get("hgv")], [data.get("hgv:conditional")], vehicle_class,
        motor_vehicle=[data.get("motor_vehicle")], when=when)[0])


_TAG_COLUMNS: Final = ("highway", "motorcycle", "motor_vehicle", "motorroad", "hgv",
                       "hgv:conditional")


def edge_tag_columns(graph: nx.MultiDiGraph) -> dict[str, npt.NDArray[np.object_]]:
    """The class-rule tags of every edge, in ``graph.edges(keys=True)`` order (None where
    missing): the columns :func:`edge_allowed` reads."""
    rows = [d for *_, d in graph.edges(keys=True, data=True)]
    # fromiter, not an assignment from a list: a list of equal-length lists would broadcast
    return {tag: np.fromiter((d.get(tag) for d in rows), dtype=object, count=len(rows))
            for tag in _TAG_COLUMNS}


def allowed_edges(
    graph: nx.MultiDiGraph, vehicle_class: VehicleClass, *, when: datetime | time | None = None
) -> npt.NDArray[np.bool_]:
    """:func:`edge_allowed` for every edge of ``graph``, in ``graph.edges(keys=True)`` order."""
    c = edge_tag_columns(graph)
    return edge_allowed(c["highway"], c["motorcycle"], c["motorroad"], c["hgv"],
                        c["hgv:conditional"], vehicle_class, motor_vehicle=c["motor_vehicle"],
                        when=when)


def allowed_subgraph(
    graph: nx.MultiDiGraph, vehicle_class: VehicleClass, *, when: datetime | time | None = None
) -> nx.MultiDiGraph:
    """A read-only view of ``graph`` with only the edges ``vehicle_class`` may drive (all
    nodes kept: the view need not be strongly connected)."""
    keep = allowed_edges(graph, vehicle_class, when=when)
    edges = {e for e, ok in zip(graph.edges(keys=True), keep, strict=True) if ok}
    return nx.subgraph_view(graph, filter_edge=lambda u, v, k: (u, v, k) in edges)


# --- Speeds -----------------------------------------------------------------------------------


def class_speed_kph(
    base_kph: npt.ArrayLike, highway: TagColumn | str | None, vehicle_class: VehicleClass
) -> npt.NDArray[np.float64]:
    """Speed (km/h) of ``vehicle_class`` on edges whose base speed is ``base_kph``.

    ``base_kph`` is the edge's ``speed_kph`` (one number or one per edge); ``highway`` its
    OSM class (one value or one per edge; a merged edge's first class counts). The result
    is ``base × VEHICLE_SPEED_FACTORS[class][highway]`` (the class's ``"default"`` factor
    for other classes), at most ``VEHICLE_MAX_SPEED_KPH[class]``, or
    ``EXPRESSWAY_MAX_SPEED_KPH`` on an expressway. An array of the broadcast shape.
    """
    vehicle_class = _check_class(vehicle_class)
    base = np.asarray(base_kph, dtype=float)
    column: Sequence[Any] | npt.NDArray[Any]
    if isinstance(highway, str) or highway is None:
        column, single = [highway], True
    else:
        column, single = highway, False
    factors = settings.VEHICLE_SPEED_FACTORS[vehicle_class]
    limit = settings.VEHICLE_MAX_SPEED_KPH[vehicle_class]
    seen: dict[Any, tuple[float, float]] = {}
    factor = np.empty(len(column))
    cap = np.empty(len(column))
    for i, raw in enumerate(column):
        key = _key(raw)
        if (hit := seen.get(key)) is None:
            first = _first(raw)
            hit = seen[key] = (
                factors.get(first or "", factors["default"]),
                settings.EXPRESSWAY_MAX_SPEED_KPH if first in EXPRESSWAY_HIGHWAYS else limit)
        factor[i], cap[i] = hit
    speed: npt.NDArray[np.float64] = np.minimum(base * factor, cap)
    return speed.reshape(()) if base.ndim == 0 and single else speed


def _first(highway: Any) -> str | None:
    values = _values(highway)
    return values[0] if values else None
