"""Vehicle classes: plates to classes, class restrictions on roads, class speeds."""

from __future__ import annotations

from datetime import UTC, datetime, time
from itertools import pairwise
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tracing import network, settings, vehicles
from tracing.errors import PlateError
from tracing.plates import PROVINCE_CODES

# --- A hand-built graph: an expressway shortcut and a street detour ----------------------------


def shortcut_graph(**fast_tags: Any) -> nx.MultiDiGraph:
    """1 -> 2 -> 5 on a fast road tagged ``fast_tags`` (2 km at 100 km/h: 72 s) and the
    street detour 1 -> 3 -> 4 -> 5 (3 km at 30 km/h: 360 s), both one-way."""
    graph = nx.MultiDiGraph(crs=settings.WGS84)
    for node in range(1, 6):
        graph.add_node(node, x=106.75 + node * 0.001, y=10.85)
    for u, v in [(1, 2), (2, 5)]:
        graph.add_edge(u, v, length=1000.0, maxspeed="100", oneway=True, **fast_tags)
    for u, v in [(1, 3), (3, 4), (4, 5)]:
        graph.add_edge(u, v, length=1000.0, highway="secondary", maxspeed="30", oneway=True)
    return network.apply_speeds(graph)


def route(graph: nx.MultiDiGraph, cls: vehicles.VehicleClass, **kw: Any) -> list[int]:
    path: list[int] = nx.shortest_path(vehicles.allowed_subgraph(graph, cls, **kw), 1, 5,
                                       weight="travel_time")
    return path


SHORTCUT, DETOUR = [1, 2, 5], [1, 3, 4, 5]


@pytest.mark.parametrize("tags", [
    {"highway": "motorway"},
    {"highway": "motorway_link"},
    {"highway": "motorway", "motorcycle": "yes"},  # expressways are closed by law
    {"highway": "trunk", "motorroad": "yes"},
    {"highway": "primary", "motorcycle": "no"},
    {"highway": "primary", "motor_vehicle": "yes", "motorcycle": "private"},
    {"highway": ["motorway_link", "trunk"]},  # a merged edge
    {"highway": "primary", "motorcycle": ["no", "yes"]},
])
def test_motorbike_never_takes_a_closed_road(tags: dict[str, Any]) -> None:
    graph = shortcut_graph(**tags)
    assert route(graph, "car") == SHORTCUT
    assert route(graph, "motorbike") == DETOUR
    assert nx.shortest_path(graph, 1, 5, weight="travel_time") == SHORTCUT


@pytest.mark.parametrize("tags", [
    {"highway": "trunk"},
    {"highway": "trunk", "motorroad": "no"},
    {"highway": "trunk", "motorroad": "yes", "motorcycle": "yes"},  # explicit wins
    {"highway": "primary", "motor_vehicle": "no", "motorcycle": "designated"},
])
def test_motorbike_takes_an_open_road(tags: dict[str, Any]) -> None:
    assert route(shortcut_graph(**tags), "motorbike") == SHORTCUT


def test_motor_vehicle_no_closes_the_road_to_every_class() -> None:
    graph = shortcut_graph(highway="primary", motor_vehicle="no")
    for cls in vehicles.VEHICLE_CLASSES:
        assert route(graph, cls) == DETOUR


def test_truck_respects_hgv() -> None:
    graph = shortcut_graph(highway="primary", hgv="no")
    assert route(graph, "truck") == DETOUR
    assert route(graph, "car") == route(graph, "bus") == route(graph, "motorbike") == SHORTCUT
    assert route(shortcut_graph(highway="primary", hgv="delivery"), "truck") == SHORTCUT
    assert route(shortcut_graph(highway="primary", motor_vehicle="no", hgv="yes"),
                 "truck") == SHORTCUT


