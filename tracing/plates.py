"""Vietnamese licence plates: the one grammar shared by ingest, search, the simulator and OCR.

Canonical forms (``Plate.text``):

* car: ``51A-123.45``, older 4-digit ``51A-1234``, two-letter series ``51LD-123.45``;
* motorbike (series = letter + digit): ``59-X1 123.45`` or ``59-X1 1234`` (one space
  between the two rows of the plate);
* military (red plates, no province code): two letters and four digits, ``TM-12-34``.

Province codes follow Circular 58/2020/TT-BCA; a plate with a code that is not issued is
rejected.

Input tolerance: the text is first put in Unicode NFKC form (full-width ``５１Ａ``, circled
``①`` and other compatibility forms become plain letters and digits); then any case;
``Đ``/``đ`` (and the look-alike ``Ð``) read as ``D``; the separators ``-`` ``.`` ``/``
``_`` ``·``, space, tab, newline, carriage return and no-break space may stand anywhere
between or around the characters (``59-P1/332.02``). Any other character, a wrong length,
or a letter where the grammar wants a digit (or the reverse) raises :class:`PlateError`.
OCR confusions (``O``/``0``, ``I``/``1`` …) are *not* corrected: changing a character
silently would merge different vehicles.

Ambiguity: ``59X11234`` reads as motorbike ``59-X1 1234`` or as car ``59X-112.34``. The
motorbike reading is taken only when the separators show it: a separator right after the
series digit and none between the series letter and that digit (``59-X1 1234``,
``59X1/1234``). Every other spelling reads as the car with a 5-digit number, because all
plates issued in the last decade have 5 digits. Nowhere else do separators change the
reading, and they never make a plate invalid: ``51A-1234.5`` is ``51A-123.45`` and
``51A-123.456`` is motorbike ``51-A1 234.56``.

Errors read ``invalid plate '<raw>': <reason>``; the reason names the first rule broken.
:func:`normalize_plates` applies the same rules to a whole Arrow array, giving the reason
per row (:func:`plate_columns` gives the compact form too): NFKC of the non-ASCII rows with
:mod:`unicodedata` (exactly as :func:`parse_plate`), byte-level cleaning with lookup tables
(Arrow's regex *replace* kernels cost ~0.5 µs a row), Arrow regex *match* kernels for the
grammar and the reasons, one thread per CPU over pieces of the array.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tracing.errors import PlateError

__all__ = [
    "HCMC_CODES",
    "PROVINCE_CODES",
    "Plate",
    "PlateKind",
    "compact_plate",
    "normalize_plate",
    "normalize_plates",
    "parse_plate",
    "plate_columns",
]

PlateKind = Literal["car", "motorbike", "military"]


def _codes(names: Mapping[str, Iterable[int]]) -> dict[str, str]:
    return {f"{code:02d}": name for name, codes in names.items() for code in codes}


PROVINCE_CODES: Final[Mapping[str, str]] = MappingProxyType(dict(sorted(_codes({
    "Cao Bằng": [11], "Lạng Sơn": [12], "Quảng Ninh": [14], "Hải Phòng": [15, 16],
    "Thái Bình": [17], "Nam Định": [18], "Phú Thọ": [19], "Thái Nguyên": [20],
    "Yên Bái": [21], "Tuyên Quang": [22], "Hà Giang": [23], "Lào Cai": [24],
    "Lai Châu": [25], "Sơn La": [26], "Điện Biên": [27], "Hòa Bình": [28],
    "Hà Nội": [29, 30, 31, 32, 33, 40], "Hải Dương": [34], "Ninh Bình": [35],
    "Thanh Hóa": [36], "Nghệ An": [37], "Hà Tĩnh": [38], "Đồng Nai": [39, 60],
    "TP. Hồ Chí Minh": [41, *range(50, 60)], "Đà Nẵng": [43], "Đắk Lắk": [47],
    "Đắk Nông": [48], "Lâm Đồng": [49], "Bình Dương": [61], "Long An": [62],
    "Tiền Giang": [63], "Vĩnh Long": [64], "Cần Thơ": [65], "Đồng Tháp": [66],
    "An Giang": [67], "Kiên Giang": [68], "Cà Mau": [69], "Tây Ninh": [70],
    "Bến Tre": [71], "Bà Rịa–Vũng Tàu": [72], "Quảng Bình": [73], "Quảng Trị": [74],
    "Thừa Thiên Huế": [75], "Quảng Ngãi": [76], "Bình Định": [77], "Phú Yên": [78],
    "Khánh Hòa": [79], "Cơ quan trung ương (Cục Cảnh sát giao thông)": [80],
    "Gia Lai": [81], "Kon Tum": [82], "Sóc Trăng": [83], "Trà Vinh": [84],
    "Ninh Thuận": [85], "Bình Thuận": [86], "Vĩnh Phúc": [88], "Hưng Yên": [89],
    "Hà Nam": [90], "Quảng Nam": [92], "Bình Phước": [93], "Bạc Liêu": [94],
    "Hậu Giang": [95], "Bắc Kạn": [97], "Bắc Giang": [98], "Bắc Ninh": [99],
}).items())))
"""Province code → province (Circular 58/2020/TT-BCA). Not issued: 10, 13, 42, 44–46, 87,
91, 96."""

HCMC_CODES: Final = frozenset(c for c, name in PROVINCE_CODES.items() if "Hồ Chí Minh" in name)
"""Codes of Ho Chi Minh City: 41 and 50–59."""

_SEPARATORS: Final = " \t\n\r\u00a0-./_·"
_D_LETTERS: Final = "ĐđÐ"
_ALLOWED: Final = frozenset(string.ascii_letters + string.digits + _D_LETTERS + _SEPARATORS)
_TO_COMPACT: Final = str.maketrans(
    {c: c.upper() for c in string.ascii_lowercase}
    | dict.fromkeys(_D_LETTERS, "D")
    | dict.fromkeys(_SEPARATORS, None)
)


def _alternation(codes: Iterable[str]) -> str:
    return "(?:" + "|".join(sorted(codes)) + ")"


_PROVINCE: Final = _alternation(PROVINCE_CODES)
_UNISSUED: Final = _alternation({f"{i:02d}" for i in range(100)} - PROVINCE_CODES.keys())
_VALID: Final = f"{_PROVINCE}[A-Z](?:[A-Z][0-9]{{4,5}}|[0-9]{{4,6}})|[A-Z]{{2}}[0-9]{{4}}"
"""Every valid compact plate (letters and digits only): car, motorbike or military."""

_SEP: Final = "[" + _SEPARATORS.replace("-", r"\-") + "]"
_CHAR: Final = f"[0-9A-Za-z{_D_LETTERS}]"
_MOTORBIKE_GROUPING: Final = f"{_SEP}*(?:{_CHAR}{_SEP}*){{2}}{_CHAR}{_CHAR}{_SEP}"
"""Prefix of a raw plate with a separator after the 4th character and none before it."""

_MISSING: Final = "missing plate"
_BAD_CHARACTER: Final = "contains a character that is not a letter, a digit or a separator"
_RULES: Final = (
    ("", "empty plate"),
    (".{10,}", "too long: more than 9 letters and digits"),
    (".{1,5}", "too short: fewer than 6 letters and digits"),
    ("[A-Z]{2}.*", "a military plate must be 2 letters and 4 digits"),
    ("[A-Z].*|[0-9][A-Z].*", "must start with a 2-digit province code"),
    (f"({_UNISSUED}).*", r"province code \1 is not issued"),
    ("[0-9]{3}.*", "the series after the province code must start with a letter"),
    ("[0-9]{2}[A-Z]{3}.*", "the series must be 1–2 letters or a letter and a digit"),
    (".*", "the number after the series must be 4 or 5 digits"),
)
"""Why an invalid compact plate is wrong: the first fully matching rule gives the reason."""

_VALID_RE: Final = re.compile(_VALID)
_GROUPING_RE: Final = re.compile(_MOTORBIKE_GROUPING)
_RULES_RE: Final = tuple((re.compile(pattern), reason) for pattern, reason in _RULES)
_LAYOUTS: Final[Mapping[tuple[PlateKind, int, int], str]] = {
    ("military", 2, 4): "01-23-45",
    ("car", 1, 4): "012-3456",
    ("car", 1, 5): "012-345.67",
    ("car", 2, 4): "0123-4567",
    ("car", 2, 5): "0123-456.78",
    ("motorbike", 2, 4): "01-23 4567",
    ("motorbike", 2, 5): "01-23 456.78",
}
"""Canonical text by (kind, series length, number length); digit k stands for the k-th
letter or digit of the compact plate, anything else is written as is."""
_FIELDS_RE: Final[Mapping[str, re.Pattern[str]]] = {
    "car": re.compile(f"{_PROVINCE}/[A-Z]{{1,2}}/[0-9]{{4,5}}"),
    "motorbike": re.compile(f"{_PROVINCE}/[A-Z][0-9]/[0-9]{{4,5}}"),
    "military": re.compile("/[A-Z]{2}/[0-9]{4}"),
}


@dataclass(frozen=True, slots=True)
class Plate:
    """A valid plate; ``province`` is ``""`` on military plates."""

    province: str
    series: str
    number: str
    kind: PlateKind

    def __post_init__(self) -> None:
        fields = _FIELDS_RE.get(self.kind)
        if fields is None or not fields.fullmatch(f"{self.province}/{self.series}/{self.number}"):
            raise PlateError(f"invalid plate fields {self!r}")

    @property
    def text(self) -> str:
        """Canonical form: ``51A-123.45``, ``59-X1 1234``, ``TM-12-34``."""
        compact = self.compact
        layout = _LAYOUTS[self.kind, len(self.series), len(self.number)]
        return "".join(compact[int(ch)] if ch.isdigit() else ch for ch in layout)

    @property
    def compact(self) -> str:
        """Letters and digits only: ``51A12345``."""
        return f"{self.province}{self.series}{self.number}"


def _quote(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(compact: str) -> str:
    for pattern, reason in _RULES_RE:
        match = pattern.fullmatch(compact)
        if match:
            return match.expand(reason)
    raise AssertionError(compact)  # pragma: no cover - the last rule matches everything


def _read(compact: str, *, motorbike_grouping: bool) -> Plate:
    """Split a valid compact plate into its fields (see the module docstring)."""
    c = compact
    if c[0].isalpha():
        return Plate("", c[:2], c[2:], "military")
    if c[3].isalpha():
        return Plate(c[:2], c[2:4], c[4:], "car")
    if len(c) == 9 or (len(c) == 8 and motorbike_grouping):
        return Plate(c[:2], c[2:4], c[4:], "motorbike")
    return Plate(c[:2], c[2], c[3:], "car")


def parse_plate(raw: str) -> Plate:
    """Parse a plate in any tolerated spelling; raise PlateError saying what is wrong."""
    if raw is None:
        raise PlateError(f"invalid plate {_quote(raw)}: {_MISSING}")
    if not isinstance(raw, str):
        raise PlateError(f"invalid plate {_quote(raw)}: not a string")
    text = unicodedata.normalize("NFKC", raw)
    if not _ALLOWED.issuperset(text):
        raise PlateError(f"invalid plate {_quote(raw)}: {_BAD_CHARACTER}")
    compact = text.translate(_TO_COMPACT)
    if not _VALID_RE.fullmatch(compact):
        raise PlateError(f"invalid plate {_quote(raw)}: {_reason(compact)}")
    return _read(compact, motorbike_grouping=_GROUPING_RE.match(text) is not None)


def normalize_plate(raw: str) -> str:
    """Canonical text of a plate (``parse_plate(raw).text``)."""
    return parse_plate(raw).text


def compact_plate(raw: str) -> str:
    """Upper-case A–Z0–9 only, ``Đ`` → ``D``, diacritics dropped; no validation (search)."""
    text = unicodedata.normalize("NFKD", raw).upper()
    return re.sub("[^A-Z0-9]", "", text.translate({ord("Đ"): "D", ord("Ð"): "D"}))


# --- Vectorised --------------------------------------------------------------------------

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

_DROP, _KEEP, _BAD = 0, 1, 2
"""Byte classes: separator, letter or digit, not allowed."""
_BYTE_CLASS: Final = bytes(
    _KEEP if chr(b).isascii() and chr(b).isalnum() else _DROP if chr(b) in _SEPARATORS else _BAD
    for b in range(256)
)
_UPPER: Final = bytes(range(256)).upper()
_NOT_KEPT: Final = bytes(b for b in range(256) if _BYTE_CLASS[b] != _KEEP)
_MULTIBYTE: Final = tuple(
    (ch.encode(), (b"D" if ch in _D_LETTERS else b"_") + b"_" * (len(ch.encode()) - 1))
    for ch in _D_LETTERS + _SEPARATORS
    if not ch.isascii()
)
"""Allowed non-ASCII characters → ASCII of the same length: D or separators."""
_PIECE_ROWS: Final = 1 << 18
"""Rows cleaned at a time, by one thread per CPU; bounds the temporary arrays."""

_KIND_CODES: Final = {("military", 2): 0, ("car", 1): 1, ("car", 2): 2, ("motorbike", 2): 3}


def _layout_index() -> Ints:
    """Position in _LAYOUTS by kind code * 10 + compact length."""
    index = np.full(40, -1, np.int64)
    for row, (kind, series, number) in enumerate(_LAYOUTS):
        province = 0 if kind == "military" else 2
        index[_KIND_CODES[kind, series] * 10 + province + series + number] = row
    return index


_LAYOUT_INDEX: Final = _layout_index()
_LAYOUT_LENGTH: Final = np.array([len(layout) for layout in _LAYOUTS.values()], np.int64)


def _buffers(arr: pa.Array) -> tuple[Ints, bytes]:
    """Row offsets (from 0) and the UTF-8 bytes of a string or large_string array."""
    if len(arr) == 0:
        return np.zeros(1, np.int64), b""
    _, offsets_buf, data_buf = arr.buffers()
    dtype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype)[arr.offset : arr.offset + len(arr) + 1]
    offsets = offsets.astype(np.int64)
    data = b"" if data_buf is None else memoryview(data_buf)[offsets[0] : offsets[-1]].tobytes()
    return offsets - offsets[0], data


def _rows_of(positions: Ints, offsets: Ints) -> Bools:
    rows = np.zeros(len(offsets) - 1, np.bool_)
    rows[np.searchsorted(offsets, positions, side="right") - 1] = True
    return rows


def _compact(arr: pa.Array) -> tuple[Ints, Bytes, Bools]:
    """Offsets and bytes of every row's compact form, and the rows with a bad character."""
    offsets, data = _buffers(arr)
    if not data.isascii():
        for character, ascii_ in _MULTIBYTE:
            data = data.replace(character, ascii_)
    byte_class = np.frombuffer(data.translate(_BYTE_CLASS), np.uint8)
    kept = np.zeros(len(data) + 1, np.int32 if len(data) < 2**31 else np.int64)
    np.cumsum(byte_class == _KEEP, out=kept[1:])
    bad = _rows_of(np.flatnonzero(byte_class == _BAD), offsets)
    compact = np.frombuffer(data.translate(_UPPER, _NOT_KEPT), np.uint8)
    return kept[offsets].astype(np.int64), compact, bad


