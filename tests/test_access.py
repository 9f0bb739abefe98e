"""Accounts, login, lock-out, sessions and the role table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracing import settings
from tracing.access import audit, roles, sessions, users
from tracing.access.actor import Actor
from tracing.errors import AccessError
from tracing.store import Store

PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "users.duckdb") as opened:
        users.add_user(opened, "ann", "investigator", who=Actor("root", "admin", "setup"),
                       password=PASSWORD)
        yield opened


def test_first_run_creates_one_admin_with_a_one_time_password(tmp_path: Path) -> None:
    with Store(tmp_path / "first.duckdb") as store:
        secret = users.bootstrap_admin(store)
        assert secret is not None and len(secret) >= settings.PASSWORD_MIN_LENGTH
        assert users.bootstrap_admin(store) is None
        admin = users.authenticate(store, "admin", secret)
        assert admin.role == "admin" and admin.must_change
        changed = users.change_password(store, "admin", secret, "a much better secret")
        assert not changed.must_change
        with pytest.raises(AccessError, match="wrong user name or password"):
            users.authenticate(store, "admin", secret)
        assert users.authenticate(store, "admin", "a much better secret").role == "admin"
        table = users.list_users(store)
        assert list(table["name"]) == ["admin"] and "password_hash" not in table.columns


def test_passwords_are_argon2_hashes(store: Store) -> None:
    with store.reader() as con:
        row = con.execute("SELECT password_hash FROM users WHERE name = 'ann'").fetchone()
    assert row is not None and row[0].startswith("$argon2id$") and PASSWORD not in row[0]
    strong = users.make_hasher().hash(PASSWORD)  # the tests swap in a cheap hasher
    assert f"m={settings.ARGON2_MEMORY_KIB},t={settings.ARGON2_TIME_COST}," in strong


def test_wrong_password_and_unknown_user_get_the_same_message(store: Store) -> None:
    messages = []
    for name, password in (("ann", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(AccessError) as info:
            users.authenticate(store, name, password)
        messages.append(str(info.value))
    assert messages[0] == messages[1] == "wrong user name or password"
    actions = audit.entries(store)["action"].tolist()
    assert actions[:2] == ["login.failed", "users.add"]  # an unknown name: in the summary
    users.write_login_summary(store)
    summary = audit.entries(store).iloc[0]
    assert summary["action"] == "login.failed.summary" and '"nobody": 1' in summary["params"]


def test_lock_out_after_repeated_failures(store: Store) -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        with pytest.raises(AccessError, match="wrong user name or password"):
            users.authenticate(store, "ann", "wrong password", now=now)
    with pytest.raises(AccessError, match="locked until"):
        users.authenticate(store, "ann", PASSWORD, now=now + timedelta(minutes=1))
    later = now + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    assert users.authenticate(store, "ann", PASSWORD, now=later).name == "ann"


def test_failures_reset_after_a_success(store: Store) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        with pytest.raises(AccessError):
            users.authenticate(store, "ann", "wrong password")
    users.authenticate(store, "ann", PASSWORD)
    with pytest.raises(AccessError, match="wrong"):
        users.authenticate(store, "ann", "wrong password")
    assert users.authenticate(store, "ann", PASSWORD).name == "ann"


def test_reset_unlocks_and_forces_a_change(store: Store) -> None:
    for _ in range(settings.LOGIN_MAX_FAILURES):
        with pytest.raises(AccessError):
            users.authenticate(store, "ann", "wrong password")
    secret = users.reset_password(store, "ann", who="admin")
    user = users.authenticate(store, "ann", secret)
    assert user.must_change and user.epoch == 1


@pytest.mark.parametrize("name", ["", "a", "Robert'); DROP TABLE users;--", "x" * 40,
                                  "ann smith", "../etc"])
def test_bad_user_names_are_refused(store: Store, name: str) -> None:
    with pytest.raises(AccessError, match="user name"):
        users.add_user(store, name, "analyst", who="admin")
    assert list(users.list_users(store)["name"]) == ["ann"]


@pytest.mark.parametrize("password, why", [("short", "at least"), ("bob-password1", "user name"),
                                           ("x" * 300, "at most")])
def test_weak_passwords_are_refused(store: Store, password: str, why: str) -> None:
    with pytest.raises(AccessError, match=why):
        users.add_user(store, "bob", "analyst", who="admin", password=password)


def test_unknown_role_and_duplicate_user(store: Store) -> None:
    with pytest.raises(AccessError, match="unknown role 'root'"):
        users.add_user(store, "bob", "root", who="admin")
    with pytest.raises(AccessError, match="exists already"):
        users.add_user(store, "ANN", "analyst", who="admin")


def test_the_last_admin_stays(store: Store) -> None:
    users.add_user(store, "root", "admin", who="test", password=PASSWORD)
    with pytest.raises(AccessError, match="last active administrator"):
        users.set_role(store, "root", "analyst", who="root")
    with pytest.raises(AccessError, match="last active administrator"):
        users.set_disabled(store, "root", True, who="root")


def test_disabled_account_cannot_log_in(store: Store) -> None:
    users.set_disabled(store, "ann", True, who="admin")
    with pytest.raises(AccessError, match="wrong user name or password"):
        users.authenticate(store, "ann", PASSWORD)


def test_sessions_expire_and_end_when_the_account_changes(store: Store) -> None:
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    session = sessions.start_session(users.authenticate(store, "ann", PASSWORD), now=now)
    idle = timedelta(minutes=settings.SESSION_IDLE_MINUTES)
    kept = sessions.resume(store, session, now=now + idle / 2)
    assert kept is not None and kept.last_seen == now + idle / 2
    assert sessions.resume(store, session, now=now + idle * 1.1) is None
    busy = replace(session, last_seen=now + timedelta(hours=settings.SESSION_MAX_HOURS))
    assert sessions.resume(store, busy, now=busy.last_seen + timedelta(minutes=1)) is None
    users.set_role(store, "ann", "analyst", who="admin")
    assert sessions.resume(store, session, now=now + timedelta(minutes=1)) is None


def test_role_table() -> None:
    assert roles.allowed("investigator", "trace") and roles.allowed("investigator", "export")
    assert not roles.allowed("investigator", "audit")
    assert roles.allowed("analyst", "watchlists") and not roles.allowed("analyst", "search")
    assert roles.allowed("supervisor", "audit") and not roles.allowed("supervisor", "trace")
    assert all(roles.allowed("admin", p) for p in roles.PERMISSIONS)
    assert not roles.allowed("nobody", "map")
    with pytest.raises(ValueError, match="unknown permission"):
        roles.allowed("admin", "tarce")
    assert len(roles.permission_table()) == len(roles.PERMISSIONS)