def test_truck_respects_hgv_conditional_at_the_local_time() -> None:
    graph = shortcut_graph(highway="primary", **{"hgv:conditional": "no @ (06:00-22:00)"})
    assert route(graph, "truck", when=time(8, 0)) == DETOUR
    assert route(graph, "truck", when=time(23, 0)) == SHORTCUT
    assert route(graph, "truck") == SHORTCUT  # no time: the window may not have applied
    # 01:00 UTC is 08:00 in Ho Chi Minh City
    assert route(graph, "truck", when=datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) == DETOUR
    assert route(graph, "car", when=time(8, 0)) == SHORTCUT
    night_only = shortcut_graph(highway="primary", hgv="no",
                                **{"hgv:conditional": "yes @ (22:00-06:00)"})
    assert route(night_only, "truck", when=time(2, 0)) == SHORTCUT
    assert route(night_only, "truck", when=time(12, 0)) == DETOUR
    assert route(night_only, "truck") == DETOUR


def test_edge_allowed_is_vectorised() -> None:
    allowed = vehicles.edge_allowed(
        np.array(["motorway", "trunk", "trunk", "primary", None], dtype=object),
        [None, "yes", None, None, None],
        [None, None, "yes", float("nan"), None],
        None, None, "motorbike")
    assert allowed.tolist() == [False, True, False, True, True]
    assert vehicles.edge_allowed(["motorway"], None, None, None, None, "car").tolist() == [True]
    with pytest.raises(ValueError, match="unknown vehicle class"):
        vehicles.edge_allowed(["primary"], None, None, None, None, "tractor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="values"):
        vehicles.edge_allowed(["primary", "trunk"], ["no"], None, None, None, "motorbike")


_TAG_VALUES = {
    "highway": st.sampled_from(["motorway", "motorway_link", "trunk", "primary", "residential"]),
    "motorcycle": st.sampled_from(["yes", "no", "private", "designated", "destination"]),
    "motor_vehicle": st.sampled_from(["yes", "no", "private", "destination"]),
    "motorroad": st.sampled_from(["yes", "no"]),
    "hgv": st.sampled_from(["yes", "no", "delivery", "private"]),
    "hgv:conditional": st.sampled_from(["no @ (06:00-22:00)", "yes @ (22:00-06:00)",
                                        "no @ (Mo-Fr 07:00-09:00,16:00-19:00)"]),
}
_TAGS = st.fixed_dictionaries({}, optional={
    tag: values | st.lists(values, min_size=1, max_size=3) for tag, values in _TAG_VALUES.items()
})


@hsettings(max_examples=60, deadline=None)
@given(st.lists(_TAGS, min_size=1, max_size=8), st.sampled_from(vehicles.VEHICLE_CLASSES),
       st.none() | st.times())
def test_vectorised_matches_one_edge_at_a_time(
    rows: list[dict[str, Any]], cls: vehicles.VehicleClass, when: time | None
) -> None:
    def column(tag: str) -> list[Any]:
        return [r.get(tag) for r in rows]

    vectorised = vehicles.edge_allowed(
        column("highway"), column("motorcycle"), column("motorroad"), column("hgv"),
        column("hgv:conditional"), cls, motor_vehicle=column("motor_vehicle"), when=when)
    assert vectorised.tolist() == [vehicles.edge_allowed_data(r, cls, when=when) for r in rows]
    if cls == "car" and when is None:
        no = {"no", "private"}
        assert vectorised.tolist() == [
            not no.intersection(vehicles._values(r.get("motor_vehicle"))) for r in rows]


# --- Conditional restrictions ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "when", "expected"), [
    ("no @ (06:00-22:00)", time(6, 0), "no"),
    ("no @ (06:00-22:00)", time(21, 59), "no"),
    ("no @ (06:00-22:00)", time(22, 0), None),
    ("no @ (06:00-22:00)", time(5, 59), None),
    ("no @ 06:00-22:00", time(12, 0), "no"),  # without parentheses
    ("no @ (22:00-06:00)", time(23, 30), "no"),  # past midnight
    ("no @ (22:00-06:00)", time(3, 0), "no"),
    ("no @ (22:00-06:00)", time(12, 0), None),
    ("no @ (06:00-09:00,16:00-19:00)", time(17, 0), "no"),
    ("no @ (06:00-09:00,16:00-19:00)", time(12, 0), None),
    ("no @ (06:00-09:00); no @ (16:00-19:00)", time(18, 0), "no"),
    ("no @ (00:00-24:00)", time(23, 59), "no"),
    ("delivery @ (06:00-22:00)", time(7, 0), "delivery"),
    ("No @ ( 06:00 - 22:00 )", time(7, 0), "no"),
    ("no @ (weight>7.5)", time(7, 0), None),  # the weight is never known
    ("no @ (06:00-22:00 AND weight>10)", time(7, 0), None),
    ("no @ (sunrise-sunset)", time(7, 0), None),
    ("garbage", time(7, 0), None),
    ("no @ (06:00-22:00)", None, None),
])
def test_conditional_value_at_a_time(value: str, when: time | None, expected: str | None) -> None:
    assert vehicles.conditional_value_at(value, when) == expected