def _string_array(offsets: Ints, data: Bytes, valid: Bools | None = None) -> pa.Array:
    large = offsets[-1] >= 2**31
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = 0 if valid is None else len(valid) - int(np.count_nonzero(valid))
    return (pa.LargeStringArray if large else pa.StringArray).from_buffers(
        len(offsets) - 1,
        pa.py_buffer(offsets.astype(np.int64 if large else np.int32)),
        pa.py_buffer(data),
        bitmap,
        nulls,
    )


def _to_numpy(mask: pa.Array) -> Bools:
    return np.asarray(mask.to_numpy(zero_copy_only=False), np.bool_)


def _kind_codes(raw: pa.Array, rows: Ints, start: Ints, n: Ints, data: Bytes) -> Ints:
    """_KIND_CODES of the valid rows: letters at places 0 and 3, then length and grouping."""
    military, car2 = data[start] >= ord("A"), data[start + 3] >= ord("A")
    code = np.where(military, 0, np.where(car2, 2, 1))
    ambiguous = np.flatnonzero((code == 1) & (n == 8))
    spelled = raw.take(pa.array(rows[ambiguous]))
    code[ambiguous[_to_numpy(pc.match_substring_regex(spelled, "^" + _MOTORBIKE_GROUPING))]] = 3
    code[(code == 1) & (n == 9)] = 3
    return code


