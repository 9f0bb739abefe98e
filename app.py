"""Streamlit entry point: a router over the app's pages (``streamlit run app.py``)."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Thủ Đức vehicle tracing", page_icon=":material/travel_explore:",
                   layout="wide")

pages = {
    "City": [
        st.Page("app_pages/city_map.py", title="Map & cameras", icon=":material/map:",
                default=True),
    ],
    "Investigate": [
        st.Page("app_pages/trace.py", title="Trace a vehicle", icon=":material/route:"),
        st.Page("app_pages/search.py", title="Find a vehicle", icon=":material/search:"),
    ],
}
st.navigation(pages).run()