MONDAY_8 = datetime(2026, 3, 2, 8, 0)  # naive: local time
SUNDAY_8 = datetime(2026, 3, 8, 8, 0)


@pytest.mark.parametrize(("value", "when", "expected"), [
    ("no @ (Mo-Fr 06:00-09:00,16:00-19:00)", MONDAY_8, "no"),
    ("no @ (Mo-Fr 06:00-09:00,16:00-19:00)", SUNDAY_8, None),
    ("no @ (Mo-Fr 06:00-09:00,16:00-19:00)", time(8, 0), "no"),  # no day: the span decides
    ("no @ (Sa,Su)", SUNDAY_8, "no"),
    ("no @ (Sa,Su)", MONDAY_8, None),
    ("no @ (Fr-Mo 07:00-09:00)", SUNDAY_8, "no"),  # wraps the week
    ("no @ (06:00-22:00); yes @ (Su)", SUNDAY_8, "yes"),  # the last applying rule wins
    ("no @ (06:00-22:00); yes @ (Su)", MONDAY_8, "no"),
    ("no @ (Su 22:00-06:00)", datetime(2026, 3, 9, 3, 0), "no"),  # Sunday night, Monday 03:00
    ("no @ (Su 22:00-06:00)", datetime(2026, 3, 8, 3, 0), None),  # Saturday night
    ("no @ (06:00-09:00)", datetime(2026, 3, 2, 0, 30, tzinfo=UTC), "no"),  # 07:30 local
])
def test_conditional_days(value: str, when: datetime | time, expected: str | None) -> None:
    assert vehicles.conditional_value_at(value, when) == expected


def test_parse_conditional() -> None:
    rules = vehicles.parse_conditional("no @ (Mo-Fr 06:00-09:00,16:00-19:00); delivery @ wet")
    assert [r.value for r in rules] == ["no", "delivery"]
    assert rules[0].spans == ((360, 540), (960, 1140))
    assert rules[0].days == frozenset(range(5))
    assert rules[0].timed and not rules[1].timed


@hsettings(max_examples=200, deadline=None)
@given(st.integers(0, 1439), st.integers(0, 1439), st.integers(0, 1439))
def test_time_span_rule(start: int, end: int, minute: int) -> None:
    value = f"no @ ({start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d})"
    inside = start <= minute < end if start <= end else (minute >= start or minute < end)
    got = vehicles.conditional_value_at(value, time(minute // 60, minute % 60))
    assert got == ("no" if inside else None)


# --- Plates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("plate", "expected"), [
    ("59-X1 123.45", "motorbike"),
    ("59-X1 1234", "motorbike"),
    ("59X1/1234", "motorbike"),
    ("59-P1/332.02", "motorbike"),
    ("51A-123.45", "car"),
    ("51A-1234", "car"),
    ("51LD-123.45", "car"),
    ("59X11234", "car"),  # reads as car 59X-112.34 unless separators show the motorbike
    ("TM-12-34", "car"),  # military: the plate does not say
    ("５１Ａ－１２３．４５", "car"),
])
def test_class_of_plate(plate: str, expected: str) -> None:
    assert vehicles.class_of_plate(plate) == expected


def test_class_of_an_invalid_plate_raises() -> None:
    with pytest.raises(PlateError):
        vehicles.class_of_plate("hello")


_PROVINCES = st.sampled_from(sorted(PROVINCE_CODES))
_LETTERS = st.sampled_from("ABCDEFGHKLMNPSTUVXYZ")
_NUMBERS = st.integers(0, 99_999).map(lambda n: f"{n:05d}") | st.integers(0, 9_999).map(
    lambda n: f"{n:04d}")


