"""Plate matching rules: exact/compact, wildcard and the OCR-weighted distance."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracing import settings as cfg
from tracing.errors import SearchError
from tracing.plates import compact_plate, normalize_plate
from tracing.search.matching import (
    compact_query,
    confusable,
    fuzzy_matches,
    plate_distance,
    similarity,
    validate_limit,
    wildcard_matches,
)

PROVINCES = ["41", "50", "51", "59", "60", "61", "29"]
LETTERS = "ABCDEFGHKLMNPSTUVXYZ"


@st.composite
def plates(draw: st.DrawFn) -> str:
    """Canonical car or motorbike plates."""
    province = draw(st.sampled_from(PROVINCES))
    letter = draw(st.sampled_from(LETTERS))
    number = draw(st.text("0123456789", min_size=5, max_size=5))
    if draw(st.booleans()):
        return normalize_plate(f"{province}{letter}-{number[:3]}.{number[3:]}")
    digit = draw(st.sampled_from("123456789"))
    return normalize_plate(f"{province}-{letter}{digit} {number[:3]}.{number[3:]}")


def confusion_edits(compact: str) -> list[str]:
    """Every plate one confusion substitution away."""
    out = []
    for i, ch in enumerate(compact):
        for group in cfg.SEARCH_CONFUSION_GROUPS:
            if ch in group:
                out.extend(compact[:i] + other + compact[i + 1:] for other in group if other != ch)
    return out


@given(plates())
def test_a_plate_matches_itself(plate: str) -> None:
    compact = compact_plate(plate)
    assert plate_distance(compact, compact) == 0.0
    assert fuzzy_matches(compact, [compact], limit=0.0) == [(0, 0.0)]


@given(plates())
@settings(max_examples=60)
def test_every_single_confusion_edit_matches_within_limit_one(plate: str) -> None:
    compact = compact_plate(plate)
    edits = confusion_edits(compact)
    found = dict(fuzzy_matches(compact, edits, limit=1.0))
    assert set(found) == set(range(len(edits)))
    assert all(d == cfg.SEARCH_CONFUSION_COST for d in found.values())


@given(plates())
def test_compact_and_punctuated_forms_are_equivalent(plate: str) -> None:
    compact = compact_plate(plate)
    assert compact_query(plate) == compact == compact_query(plate.lower())
    assert normalize_plate(compact_query(plate)) == plate or len(compact) == 8
    assert plate_distance(compact_query(plate), compact) == 0.0


@given(plates(), plates())
@settings(max_examples=60)
def test_distance_is_symmetric_and_bounded(a: str, b: str) -> None:
    ca, cb = compact_plate(a), compact_plate(b)
    assert plate_distance(ca, cb) == plate_distance(cb, ca)
    assert plate_distance(ca, cb) <= max(len(ca), len(cb))


def test_other_edits_cost_one() -> None:
    assert plate_distance("51A12345", "51A12346") == 1.0
    assert plate_distance("51A12345", "51A1234") == 1.0
    assert plate_distance("51A12345", "51A72345") == 0.5
    assert plate_distance("51D12345", "51O12345") == 0.5
    assert confusable("8", "B") and not confusable("8", "3")


def test_fuzzy_limit_and_ranking() -> None:
    choices = ["51A12345", "51A72345", "51A12346", "51A72346", "99Z99999"]
    found = fuzzy_matches("51A12345", choices, limit=1.0)
    assert found == [(0, 0.0), (1, 0.5), (2, 1.0)]
    assert [p for p, _ in fuzzy_matches("51A12345", choices, limit=1.5)] == [0, 1, 2, 3]
    assert fuzzy_matches("51A12345", [], limit=1.0) == []


def test_wildcards() -> None:
    compacts = pa.array(["51A12345", "51A12399", "51B12345", "59X112345"])
    assert list(wildcard_matches(compact_query("51A-123*"), compacts)) == [0, 1]
    assert list(wildcard_matches(compact_query("51?12345"), compacts)) == [0, 2]
    assert list(wildcard_matches(compact_query("*2345"), compacts)) == [0, 2, 3]
    assert list(wildcard_matches(compact_query("51A-123.4?"), compacts)) == [0]


@pytest.mark.parametrize("bad", ["", "---", "**", "x" * 40])
def test_bad_queries(bad: str) -> None:
    with pytest.raises(SearchError):
        compact_query(bad)


@pytest.mark.parametrize("limit", [-1.0, 99.0, float("nan")])
def test_bad_limits(limit: float) -> None:
    with pytest.raises(SearchError):
        validate_limit(limit)


def test_injection_shaped_text_is_only_characters() -> None:
    assert compact_query("51A'; DROP TABLE reads; --") == "51ADROPTABLEREADS"
    assert similarity(0.0, limit=1.0) == 1.0
    assert similarity(2.0, limit=1.0) == 0.0
