"""Streamlit entry point: a router over the pages the logged-in user's role may use
(``streamlit run app.py``). Nobody logged in: only the Login page."""

from __future__ import annotations

import sys
from typing import NamedTuple

import streamlit as st

from app_pages import auth, i18n, resources
from app_pages.i18n import N_, _
from tracing.access import users
from tracing.errors import TracingError

# No icons: Streamlit fetches a Material icon used as page or favicon icon from a Google CDN.
st.set_page_config(page_title=_("Thủ Đức vehicle tracing"), layout="wide")


class PageEntry(NamedTuple):
    section: str
    script: str
    title: str
    permission: str


# Every page with the permission it needs (tracing.access.roles); sections and titles are
# translated when the navigation is built. No bare strings at the top level of this script:
# Streamlit's "magic" would print them.
PAGES = (
    PageEntry(N_("City"), "app_pages/city_map.py", N_("Map & cameras"), "map"),
    PageEntry(N_("Investigate"), "app_pages/trace.py", N_("Trace a vehicle"), "trace"),
    PageEntry(N_("Investigate"), "app_pages/search.py", N_("Find a vehicle"), "search"),
    PageEntry(N_("Investigate"), "app_pages/recognise.py", N_("Recognise plates"), "recognise"),
    PageEntry(N_("Investigate"), "app_pages/review.py", N_("Review reads"), "review"),
    PageEntry(N_("Alerts"), "app_pages/alerts.py", N_("Alerts"), "alerts_view"),
    PageEntry(N_("Alerts"), "app_pages/geofences.py", N_("Geofences & watchlists"), "geofences"),
    PageEntry(N_("Supervise"), "app_pages/coverage.py", N_("Coverage & health"), "coverage"),
    PageEntry(N_("Supervise"), "app_pages/audit.py", N_("Audit log"), "audit"),
    PageEntry(N_("Administer"), "app_pages/admin.py", N_("Users, devices & retention"), "users"),
)


@st.cache_resource(show_spinner=False)
def first_admin(path: str) -> None:
    """On a store without accounts, create ``admin`` and print its one-time password on the
    server console (once per database and server process)."""
    secret = users.bootstrap_admin(resources.store())
    if secret is not None:
        print(f"\n*** First run of {path}: log in as '{users.FIRST_ADMIN}' with the one-time "
              f"password  {secret}  (you must change it at the first login) ***\n",
              file=sys.stderr, flush=True)


def navigation() -> dict[str, list[st.Page]]:
    """The pages of the logged-in user's role; Login (and Account) otherwise."""
    login = st.Page("app_pages/login.py", title=_("Login"), default=True)
    user = auth.current_user()
    i18n.selector(None if user is None else user.name)
    if user is None or user.must_change:
        return {"": [login]}
    sections: dict[str, list[st.Page]] = {}
    for entry in PAGES:
        if auth.may(entry.permission):
            sections.setdefault(_(entry.section), []).append(
                st.Page(entry.script, title=_(entry.title), default=not sections))
    sections.setdefault(_("Account"), []).append(
        st.Page("app_pages/login.py", title=_("Account"), url_path="account"))
    with st.sidebar:
        st.caption(_("Logged in as **{name}** ({role})").format(
            name=user.name, role=i18n.role_name(user.role)))
        if st.button(_("Log out")):
            auth.logout()
            st.rerun()
    return sections


try:
    first_admin(str(resources.database_path()))
    pages = navigation()
except TracingError as exc:
    st.error(_("The store cannot be opened: {error}").format(error=exc))
    st.stop()
st.navigation(pages).run()
