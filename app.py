"""Streamlit entry point: a router over the app's pages (``streamlit run app.py``)."""

from __future__ import annotations

import streamlit as st

# No icons: Streamlit fetches a Material icon used as page or favicon icon from a Google CDN.
st.set_page_config(page_title="Thủ Đức vehicle tracing", layout="wide")

pages = {
    "City": [
        st.Page("app_pages/city_map.py", title="Map & cameras", default=True),
    ],
    "Investigate": [
        st.Page("app_pages/trace.py", title="Trace a vehicle"),
        st.Page("app_pages/search.py", title="Find a vehicle"),
    ],
    "Supervise": [
        st.Page("app_pages/coverage.py", title="Coverage & health"),
    ],
}
st.navigation(pages).run()
