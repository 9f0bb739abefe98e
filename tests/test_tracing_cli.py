"""What ``python -m tracing`` prints for ``ingest``, ``ingest-service``, ``alerts``,
``simulate``, ``demo`` and ``build-data``: a summary for people, the same result with
``--json``, one ``error:`` line on bad input. The services run for real until a SIGTERM; the
slow builders (``simulate``, ``demo``, ``build-data``) with their heavy parts replaced
(``test_simulate_cli`` runs the simulator itself)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from tests.test_store_support import new_store, reads_table
from tracing.__main__ import main
from tracing.simulate import RunSummary
from tracing.store import IngestReport, Spool

READS = ("read_id,plate,camera_id,ts\n"
         "x1,51A-123.45,cam-a,2026-03-01T08:00:00+07:00\n"
         "x2,51A-123.45,cam-b,2026-03-01T08:00:00\n"
         "x3,51A-123.45,cam-z,2026-03-01T08:00:00+07:00\n"
         "x4,51A-123.46,cam-c,yesterday\n")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    new_store(tmp_path / "cli.duckdb").close()
    return tmp_path / "cli.duckdb"


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """The alert service leaves its SIGINT/SIGTERM handlers installed: put pytest's back."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


def sigterm_when(ready: Callable[[], bool]) -> None:
    """Send this process SIGTERM once a service listens for it and ``ready()`` holds."""
    default = signal.getsignal(signal.SIGTERM)

    def wait() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if signal.getsignal(signal.SIGTERM) is not default and ready():
                time.sleep(0.3)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.05)

    threading.Thread(target=wait, daemon=True).start()