def _format(raw: pa.Array, offsets: Ints, data: Bytes, valid: Bools) -> pa.Array:
    """Canonical text of the valid rows (null elsewhere): write each layout's punctuation,
    then fill the other places with the compact bytes of the valid rows, in order."""
    rows = np.flatnonzero(valid)
    start, n = offsets[rows], offsets[rows + 1] - offsets[rows]
    layout = _LAYOUT_INDEX[_kind_codes(raw, rows, start, n, data) * 10 + n]
    lengths = np.zeros(len(valid), np.int64)
    lengths[rows] = _LAYOUT_LENGTH[layout]
    text_offsets = np.concatenate(([0], np.cumsum(lengths)))
    text = np.empty(text_offsets[-1], np.uint8)
    punctuation = np.zeros(len(text), np.bool_)
    for i, template in enumerate(_LAYOUTS.values()):
        begin = text_offsets[rows[layout == i]]
        for place in (place for place, ch in enumerate(template) if not ch.isdigit()):
            text[begin + place] = ord(template[place])
            punctuation[begin + place] = True
    if len(rows) < len(valid):
        data = data[np.repeat(valid, np.diff(offsets))]
    text[~punctuation] = data
    return _string_array(text_offsets, text, valid)


def _reasons(compact: pa.Array, missing: Bools, bad: Bools) -> pa.Array:
    """Reasons of rejection of invalid rows: the first rule that holds, as in parse_plate."""
    if len(compact) == 0:
        return pa.array([], pa.string())
    conditions = [pa.array(missing), pa.array(bad)]
    reasons = [pa.scalar(_MISSING), pa.scalar(_BAD_CHARACTER)]
    for pattern, template in _RULES:
        anchored = f"^(?:{pattern})$"
        conditions.append(pc.match_substring_regex(compact, anchored))
        if "\\" in template:
            reasons.append(pc.replace_substring_regex(compact, anchored, template))
        else:
            reasons.append(pa.scalar(template))
    names = [str(i) for i in range(len(conditions))]
    return pc.case_when(pa.StructArray.from_arrays(conditions, names), *reasons)


