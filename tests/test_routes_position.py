"""The estimated position along a route (:func:`tracing.routes.position.position_at`) on a
hand-built leg: a straight road of three nodes driven in two minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import networkx as nx
import pytest
import shapely

from tracing.routes import CandidatePath, RouteLeg, Sighting
from tracing.routes.position import position_at

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def graph() -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for n, x in ((1, 106.70), (2, 106.71), (3, 106.73)):
        g.add_node(n, x=x, y=10.80 + (n - 1) / 100)
    return g


def leg(index: int, start_s: float, *, path: bool = True) -> RouteLeg:
    """Node 1 at ``start_s``, node 2 a minute later, node 3 two minutes later."""
    times = tuple(T0 + timedelta(seconds=start_s + s) for s in (0, 60, 120))
    best = CandidatePath(osm_nodes=(1, 2, 3), times=times,
                         geometry=shapely.LineString([(106.70, 10.80), (106.73, 10.82)]),
                         length_m=3000.0, free_flow_s=120.0, missed_cameras=(),
                         probability=1.0, rank=0)
    return RouteLeg(index=index, trip=0, start=Sighting("A", times[0]),
                    end=Sighting("B", times[-1]), candidates=(best,) if path else ())


def test_position_is_interpolated_between_the_nodes_by_their_times() -> None:
    g, legs = graph(), [leg(0, 0)]
    assert position_at(g, legs, T0) == pytest.approx((10.80, 106.70))
    assert position_at(g, legs, T0 + timedelta(seconds=30)) == pytest.approx((10.805, 106.705))
    assert position_at(g, legs, T0 + timedelta(seconds=90)) == pytest.approx((10.815, 106.72))
    assert position_at(g, legs, T0 + timedelta(seconds=120)) == pytest.approx((10.82, 106.73))


def test_no_position_outside_the_legs_or_on_a_leg_without_a_path() -> None:
    g = graph()
    assert position_at(g, [leg(0, 0)], T0 - timedelta(seconds=1)) is None
    assert position_at(g, [leg(0, 0)], T0 + timedelta(seconds=121)) is None
    assert position_at(g, [leg(0, 0, path=False)], T0 + timedelta(seconds=30)) is None
    later = [leg(0, 0, path=False), leg(1, 0)]
    assert position_at(g, later, T0 + timedelta(seconds=60)) == pytest.approx((10.81, 106.71))