def _dotted(number: str) -> str:
    return f"{number[:3]}.{number[3:]}" if len(number) == 5 else number


@given(_PROVINCES, _LETTERS, st.integers(0, 9), _NUMBERS, st.sampled_from([" ", "/", "\n"]))
def test_every_motorbike_plate_is_a_motorbike(
    province: str, letter: str, digit: int, number: str, row_break: str
) -> None:
    plate = f"{province}-{letter}{digit}{row_break}{_dotted(number)}"
    assert vehicles.class_of_plate(plate) == "motorbike"


@given(_PROVINCES, _LETTERS, st.none() | _LETTERS, _NUMBERS,
       st.sampled_from(["white", "yellow", "blue", None]))
def test_every_car_plate_is_a_car(
    province: str, letter: str, second: str | None, number: str, colour: str | None
) -> None:
    plate = f"{province}{letter}{second or ''}-{_dotted(number)}"
    assert vehicles.class_of_plate(plate) == "car"
    expected = {"white": "private", "yellow": "commercial", "blue": "state", None: "unknown"}
    assert vehicles.plate_category(plate, colour) == expected[colour]


def test_plate_category() -> None:
    assert vehicles.plate_category("51A-123.45", "Yellow ") == "commercial"
    assert vehicles.plate_category("59-X1 123.45", "white") == "private"
    assert vehicles.plate_category("TM-12-34") == "military"
    assert vehicles.plate_category("51A-123.45", "red") == "military"
    with pytest.raises(ValueError, match="colour"):
        vehicles.plate_category("51A-123.45", "green")


# --- Speeds --------------------------------------------------------------------------------------


def test_class_speed() -> None:
    base = np.array([30.0, 100.0, 120.0, 18.0])
    highway = ["secondary", "trunk", "motorway", ["residential", "tertiary"]]
    car = vehicles.class_speed_kph(base, highway, "car")
    motorbike = vehicles.class_speed_kph(base, highway, "motorbike")
    truck = vehicles.class_speed_kph(base, highway, "truck")
    caps = settings.VEHICLE_MAX_SPEED_KPH
    assert car.tolist() == [30.0, caps["car"], 120.0, 18.0]
    assert motorbike.tolist() == [30.0, caps["motorbike"], settings.EXPRESSWAY_MAX_SPEED_KPH,
                                  18.0]
    factors = settings.VEHICLE_SPEED_FACTORS["truck"]
    assert truck.tolist() == pytest.approx([30.0 * factors["default"], caps["truck"],
                                            120.0 * factors["default"],
                                            18.0 * factors["residential"]])
    assert (truck <= car).all()
    assert (vehicles.class_speed_kph(base, highway, "bus") <= car).all()


def test_class_speed_of_one_edge() -> None:
    speed = vehicles.class_speed_kph(100.0, "trunk", "motorbike")
    assert speed.shape == ()
    assert float(speed) == settings.VEHICLE_MAX_SPEED_KPH["motorbike"]
    assert vehicles.class_speed_kph([20.0, 40.0], "primary", "car").tolist() == [20.0, 40.0]
    assert float(vehicles.class_speed_kph(20.0, None, "truck")) == pytest.approx(
        20.0 * settings.VEHICLE_SPEED_FACTORS["truck"]["default"])
    with pytest.raises(ValueError, match="unknown vehicle class"):
        vehicles.class_speed_kph(20.0, "primary", "van")  # type: ignore[arg-type]


def test_settings_cover_every_class() -> None:
    for cls in vehicles.VEHICLE_CLASSES:
        assert settings.VEHICLE_SPEED_FACTORS[cls]["default"] > 0
        assert all(f > 0 for f in settings.VEHICLE_SPEED_FACTORS[cls].values())
        assert 0 < settings.VEHICLE_MAX_SPEED_KPH[cls] <= settings.EXPRESSWAY_MAX_SPEED_KPH


# --- The shipped road graph ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> nx.MultiDiGraph:
    cache: Path = tmp_path_factory.mktemp("cache")
    return network.load_network(cache_dir=cache)


