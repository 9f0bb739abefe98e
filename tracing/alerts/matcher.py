"""Match many plates against many watch patterns at once, with the search rules.

Patterns are checked and compiled by :func:`compile_pattern` with the search issue's rules
(:mod:`tracing.search.matching`): exact plates compare compact forms (a dictionary lookup),
wildcards (``*``, ``?``) run as one Arrow regular expression per pattern over a batch's
distinct plates, fuzzy patterns use the OCR-weighted distance (rapidfuzz prefilter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from tracing import settings
from tracing.errors import PlateError, SearchError, WatchlistError
from tracing.plates import compact_plate, normalize_plate
from tracing.search.matching import (
    compact_query,
    fuzzy_matches,
    is_wildcard,
    wildcard_regex,
)

MatchKind = Literal["exact", "wildcard", "fuzzy"]
MATCH_KINDS: Final = ("exact", "wildcard", "fuzzy")
KIND_RANK: Final = {"exact": 0, "wildcard": 1, "fuzzy": 2}


@dataclass(frozen=True, slots=True)
class Pattern:
    """A checked watch pattern: the text to store and the compact form to match."""

    text: str
    kind: MatchKind
    compact: str


def compile_pattern(pattern: object, match_kind: object) -> Pattern:
    """Check a pattern; WatchlistError naming it when it breaks the search rules."""
    if match_kind not in MATCH_KINDS:
        raise WatchlistError(f"match kind {match_kind!r} must be one of {', '.join(MATCH_KINDS)}")
    if not isinstance(pattern, str) or not pattern.strip():
        raise WatchlistError(f"watch pattern {pattern!r} is empty")
    text = " ".join(pattern.strip().upper().split())
    try:
        if match_kind == "exact":
            if is_wildcard(text):
                raise WatchlistError(f"exact pattern {text!r} holds a wildcard: choose wildcard")
            plate = normalize_plate(text)
            return Pattern(plate, "exact", compact_plate(plate))
        compact = compact_query(text)
        if match_kind == "wildcard":
            return Pattern(text, "wildcard", _wildcard(text, compact))
        if is_wildcard(text):
            raise WatchlistError(f"fuzzy pattern {text!r} holds a wildcard: choose wildcard")
        if len(compact) < settings.WATCH_MIN_LITERALS:
            raise WatchlistError(f"fuzzy pattern {text!r} is too short to match a plate")
        return Pattern(text, "fuzzy", compact)
    except (PlateError, SearchError) as exc:
        raise WatchlistError(f"watch pattern {text!r}: {exc}") from exc


def _wildcard(text: str, compact: str) -> str:
    if not is_wildcard(compact):
        raise WatchlistError(f"wildcard pattern {text!r} holds no * or ?: choose exact")
    literals = sum(ch not in "*?" for ch in compact)
    if literals < settings.WATCH_MIN_LITERALS:
        raise WatchlistError(
            f"wildcard pattern {text!r} has {literals} letters or digits; at least "
            f"{settings.WATCH_MIN_LITERALS} are needed (it would match too many plates)")
    wildcard_regex(compact)  # SearchError on characters other than A–Z, 0–9, * and ?
    return compact


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(wildcard_regex(pattern))


@dataclass(frozen=True, slots=True)
class Hit:
    """Plate ``position`` (in the matched array) matches watch ``key`` at ``distance``."""

    position: int
    key: int
    distance: float


class Matcher:
    """Compiled patterns keyed by an id (a watch entry's id)."""

    def __init__(self, patterns: Sequence[tuple[int, Pattern]], *,
                 fuzzy_limit: float = settings.WATCH_FUZZY_LIMIT) -> None:
        self.exact: dict[str, list[int]] = {}
        self.wildcards: list[tuple[int, str]] = []
        self.fuzzy: list[tuple[int, str]] = []
        self.fuzzy_limit = fuzzy_limit
        for key, pattern in patterns:
            if pattern.kind == "exact":
                self.exact.setdefault(pattern.compact, []).append(key)
            elif pattern.kind == "wildcard":
                self.wildcards.append((key, pattern.compact))
            else:
                self.fuzzy.append((key, pattern.compact))

    def __len__(self) -> int:
        return sum(map(len, self.exact.values())) + len(self.wildcards) + len(self.fuzzy)

    def match(self, compacts: Sequence[str]) -> list[Hit]:
        """Every (plate, pattern) match among compact plates (best distance per pair)."""
        if not compacts or not len(self):
            return []
        hits = [Hit(i, key, 0.0) for i, compact in enumerate(compacts)
                for key in self.exact.get(compact, ())]
        if self.wildcards:
            hits.extend(self._wildcard_hits(compacts))
        if self.fuzzy:
            hits.extend(self._fuzzy_hits(compacts))
        return hits

    def _wildcard_hits(self, compacts: Sequence[str]) -> list[Hit]:
        """One Arrow regex of every pattern finds the plates matching any; each pattern's
        expression (the search's :func:`wildcard_regex`) then runs on those few only."""
        array = pa.array(list(compacts), pa.string())
        anyone = "|".join(f"(?:{wildcard_regex(p)})" for _, p in self.wildcards)
        found = np.asarray(pc.match_substring_regex(array, anyone).fill_null(False)
                           .to_numpy(zero_copy_only=False))
        candidates = np.flatnonzero(found)
        if not len(candidates):
            return []
        return [Hit(int(i), key, 0.0) for key, pattern in self.wildcards
                for i in candidates if _compiled(pattern).match(compacts[int(i)])]

    def _fuzzy_hits(self, compacts: Sequence[str]) -> list[Hit]:
        """One rapidfuzz matrix (plain edits, bounded) prefilters every pattern at once; the
        search's :func:`fuzzy_matches` then scores each pattern's few candidates."""
        values = np.asarray(list(compacts), dtype=object)
        bound = int(self.fuzzy_limit / settings.SEARCH_CONFUSION_COST + 1e-9)
        rough = process.cdist([q for _, q in self.fuzzy], values, scorer=Levenshtein.distance,
                              score_cutoff=bound, dtype=np.int32, workers=1)
        hits: list[Hit] = []
        for row, (key, query) in enumerate(self.fuzzy):
            near = np.flatnonzero(rough[row] <= bound)
            if len(near):
                hits.extend(Hit(int(near[i]), key, d) for i, d in
                            fuzzy_matches(query, values[near], limit=self.fuzzy_limit))
        return hits
