"""Every page in Vietnamese shows no English: no text that is a catalog message left
untranslated, no common English word; switching to English shows English, and a user's
choice is kept for their next login."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1.element_tree import Dataframe, Table

from tests.apptest import open_page
from tracing import i18n, settings
from tracing.i18n_catalogs import read_catalog
from tracing.store import Store

ENGLISH = frozenset({
    "the", "and", "of", "for", "with", "from", "to", "in", "on", "no", "not", "all", "by",
    "this", "that", "is", "are", "was", "be", "or", "at", "an", "a", "cameras", "plate",
    "plates", "read", "reads", "route", "alert", "alerts", "time", "date", "day", "search",
    "trace", "map", "show", "select", "upload", "download", "save", "delete", "add", "remove",
    "user", "users", "name", "password", "log"})
"""Common English words a Vietnamese page must not show ("camera" is Vietnamese too)."""
NAMES = frozenset({"OpenStreetMap", "DuckDB", "ClickHouse", "GeoJSON", "KML", "CSV", "PDF",
                   "OCR", "ALPR", "LPR", "ID", "EasyOCR", "OpenCV", "NVR", "SHA", "AI"})
"""Proper names and abbreviations a Vietnamese text keeps."""
TEXT_FIELDS = frozenset({"label", "help", "placeholder", "body", "options", "content",
                         "caption"})
"""Fields of an element's message that people read (values typed by users are not)."""
WORD = re.compile(r"(?<!\w)[A-Za-z]+(?!\w)")
CODE = re.compile(r"`[^`]*`")

PAGES: tuple[str, ...] = ()
"""Every page rendered in Vietnamese (as an administrator, who sees everything)."""


def proto_texts(message: Any) -> Iterator[str]:
    """The readable strings of an element's protobuf message, nested ones included."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if field.message_type is not None:
                yield from proto_texts(item)
            elif field.name == "spec":
                yield from chart_titles(json.loads(item))
            elif field.name in TEXT_FIELDS and isinstance(item, str):
                yield item


def chart_titles(spec: dict[str, Any]) -> Iterator[str]:
    for channel in spec.get("encoding", {}).values():
        if isinstance(channel, dict) and isinstance(channel.get("title"), str):
            yield channel["title"]


def table_headers(node: Dataframe | Table) -> Iterator[str]:
    """The column titles a table shows (configured label, else the column's name)."""
    config = json.loads(node.proto.columns or "{}") if isinstance(node, Dataframe) else {}
    frame = node.value
    names = [str(c) for c in frame.columns]
    if isinstance(node, Table):
        names += [str(i) for i in frame.index]
    elif frame.index.name is not None:
        names.append("_index")
    for name in names:
        shown = config.get(name, {})
        if not shown.get("hidden"):
            yield shown.get("label") or (frame.index.name if name == "_index" else name)


def rendered(node: Any) -> Iterator[str]:
    """Every text a user can read on the page (recursively)."""
    if isinstance(node, Dataframe | Table):
        yield from table_headers(node)
    elif getattr(node, "proto", None) is not None and hasattr(node.proto, "ListFields"):
        yield from proto_texts(node.proto)
    for child in getattr(node, "children", {}).values():
        yield from rendered(child)


def untranslated() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns of the messages Vietnamese translates: the whole text, and longer messages
    found anywhere in a text (placeholders match anything)."""
    whole, inside = [], []
    for message in read_catalog("vi"):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            if not text or text in strings or len(re.sub(r"\{\w*\}|\W", "", text)) < 3:
                continue
            pattern = ".+?".join(re.escape(p) for p in re.split(r"\{\w*\}", text))
            whole.append(pattern)
            if len(text.split()) >= 3:
                inside.append(pattern)
    return (re.compile("|".join(f"(?:{p})" for p in whole)),
            re.compile("|".join(f"(?:{p})" for p in inside)))


def english_in(texts: Iterable[str], data: Iterable[str]) -> list[str]:
    """The texts that show English (after removing data values and code)."""
    whole, inside = untranslated()
    values = sorted({v for v in data if v}, key=len, reverse=True)
    found = []
    for text in texts:
        if whole.fullmatch(text.strip()) or inside.search(text):
            found.append(text)
            continue
        plain = CODE.sub(" ", text)
        for value in values:
            plain = plain.replace(value, " ")
        words = {w for w in WORD.findall(plain) if w not in NAMES}
        if {w.lower() for w in words} & ENGLISH:
            found.append(text)
    return found


def data_values(db: Path) -> set[str]:
    """What the store holds that pages show as it is: names, codes, plates, user names."""
    with Store(db) as store, store.reader() as con:
        rows = con.execute(
            "SELECT name FROM cameras UNION SELECT code FROM cameras "
            "UNION SELECT ward FROM cameras UNION SELECT name FROM users "
            "UNION SELECT plate FROM reads").fetchall()
    return {str(r[0]) for r in rows if r[0] is not None}


@pytest.fixture
def vietnamese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "DEFAULT_LANGUAGE", "vi")


@pytest.mark.usefixtures("vietnamese")
@pytest.mark.parametrize("script", PAGES)
def test_pages_in_vietnamese_show_no_english(app_db: Path, monkeypatch: pytest.MonkeyPatch,
                                             script: str) -> None:
    at = open_page(script, app_db, monkeypatch)
    texts = list(rendered(at._tree))
    assert at.title and len(texts) > 5
    assert english_in(texts, data_values(app_db)) == []


@pytest.fixture
def own_db(tmp_path: Path) -> Path:
    """A store of its own (the users' languages stay in it)."""
    from tracing import cameras

    path = tmp_path / "languages.duckdb"
    with Store(path) as store:
        store.replace_cameras(cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv"))
    return path


@pytest.mark.usefixtures("vietnamese")
def test_the_sidebar_switches_to_english_and_the_choice_is_kept(
        own_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app.py", own_db, monkeypatch)
    assert at.title[0].value == "Thành phố Thủ Đức: đường, phường và camera"
    at.sidebar.selectbox[0].select("en").run()
    assert at.title[0].value == "Thủ Đức City: roads, wards and cameras"
    assert [m.label for m in at.metric][:1] == ["Cameras"]
    with Store(own_db) as store:
        assert i18n.user_language(store, "test-admin") == "en"
    again = open_page("app.py", own_db, monkeypatch)  # the next login: a new session
    assert again.title[0].value == "Thủ Đức City: roads, wards and cameras"
    again.sidebar.selectbox[0].select("vi").run()
    assert again.sidebar.selectbox[0].label == "Ngôn ngữ"
