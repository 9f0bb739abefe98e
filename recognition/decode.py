"""Grammar-constrained decoding of the recogniser's output into a Vietnamese plate.

The recogniser gives, for every CTC frame of a line, a probability per character. Greedy
CTC decoding turns the frames into *segments* (one per character read), each with the
highest probability every character reached inside it. The plate grammar then says, by
position, whether a digit or a letter belongs there (province code: 2 digits; series: a
letter, then a letter or a digit; number: 4–5 digits), so each position takes the most
probable character *of the class the grammar wants*: a read ``B`` where a digit belongs
becomes the digit the network found most likely there (usually ``8``), never by a fixed
substitution table. Segments the grammar has no room for (a border read as ``1``, a screw
read as ``.``) are dropped, cheapest first. The best-scoring reading that
:func:`tracing.plates.parse_plate` accepts wins; its characters keep their probabilities
as per-character confidences.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from recognition.ocr import LineProbs
from tracing.errors import PlateError
from tracing.plates import Plate, parse_plate

__all__ = ["Reading", "decode_plate", "greedy_text", "segments"]

Layout = Literal["one_line", "two_line"]
Probs = npt.NDArray[np.float32]

DIGITS: Final = string.digits
LETTERS: Final = string.ascii_uppercase
ALLOWLIST: Final = DIGITS + LETTERS + "-."
"""Characters the recogniser may emit on a plate (separators help it keep its place)."""

_NUMBER = ("DDDD", "DDDDD")
ONE_LINE_TEMPLATES: Final = tuple(s + n for s in ("DDL", "DDLL") for n in _NUMBER)
"""Class patterns of one-line car plates (D digit, L letter)."""
MILITARY_TEMPLATES: Final = ("LLDDDD",)
"""Military plates (red background only: elsewhere two letters first is a misread)."""
TOP_TEMPLATES: Final = ("DDL", "DDLL", "DDLD")
"""Top row of a two-line plate: square car (``30A``, ``51LD``) or motorbike (``59P1``)."""
BOTTOM_TEMPLATES: Final = _NUMBER
"""Bottom row of a two-line plate: the 4- or 5-digit number."""
PRIORS: Final = {"DDDD": 0.3, "DDDDD": 1.0, "DDL": 1.0, "DDLL": 0.2, "DDLD": 1.0, "LL": 0.05}
"""Relative frequency of each part of a plate: every plate issued in the last decade has a
5-digit number and a one-letter series (or letter + digit on motorbikes); 4-digit numbers
and two-letter series are older or special. Breaks ties such as ``52AO-0186`` against
``52A-001.86`` towards the common form."""
_DROP_FLOOR: Final = 1e-4
DROP_PENALTY: Final = 0.2
"""Dropping a segment costs its probability of being no character times this: reading a
confusable character is preferred to deleting it (which would change the plate's length)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A decoded plate: canonical text, compact text, per-character confidences
    (aligned with ``compact``), and the plate confidence (their product)."""

    plate: Plate
    char_conf: tuple[float, ...]

    @property
    def text(self) -> str:
        return self.plate.text

    @property
    def compact(self) -> str:
        return self.plate.compact

    @property
    def confidence(self) -> float:
        return float(math.prod(self.char_conf))


def segments(line: LineProbs) -> list[Probs]:
    """Greedy CTC segments of a line: the peak probability vector of each run of frames
    with one non-blank best class (class 0 = blank), in reading order."""
    probs = line.probs
    if probs.size == 0:
        return []
    best = probs.argmax(axis=1)
    out: list[Probs] = []
    start = 0
    for t in range(1, len(best) + 1):
        if t == len(best) or best[t] != best[start]:
            if best[start] != 0:
                out.append(np.asarray(probs[start:t].max(axis=0), np.float32))
            start = t
    return out


def greedy_text(line: LineProbs) -> str:
    """Plain greedy CTC text of a line (what the recogniser alone would say)."""
    return "".join(line.charset[int(seg.argmax()) - 1] for seg in segments(line))


def _class_indices(charset: str, chars: str) -> npt.NDArray[np.int64]:
    return np.array([charset.index(c) + 1 for c in chars if c in charset], np.int64)


@dataclass(frozen=True, slots=True)
class _Choice:
    score: float
    chars: str
    conf: tuple[float, ...]


def _align(segs: Sequence[Probs], template: str, charset: str) -> _Choice | None:
    """Best assignment of segments to the template's positions, dropping extra segments
    (dynamic programming over segment i, position j; log-probability score)."""
    n, m = len(segs), len(template)
    if n < m:
        return None
    classes = {"D": _class_indices(charset, DIGITS), "L": _class_indices(charset, LETTERS)}
    classes["X"] = np.concatenate([classes["D"], classes["L"]])
    pick: list[list[tuple[float, int]]] = []
    for seg in segs:
        row = []
        for cls in template:
            idx = classes[cls]
            k = int(idx[np.argmax(seg[idx])])
            row.append((math.log(max(float(seg[k]), 1e-9)), k))
        pick.append(row)
    drop = [math.log(max(1.0 - float(seg[1:].max()), _DROP_FLOOR) * DROP_PENALTY)
            for seg in segs]
    neg = -math.inf
    best = np.full((n + 1, m + 1), neg)
    best[0, 0] = 0.0
    for i in range(1, n + 1):
        best[i, 0] = best[i - 1, 0] + drop[i - 1]
        for j in range(1, min(i, m) + 1):
            best[i, j] = max(best[i - 1, j] + drop[i - 1] if i - 1 >= j else neg,
                             best[i - 1, j - 1] + pick[i - 1][j - 1][0])
    chars: list[str] = []
    conf: list[float] = []
    i, j = n, m
    while j > 0:
        if i - 1 >= j and best[i, j] == best[i - 1, j] + drop[i - 1]:
            i -= 1
            continue
        logp, k = pick[i - 1][j - 1]
        chars.append(charset[k - 1])
        conf.append(math.exp(logp))
        i, j = i - 1, j - 1
    prior = math.prod(PRIORS.get(part, 1.0) for part in _parts(template))
    return _Choice(float(best[n, m]) + math.log(prior), "".join(reversed(chars)),
                   tuple(reversed(conf)))


def _parts(template: str) -> tuple[str, ...]:
    """Series and number of a class pattern: ``DDLDDDDD`` → (``DDL``, ``DDDDD``)."""
    if template in PRIORS or template.startswith("LL"):
        return (template[:2],) if template.startswith("LL") else (template,)
    cut = 4 if template[3] == "L" else 3
    return template[:cut], template[cut:]


def _alnum_segments(line: LineProbs) -> list[Probs]:
    """Segments whose best character is a letter or digit (separators dropped)."""
    return [s for s in segments(line) if line.charset[int(s.argmax()) - 1].isalnum()]


def _candidates(line: LineProbs, templates: Sequence[str]) -> list[_Choice]:
    segs = _alnum_segments(line)
    found = (_align(segs, t, line.charset) for t in templates)
    return sorted((c for c in found if c is not None), key=lambda c: -c.score)


def _first_valid(choices: Sequence[_Choice], spelled: str) -> Reading | None:
    for choice in sorted(choices, key=lambda c: -c.score):
        text = choice.chars if not spelled else spelled.format(*_split(choice))
        try:
            plate = parse_plate(text)
        except PlateError:
            continue
        return Reading(plate, choice.conf)
    return None


def _split(choice: _Choice) -> tuple[str, ...]:
    return tuple(choice.chars.split("|"))


def decode_plate(lines: Sequence[LineProbs], layout: Layout, *,
                 military: bool = False) -> Reading | None:
    """The most probable valid plate the lines spell, or None when none fits the grammar.

    ``layout`` is ``"one_line"`` (one line) or ``"two_line"`` (top row, bottom row);
    ``military`` (a red plate) also allows the military pattern ``TM-12-34``.
    """
    if layout == "one_line":
        if len(lines) != 1:
            raise ValueError(f"a one-line plate needs 1 line, got {len(lines)}")
        templates = ONE_LINE_TEMPLATES + (MILITARY_TEMPLATES if military else ())
        return _first_valid(_candidates(lines[0], templates), "")
    if len(lines) != 2:
        raise ValueError(f"a two-line plate needs 2 lines, got {len(lines)}")
    tops = _candidates(lines[0], TOP_TEMPLATES)
    bottoms = _candidates(lines[1], BOTTOM_TEMPLATES)
    pairs = [_Choice(t.score + b.score, f"{t.chars}|{b.chars}", t.conf + b.conf)
             for t in tops for b in bottoms]
    # "59P1/1234": the slash marks the row break, which parse_plate reads as motorbike
    return _first_valid(pairs, "{0}/{1}")
