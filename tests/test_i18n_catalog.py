"""The message catalogs against the code: every marked text translated in every language
with the same placeholders, none left over; Vietnamese dates and numbers; a user's language
kept in the store."""

from __future__ import annotations

import ast
import os
import string
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message

from tracing import i18n, settings
from tracing.i18n_catalogs import extract, read_catalog, translated
from tracing.store import Store
from tracing.timefmt import local_time

MARKERS = {"_", "n_", "N_", "gettext", "ngettext"}


@pytest.fixture(scope="module")
def template() -> Catalog:
    return extract()


def forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def fields(text: str) -> set[str]:
    """The named placeholders of ``text`` (ValueError on a stray brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_extraction_finds_the_pages_and_the_library(template: Catalog) -> None:
    places = {path.split("/")[0] for m in template for path, _ in m.locations}
    assert {"app.py", "app_pages", "tracing"} <= places
    assert len(template) > 50


@pytest.mark.parametrize("language", list(settings.LANGUAGES))
def test_every_message_is_translated_and_none_is_left_over(template: Catalog,
                                                            language: str) -> None:
    catalog = read_catalog(language)
    missing = [m.id for m in template if m.id and not _done(catalog.get(m.id))]
    assert not missing, f"untranslated in {language} (run `make messages`): {missing}"
    extra = [m.id for m in catalog if m.id and template.get(m.id) is None]
    assert not extra, f"obsolete in {language} (run `make messages`): {extra}"


def _done(message: Message | None) -> bool:
    return message is not None and translated(message)


@pytest.mark.parametrize("language", list(settings.LANGUAGES))
def test_placeholders_are_kept(language: str) -> None:
    for message in read_catalog(language):
        if not message.id:
            continue
        wanted = [fields(text) for text in forms(message.id)]
        assert all(f == wanted[0] for f in wanted), message.id
        for text in forms(message.string):
            assert fields(text) == wanted[0], (message.id, text)


def test_no_f_string_is_marked() -> None:
    """``_(f"...")`` cannot be in a catalog: texts take named placeholders instead."""
    root = settings.REPO_ROOT
    for path in [root / "app.py", *root.glob("app_pages/*.py"), *root.glob("tracing/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) in MARKERS:
                bad = [a for a in node.args if isinstance(a, ast.JoinedStr)]
                assert not bad, f"{path.relative_to(root)}:{node.lineno}: f-string in a message"


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def test_vietnamese_dates_and_numbers() -> None:
    moment = datetime(2026, 3, 2, 1, 5, 9, tzinfo=UTC)  # 08:05:09 in Ho Chi Minh City
    assert i18n.format_datetime("vi", moment) == "02/03/2026 08:05:09"
    assert i18n.format_datetime("vi", moment, seconds=False) == "02/03/2026 08:05"
    assert i18n.format_datetime("vi", moment, with_date=False) == "08:05:09"
    assert i18n.format_date("vi", date(2026, 3, 2)) == "02/03/2026"
    assert i18n.format_number("vi", 12345.678, decimals=1) == "12.345,7"
    assert i18n.format_percent("vi", 0.1234, decimals=1) == "12,3%"
    assert i18n.format_percent("vi", 0.05, decimals=1, signed=True) == "+5,0%"


def test_the_one_time_formatter_writes_each_language() -> None:
    moment = datetime(2026, 3, 2, 1, 5, 9, tzinfo=UTC)
    assert local_time(moment, language="vi") == "02/03/2026 08:05:09"
    assert local_time(moment.replace(tzinfo=None), seconds=False, language="vi") \
        == "02/03/2026 08:05"
    assert local_time(moment) == "2026-03-02 08:05:09"


def test_english_keeps_iso_dates_and_decimal_points() -> None:
    moment = datetime(2026, 3, 2, 1, 5, 9, tzinfo=UTC)
    assert i18n.format_datetime("en", moment) == "2026-03-02 08:05:09"
    assert i18n.format_number("en", 12345.678, decimals=1) == "12,345.7"
    assert i18n.format_percent("en", -0.05, decimals=1, signed=True) == "-5.0%"


def test_messages_and_plurals() -> None:
    assert i18n.gettext("vi", "Language") == "Ngôn ngữ"
    assert i18n.gettext("en", "Language") == "Language"
    assert i18n.gettext("vi", "no such message") == "no such message"
    assert i18n.gettext("fr", "Language") == i18n.gettext(settings.DEFAULT_LANGUAGE, "Language")
    one, many = "{n} of {total} camera", "{n} of {total} cameras"
    assert i18n.ngettext("en", one, many, 1) == one
    assert i18n.ngettext("en", one, many, 2) == many
    assert i18n.ngettext("vi", one, many, 1) == i18n.ngettext("vi", one, many, 2) \
        == "{n} trên {total} camera"


def test_a_users_language_is_kept_in_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "lang.duckdb") as store:
        assert i18n.user_language(store, "lan") is None
        i18n.remember_language(store, "lan", "en")
        i18n.remember_language(store, "lan", "vi")
        i18n.remember_language(store, "minh", "en")
        assert (i18n.user_language(store, "lan"), i18n.user_language(store, "minh")) \
            == ("vi", "en")


def test_vietnamese_is_the_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRACING_LANGUAGE"}
    out = subprocess.run([sys.executable, "-c", "from tracing import settings; "
                          "print(settings.DEFAULT_LANGUAGE)"], env=env, check=True,
                         capture_output=True, text=True, cwd=settings.REPO_ROOT)
    assert out.stdout.strip() == "vi"
