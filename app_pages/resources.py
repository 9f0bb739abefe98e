"""Shared, cached resources of the app's pages (loaded once per server process)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import shapely
import streamlit as st

from tracing import boundaries, maps, network, settings
from tracing.routes import PathCache, load_path_cache
from tracing.routes.pathcache import lpr_cameras
from tracing.store import Store

logger = logging.getLogger(__name__)


def database_path() -> Path:
    """The database the app works on: ``TRACING_DB`` or the demo database."""
    return Path(os.environ.get("TRACING_DB", str(settings.DEMO_DB)))


@st.cache_resource(show_spinner="Loading the road network…")
def road_graph() -> nx.MultiDiGraph:
    return network.load_network()


@st.cache_resource(show_spinner=False)
def road_edges() -> gpd.GeoDataFrame:
    return ox.graph_to_gdfs(road_graph(), nodes=False)


@st.cache_resource(show_spinner=False)
def wards() -> gpd.GeoDataFrame:
    return boundaries.load_wards()


@st.cache_resource(show_spinner=False)
def outline() -> shapely.Geometry:
    return boundaries.load_outline()


def store() -> Store:
    """The store of :func:`database_path` (one handle per file and server process)."""
    return _store(str(database_path()))


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path)


@st.cache_resource(show_spinner=False)
def main_roads_geojson() -> str:
    return maps.roads_geojson(road_edges())


def path_cache(cameras: gpd.GeoDataFrame) -> PathCache:
    """The camera-pair path cache of the road graph and this registry (one per registry)."""
    text = lpr_cameras(cameras).to_csv(index=False)
    return _path_cache(hashlib.sha256(text.encode()).hexdigest(), cameras)


@st.cache_resource(show_spinner="Preparing camera-to-camera paths…", max_entries=4)
def _path_cache(key: str, _cameras: gpd.GeoDataFrame) -> PathCache:
    return load_path_cache(road_graph(), _cameras)
