"""Tests of tracing.plates: every form, every kind of bad input, scalar = vectorised."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracing.plates as plates_module
from tracing.errors import PlateError
from tracing.plates import (
    HCMC_CODES,
    PROVINCE_CODES,
    Plate,
    compact_plate,
    normalize_plate,
    normalize_plates,
    parse_plate,
    plate_columns,
)

# --- Examples ------------------------------------------------------------------------------

GOOD = [
    # car, one series letter, 5 and 4 digits
    ("51A-123.45", Plate("51", "A", "12345", "car")),
    ("51a12345", Plate("51", "A", "12345", "car")),
    ("  51 A 123 45\n", Plate("51", "A", "12345", "car")),
    ("51A-1234.5", Plate("51", "A", "12345", "car")),
    ("51A-1234", Plate("51", "A", "1234", "car")),
    ("29đ-123.45", Plate("29", "D", "12345", "car")),
    ("29Đ_123·45", Plate("29", "D", "12345", "car")),
    ("29Ð-123.45", Plate("29", "D", "12345", "car")),
    # car, two series letters
    ("51LD-123.45", Plate("51", "LD", "12345", "car")),
    ("51ld1234", Plate("51", "LD", "1234", "car")),
    # motorbike, 5 and 4 digits, two rows joined by a separator
    ("59-X1 123.45", Plate("59", "X1", "12345", "motorbike")),
    ("59X112345", Plate("59", "X1", "12345", "motorbike")),
    ("59-P1/332.02", Plate("59", "P1", "33202", "motorbike")),
    ("59-X1\n123.45", Plate("59", "X1", "12345", "motorbike")),
    ("59-X1 1234", Plate("59", "X1", "1234", "motorbike")),
    ("59x1/1234", Plate("59", "X1", "1234", "motorbike")),
    ("\u00a059-X1\u00a01234\t", Plate("59", "X1", "1234", "motorbike")),
    # ambiguous letters+digits: the car with a 5-digit number unless separators say otherwise
    ("59X11234", Plate("59", "X", "11234", "car")),
    ("59X-112.34", Plate("59", "X", "11234", "car")),
    ("59-X-1-1234", Plate("59", "X", "11234", "car")),
    # military
    ("TM-12-34", Plate("", "TM", "1234", "military")),
    ("tm1234", Plate("", "TM", "1234", "military")),
    ("KĐ 12 34", Plate("", "KD", "1234", "military")),
    # Unicode compatibility forms (NFKC): full-width, circled, em space, ideographic space
    ("５１A-123.45", Plate("51", "A", "12345", "car")),
    ("５１Ａ－１２３．４５", Plate("51", "A", "12345", "car")),
    ("⑤①a-123.45\u2003", Plate("51", "A", "12345", "car")),
    ("５９－Ｘ１\u3000１２３４", Plate("59", "X1", "1234", "motorbike")),
    ("ＴＭ１２３４", Plate("", "TM", "1234", "military")),
]


@pytest.mark.parametrize(("raw", "plate"), GOOD, ids=[repr(raw) for raw, _ in GOOD])
def test_parses_every_form_and_spelling(raw: str, plate: Plate) -> None:
    assert parse_plate(raw) == plate
    assert normalize_plate(raw) == plate.text
    assert compact_plate(raw) == plate.compact


@pytest.mark.parametrize(
    ("plate", "text"),
    [
        (Plate("51", "A", "12345", "car"), "51A-123.45"),
        (Plate("51", "A", "1234", "car"), "51A-1234"),
        (Plate("51", "LD", "12345", "car"), "51LD-123.45"),
        (Plate("51", "LD", "1234", "car"), "51LD-1234"),
        (Plate("59", "X1", "12345", "motorbike"), "59-X1 123.45"),
        (Plate("59", "X1", "1234", "motorbike"), "59-X1 1234"),
        (Plate("", "TM", "1234", "military"), "TM-12-34"),
    ],
)
def test_canonical_text(plate: Plate, text: str) -> None:
    assert plate.text == text
    assert plate.compact == compact_plate(text)
    assert parse_plate(text) == plate


BAD = [
    ("", "empty plate"),
    ("  \n ", "empty plate"),
    ("-./", "empty plate"),
    ("None", "too short"),
    ("N/A", "too short"),
    ("51A-12", "too short"),
    ("51A-123.45.67", "too long"),
    ("51A-123.45 51A-123.45", "too long"),
    ("42A-123.45", "province code 42 is not issued"),
    ("10A-123.45", "province code 10 is not issued"),
    ("96-X1 123.45", "province code 96 is not issued"),
    ("00A-123.45", "province code 00 is not issued"),
    ("5lA-123.45", "must start with a 2-digit province code"),
    ("A51-123.45", "must start with a 2-digit province code"),
    ("T1-12-34", "must start with a 2-digit province code"),
    ("511-234.56", "the series after the province code must start with a letter"),
    ("51ABC-1234", "the series must be 1–2 letters or a letter and a digit"),
    ("51A-12O.45", "the number after the series must be 4 or 5 digits"),
    ("51A-123", "the number after the series must be 4 or 5 digits"),
    ("59-X1 12A.45", "the number after the series must be 4 or 5 digits"),
    ("TM-123-45", "a military plate must be 2 letters and 4 digits"),
    ("TMX-12-34", "a military plate must be 2 letters and 4 digits"),
    ("51A–123.45", "not a letter, a digit or a separator"),  # en dash
    ("51A-123,45", "not a letter, a digit or a separator"),
    ("٥١A-123.45", "not a letter, a digit or a separator"),  # Arabic-Indic digits
    ("51Á-123.45", "not a letter, a digit or a separator"),
    ("51A-123.45🚗", "not a letter, a digit or a separator"),
    ("51A\x00123.45", "not a letter, a digit or a separator"),
    ("51A-123.45\u2028", "not a letter, a digit or a separator"),  # line separator
]


@pytest.mark.parametrize(("raw", "reason"), BAD, ids=[repr(raw) for raw, _ in BAD])
def test_rejects_bad_input_saying_why(raw: str, reason: str) -> None:
    with pytest.raises(PlateError) as caught:
        parse_plate(raw)
    assert repr(raw) in str(caught.value)
    assert reason in str(caught.value)


def test_rejects_none_and_non_strings() -> None:
    with pytest.raises(PlateError, match="missing plate"):
        parse_plate(None)  # type: ignore[arg-type]
    with pytest.raises(PlateError, match="not a string"):
        normalize_plate(51012345)  # type: ignore[arg-type]


def test_message_of_a_long_value_is_shortened() -> None:
    with pytest.raises(PlateError, match=r"^invalid plate '5+\.\.\.: too long") as caught:
        parse_plate("5" * 10_000)
    assert len(str(caught.value)) < 120


@pytest.mark.parametrize(
    ("province", "series", "number", "kind"),
    [
        ("42", "A", "12345", "car"),
        ("51", "A1", "12345", "car"),
        ("51", "A", "123", "car"),
        ("51", "AB", "12345", "motorbike"),
        ("51", "TM", "1234", "military"),
        ("", "TM", "12345", "military"),
        ("51", "A", "12345", "truck"),
    ],
)
def test_plate_checks_its_fields(province: str, series: str, number: str, kind: str) -> None:
    with pytest.raises(PlateError):
        Plate(province, series, number, kind)  # type: ignore[arg-type]


def test_province_codes() -> None:
    assert len(PROVINCE_CODES) == 81
    assert all(len(code) == 2 and code.isdigit() for code in PROVINCE_CODES)
    assert {"10", "13", "42", "44", "45", "46", "87", "91", "96"}.isdisjoint(PROVINCE_CODES)
    assert sorted(HCMC_CODES) == ["41", *(str(code) for code in range(50, 60))]
    assert [PROVINCE_CODES[c] for c in ("11", "29", "40", "60", "61", "62", "72")] == [
        "Cao Bằng", "Hà Nội", "Hà Nội", "Đồng Nai", "Bình Dương", "Long An", "Bà Rịa–Vũng Tàu",
    ]


def test_compact_plate_is_lenient() -> None:
    assert compact_plate("  xe 51a-123.45 ") == "XE51A12345"
    assert compact_plate("Hà Nội 29-Đ1") == "HANOI29D1"
    assert compact_plate("") == ""


# --- Properties ------------------------------------------------------------------------------

SEPARATORS = st.sampled_from(
    ["", "", "", "", "-", ".", " ", "/", "\n", "_", "·", "\t", "\r\n", "\u00a0", " - ", "/ "]
)
LETTERS = st.sampled_from("ABCDEFGHKLMNPSTUVXYZ")
DIGITS = st.text("0123456789", min_size=1, max_size=1)


@st.composite
def plates(draw: st.DrawFn) -> Plate:
    """Any valid plate."""
    kind = draw(st.sampled_from(["car", "motorbike", "military"]))
    number = draw(st.text("0123456789", min_size=4, max_size=4 if kind == "military" else 5))
    if kind == "military":
        return Plate("", draw(LETTERS) + draw(LETTERS), number, "military")
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    second = draw(DIGITS if kind == "motorbike" else st.one_of(st.just(""), LETTERS))
    return Plate(province, draw(LETTERS) + second, number, kind)


def _variants(ch: str) -> list[str]:
    return [ch, ch.lower(), "Đ", "đ", "Ð"] if ch == "D" else [ch, ch.lower()]


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, Plate]:
    """A valid plate spelled with random case, D-letters and separators, and its reading."""
    plate = draw(plates())
    chars = [draw(st.sampled_from(_variants(ch))) for ch in plate.compact]
    gaps = [draw(SEPARATORS) for _ in range(len(chars) + 1)]
    raw = gaps[0] + "".join(ch + gap for ch, gap in zip(chars, gaps[1:], strict=True))
    c = plate.compact
    if len(c) == 8 and c[3].isdigit():  # motorbike 59-X1 1234 or car 59X-112.34
        if gaps[3] == "" and gaps[4] != "":
            return raw, Plate(c[:2], c[2:4], c[4:], "motorbike")
        return raw, Plate(c[:2], c[2], c[3:], "car")
    return raw, plate


def _wide(ch: str) -> str:
    """The full-width (compatibility) form of a printable ASCII character."""
    return "\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def compatible_spellings(draw: st.DrawFn) -> tuple[str, Plate]:
    """A spelling with some characters in full-width form, and its reading."""
    raw, plate = draw(spellings())
    wide = draw(st.lists(st.booleans(), min_size=len(raw), max_size=len(raw)))
    return "".join(_wide(ch) if w else ch for ch, w in zip(raw, wide, strict=True)), plate


PLATE_ALPHABET = "0123456789ABDTMXdxĐđÐé-. /_·\n,"
COMPATIBILITY_ALPHABET = "０１５９ＡＤＸａｘ－．／＿①⑤²⁵ⅨⅪ\u2003\u3000\u00a0ﬁ"
"""Characters that NFKC maps to letters, digits or separators (or to several)."""
ANY_TEXT = st.one_of(
    st.text(),
    st.text(PLATE_ALPHABET, max_size=14),
    st.text(PLATE_ALPHABET + COMPATIBILITY_ALPHABET, max_size=14),
    spellings().map(lambda spelled: spelled[0]),
    compatible_spellings().map(lambda spelled: spelled[0]),
)


@given(plates())
def test_canonical_text_round_trips(plate: Plate) -> None:
    assert parse_plate(plate.text) == plate
    assert normalize_plate(plate.text) == plate.text
    assert compact_plate(plate.text) == plate.compact


@given(spellings())
def test_reads_every_tolerated_spelling(spelled: tuple[str, Plate]) -> None:
    raw, plate = spelled
    assert parse_plate(raw) == plate
    text = normalize_plate(raw)
    assert normalize_plate(text) == text
    assert compact_plate(text) == compact_plate(raw)


@given(compatible_spellings())
def test_reads_full_width_spellings(spelled: tuple[str, Plate]) -> None:
    raw, plate = spelled
    assert parse_plate(raw) == plate


@given(ANY_TEXT)
def test_any_text_normalises_or_raises_plate_error(raw: str) -> None:
    try:
        text = normalize_plate(raw)
    except PlateError as error:
        assert str(error).startswith(f"invalid plate {raw!r}"[:40])
    else:
        assert normalize_plate(text) == text
        assert compact_plate(text) == compact_plate(raw)


def _scalar(raw: str | None) -> tuple[str | None, str | None]:
    try:
        return normalize_plate(raw), None  # type: ignore[arg-type]
    except PlateError as error:
        prefix = f"invalid plate {plates_module._quote(raw)}: "
        assert str(error).startswith(prefix)
        return None, str(error).removeprefix(prefix)


UTF8_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8")),
    st.text(PLATE_ALPHABET, max_size=14),
    st.text(PLATE_ALPHABET + COMPATIBILITY_ALPHABET, max_size=14),
    spellings().map(lambda spelled: spelled[0]),
    compatible_spellings().map(lambda spelled: spelled[0]),
)


@settings(deadline=None, max_examples=60)
@given(
    values=st.lists(st.one_of(st.none(), UTF8_TEXT), max_size=16),
    arrow_type=st.sampled_from([pa.string(), pa.large_string()]),
    cut=st.one_of(st.none(), st.integers(0, 3)),
)
def test_vectorised_equals_scalar(
    values: list[str | None], arrow_type: pa.DataType, cut: int | None
) -> None:
    array = pa.array(["51A-123.45", *values], arrow_type).slice(1)  # non-zero offset
    given_values = array if cut is None else pa.chunked_array([array[:cut], array[cut:]])
    plates_, reasons = normalize_plates(given_values)
    assert len(plates_) == len(reasons) == len(values)
    expected = [_scalar(value) for value in values]
    assert list(zip(plates_.to_pylist(), reasons.to_pylist(), strict=True)) == expected
    columns = plate_columns(given_values)
    assert columns.plate.equals(plates_) and columns.reason.equals(reasons)
    assert columns.compact.to_pylist() == [
        None if plate is None else parse_plate(plate).compact for plate, _ in expected
    ]


def test_vectorised_edge_cases() -> None:
    plates_, reasons = normalize_plates(pa.array([None, None]))
    assert plates_.to_pylist() == [None, None]
    assert reasons.to_pylist() == ["missing plate", "missing plate"]
    plates_, reasons = normalize_plates(pa.chunked_array([], pa.string()))
    assert (len(plates_), len(reasons)) == (0, 0)
    plates_, _ = normalize_plates(pa.array(["51a12345", "tm1234", "51a12345"]).dictionary_encode())
    assert plates_.to_pylist() == ["51A-123.45", "TM-12-34", "51A-123.45"]
    with pytest.raises(TypeError, match="strings"):
        normalize_plates(pa.array([51012345]))
    with pytest.raises(TypeError, match="strings"):
        normalize_plates(pa.array([51012345]).dictionary_encode())


def test_vectorised_in_parallel_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [raw for raw, _ in GOOD + BAD] + [None]
    expected = [_scalar(value) for value in values]
    monkeypatch.setattr(plates_module, "_PIECE_ROWS", 4)
    plates_, reasons = normalize_plates(pa.chunked_array([values[:10], values[10:]]))
    assert list(zip(plates_.to_pylist(), reasons.to_pylist(), strict=True)) == expected
