"""Vehicles: kind, plate colour and a unique Vietnamese plate that the plate grammar accepts.

Kinds: ``motorbike`` (two-line plate ``59-X1 123.45``), ``car``, ``truck`` and ``bus``
(one-line ``51A-123.45``). Colours: white private, yellow commercial (trucks, buses, taxis
and delivery cars), blue state bodies, red military (plates ``TM-12-34``). Residents carry
mostly Ho Chi Minh City codes (41, 50–59) — some keep the plate of their home province —
and visitors and through traffic mostly those of the neighbouring provinces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from tracing import settings
from tracing.plates import Plate
from tracing.roads import IntArray

KINDS: Final = ("motorbike", "car", "truck", "bus")
ROLES: Final = ("commuter", "errand", "commercial", "visitor", "through")
RESIDENT_ROLES: Final = frozenset({"commuter", "errand", "commercial"})

_HCMC_CAR_CODES: Final = {"51": 0.74, "50": 0.08, "41": 0.03} | {
    f"{c}": 0.15 / 8 for c in range(52, 60)}
"""Car codes of HCMC: 51 for most private cars, 50 for state and older ones."""
_HCMC_MOTORBIKE_CODES: Final = {"59": 0.45} | {f"{c}": 0.55 / 10 for c in [41, *range(50, 59)]}
"""Motorbike codes of HCMC: 59 in the districts of today's Thủ Đức, the others elsewhere."""
_NEIGHBOUR_CODES: Final = {
    "61": 0.30, "60": 0.17, "39": 0.05, "62": 0.09, "72": 0.09, "70": 0.05, "93": 0.05,
    "86": 0.04, "63": 0.03, "71": 0.03, "64": 0.02, "66": 0.02, "67": 0.02, "68": 0.02,
    "49": 0.01, "47": 0.01}
"""Plates from outside HCMC: Bình Dương, Đồng Nai, Long An, Bà Rịa–Vũng Tàu, Tây Ninh, …"""
_MIGRANT_CODES: Final = _NEIGHBOUR_CODES | {
    "36": 0.03, "37": 0.03, "38": 0.02, "77": 0.02, "76": 0.02, "79": 0.02, "81": 0.02}
"""Home-province plates of residents who moved to HCMC (keep their registration)."""
RESIDENT_HCMC_SHARE: Final = 0.88
"""Residents with an HCMC plate; the others keep a plate of their home province."""
VISITOR_HCMC_SHARE: Final = 0.25
"""Visitors and through traffic with an HCMC plate."""

_MOTORBIKE_LETTERS: Final = "ABCDEFGHKLMNPSTUVXYZ"
_CAR_SERIES: Final[Mapping[str, str]] = {
    "private": "AFGHK", "state": "ABCDE", "taxi": "ABEFGH", "truck": "CD", "bus": "BE"}
_TWO_LETTER_SERIES: Final = ("LD", "KT")
_MILITARY_SERIES: Final = ("KA", "KB", "KC", "QA", "QB", "QH", "TC", "TH", "TM", "TT")
FIVE_DIGIT_SHARE: Final = {"motorbike": 0.85, "car": 0.95, "truck": 0.9, "bus": 0.9}
"""Plates with a 5-digit number (all issued since 2012); the rest are older 4-digit ones."""
_COLOURS: Final[Mapping[str, Mapping[str, float]]] = {
    "motorbike": {"white": 0.99, "blue": 0.01},
    "car": {"white": 0.93, "blue": 0.05, "red": 0.02},
    "taxi": {"yellow": 1.0},
    "truck": {"yellow": 0.85, "white": 0.12, "red": 0.03},
    "bus": {"yellow": 0.95, "blue": 0.05},
}


@dataclass(frozen=True, slots=True, eq=False)
class Fleet:
    """Vehicles as parallel arrays; the index of a vehicle is its id."""

    role: npt.NDArray[np.object_]
    kind: npt.NDArray[np.object_]
    colour: npt.NDArray[np.object_]
    plate: npt.NDArray[np.object_]
    province: npt.NDArray[np.object_]
    home_row: IntArray
    """Zone row of a resident's home (-1 for visitors and through traffic)."""
    work_row: IntArray
    """Zone row of a commuter's work place inside the city (-1 otherwise)."""
    work_exit: IntArray
    """Gateway exit of a commuter working outside the city (-1 otherwise)."""

    def __len__(self) -> int:
        return len(self.plate)


def concat_fleets(fleets: list[Fleet]) -> Fleet:
    """One fleet of several, in order."""
    return Fleet(*(np.concatenate([getattr(f, name) for f in fleets])
                   for name in Fleet.__dataclass_fields__))


def _pick(rng: np.random.Generator, table: Mapping[str, float], n: int) -> npt.NDArray[np.object_]:
    keys = list(table)
    weights = np.asarray([table[k] for k in keys], float)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), n, p=weights / weights.sum())]


