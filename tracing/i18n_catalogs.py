"""Keeping the message catalogs in step with the code (``make messages``).

:func:`extract` finds every marked text (``babel.cfg``: ``_()``/``n_()`` on the pages,
``gettext``/``ngettext``/``N_`` in the library); :func:`refresh` merges them into each
language's ``messages.po``: new texts come in untranslated (English: the text itself),
texts gone from the code are dropped (a changed text is a new one). An entry marked *fuzzy*
is not used until a translator checks it. ``python -m tracing.i18n_catalogs``
runs :func:`refresh` and prints what is left to translate.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from tracing import settings
from tracing.files import replace_file
from tracing.i18n import LOCALES

SOURCE_DIRS: Final = ("app_pages", "tracing")
"""Folders holding marked texts (besides ``app.py``); the rest of the tree is not walked."""
HEADER: Final = ("# {name} messages of thuduc-tracing (Thủ Đức vehicle tracing).\n"
                 "# Refresh with `make messages`; translate every empty or fuzzy entry.")


def catalog_path(language: str, root: Path = settings.REPO_ROOT) -> Path:
    """Where the catalog of ``language`` lives."""
    return root / "locale" / language / "LC_MESSAGES" / "messages.po"


def extract(root: Path = settings.REPO_ROOT) -> Catalog:
    """Every text the code marks for translation, as a template catalog."""
    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]

    def wanted(path: str) -> bool:
        parts = Path(os.path.relpath(path, root)).parts
        return parts == (".",) or (parts[0] in SOURCE_DIRS and "__pycache__" not in parts)

    template = Catalog(fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords={}, directory_filter=wanted):
        template.add(message, locations=[(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def read_catalog(language: str, root: Path = settings.REPO_ROOT) -> Catalog:
    """The catalog of ``language`` as stored (an empty one when there is none yet)."""
    path = catalog_path(language, root)
    if not path.is_file():
        return Catalog(locale=LOCALES[language], domain="messages", project="thuduc-tracing",
                       header_comment=HEADER.format(name=settings.LANGUAGES[language]),
                       fuzzy=False)
    with path.open("rb") as handle:
        return read_po(handle, locale=LOCALES[language])


def translated(message: Message) -> bool:
    """Whether ``message`` has every form translated and is not marked fuzzy."""
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return not message.fuzzy and all(forms)


def refresh(root: Path = settings.REPO_ROOT) -> dict[str, list[str]]:
    """Merge the code's texts into every catalog; per language, the texts still to
    translate (empty, or fuzzy: an entry a translator marked for review)."""
    template = extract(root)
    todo: dict[str, list[str]] = {}
    for language in settings.LANGUAGES:
        catalog = read_catalog(language, root)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        for message in catalog:
            if message.id and language == "en" and not translated(message):
                message.string, message.flags = message.id, set()
        out = io.BytesIO()
        write_po(out, catalog, width=100, ignore_obsolete=True, include_lineno=False)
        replace_file(catalog_path(language, root), out.getvalue())
        todo[language] = [str(m.id) for m in catalog if m.id and not translated(m)]
    return todo


if __name__ == "__main__":
    for lang, missing in refresh().items():
        print(f"{lang}: {len(missing)} to translate", *missing, sep="\n  ")
