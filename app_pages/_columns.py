"""Titles of the table columns the pages show and export: each column name of the library's
frames is its own message, so English keeps the name and other languages translate it
(``app_pages.i18n.columns`` for tables, ``app_pages.i18n.titles`` for CSV headers)."""

from __future__ import annotations

from tracing.i18n import N_

TITLES = frozenset({
    # camera registry
    N_("code"), N_("name"), N_("ward"), N_("is_lpr"), N_("heading"), N_("heading_known"),
    N_("road"), N_("status"), N_("snap_distance_m"), N_("lon"), N_("lat"), N_("id"),
})
