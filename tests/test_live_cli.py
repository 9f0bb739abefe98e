"""The live centre's commands of ``python -m tracing``: ``devices`` end to end; ``receiver``,
``owner`` and ``serve`` with their long-running part replaced (they run until a signal; the
live tests run them for real)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_store_support import new_store
from tracing.__main__ import main
from tracing.alerts.service import ServiceReport


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path: Path) -> str:
    new_store(tmp_path / "live.duckdb").close()
    return str(tmp_path / "live.duckdb")


def test_devices_for_people(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "devices", "list", "--db", db) == (0, "no devices\n", "")
    code, out, _ = run(capsys, "devices", "add", "nvr-1", "--vendor", "hikvision", "--channel",
                       "1=cam-a", "--db", db)
    assert code == 0 and out.startswith("device nvr-1 added; its key (shown once")
    code, out, _ = run(capsys, "devices", "rotate", "nvr-1", "--db", db)
    assert code == 0 and out.startswith("new key of device nvr-1 (the old one no longer works)")
    assert run(capsys, "devices", "revoke", "nvr-1", "--db", db) == (0, "device nvr-1 revoked\n",
                                                                     "")
    code, out, _ = run(capsys, "devices", "list", "--db", db)
    assert out.split("\n")[1].split()[:2] == ["nvr-1", "hikvision"]


def test_devices_as_json(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "devices", "add", "gate", "--vendor", "json", "--camera", "cam-b",
                       "--db", db, "--json")
    added = json.loads(out)
    assert code == 0 and added["device"] == "gate" and len(added["key"]) > 20
    code, out, _ = run(capsys, "devices", "rotate", "gate", "--db", db, "--json")
    assert json.loads(out)["key"] != added["key"]
    code, out, _ = run(capsys, "devices", "revoke", "gate", "--db", db, "--json")
    assert json.loads(out) == {"device": "gate", "revoked": True}
    code, out, _ = run(capsys, "--json", "devices", "list", "--db", db)
    (device,) = json.loads(out)
    assert device["cameras"] == ["cam-b"] and device["revoked_at"].endswith("UTC")


@pytest.mark.parametrize(("argv", "message"), [
    (["add", "x", "--vendor", "json", "--channel", "1:cam-a"],
     "argument --channel: '1:cam-a': write CHANNEL=CAMERA_ID"),
    (["add", "x", "--vendor", "json", "--camera", "no-such-camera"], "no-such-camera"),
    (["rotate", "nobody"], "nobody"),
])
def test_device_errors_are_one_line(argv: list[str], message: str, db: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "devices", *argv, "--db", db)
    assert code == 2 and out == "" and err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_devices_of_a_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "none.duckdb"
    assert run(capsys, "devices", "list", "--db", str(db)) == (
        2, "", f"error: database not found: {db}\n")
    assert not db.exists()


def test_receiver_owner_and_serve_say_they_stopped(db: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import uvicorn

    from tracing.live import owner, serve

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(kw))
    monkeypatch.setattr(owner, "run_owner", lambda *a, **kw: ServiceReport(3, 10, 2))
    monkeypatch.setattr(serve.Serve, "run", lambda self: "live centre stopped")
    spool = str(tmp_path / "spool")
    assert run(capsys, "receiver", "--port", "9", "--db", db, "--spool", spool) == (
        0, "receiver stopped\n", "")
    assert served["port"] == 9
    assert run(capsys, "owner", "--db", db, "--spool", spool, "--no-travel") == (
        0, "owner stopped: 10 reads evaluated in 3 steps, 2 alerts\n", "")
    code, out, _ = run(capsys, "owner", "--db", db, "--spool", spool, "--no-travel", "--json")
    assert json.loads(out) == {"steps": 3, "reads": 10, "alerts": 2}
    assert run(capsys, "serve", "--db", db, "--no-travel") == (0, "live centre stopped\n", "")
    code, out, _ = run(capsys, "serve", "--db", db, "--json")
    assert code == 0 and json.loads(out) == {"message": "live centre stopped"}
