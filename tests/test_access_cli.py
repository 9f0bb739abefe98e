"""The ``users``, ``audit`` and ``retention`` commands of ``python -m tracing``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tracing.__main__ import main
from tracing.access import users
from tracing.store import Store


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_audit_and_retention_commands(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    code, out, _ = run(capsys, "users", "add", "Ann", "--role", "investigator", "--db", db)
    assert code == 0 and "one-time password" in out
    secret = out.rsplit(": ", 1)[1].strip()
    with Store(db) as store:
        assert users.authenticate(store, "ann", secret).must_change
    code, out, _ = run(capsys, "users", "reset-password", "ann", "--db", db)
    assert code == 0 and secret not in out
    code, out, _ = run(capsys, "users", "list", "--db", db)
    assert "ann" in out and "investigator" in out and "argon2" not in out
    code, out, _ = run(capsys, "users", "roles")
    assert code == 0 and "permission" in out and "supervisor" in out
    code, out, _ = run(capsys, "audit", "verify", "--db", db)
    assert code == 0 and "intact" in out
    code, out, _ = run(capsys, "retention", "purge", "--dry-run", "--db", db)
    assert code == 0 and "would remove 0 reads" in out
    code, out, _ = run(capsys, "retention", "purge", "--db", db, "--crops", str(tmp_path))
    assert code == 0 and "removed 0 reads" in out
    with Store(db) as store, store.writer() as con:
        con.execute("DELETE FROM audit_log WHERE id = 2")
    code, out, err = run(capsys, "audit", "verify", "--db", db)
    assert code == 2 and "entry #2: deleted" in out
    assert err == "error: audit log TAMPERED: 1 problem(s) in 3 entries\n"


def test_access_commands_speak_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    code, out, _ = run(capsys, "--json", "users", "add", "Bo", "--role", "analyst", "--db", db)
    added = json.loads(out)
    assert code == 0 and added["user"] == "bo" and added["role"] == "analyst"
    code, out, _ = run(capsys, "users", "reset-password", "bo", "--db", db, "--json")
    assert json.loads(out)["one_time_password"] != added["one_time_password"]
    code, out, _ = run(capsys, "users", "list", "--db", db, "--json")
    assert [(u["name"], u["role"], u["must_change"]) for u in json.loads(out)] == [
        ("bo", "analyst", True)]
    code, out, _ = run(capsys, "users", "roles", "--json")
    assert {"permission": "search"}.items() <= json.loads(out)[1].items()
    code, out, _ = run(capsys, "audit", "verify", "--db", db, "--json")
    verified = json.loads(out)
    assert verified["ok"] and verified["entries"] == 2 and verified["problems"] == []
    code, out, _ = run(capsys, "retention", "purge", "--dry-run", "--db", db, "--json")
    purge = json.loads(out)
    assert purge["dry_run"] and purge["reads_deleted"] == 0
    assert datetime.fromisoformat(purge["reads_before"]).utcoffset() is not None
    with Store(db) as store, store.writer() as con:
        con.execute("DELETE FROM audit_log WHERE id = 1")
    code, out, err = run(capsys, "audit", "verify", "--db", db, "--json")
    assert code == 2 and json.loads(out)["problems"][0]["kind"] == "deleted"
    assert err.startswith("error: audit log TAMPERED") and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["users", "list"], ["users", "reset-password", "ann"],
                                  ["audit", "verify"], ["retention", "purge", "--dry-run"]])
def test_a_missing_database_is_refused_not_created(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "typo.duckdb"
    assert run(capsys, *argv, "--db", str(db)) == (2, "", f"error: database not found: {db}\n")
    assert not db.exists()


def test_bad_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    code, _, err = run(capsys, "users", "add", "'; DROP TABLE users; --", "--role", "analyst",
                       "--db", db)
    assert code == 2 and err.startswith("error: user name")
    code, _, err = run(capsys, "users", "reset-password", "nobody", "--db", db)
    assert code == 2 and "no user 'nobody'" in err
