"""Grammar-constrained decoding of the recogniser's output into a Vietnamese plate.

The recogniser gives, for every CTC frame of a line, a probability per character. The
plate grammar says, by position, whether a digit or a letter belongs there (province code:
2 digits; series: a letter, then a letter or a digit; number: 4–5 digits). For every class
pattern the grammar allows (``DDLDDDDD``…) a Viterbi pass over the CTC frames finds the
most probable alignment of the pattern's positions to frames: each position takes the most
probable character *of the class the grammar wants* (a ``B`` where a digit belongs becomes
the digit the network found most likely there, usually ``8``, never by a fixed
substitution table), and frames between characters are blank, a separator, or a character
the grammar has no room for (a border read as ``1``), which costs a penalty. So a digit
the network gave only 0.45 against the blank's 0.55, which greedy decoding drops, is kept
when the pattern needs it. The best-scoring reading that :func:`tracing.plates.parse_plate`
accepts wins; its characters keep their probabilities as per-character confidences.
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
"""A frame between characters showing a character the pattern has no room for costs this
times the frame's probability of being no character: the least sure character is dropped
first, and reading a confusable character is preferred to dropping it (which would change
the plate's length)."""


@dataclass(frozen=True, slots=True)
class Reading:
    """A decoded plate: canonical text, compact text, per-character confidences
    (aligned with ``compact``), and the plate confidence (their product)."""

    plate: Plate
    char_conf: tuple[float, ...]
    score: float = 0.0
    """Log-probability of the decoded path with the pattern's prior (the decoder's
    ranking; comparable between cuts of one plate, not between plates)."""

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


@dataclass(frozen=True, slots=True)
class _Choice:
    score: float
    chars: str
    conf: tuple[float, ...]


_KINDS: Final = "_DL"
"""Emission kinds of a Viterbi state: between characters (``_``), digit, letter."""


def _emissions(line: LineProbs) -> tuple[Probs, npt.NDArray[np.int64]]:
    """Per frame and kind, the probability of the best state of that kind and (for digit
    and letter) which class it is. Between characters a frame may be blank, a separator,
    or a character dropped (see ``DROP_PENALTY``)."""
    probs, charset = line.probs, line.charset
    digits = np.array([charset.index(c) + 1 for c in DIGITS if c in charset])
    letters = np.array([charset.index(c) + 1 for c in LETTERS if c in charset])
    others = np.array([k + 1 for k, c in enumerate(charset) if not c.isalnum()] or [0])
    between = np.maximum.reduce([probs[:, 0], probs[:, others].max(axis=1),
                                 DROP_PENALTY * np.maximum(1.0 - probs[:, 1:].max(axis=1),
                                                           _DROP_FLOOR)])
    best_digit = digits[probs[:, digits].argmax(axis=1)]
    best_letter = letters[probs[:, letters].argmax(axis=1)]
    rows = np.arange(len(probs))
    emit = np.stack([between, probs[rows, best_digit], probs[rows, best_letter]], axis=1)
    which = np.stack([np.zeros_like(best_digit), best_digit, best_letter], axis=1)
    return np.asarray(emit, np.float32), which


def _chain(templates: Sequence[str]) -> tuple[npt.NDArray[np.int64], list[tuple[int, int]]]:
    """The CTC state chains of all templates side by side: each state's emission kind
    (``_`` before, between and after characters) and each template's state range."""
    kinds: list[int] = []
    spans = []
    for template in templates:
        start = len(kinds)
        kinds.append(0)
        for cls in template:
            kinds += [_KINDS.index(cls), 0]
        spans.append((start, len(kinds)))
    return np.array(kinds), spans


def _viterbi(line: LineProbs, templates: Sequence[str]) -> list[_Choice]:
    """The best alignment of each template to the line's frames (all templates at once,
    their chains side by side); templates that do not fit the frames are left out."""
    emit, which = _emissions(line)
    kinds, spans = _chain(templates)
    frames, n = len(emit), len(kinds)
    logs = np.log(np.maximum(emit, 1e-12))[:, kinds]
    first = np.zeros(n, bool)  # a path starts on a chain's first blank or first character
    step1 = np.ones(n, bool)  # from the state before (not across chains)
    step2 = kinds != 0  # from the character before, skipping the blank between
    for start, _ in spans:
        first[start : start + 2] = True
        step1[start] = False
        step2[start : start + 2] = False
    # two characters in a row without a blank between them must differ
    before = kinds[np.maximum(np.arange(n) - 2, 0)]
    skip = np.where(step2 & (which[:-1, before] != which[1:, kinds]), 0.0, -np.inf)
    advance = np.where(step1, 0.0, -np.inf)
    score = np.where(first, logs[0], -np.inf)
    back = np.zeros((frames, n), np.int8)
    moves = np.full((3, n), -np.inf)
    states = np.arange(n)
    for t in range(1, frames):
        moves[0] = score
        moves[1, 1:] = score[:-1] + advance[1:]
        moves[2, 2:] = score[:-2] + skip[t - 1, 2:]
        back[t] = moves.argmax(axis=0)
        score = moves[back[t], states] + logs[t]
    steps = back.tolist()
    return [c for c in (_trace(line, t, span, score, steps, kinds, which)
                        for t, span in zip(templates, spans, strict=True)) if c is not None]


def _trace(line: LineProbs, template: str, span: tuple[int, int], score: Probs,
           back: list[list[int]], kinds: npt.NDArray[np.int64],
           which: npt.NDArray[np.int64]) -> _Choice | None:
    """The characters of one template's best path, read back from the last frame: at
    each position the character of the grammar's class with the highest peak over the
    position's frames, that peak its confidence."""
    start, stop = span
    state = stop - 1 if score[stop - 1] >= score[stop - 2] else stop - 2
    if not np.isfinite(score[state]):
        return None
    total = float(score[state])
    path = []
    for t in range(len(back) - 1, -1, -1):
        path.append(state)
        state -= back[t][state]
    states = np.array(path[::-1])
    chars, conf = [], []
    for label in range(start + 1, stop, 2):
        held = np.flatnonzero(states == label)
        votes = which[held, kinds[label]]
        peaks = line.probs[held, votes]
        chars.append(line.charset[int(votes[peaks.argmax()]) - 1])
        conf.append(float(peaks.max()))
    prior = math.prod(PRIORS.get(part, 1.0) for part in _parts(template))
    return _Choice(total + math.log(prior), "".join(chars), tuple(conf))


def _parts(template: str) -> tuple[str, ...]:
    """Series and number of a class pattern: ``DDLDDDDD`` → (``DDL``, ``DDDDD``)."""
    if template in PRIORS or template.startswith("LL"):
        return (template[:2],) if template.startswith("LL") else (template,)
    cut = 4 if template[3] == "L" else 3
    return template[:cut], template[cut:]


def _candidates(line: LineProbs, templates: Sequence[str]) -> list[_Choice]:
    if line.probs.size == 0:
        return []
    return sorted(_viterbi(line, templates), key=lambda c: -c.score)


def _first_valid(choices: Sequence[_Choice], spelled: str) -> Reading | None:
    for choice in sorted(choices, key=lambda c: -c.score):
        text = choice.chars if not spelled else spelled.format(*_split(choice))
        try:
            plate = parse_plate(text)
        except PlateError:
            continue
        return Reading(plate, choice.conf, choice.score)
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