def draw_roles(rng: np.random.Generator, n: int, *, gateways: bool) -> npt.NDArray[np.object_]:
    """Roles of ``n`` vehicles (``SIM_ROLE_SHARES``; errands instead of gateway roles when the
    area has no gateways)."""
    shares = dict(settings.SIM_ROLE_SHARES)
    if not gateways:
        shares["errand"] += shares.pop("visitor") + shares.pop("through")
    return _pick(rng, shares, n)


def draw_kinds(rng: np.random.Generator, roles: npt.NDArray[np.object_]
               ) -> npt.NDArray[np.object_]:
    """Vehicle kind of each role's vehicles (``SIM_KIND_SHARES``)."""
    kinds = np.empty(len(roles), dtype=object)
    for role in ROLES:
        idx = np.flatnonzero(roles == role)
        kinds[idx] = _pick(rng, settings.SIM_KIND_SHARES[role], len(idx))
    return kinds


def draw_colours(rng: np.random.Generator, roles: npt.NDArray[np.object_],
                 kinds: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Plate colour by kind; commercial cars (taxis) are yellow."""
    colours = np.empty(len(kinds), dtype=object)
    taxi = (roles == "commercial") & (kinds == "car")
    for name, table in _COLOURS.items():
        idx = np.flatnonzero(taxi if name == "taxi" else (kinds == name) & ~taxi)
        colours[idx] = _pick(rng, table, len(idx))
    return colours


def draw_provinces(rng: np.random.Generator, roles: npt.NDArray[np.object_],
                   kinds: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Province code of each vehicle's plate."""
    n = len(roles)
    resident = np.isin(roles, list(RESIDENT_ROLES))
    hcmc = rng.random(n) < np.where(resident, RESIDENT_HCMC_SHARE, VISITOR_HCMC_SHARE)
    codes = np.where(resident, _pick(rng, _MIGRANT_CODES, n), _pick(rng, _NEIGHBOUR_CODES, n))
    codes = np.where(hcmc & (kinds == "motorbike"), _pick(rng, _HCMC_MOTORBIKE_CODES, n), codes)
    return np.where(hcmc & (kinds != "motorbike"), _pick(rng, _HCMC_CAR_CODES, n), codes)


def _series_group(kind: str, colour: str) -> str:
    if colour == "blue":
        return "state"
    if colour == "yellow" and kind == "car":
        return "taxi"
    return kind if kind in ("truck", "bus") else "private"


def make_plates(rng: np.random.Generator, kinds: npt.NDArray[np.object_],
                colours: npt.NDArray[np.object_], provinces: npt.NDArray[np.object_]
                ) -> list[Plate]:
    """One random plate per vehicle (not checked for uniqueness)."""
    n = len(kinds)
    five = rng.random(n) < np.array([FIVE_DIGIT_SHARE[str(k)] for k in kinds])
    number = np.where(five, rng.integers(1, 100_000, n), rng.integers(1, 10_000, n))
    letter = rng.integers(0, len(_MOTORBIKE_LETTERS), n)
    digit = rng.integers(1, 10, n)
    pick = rng.random(n)
    two_letters = rng.random(n) < 0.01
    military = rng.integers(0, len(_MILITARY_SERIES), n)
    plates = []
    for i in range(n):
        kind, colour = str(kinds[i]), str(colours[i])
        if colour == "red":
            plates.append(Plate("", _MILITARY_SERIES[military[i]], f"{number[i] % 10_000:04d}",
                                "military"))
            continue
        text = f"{number[i]:05d}" if five[i] else f"{number[i]:04d}"
        if kind == "motorbike":
            series = f"{_MOTORBIKE_LETTERS[letter[i]]}{digit[i]}"
        elif two_letters[i] and kind == "car" and colour == "white":
            series = _TWO_LETTER_SERIES[int(pick[i] * len(_TWO_LETTER_SERIES))]
        else:
            letters = _CAR_SERIES[_series_group(kind, colour)]
            series = letters[int(pick[i] * len(letters))]
        plates.append(Plate(str(provinces[i]), series, text,
                            "motorbike" if kind == "motorbike" else "car"))
    return plates


def draw_plates(rng: np.random.Generator, kinds: npt.NDArray[np.object_],
                colours: npt.NDArray[np.object_], provinces: npt.NDArray[np.object_],
                used: set[str]) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Unique canonical plates (``used`` holds the compact plates taken and is updated) and
    the province code of each (empty for military plates)."""
    plates = np.empty(len(kinds), dtype=object)
    codes = np.empty(len(kinds), dtype=object)
    todo = np.arange(len(kinds))
    while len(todo):
        again = []
        for i, plate in zip(todo, make_plates(rng, kinds[todo], colours[todo], provinces[todo]),
                            strict=True):
            if plate.compact in used:
                again.append(i)
                continue
            used.add(plate.compact)
            plates[i], codes[i] = plate.text, plate.province
        todo = np.asarray(again, dtype=np.int64)
    return plates, codes
