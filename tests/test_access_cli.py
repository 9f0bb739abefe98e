"""The ``users``, ``audit`` and ``retention`` commands of ``python -m tracing``."""

from __future__ import annotations

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
    code, _, err = run(capsys, "audit", "verify", "--db", db)
    assert code == 2 and "TAMPERED" in err and "entry #2: deleted" in err


def test_bad_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    code, _, err = run(capsys, "users", "add", "'; DROP TABLE users; --", "--role", "analyst",
                       "--db", db)
    assert code == 2 and err.startswith("error: user name")
    code, _, err = run(capsys, "users", "reset-password", "nobody", "--db", db)
    assert code == 2 and "no user 'nobody'" in err
