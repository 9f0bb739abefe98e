"""``python -m tracing simulate`` on the shipped road graph and cameras: a tiny run end to end
(store through the normal ingest path, truth folder, planted cases on the real network) and
clear errors for bad parameters."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tracing import boundaries, settings
from tracing.__main__ import main
from tracing.plates import parse_plate
from tracing.simulate import Truth, load_truth
from tracing.store import Store

START = "2026-03-02T07:00:00+07:00"
ARGS = ["--trips", "1500", "--hours", "8", "--start", START, "--seed", "11"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth, str]:
    folder = tmp_path_factory.mktemp("sim")
    db = folder / "city.duckdb"
    capture = pytest.MonkeyPatch()
    lines: list[str] = []
    capture.setattr("builtins.print", lambda *a, **k: lines.append(" ".join(map(str, a))))
    try:
        assert main(["simulate", "--db", str(db), *ARGS]) == 0
    finally:
        capture.undo()
    return db, load_truth(folder / "city-truth"), lines[-1]


def test_cli_writes_a_store_and_a_truth_folder(run: tuple[Path, Truth, str]) -> None:
    db, truth, summary = run
    counts = truth.manifest["counts"]
    assert counts["trips"] == 1500 + counts["planted_trips"]
    assert f"{counts['reads']:,} reads" in summary and "to rejects" in summary
    ingest = truth.manifest["ingest"]
    with Store(db) as store:
        assert store.count_reads() == ingest["inserted"] == counts["reads"] - ingest["rejected"]
        with store.reader() as con:
            rejects = con.execute("SELECT count(*) FROM rejects").fetchone()
            sources = con.execute("SELECT DISTINCT source FROM reads").fetchall()
            ids = con.execute("SELECT read_id FROM reads").fetchall()
    assert rejects is not None and rejects[0] == ingest["rejected"] == counts["invalid_plates"]
    assert sources == [(truth.manifest["source"],)]
    assert all(parse_plate(p).text == p for p in truth.vehicles.plate)
    assert {r[0] for r in ids} == set(truth.reads.read_id[truth.reads.valid])


def test_truth_routes_are_edges_of_the_shipped_graph(run: tuple[Path, Truth, str]) -> None:
    _, truth, _ = run
    edges = pq.read_table(settings.NETWORK_DIR / "edges.parquet", columns=["u", "v", "key"])
    known = set(zip(*(edges.column(c).to_pylist() for c in ("u", "v", "key")), strict=True))
    for row in truth.trips.itertuples():
        nodes = row.nodes.tolist()
        for a, b, k in zip(nodes[:-1], nodes[1:], row.edge_keys.tolist(), strict=True):
            assert (a, b, k) in known


def test_planted_cases_on_the_real_network(run: tuple[Path, Truth, str]) -> None:
    db, truth, _ = run
    assert {c["case"] for c in truth.planted} == {
        "watchlist_gateway", "cloned_plate", "convoy", "parked", "seen_twice"}
    gateway = truth.case("watchlist_gateway")
    u, v, _ = gateway["gateway_edge"]
    nodes = pq.read_table(settings.NETWORK_DIR / "nodes.parquet").to_pandas().set_index("osmid")
    outline = boundaries.load_outline()
    from shapely.geometry import Point

    assert not outline.contains(Point(nodes.x[u], nodes.y[u]))
    assert outline.contains(Point(nodes.x[v], nodes.y[v]))
    assert gateway["entered_at"] <= gateway["first_pass_at"]
    clone = truth.case("cloned_plate")
    assert clone["implied_speed_kph"] > 150 and clone["distance_km"] > 5
    assert len(truth.case("convoy")["cameras"]) >= 3
    assert len(truth.case("seen_twice")["read_ids"]) == 2
    with Store(db) as store:
        reads = store.reads_of_plate(clone["plates"][0]).to_pandas()
    assert set(clone["cameras"]) <= set(reads.camera_id)


@pytest.mark.parametrize(("args", "message"), [
    (["--detection-rate", "1.5"], "detection_rate must be a probability"),
    (["--ocr-error-rate", "-0.1"], "ocr_error_rate must be a probability"),
    (["--hours", "0"], "hours must be a positive number"),
    (["--start", "2026-03-02T00:00:00"], "no UTC offset"),
    (["--end", "2026-03-01T00:00:00+07:00"], "is not after its start"),
    (["--trips", "-3"], "trips must be an integer"),
    (["--cameras", "no-such-registry.csv"], "camera registry file not found"),
])
def test_bad_parameters_are_one_clear_line(args: list[str], message: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "bad.duckdb"
    assert main(["simulate", "--db", str(db), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not db.exists()


def test_truth_folder_must_not_hold_the_database(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.duckdb"
    assert main(["simulate", "--db", str(db), "--truth", str(tmp_path)]) == 2
    assert "must not hold the database" in capsys.readouterr().err
