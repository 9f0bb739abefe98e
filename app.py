"""Streamlit entry point: a router over the pages the logged-in user's role may use
(``streamlit run app.py``). Nobody logged in: only the Login page."""

from __future__ import annotations

import sys
from typing import NamedTuple

import streamlit as st

from app_pages import auth, resources
from tracing.access import users
from tracing.errors import TracingError

# No icons: Streamlit fetches a Material icon used as page or favicon icon from a Google CDN.
st.set_page_config(page_title="Thủ Đức vehicle tracing", layout="wide")


class PageEntry(NamedTuple):
    section: str
    script: str
    title: str
    permission: str


# Every page with the permission it needs (tracing.access.roles). No bare strings at the top
# level of this script: Streamlit's "magic" would print them.
PAGES = (
    PageEntry("City", "app_pages/city_map.py", "Map & cameras", "map"),
    PageEntry("Investigate", "app_pages/trace.py", "Trace a vehicle", "trace"),
    PageEntry("Investigate", "app_pages/search.py", "Find a vehicle", "search"),
    PageEntry("Investigate", "app_pages/recognise.py", "Recognise plates", "recognise"),
    PageEntry("Investigate", "app_pages/review.py", "Review reads", "review"),
    PageEntry("Alerts", "app_pages/alerts.py", "Alerts", "alerts_view"),
    PageEntry("Alerts", "app_pages/geofences.py", "Geofences & watchlists", "geofences"),
    PageEntry("Supervise", "app_pages/coverage.py", "Coverage & health", "coverage"),
    PageEntry("Supervise", "app_pages/audit.py", "Audit log", "audit"),
    PageEntry("Administer", "app_pages/admin.py", "Users, devices & retention", "users"),
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
    login = st.Page("app_pages/login.py", title="Login", default=True)
    user = auth.current_user()
    if user is None or user.must_change:
        return {"": [login]}
    sections: dict[str, list[st.Page]] = {}
    for entry in PAGES:
        if auth.may(entry.permission):
            sections.setdefault(entry.section, []).append(
                st.Page(entry.script, title=entry.title, default=not sections))
    sections.setdefault("Account", []).append(
        st.Page("app_pages/login.py", title="Account", url_path="account"))
    with st.sidebar:
        st.caption(f"Logged in as **{user.name}** ({user.role})")
        if st.button("Log out"):
            auth.logout()
            st.rerun()
    return sections


try:
    first_admin(str(resources.database_path()))
    pages = navigation()
except TracingError as exc:
    st.error(f"The store cannot be opened: {exc}")
    st.stop()
st.navigation(pages).run()
