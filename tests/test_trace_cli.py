"""The ``trace`` command's contract: GeoJSON of candidate paths per leg, clear errors."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from tracing import settings
from tracing.__main__ import main
from tracing.cameras import read_registry, write_registry

PLATE = "51F-123.45"
CONTRACT = {"leg": int, "rank": int, "probability": float, "from_camera": str,
            "to_camera": str, "depart": str, "arrive": str, "osm_nodes": list, "flags": list}


def small_registry() -> gpd.GeoDataFrame:
    """The shipped registry with only the 12 plate-reading cameras nearest to the first one
    (a path cache of 12 cameras builds in a second; the full one takes half a minute)."""
    reg = read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv")
    lpr = reg[reg["is_lpr"] & (reg["status"] == "up")].sort_values("id")
    x, y = lpr["lon"] - lpr["lon"].iloc[0], lpr["lat"] - lpr["lat"].iloc[0]
    near = set(lpr["id"].to_numpy()[np.argsort(np.hypot(x, y).to_numpy())[:12]])
    return reg[~reg["is_lpr"] | reg["id"].isin(near)]


def trace_reads(plate: str = PLATE) -> pd.DataFrame:
    """Reads of ``plate`` at three nearby plate-reading cameras of :func:`small_registry`,
    six minutes apart, one repeated a second later and one row out of time order."""
    reg = small_registry()
    lpr = reg[reg["is_lpr"] & (reg["status"] == "up")].sort_values("id")
    xy = np.c_[lpr["lon"] * 109_000, lpr["lat"] * 110_000]
    chosen = [0]
    for _ in range(2):
        d = np.hypot(*(xy - xy[chosen[-1]]).T)
        d[chosen] = np.inf
        d[d < 800] = np.inf
        chosen.append(int(np.argmin(d)))
    t0 = datetime.fromisoformat("2026-03-02T08:00:00+07:00")
    ids = lpr["id"].iloc[chosen].tolist()
    rows = [(ids[0], t0), (ids[0], t0 + timedelta(seconds=1)),
            (ids[2], t0 + timedelta(minutes=12)), (ids[1], t0 + timedelta(minutes=6))]
    return pd.DataFrame({"read_id": [f"t{i}" for i in range(len(rows))],
                         "plate": plate, "camera_id": [r[0] for r in rows],
                         "ts": [r[1].isoformat() for r in rows], "confidence": 0.9})


@pytest.fixture(scope="module")
def cameras_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_registry(small_registry(), tmp_path_factory.mktemp("cams") / "cameras.csv")


@pytest.fixture(scope="module")
def reads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "reads.csv"
    frame = pd.concat([trace_reads(), trace_reads("30A-999.99").assign(read_id="other")])
    frame.to_csv(path, index=False)
    return path


def test_trace_writes_geojson_per_the_contract(reads_csv: Path, cameras_csv: Path,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "route.geojson"
    assert main(["trace", "--plate", "51F12345", "--reads", str(reads_csv), "--k", "2",
                 "--cameras", str(cameras_csv), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("51F12345: 3 sightings, 1 trips, 2 legs, ")
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection" and doc["features"]
    table = pq.read_table(settings.NETWORK_DIR / "edges.parquet", columns=["u", "v"])
    edges = set(zip(table["u"].to_pylist(), table["v"].to_pylist(), strict=True))
    legs: dict[int, list[float]] = {}
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "LineString"
        assert len(feature["geometry"]["coordinates"]) >= 2
        props = feature["properties"]
        for key, kind in CONTRACT.items():
            assert isinstance(props[key], kind), key
        assert datetime.fromisoformat(props["depart"]) < datetime.fromisoformat(props["arrive"])
        assert datetime.fromisoformat(props["depart"]).utcoffset() is not None
        nodes = props["osm_nodes"]
        assert all(isinstance(n, int) for n in nodes)
        assert all((u, v) in edges for u, v in itertools.pairwise(nodes))
        assert set(props["flags"]) <= {"impossible_travel", "long_gap", "low_confidence",
                                       "unreachable"}
        assert 0.0 <= props["probability"] <= 1.0
        legs.setdefault(props["leg"], []).append(props["probability"])
        assert props["rank"] == len(legs[props["leg"]]) - 1
    assert sorted(legs) == list(range(len(legs))) and len(legs) == 2
    for probs in legs.values():
        assert len(probs) <= 2 and sum(probs) == pytest.approx(1.0, abs=1e-3)
        assert probs == sorted(probs, reverse=True)


@pytest.mark.parametrize(("args", "message"), [
    (["--plate", "99Z-000.00"], "no reads"),
    (["--plate", "not a plate"], "not a valid plate"),
    (["--plate", PLATE, "--k", "0"], "--k 0"),
    (["--plate", PLATE, "--cameras", "missing.csv"], "camera registry not found"),
])
def test_trace_errors_are_one_clear_line(reads_csv: Path, tmp_path: Path, args: list[str],
                                         message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "route.geojson"
    assert main(["trace", "--reads", str(reads_csv), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err
    assert not out.exists()


def test_trace_refuses_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("plate,when\n51F-123.45,2026\n")
    out = tmp_path / "o.geojson"
    assert main(["trace", "--plate", PLATE, "--reads", str(bad), "--out", str(out)]) == 2
    assert "lacks columns" in capsys.readouterr().err
    assert main(["trace", "--plate", PLATE, "--db", str(tmp_path / "none.duckdb"),
                 "--out", str(out)]) == 2
    assert "database not found" in capsys.readouterr().err


def test_trace_never_fails_on_two_reads_at_registry_cameras(
        tmp_path: Path, cameras_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two reads five hours apart are two trips with no leg: a route without paths, exit 0."""
    rows = trace_reads().iloc[[0, 2]].assign(ts=["2026-03-02T08:00:00+07:00",
                                                 "2026-03-02T13:00:00+07:00"])
    reads = tmp_path / "apart.csv"
    rows.to_csv(reads, index=False)
    out = tmp_path / "route.geojson"
    assert main(["trace", "--plate", PLATE, "--reads", str(reads), "--cameras",
                 str(cameras_csv), "--out", str(out), "--json"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["features"] == [] and doc["tracks"] == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"plate": "51F-123.45", "tracks": 1, "notes": doc["notes"],
                       "out": str(out), "paths": []}
