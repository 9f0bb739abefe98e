"""Shared pieces of the alert tests: four hand-placed cameras in Thủ Đức and reads.

Cameras west to east on one latitude, about 1.1 km apart: A (106.760), B (106.770),
C (106.780); D far to the north-east (106.800, 10.870).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import pandas as pd
import shapely
from shapely.geometry import LineString, Polygon

from tracing import settings
from tracing.store import Store

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
LAT = 10.850
CAMERAS = pd.DataFrame({
    "id": ["A", "B", "C", "D"], "code": ["CAM A", "CAM B", "CAM C", "CAM D"],
    "name": ["a", "b", "c", "d"], "lon": [106.760, 106.770, 106.780, 106.800],
    "lat": [LAT, LAT, LAT, 10.870], "is_lpr": [True] * 4, "status": ["up"] * 4,
})


def box(lon: float, lat: float = LAT, half: float = 0.003) -> shapely.Polygon:
    """A square fence of ±``half`` degrees around a point."""
    return shapely.box(lon - half, lat - half, lon + half, lat + half)


def new_store(path: Path) -> Store:
    """A fresh store holding the four cameras."""
    store = Store(path)
    store.replace_cameras(CAMERAS)
    return store


def reads(*rows: tuple[str, str, float], prefix: str = "r", start: datetime = T0
          ) -> pd.DataFrame:
    """Reads (plate, camera, minutes after ``start``) with read ids ``<prefix><n>``."""
    return pd.DataFrame({
        "read_id": [f"{prefix}{i}" for i in range(len(rows))],
        "plate": [r[0] for r in rows], "camera_id": [r[1] for r in rows],
        "ts": [(start + timedelta(minutes=r[2])).isoformat() for r in rows],
        "confidence": [0.9] * len(rows),
    })


def gateway_graph() -> tuple[nx.MultiDiGraph, Polygon]:
    """City: a square around (106.77, 10.85). Roads: "Main" enters from the west twice
    (two carriageways 50 m apart) and from the east; a residential road enters from the
    south; all two-way except the carriageways."""
    outline = box(106.77, half=0.01)
    graph = nx.MultiDiGraph(crs=settings.WGS84)
    nodes = {1: (106.75, 10.85), 2: (106.77, 10.85), 3: (106.75, 10.8505), 4: (106.77, 10.8505),
             5: (106.79, 10.85), 6: (106.77, 10.83), 7: (106.77, 10.845)}
    for node, (x, y) in nodes.items():
        graph.add_node(node, x=x, y=y)
    roads = [(1, 2, "Main", "primary"), (3, 4, "Main", "primary"), (5, 2, "Main", "primary"),
             (2, 5, "Main", "primary"), (6, 7, "Lane", "residential")]
    for u, v, name, highway in roads:
        graph.add_edge(u, v, key=0, name=name, highway=highway, length=1000.0,
                       geometry=LineString([nodes[u], nodes[v]]))
    return graph, outline
