"""Messages, dates and numbers in the user's language (``settings.LANGUAGES``).

The catalogs are ``locale/<language>/LC_MESSAGES/messages.po``, read at run time with Babel
and cached per process (no compile step: a fresh clone works). The pages mark their texts
with ``_()`` and ``n_()`` (:mod:`app_pages.i18n`); the library looks its shown texts up with
:func:`gettext` and :func:`ngettext` directly, or marks them with :func:`N_` for the page
that shows them. ``make messages`` extracts them all (``babel.cfg``) into the catalogs.

Vietnamese dates read ``dd/MM/yyyy HH:mm:ss`` and numbers take a decimal comma; English
keeps the ISO date (``yyyy-MM-dd``). A user's choice of language is kept in the store
(:func:`remember_language`), so the next login uses it.
"""

from __future__ import annotations

import functools
import io
from datetime import date, datetime
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from tracing import settings

if TYPE_CHECKING:
    from tracing.store import Store

LOCALES: Final = {"vi": "vi_VN", "en": "en"}
"""Babel locale of each language of ``settings.LANGUAGES``."""
DATE_PATTERNS: Final = {"vi": "dd/MM/yyyy", "en": "yyyy-MM-dd"}
"""How each language writes a date (CLDR pattern)."""
USER_KEY: Final = "language:{user}"
"""``store_meta`` key of the language a user chose last."""
_ZONE: Final = ZoneInfo(settings.LOCAL_TZ)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a marker
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def known(language: object) -> str:
    """``language`` when the app has it, else ``settings.DEFAULT_LANGUAGE`` (or Vietnamese
    when that is no language of the app either)."""
    for candidate in (language, settings.DEFAULT_LANGUAGE):
        if isinstance(candidate, str) and candidate in settings.LANGUAGES:
            return candidate
    return "vi"


@functools.cache
def translations(language: str) -> Translations:
    """The catalog of ``language`` (read once per process; fuzzy entries ignored)."""
    path = settings.LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=LOCALES[language])
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def gettext(language: str, message: str) -> str:
    """``message`` in ``language`` (the message itself when it has no translation)."""
    return translations(known(language)).gettext(message)


def ngettext(language: str, singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` things, in ``language``."""
    return translations(known(language)).ngettext(singular, plural, n)


def format_datetime(language: str, moment: datetime, *, seconds: bool = True,
                    with_date: bool = True) -> str:
    """An aware ``moment`` in local time as ``language`` writes it (Vietnamese
    ``02/03/2026 08:05:09``, English ``2026-03-02 08:05:09``); ``seconds`` False drops the
    seconds, ``with_date`` False the date."""
    language = known(language)
    clock = "HH:mm:ss" if seconds else "HH:mm"
    pattern = f"{DATE_PATTERNS[language]} {clock}" if with_date else clock
    return dates.format_datetime(moment, pattern, tzinfo=_ZONE, locale=LOCALES[language])


def format_date(language: str, day: date) -> str:
    """A calendar day as ``language`` writes it (``02/03/2026``, ``2026-03-02``)."""
    language = known(language)
    return dates.format_date(day, DATE_PATTERNS[language], locale=LOCALES[language])


def _pattern(decimals: int, suffix: str = "", *, signed: bool = False) -> str:
    body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + suffix
    return f"+{body};-{body}" if signed else body


def format_number(language: str, value: float, *, decimals: int = 0,
                  signed: bool = False) -> str:
    """``value`` rounded to ``decimals`` with ``language``'s separators (``1.234,5``,
    ``1,234.5``); ``signed``: a plus sign on positive values too."""
    language = known(language)
    return numbers.format_decimal(value, _pattern(decimals, signed=signed),
                                  locale=LOCALES[language])


def format_percent(language: str, share: float, *, decimals: int = 0,
                   signed: bool = False) -> str:
    """A share in [0, 1] as a percentage (``12,5%``, ``12.5%``)."""
    language = known(language)
    return numbers.format_percent(share, _pattern(decimals, "%", signed=signed),
                                  locale=LOCALES[language])


def user_language(store: Store, user: str) -> str | None:
    """The language ``user`` chose last, or None (never chose, or no longer offered)."""
    with store.reader() as con:
        row = con.execute("SELECT value FROM store_meta WHERE key = ?",
                          [USER_KEY.format(user=user)]).fetchone()
    return str(row[0]) if row and row[0] in settings.LANGUAGES else None


def remember_language(store: Store, user: str, language: str) -> None:
    """Keep ``language`` as ``user``'s choice for their next login."""
    key = USER_KEY.format(user=user)
    with store.writer() as con:
        con.execute("DELETE FROM store_meta WHERE key = ?", [key])
        con.execute("INSERT INTO store_meta VALUES (?, ?)", [key, known(language)])
