"""Shared, cached resources of the app's pages (loaded once per server process)."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pandas as pd
import shapely
import streamlit as st

from tracing import boundaries, maps, network, settings
from tracing.routes import PathCache, load_path_cache
from tracing.store import Store
from tracing.vehicles import VehicleClass

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


ROUTING_COLUMNS = ("id", "edge_u", "edge_v", "edge_key", "lon", "lat", "is_lpr", "status",
                   "directions")
"""Registry columns the route engine reads (a change makes a new cache view)."""


def path_cache(cameras: gpd.GeoDataFrame, vehicle_class: VehicleClass = "car") -> PathCache:
    """The camera path cache of the road graph for a vehicle class, with this registry's
    cameras (pairs searched when first needed, ~5 ms each, and kept in memory)."""
    columns = [c for c in ROUTING_COLUMNS if c in cameras.columns]
    text = pd.DataFrame(cameras[columns]).to_csv(index=False)
    return _path_cache(hashlib.sha256(text.encode()).hexdigest(), vehicle_class, cameras)


@st.cache_resource(show_spinner="Preparing camera-to-camera paths…", max_entries=8)
def _path_cache(key: str, vehicle_class: VehicleClass, _cameras: gpd.GeoDataFrame
                ) -> PathCache:
    return load_path_cache(road_graph(), _cameras, pairs=False, vehicle_class=vehicle_class)
