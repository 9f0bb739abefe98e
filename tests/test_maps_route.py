"""The route layers of a folium map (:mod:`tracing.route_maps`), the one drawing of a route
that the Trace page and an alert's recent path share."""

from __future__ import annotations

from typing import Any

import folium
import pandas as pd
import pytest

from tests.test_routes import registry, seen, small_graph
from tracing import maps, route_maps
from tracing.routes import Route, build_path_cache, reconstruct_route


@pytest.fixture(scope="module")
def cameras() -> pd.DataFrame:
    return registry().assign(name=["Ngã tư A", "Cầu B", ""])


@pytest.fixture(scope="module")
def route(cameras: pd.DataFrame) -> Route:
    """Two trips of one leg each (A then B, twice, five hours apart), three paths a leg."""
    g = small_graph()
    sightings = [seen("A", 0), seen("B", 140), seen("A", 5 * 3600), seen("B", 5 * 3600 + 140)]
    return reconstruct_route(g, sightings, cache=build_path_cache(g, cameras), k=3)


def layers(fmap: folium.Map) -> dict[str, list[Any]]:
    """Layer name → the elements drawn in it."""
    return {c.layer_name: list(c._children.values()) for c in fmap._children.values()
            if isinstance(c, folium.FeatureGroup)}


def tooltip(element: Any) -> str:
    return next(str(c.text) for c in element._children.values()
                if isinstance(c, folium.Tooltip))


def test_a_route_draws_its_paths_and_numbered_sightings(route: Route,
                                                       cameras: pd.DataFrame) -> None:
    drawn = layers(route_maps.add_route(maps.base_map(), route, cameras))
    best, others = drawn["Most probable paths"], drawn["Alternative paths"]
    assert len(best) == 2 and len(others) == 4
    assert {p.options["color"] for p in best} == {route_maps.BEST_COLOUR}
    assert {p.options["dashArray"] for p in others} == {"6 6"}
    assert tooltip(best[0]).startswith("Leg 1 · path 1: ")
    assert [tooltip(m) for m in drawn["Sightings"]] == [
        "1. 2026-03-02 08:00:00 · Ngã tư A", "2. 2026-03-02 08:02:20 · Cầu B",
        "3. 2026-03-02 13:00:00 · Ngã tư A", "4. 2026-03-02 13:02:20 · Cầu B"]


def test_one_trip_in_another_colour(route: Route, cameras: pd.DataFrame) -> None:
    fmap = route_maps.add_route(maps.base_map(), route, cameras, trip=1, colour="#1f618d")
    drawn = layers(fmap)
    (best,) = drawn["Most probable paths"]
    assert best.options["color"] == "#1f618d" and tooltip(best).startswith("Leg 2 ·")
    assert [tooltip(m)[:2] for m in drawn["Sightings"]] == ["3.", "4."]
    assert "#1f618d" in drawn["Sightings"][0].icon.options["html"]


def test_the_map_fits_the_route_and_the_extra_points(route: Route,
                                                    cameras: pd.DataFrame) -> None:
    def bounds(fmap: folium.Map) -> list[list[float]]:
        fit = next(c for c in fmap._children.values() if isinstance(c, folium.FitBounds))
        return [list(corner) for corner in fit.bounds]

    south, west = 10.79, 106.69
    fitted = route_maps.fit_route(maps.base_map(), route, cameras, also=[(south, west)])
    lats = [lat for leg in route.legs if leg.best for _, lat in leg.best.geometry.coords]
    lons = [lon for leg in route.legs if leg.best for lon, _ in leg.best.geometry.coords]
    assert bounds(fitted) == [[south, west], [max(lats), max(lons)]]
    only = route_maps.fit_route(maps.base_map(), route, cameras, trip=1)
    assert bounds(only) == [[min(lats), min(lons)], [max(lats), max(lons)]]


def test_the_estimated_position_is_a_marker() -> None:
    fmap = route_maps.add_position(maps.base_map(), (10.8, 106.7))
    (marker,) = [c for c in fmap._children.values() if isinstance(c, folium.CircleMarker)]
    assert marker.location == [10.8, 106.7] and tooltip(marker) == "Estimated position"