def _nfkc(raw: pa.Array) -> pa.Array:
    """The rows that are not ASCII in NFKC form, by :mod:`unicodedata` (as parse_plate)."""
    other = pc.invert(pc.fill_null(pc.string_is_ascii(raw), True))
    if not pc.any(other).as_py():
        return raw
    texts = [unicodedata.normalize("NFKC", text) for text in raw.filter(other).to_pylist()]
    return pc.replace_with_mask(raw, other, pa.array(texts, raw.type))


class PlateColumns(NamedTuple):
    """Vectorised plate parsing: one entry per input row, null where not applicable."""

    plate: pa.Array
    """Canonical text (null where invalid)."""
    compact: pa.Array
    """Letters and digits of the canonical text (null where invalid)."""
    reason: pa.Array
    """Why the row is invalid (null where valid)."""


def _normalize_piece(raw: pa.Array) -> PlateColumns:
    raw = _nfkc(raw)
    offsets, data, bad = _compact(raw)
    compact = _string_array(offsets, data)
    missing = _to_numpy(raw.is_null())
    valid = _to_numpy(pc.match_substring_regex(compact, f"^(?:{_VALID})$")) & ~bad & ~missing
    invalid = np.flatnonzero(~valid)
    reasons = _reasons(compact.take(pa.array(invalid)), missing[invalid], bad[invalid])
    reasons = pc.replace_with_mask(pa.nulls(len(raw), pa.string()), pa.array(~valid), reasons)
    return PlateColumns(_format(raw, offsets, data, valid), _string_array(offsets, data, valid),
                        reasons)


