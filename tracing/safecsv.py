"""The one CSV writer of every export: text cells a spreadsheet would run are made inert.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``, ``+1+1``,
``@SUM(...)``, ``-2+3``): such text gets a leading single quote (``'=HYPERLINK(...)``),
which spreadsheets show as text; a carriage return inside a cell is written as a line feed
(which the writer quotes), so no reader splits a row there. Numbers stay numbers: numeric
columns are never touched, and a text cell that is a plain number (``-12.5``, ``+3``) is
left as it is. Everything that writes CSV for a user goes through :func:`writer` or
:func:`frame_csv`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Final, Protocol

import pandas as pd

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a cell."""
INERT_PREFIX: Final = "'"
_PLAIN_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def inert(value: object) -> object:
    """``value`` with a formula-like text made inert; anything else unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        value = INERT_PREFIX + value
    # Python's csv quotes a cell holding "\n" but not one holding a lone "\r", which
    # spreadsheets read as a line break: a crafted cell could start a row of its own
    return value.replace("\r\n", "\n").replace("\r", "\n")


class _Writer(Protocol):
    def writerow(self, row: Iterable[Any], /) -> Any: ...


class SafeWriter:
    """A :func:`csv.writer` whose rows are neutralised cell by cell."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer: _Writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([inert(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **options: Any) -> SafeWriter:
    """Like :func:`csv.writer` (same options), neutralising every text cell."""
    return SafeWriter(out, **options)


def frame_csv(frame: pd.DataFrame, **options: Any) -> str:
    """``frame.to_csv(index=False, **options)`` with its text cells neutralised (numeric,
    boolean and time columns are written as they are)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            out[name] = column.map(inert, na_action="ignore").astype(object)
    return str(out.to_csv(index=False, **options))