def _tunnel(graph: nx.MultiDiGraph) -> list[tuple[int, int, int]]:
    """The Thủ Thiêm tunnel under the Saigon river (Hầm sông Sài Gòn, on Mai Chí Thọ): its
    trunk edges. (An 83 m untagged primary approach of the same name is left out: OSM does
    not say it is closed to motorbikes.)"""
    return [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True)
            if d.get("highway") == "trunk"
            and any("hầm sông sài gòn" in n.lower() for n in vehicles._values(d.get("name")))]


def test_shipped_graph_keeps_the_class_tags(committed: nx.MultiDiGraph) -> None:
    assert set(network.RESTRICTION_TAGS) <= set(network.EDGE_TAGS)
    counts = network.restriction_tag_counts(committed)
    if "motorroad" not in counts:
        pytest.skip("the network artefacts carry no motorroad tag (built before the tags)")
    assert counts["motorroad"]["yes"] > 100
    assert counts["motorcycle"]["no"] > 0


def test_thu_thiem_tunnel_and_expressway_are_closed_to_motorbikes(
    committed: nx.MultiDiGraph,
) -> None:
    tunnel = _tunnel(committed)
    if not tunnel or not all(committed.edges[e].get("motorroad") for e in tunnel):
        pytest.skip("the Thủ Thiêm tunnel or its motorroad tag is not in the artefacts")
    expressway = [(u, v, k) for u, v, k, h in committed.edges(keys=True, data="highway")
                  if vehicles.EXPRESSWAY_HIGHWAYS.intersection(vehicles._values(h))]
    assert len(tunnel) >= 4
    assert len(expressway) > 10
    index = {e: i for i, e in enumerate(committed.edges(keys=True))}
    motorbike = vehicles.allowed_edges(committed, "motorbike")
    car = vehicles.allowed_edges(committed, "car")
    for edge in tunnel + expressway:
        assert not motorbike[index[edge]], committed.edges[edge].get("name")
        assert car[index[edge]]
    assert car.all()  # nothing in the shipped graph is closed to cars
    assert 0 < (~motorbike).sum() < 0.02 * len(motorbike)


def test_motorbikes_cross_the_river_without_the_tunnel(committed: nx.MultiDiGraph) -> None:
    """From one end of the tunnel to the other a motorbike drives round by a bridge."""
    tunnel = _tunnel(committed)
    if not tunnel or not all(committed.edges[e].get("motorroad") for e in tunnel):
        pytest.skip("the Thủ Thiêm tunnel or its motorroad tag is not in the artefacts")
    bike = vehicles.allowed_subgraph(committed, "motorbike")
    largest = max(nx.strongly_connected_components(bike), key=len)
    assert len(largest) > 0.9 * len(committed)
    first, last = tunnel[0][0], tunnel[0][1]
    near_first = min(largest, key=lambda n: _dist(committed, n, first))
    near_last = min(largest, key=lambda n: _dist(committed, n, last))
    path = nx.shortest_path(bike, near_first, near_last, weight="length")
    length = nx.path_weight(bike, path, "length")
    assert length > 2 * committed.edges[tunnel[0]]["length"]
    assert not set(pairwise(path)) & {(u, v) for u, v, _ in tunnel}
    car_path = nx.shortest_path(committed, near_first, near_last, weight="length")
    assert nx.path_weight(committed, car_path, "length") < length


def _dist(graph: nx.MultiDiGraph, a: int, b: int) -> float:
    ax, ay = graph.nodes[a]["x"], graph.nodes[a]["y"]
    bx, by = graph.nodes[b]["x"], graph.nodes[b]["y"]
    return float((ax - bx) ** 2 + (ay - by) ** 2)


def test_tag_columns_of_merged_edges() -> None:
    graph = nx.MultiDiGraph()
    graph.add_edge(1, 2, highway="primary", motorcycle=["no", "yes"])
    columns = vehicles.edge_tag_columns(graph)
    assert columns["motorcycle"].shape == (1,)
    assert columns["motorcycle"][0] == ["no", "yes"]
    assert columns["motorroad"].tolist() == [None]
    assert vehicles.allowed_edges(graph, "motorbike").tolist() == [False]
    assert vehicles.allowed_edges(graph, "car").tolist() == [True]