def _as_strings(values: pa.Array) -> pa.Array:
    """A string or large_string array; other text types (dictionary, view, null) are cast."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    kind = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
    text_types = (pa.types.is_null, pa.types.is_string, pa.types.is_large_string,
                  pa.types.is_string_view)
    if any(is_text(kind) for is_text in text_types):
        return values.cast(pa.string())
    raise TypeError(f"plates must be strings, not {values.type}")


def _normalize_pieces(pieces: list[pa.Array]) -> list[PlateColumns]:
    """Arrow kernels and numpy release the GIL: pieces run in parallel threads."""
    if len(pieces) == 1:
        return [_normalize_piece(pieces[0])]
    with ThreadPoolExecutor(min(len(pieces), os.cpu_count() or 1)) as pool:
        return list(pool.map(_normalize_piece, pieces))


def plate_columns(values: pa.Array | pa.ChunkedArray) -> PlateColumns:
    """Vectorised :func:`parse_plate`: canonical text, compact form and reason of each row.

    Gives exactly the scalar result for every row: the reason is the end of the message of
    the PlateError that parse_plate raises (``"missing plate"`` for a null).
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    pieces = [
        _as_strings(chunk).slice(start, _PIECE_ROWS)
        for chunk in chunks
        for start in range(0, len(chunk), _PIECE_ROWS)
    ]
    if not pieces:
        return PlateColumns(*(pa.array([], pa.string()) for _ in range(3)))
    return PlateColumns(*(pa.concat_arrays(list(column))
                          for column in zip(*_normalize_pieces(pieces), strict=True)))


def normalize_plates(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """Vectorised :func:`normalize_plate`: (canonical plate or null, reason or null) per row
    (see :func:`plate_columns`)."""
    columns = plate_columns(values)
    return columns.plate, columns.reason
