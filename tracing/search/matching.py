"""Plate matching rules: exact, wildcard and OCR-aware fuzzy, all on the compact form.

Every rule compares compact plates (A–Z0–9, :func:`tracing.plates.compact_plate`), so
``51A12345``, ``51a-123.45`` and ``51A-123.45`` are one plate.

* **exact**: equal compact forms;
* **wildcard**: ``*`` stands for any run of characters (also none), ``?`` for exactly one;
  separators in the pattern are ignored (``51A-12*`` = ``51A12*``);
* **fuzzy**: :func:`plate_distance`, an edit distance where substituting characters an OCR
  engine confuses (``settings.SEARCH_CONFUSION_GROUPS``: 0/O/D/Q, 1/I/7, 2/Z, 5/S, 6/G, 8/B,
  4/A) costs ``settings.SEARCH_CONFUSION_COST`` and any other substitution, insertion or
  deletion costs 1.

:func:`fuzzy_matches` runs over many plates at once: rapidfuzz's plain Levenshtein distance
(bounded by ``limit / confusion cost``) prefilters in C, the weighted distance is computed
only for the few survivors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from tracing import settings
from tracing.errors import SearchError
from tracing.plates import compact_plate

__all__ = [
    "MatchMode",
    "compact_query",
    "confusable",
    "fuzzy_matches",
    "is_wildcard",
    "plate_distance",
    "similarity",
    "validate_limit",
    "wildcard_matches",
    "wildcard_regex",
]

MatchMode = Literal["exact", "wildcard", "fuzzy"]
WILDCARDS: Final = "*?"
_PATTERN_RE: Final = re.compile(r"[A-Z0-9*?]+")


def _confusion_table(groups: Sequence[str]) -> frozenset[tuple[str, str]]:
    return frozenset((a, b) for group in groups for a in group for b in group if a != b)


_CONFUSABLE: Final = _confusion_table(settings.SEARCH_CONFUSION_GROUPS)


def confusable(a: str, b: str) -> bool:
    """True when an OCR engine commonly reads character ``a`` as ``b`` (or the reverse)."""
    return (a, b) in _CONFUSABLE


def validate_limit(limit: float) -> float:
    """The fuzzy limit as a float; SearchError outside [0, SEARCH_MAX_LIMIT]."""
    value = float(limit)
    if not 0.0 <= value <= settings.SEARCH_MAX_LIMIT:
        raise SearchError(
            f"fuzzy limit {limit!r} must lie in [0, {settings.SEARCH_MAX_LIMIT}]")
    return value


_LOOKALIKES: Final = str.maketrans({"\u2217": "*", "\u204e": "*", "\u2731": "*",
                                    "\u066d": "*"})
"""Asterisks NFKC keeps apart (∗ ⁎ ✱ ٭); the full-width ＊ and ？ are NFKC's."""


def wildcard_text(text: str) -> str:
    """Search text in NFKC form with look-alike asterisks as ``*`` (a full-width ``＊`` typed
    on a Vietnamese or East Asian keyboard is a wildcard)."""
    return unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)


def is_wildcard(text: str) -> bool:
    """True when the search text holds ``*`` or ``?`` (in any width)."""
    return any(ch in wildcard_text(text) for ch in WILDCARDS)


def compact_query(text: str) -> str:
    """Compact form of search text, keeping wildcards; SearchError when nothing is left."""
    if not isinstance(text, str):
        raise SearchError(f"search text must be a string, not {type(text).__name__}")
    if len(text) > settings.SEARCH_MAX_QUERY_LENGTH:
        raise SearchError(f"search text {text[:40]!r}… is longer than "
                          f"{settings.SEARCH_MAX_QUERY_LENGTH} characters")
    pieces = [piece if piece in WILDCARDS else compact_plate(piece)
              for piece in re.split(r"([*?])", wildcard_text(text)) if piece]
    compact = "".join(pieces)
    if not compact.strip(WILDCARDS):
        raise SearchError(f"search text {text!r} holds no letter or digit")
    return compact


@lru_cache(maxsize=256)
def wildcard_regex(pattern: str) -> str:
    """Anchored regular expression of a compact wildcard pattern (``51A12*`` → ``^51A12.*$``)."""
    if not _PATTERN_RE.fullmatch(pattern):
        raise SearchError(f"wildcard pattern {pattern!r} may hold only A–Z, 0–9, * and ?")
    body = "".join(".*" if ch == "*" else "." if ch == "?" else ch for ch in pattern)
    return f"^{body}$"


def wildcard_matches(pattern: str, compacts: pa.Array) -> npt.NDArray[np.int64]:
    """Positions of the compact plates that match a compact wildcard pattern."""
    mask = pc.match_substring_regex(compacts, wildcard_regex(pattern))
    return np.flatnonzero(np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False)))


def plate_distance(a: str, b: str, *, confusion_cost: float = settings.SEARCH_CONFUSION_COST
                   ) -> float:
    """OCR-weighted edit distance between two compact plates (see the module docstring)."""
    previous = [float(j) for j in range(len(b) + 1)]
    for i, ca in enumerate(a, start=1):
        current = [float(i)]
        for j, cb in enumerate(b, start=1):
            swap = 0.0 if ca == cb else confusion_cost if (ca, cb) in _CONFUSABLE else 1.0
            current.append(min(previous[j] + 1.0, current[j - 1] + 1.0, previous[j - 1] + swap))
        previous = current
    return previous[-1]


def similarity(distance: float, *, limit: float) -> float:
    """String evidence in [0, 1]: 1 for equal plates, falling linearly to 0 past ``limit``."""
    return max(0.0, 1.0 - distance / (limit + 1.0))


def fuzzy_matches(query: str, compacts: Sequence[str] | npt.NDArray[np.object_], *,
                  limit: float = settings.SEARCH_MAX_DISTANCE,
                  confusion_cost: float = settings.SEARCH_CONFUSION_COST,
                  ) -> list[tuple[int, float]]:
    """(position, distance) of every compact plate within ``limit`` of ``query``, nearest
    first; ``query`` is a compact plate."""
    limit = validate_limit(limit)
    if not 0.0 < confusion_cost <= 1.0:
        raise SearchError(f"confusion cost {confusion_cost!r} must lie in (0, 1]")
    bound = int(limit / confusion_cost + 1e-9)
    if len(compacts) == 0:
        return []
    rough = process.cdist([query], compacts, scorer=Levenshtein.distance, score_cutoff=bound,
                          dtype=np.int32, workers=-1)[0]
    found = []
    for position in np.flatnonzero(rough <= bound):
        distance = plate_distance(query, str(compacts[int(position)]),
                                  confusion_cost=confusion_cost)
        if distance <= limit + 1e-9:
            found.append((int(position), distance))
    found.sort(key=lambda item: (item[1], item[0]))
    return found