def test_ingest_for_people_and_scripts(db: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "reads.csv").write_text(READS, encoding="utf-8")
    code, out, err = run(capsys, "ingest", "--db", str(db), str(tmp_path / "reads.csv"))
    assert (code, err) == (0, "")
    assert out == ("ingested 4 reads: 1 new, 0 duplicates, 3 rejected\n"
                   "  1 rejected: timestamp has no timezone offset\n"
                   "  1 rejected: unknown camera id\n"
                   "  1 rejected: unparseable timestamp\n")
    code, out, _ = run(capsys, "ingest", "--json", "--db", str(db), str(tmp_path / "reads.csv"))
    assert code == 0 and json.loads(out) == {
        "inserted": 0, "duplicates": 1, "rejected": 3,
        "reasons": {"timestamp has no timezone offset": 1, "unknown camera id": 1,
                    "unparseable timestamp": 1}}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("absent.csv", None, "cannot read"),
    ("reads.parquet", b"PAR1 not really", "is not a readable Parquet file"),
    ("reads.json", b'{"plate": ', "unknown file type '.json'"),
    ("reads.csv", b"\xff\xfe\x00garbage", "reads.csv"),
])
def test_ingest_refuses_bad_files_in_one_line(name: str, content: bytes | None, message: str,
                                              db: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    code, out, err = run(capsys, "ingest", "--db", str(db), str(tmp_path / name))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: ") and message in err


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ingest")
    assert (code, out) == (2, "")
    assert err == ("error: the following arguments are required: file "
                   "(see python -m tracing ingest --help)\n")
    code, _, err = run(capsys, "simulate", "--db", "x.duckdb", "--trips", "many")
    assert code == 2 and err.startswith("error: argument --trips: invalid int value: 'many'")


def test_ingest_service_loads_the_spool_until_sigterm(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spool = Spool(tmp_path / "spool")
    spool.write(reads_table(3))
    sigterm_when(lambda: not spool.pending())
    code, out, err = run(capsys, "ingest-service", "--db", str(db), "--spool", str(spool.directory),
                         "--poll-s", "0.05", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"inserted": 3, "duplicates": 0, "rejected": 0, "reasons": {}}
    spool.write(reads_table(2, prefix="s"))
    sigterm_when(lambda: not spool.pending())
    code, out, _ = run(capsys, "ingest-service", "--db", str(db), "--spool", str(spool.directory),
                       "--poll-s", "0.05")
    assert out == "ingest service stopped: 2 reads: 2 new, 0 duplicates, 0 rejected\n"


@pytest.mark.usefixtures("restore_signals")
def test_alerts_service_says_what_it_did(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sigterm_when(lambda: True)
    code, out, err = run(capsys, "alerts", "--db", str(db), "--no-travel", "--poll-s", "0.05",
                         "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["message"].startswith("alert service stopped: ")


def fake_run(tmp_path: Path) -> RunSummary:
    """A run of the simulator as :func:`tracing.simulate.run_simulation` returns it."""
    config = SimpleNamespace(start=pd.Timestamp("2026-03-02T07:00:00+07:00").to_pydatetime(),
                             hours=2.0, seed=5)
    simulation = SimpleNamespace(config=config, counts={"trips": 12, "reads": 30},
                                 summary=lambda: "simulated 12 trips")
    return RunSummary(simulation, IngestReport(29, 0, 1, {"unknown camera id": 1}),
                      tmp_path / "sim.duckdb", tmp_path / "sim-truth", 1.23)


def test_simulate_summary_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    import tracing.simulate

    def simulated(*args: Any, progress: Callable[[str, float], None], **kw: Any) -> RunSummary:
        progress("routes", 0.5)
        return fake_run(tmp_path)

    monkeypatch.setattr(tracing.simulate, "run_simulation", simulated)
    code, out, err = run(capsys, "simulate", "--db", str(tmp_path / "sim.duckdb"))
    assert code == 0 and "simulate: routes" in err
    assert out == (f"simulated 12 trips; store {tmp_path / 'sim.duckdb'}: 29 inserted, "
                   f"0 already there, 1 to rejects; truth {tmp_path / 'sim-truth'}; 1.2 s\n")
    code, out, _ = run(capsys, "--json", "simulate", "--db", str(tmp_path / "sim.duckdb"))
    assert json.loads(out) == {
        "counts": {"trips": 12, "reads": 30}, "start": "2026-03-02T07:00:00+07:00",
        "hours": 2.0, "seed": 5, "db": str(tmp_path / "sim.duckdb"),
        "truth": str(tmp_path / "sim-truth"), "seconds": 1.2,
        "ingest": {"inserted": 29, "duplicates": 0, "rejected": 1,
                   "reasons": {"unknown camera id": 1}}}


def test_demo_summary_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    import tracing.alerts.demo
    import tracing.routes
    import tracing.simulate
    from tracing import boundaries, cameras, network

    registry = pd.DataFrame({"id": ["cam-a", "cam-b"], "name": ["A", "B"], "lon": [106.75, 106.76],
                             "lat": [10.85, 10.86], "is_lpr": True})
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "planted.json").write_text('{"cases": []}', encoding="utf-8")
    monkeypatch.setattr(cameras, "read_registry", lambda path: registry)
    monkeypatch.setattr(tracing.simulate, "run_simulation", lambda *a, **kw: fake_run(tmp_path))
    monkeypatch.setattr(network, "load_network", lambda: None)
    monkeypatch.setattr(tracing.routes, "load_path_cache",
                        lambda *a, **kw: SimpleNamespace(key="k1"))
    monkeypatch.setattr(boundaries, "load_outline", lambda: None)
    monkeypatch.setattr(tracing.alerts.demo, "seed_demo", lambda *a: "alerts: 2 fences")
    argv = ["demo", "--db", str(tmp_path / "demo.duckdb"), "--truth", str(tmp_path / "truth")]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.splitlines() == [
        f"demo database {tmp_path / 'demo.duckdb'}: 2 cameras", str(fake_run(tmp_path)),
        "camera-pair path cache k1", "alerts: 2 fences"]
    code, out, _ = run(capsys, *argv, "--json")
    doc = json.loads(out)
    assert doc["cameras"] == 2 and doc["path_cache"] == "k1" and doc["alerts"] == "alerts: 2 fences"
    assert doc["simulation"]["ingest"]["inserted"] == 29


def test_build_data_summary_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import osmnx

    from tracing import boundaries, cameras, network, settings

    counts = {"nodes": 12_000, "edges": 30_000, "bytes": 9, "length_km": 2_345}
    written: list[Path] = []
    monkeypatch.setattr(settings, "CAMERAS_DIR", tmp_path / "cameras")
    monkeypatch.setattr(boundaries, "build_boundaries", lambda: None)
    monkeypatch.setattr(network, "build_network_artifacts", lambda: counts)
    monkeypatch.setattr(network, "load_network", lambda: None)
    monkeypatch.setattr(osmnx, "graph_to_gdfs", lambda graph, nodes: None)
    monkeypatch.setattr(cameras, "import_portal_cameras",
                        lambda path, edges: pd.DataFrame({"is_lpr": [True, False, True]}))
    monkeypatch.setattr(cameras, "write_registry", lambda frame, path: written.append(path))
    code, out, _ = run(capsys, "build-data")
    assert code == 0 and out == ("built data/: road network of 12,000 nodes, 30,000 edges, "
                                 "2,345 km; registry of 3 cameras, 2 LPR\n")
    assert written == [tmp_path / "cameras" / "thuduc_cameras.csv"]
    code, out, _ = run(capsys, "build-data", "--json")
    assert json.loads(out) == {"network": counts, "cameras": 3, "lpr_cameras": 2}
