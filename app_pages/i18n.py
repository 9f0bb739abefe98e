"""The pages' language: ``_()``, ``n_()`` and local formats in this browser session's language.

Vietnamese by default (``settings.DEFAULT_LANGUAGE``); the sidebar :func:`selector` switches
it for the session, and a logged-in user's choice is kept in the store for their next login
(:func:`tracing.i18n.remember_language`). Texts take named placeholders:
``_("{n} sightings").format(n=...)``; a stored value shown to people keeps its value and
gets a label (``format_func``), so only what is shown changes with the language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from app_pages import _columns, resources
from tracing import i18n, settings
from tracing.i18n import N_
from tracing.timefmt import Instant, local_time

__all__ = ["N_", "_", "columns", "language", "n_", "number", "percent", "role_name",
           "selector", "titles", "when"]

LANGUAGE_KEY = "language"
"""Session-state key of this session's language."""
USER_KEY = "language_user"
"""Session-state key: the user whose remembered language this session has applied."""
CHOSEN_KEY = "language_chosen"
"""Session-state key: a language chosen before logging in (kept for the user then)."""
ROLE_NAMES = {"investigator": N_("investigator"), "analyst": N_("analyst"),
              "supervisor": N_("supervisor"), "admin": N_("admin")}
"""How the roles of :mod:`tracing.access.roles` are called on the pages."""


def language() -> str:
    """This session's language (``settings.DEFAULT_LANGUAGE`` until one is chosen)."""
    return i18n.known(st.session_state.get(LANGUAGE_KEY))


def _(message: str) -> str:
    """``message`` in this session's language."""
    return i18n.gettext(language(), message)


def n_(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` things in this session's language."""
    return i18n.ngettext(language(), singular, plural, n)


def role_name(role: str) -> str:
    """A role's name in this session's language."""
    return _(ROLE_NAMES.get(role, role))


def when(ts: Instant, *, seconds: bool = True, date: bool = True) -> str:
    """An instant in local time ('' when missing), written the way this session's language
    writes it (:func:`tracing.timefmt.local_time`)."""
    return local_time(ts, seconds=seconds, date=date, language=language())


def number(value: float, decimals: int = 0, *, signed: bool = False) -> str:
    """A number with this session's language's separators."""
    return i18n.format_number(language(), value, decimals=decimals, signed=signed)


def percent(share: float, decimals: int = 0, *, signed: bool = False) -> str:
    """A share in [0, 1] as a percentage with this session's language's separators."""
    return i18n.format_percent(language(), share, decimals=decimals, signed=signed)


def titles(names: Iterable[Any]) -> dict[str, str]:
    """Column name → its title in this session's language, for the known columns
    (:mod:`app_pages._columns`); what CSV exports write as their header."""
    return {str(n): _(str(n)) for n in names if str(n) in _columns.TITLES}


def columns(names: Iterable[Any], **config: Any) -> dict[str, Any]:
    """``column_config`` of a table: the known columns titled in this session's language,
    and ``config`` (column name → a label, a column config or None) on top."""
    return {**titles(names), **config}


def _choose() -> None:
    chosen = st.session_state[f"{LANGUAGE_KEY}_choice"]
    st.session_state[LANGUAGE_KEY] = chosen
    user = st.session_state.get(USER_KEY)
    if user is None:
        st.session_state[CHOSEN_KEY] = True
    else:
        i18n.remember_language(resources.store(), user, chosen)


def apply_user(user: str | None) -> None:
    """After a login, ``user``'s remembered language (once per session and user); a language
    chosen on the login page is remembered for them instead."""
    if user is None or st.session_state.get(USER_KEY) == user:
        return
    st.session_state[USER_KEY] = user
    if st.session_state.pop(CHOSEN_KEY, False):
        i18n.remember_language(resources.store(), user, language())
    elif remembered := i18n.user_language(resources.store(), user):
        st.session_state[LANGUAGE_KEY] = remembered


def selector(user: str | None) -> None:
    """The language selector in the sidebar (also on the login page)."""
    apply_user(user)
    options = list(settings.LANGUAGES)
    st.session_state[f"{LANGUAGE_KEY}_choice"] = language()
    st.sidebar.selectbox(_("Language"), options, format_func=settings.LANGUAGES.__getitem__,
                         key=f"{LANGUAGE_KEY}_choice", on_change=_choose)
