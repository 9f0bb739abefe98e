"""Local accounts: argon2id password hashes, lock-out after repeated failures, one-time
passwords that must be changed at the first login, and the first administrator.

No password is ever shipped or logged: new accounts and resets get a random one-time
password that the caller shows once (the CLI prints it; the first administrator's goes to
the server console). Every password set goes through the policy
(:func:`tracing.access.passwords.check_password`). Every change is written to the audit
log. Account changes take the acting user (``who``: an
:class:`~tracing.access.actor.Actor` whose role holds ``users``; a refusal is audited as
``denied``) and write their audit entry in the change's transaction; changing one's own
password needs only the old one. Passwords are hashed and verified outside any store
transaction (argon2 takes tens of milliseconds and a lot of memory); login throttling is
:mod:`tracing.access.logins`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tracing import settings
from tracing.access import audit, logins
from tracing.access.actor import Who, permit, record_change
from tracing.access.passwords import check_password
from tracing.access.roles import Role, check_role
from tracing.errors import AccessError
from tracing.store import Store

NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
"""User names: 2–32 lower-case letters, digits, dot, dash, underscore."""
FIRST_ADMIN: Final = "admin"
SYSTEM: Final = "system:first-run"
__all__ = ["FIRST_ADMIN", "User", "add_user", "authenticate", "bootstrap_admin",
           "change_password", "check_name", "check_password", "get_user", "list_users",
           "make_hasher", "one_time_password", "reset_password", "set_disabled", "set_role",
           "write_login_summary"]


def make_hasher() -> PasswordHasher:
    """Argon2id with the cost of :data:`settings.ARGON2_TIME_COST` / ``ARGON2_MEMORY_KIB``."""
    return PasswordHasher(time_cost=settings.ARGON2_TIME_COST,
                          memory_cost=settings.ARGON2_MEMORY_KIB)


_hasher = make_hasher()
_DUMMY_HASH: str | None = None
"""Hash verified against when the user is unknown, so a wrong name costs as long as a wrong
password (no user enumeration by timing); made on first use."""


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hash("not a password of anyone")
    return _DUMMY_HASH


def _hash(password: str) -> str:
    """The argon2id hash of a password (never inside a store transaction)."""
    return logins.hashing(lambda: _hasher.hash(password))


def _new_hash(password: str, name: str) -> str:
    """The hash of a password the policy accepts (AccessError saying why not)."""
    return _hash(check_password(password, name))


@dataclass(frozen=True)
class User:
    """An account as the app sees it (never its password hash)."""

    name: str
    role: Role
    must_change: bool = False
    disabled: bool = False
    epoch: int = 0
    """Bumped by a password reset, a role change or disabling: older sessions end."""


def check_name(name: str) -> str:
    """The user name lower-cased; AccessError naming it when it is not allowed."""
    text = name.strip().lower()
    if not NAME_PATTERN.fullmatch(text):
        raise AccessError(f"user name {name!r} is not allowed: use 2–32 letters, digits, "
                          "'.', '-' or '_', starting with a letter or digit")
    return text


def one_time_password(name: str) -> str:
    """A random password of 16 URL-safe characters (96 bits) the policy accepts."""
    while True:
        secret = secrets.token_urlsafe(12)
        try:
            return check_password(secret, name)
        except AccessError:  # e.g. it happens to contain the name: draw again
            continue


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


_SELECT: Final = ("SELECT name, role, must_change, disabled, epoch, password_hash, "
                  "failed_logins, epoch_us(locked_until) FROM users WHERE name = ?")


def get_user(store: Store, name: str) -> User | None:
    """The account called ``name`` (None when there is none)."""
    with store.reader() as con:
        row = con.execute(_SELECT, [name.strip().lower()]).fetchone()
    return None if row is None else User(row[0], check_role(row[1]), row[2], row[3], row[4])


def list_users(store: Store) -> pd.DataFrame:
    """Every account: name, role, must_change, disabled, failed_logins, locked_until,
    created_at (no password hashes)."""
    with store.reader() as con:
        table = con.execute(
            "SELECT name, role, must_change, disabled, failed_logins, locked_until, created_at "
            "FROM users ORDER BY name").to_arrow_table()
    return pd.DataFrame(table.to_pandas())


def add_user(store: Store, name: str, role: str, *, who: Who,
             password: str | None = None) -> str:
    """Create an account; return its password: the one given (the user need not change it)
    or a new one-time password (changed at the first login)."""
    name, role = check_name(name), check_role(role)
    what = {"user": name, "role": role}
    permit(store, who, "users", "users.add", what)
    secret = one_time_password(name) if password is None else password
    digest = _new_hash(secret, name)
    with store.writer() as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise AccessError(f"user {name!r} exists already")
        con.execute("INSERT INTO users (name, role, password_hash, must_change) "
                    "VALUES (?, ?, ?, ?)", [name, role, digest, password is None])
        record_change(con, who, "users.add", what)
    return secret


def bootstrap_admin(store: Store) -> str | None:
    """On a store without any account, create ``admin`` with a one-time password and
    return it (the caller prints it once); None when accounts exist."""
    with store.reader() as con:
        row = con.execute("SELECT count(*) FROM users").fetchone()
    if row and row[0]:
        return None
    secret = one_time_password(FIRST_ADMIN)
    digest = _new_hash(secret, FIRST_ADMIN)
    with store.writer() as con:
        row = con.execute("SELECT count(*) FROM users").fetchone()
        if row and row[0]:
            return None
        con.execute("INSERT INTO users (name, role, password_hash, must_change) "
                    "VALUES (?, 'admin', ?, true)", [FIRST_ADMIN, digest])
        audit.record_in(con, who=SYSTEM, action="users.add",
                        params={"user": FIRST_ADMIN, "role": "admin"},
                        reason="first run: no account existed")
    return secret


def _existing(con: duckdb.DuckDBPyConnection, name: str) -> tuple[object, ...]:
    row = con.execute(_SELECT, [name]).fetchone()
    if row is None:
        raise AccessError(f"no user {name!r}")
    return tuple(row)


def reset_password(store: Store, name: str, *, who: Who) -> str:
    """Give ``name`` a new one-time password (returned), unlock it, end its sessions."""
    name = check_name(name)
    permit(store, who, "users", "users.reset_password", {"user": name})
    secret = one_time_password(name)
    digest = _new_hash(secret, name)
    with store.writer() as con:
        _existing(con, name)
        con.execute("UPDATE users SET password_hash = ?, must_change = true, failed_logins = 0, "
                    "locked_until = NULL, epoch = epoch + 1 WHERE name = ?", [digest, name])
        record_change(con, who, "users.reset_password", {"user": name})
    return secret


def set_role(store: Store, name: str, role: str, *, who: Who) -> None:
    """Change an account's role (its sessions end); the last administrator stays one."""
    name, role = check_name(name), check_role(role)
    permit(store, who, "users", "users.set_role", {"user": name, "role": role})
    with store.writer() as con:
        old = _existing(con, name)[1]
        if old == "admin" and role != "admin":
            _keep_an_admin(con, name)
        con.execute("UPDATE users SET role = ?, epoch = epoch + 1 WHERE name = ?", [role, name])
        record_change(con, who, "users.set_role", {"user": name, "from": old, "role": role})


def set_disabled(store: Store, name: str, disabled: bool, *, who: Who) -> None:
    """Disable (sessions end, login refused) or re-enable an account."""
    name = check_name(name)
    action = "users.disable" if disabled else "users.enable"
    permit(store, who, "users", action, {"user": name})
    with store.writer() as con:
        role = _existing(con, name)[1]
        if disabled and role == "admin":
            _keep_an_admin(con, name)
        con.execute("UPDATE users SET disabled = ?, epoch = epoch + 1 WHERE name = ?",
                    [disabled, name])
        record_change(con, who, action, {"user": name})


def _keep_an_admin(con: duckdb.DuckDBPyConnection, name: str) -> None:
    row = con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled "
                      "AND name <> ?", [name]).fetchone()
    if not row or not row[0]:
        raise AccessError(f"{name!r} is the last active administrator")


def authenticate(store: Store, name: str, password: str, *, source: str | None = None,
                 now: datetime | None = None) -> User:
    """The account when the password is right; AccessError otherwise.

    ``source``: where the attempt comes from (the browser's address; None: this machine).
    A wrong name and a wrong password get the same message; so do a locked account, a
    locked unknown name and a locked source (:mod:`tracing.access.logins`). After
    :data:`settings.LOGIN_MAX_FAILURES` failures in a row an account is locked for
    :data:`settings.LOGIN_LOCKOUT_MINUTES`. The hash is verified outside any transaction;
    logins and failures of real accounts are written to the audit log each, the rest as a
    periodic summary.
    """
    when = _now(now)
    key, origin = name.strip().lower()[:64], (source or "local")[:64]
    throttle = logins.throttle_for(store.path)
    _write_summary(store, throttle, when)
    until = throttle.refused_until(key, origin, when, known=True)  # the source's lock only
    if until is not None:
        throttle.refused(key, origin, when)
        raise AccessError(logins.locked_message(until))
    with store.reader() as con:
        row = con.execute(_SELECT, [key]).fetchone()
    until = throttle.refused_until(key, origin, when, known=row is not None)
    if row is not None and row[7] is not None and int(str(row[7])) > _micros(when):
        until = max(until or when, datetime.fromtimestamp(int(str(row[7])) / 1e6, UTC))
    if until is not None:
        throttle.refused(key, origin, when)
        raise AccessError(logins.locked_message(until))
    if row is None or len(password) > settings.PASSWORD_MAX_LENGTH:
        _matches(_dummy_hash(), password)
        throttle.failed(key, origin, when, known=False)
        raise AccessError(logins.WRONG)
    name, role, must_change, disabled, epoch, digest = row[:6]
    right = _matches(str(digest), password) and not disabled  # hashed either way: no timing
    rehashed = _hash(password) if right and _hasher.check_needs_rehash(str(digest)) else None
    with store.writer() as con:
        if right:
            con.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, "
                        "password_hash = coalesce(?, password_hash) WHERE name = ?",
                        [rehashed, name])
        else:
            lock = when + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
            con.execute("UPDATE users SET failed_logins = CASE WHEN failed_logins + 1 >= ? "
                        "THEN 0 ELSE failed_logins + 1 END, locked_until = CASE WHEN "
                        "failed_logins + 1 >= ? THEN ? ELSE locked_until END WHERE name = ?",
                        [settings.LOGIN_MAX_FAILURES, settings.LOGIN_MAX_FAILURES, lock, name])
        audit.record_in(con, who=key, action="login" if right else "login.failed",
                        params={"source": origin} if right else
                        {"source": origin, "why": "disabled" if disabled else "wrong password"},
                        reason="sign-in")
    if not right:
        throttle.failed(key, origin, when, known=True)
        raise AccessError(logins.WRONG)
    throttle.succeeded(key)
    return User(str(name), check_role(str(role)), bool(must_change), False, int(str(epoch)))


def _write_summary(store: Store, throttle: logins.Throttle, when: datetime, *,
                   force: bool = False) -> None:
    """Write the pending summary of unknown-name failures and refused attempts when due."""
    params = throttle.summary_due(when, force=force)
    if params is not None:
        audit.record(store, who=logins.SUMMARY_WHO, action=logins.SUMMARY_ACTION,
                     params=params, reason="failed logins, aggregated")


def write_login_summary(store: Store, *, now: datetime | None = None) -> None:
    """Write the pending summary of failed logins now (e.g. before stopping a server)."""
    _write_summary(store, logins.throttle_for(store.path), _now(now), force=True)


def change_password(store: Store, name: str, old: str, new: str, *,
                    source: str | None = None) -> User:
    """Replace a password after checking the old one (AccessError when wrong, when the new
    one is weak or equal to the old); clears the one-time flag and ends other sessions."""
    user = authenticate(store, name, old, source=source)
    if new == old:
        raise AccessError("the new password must differ from the old one")
    digest = _new_hash(new, user.name)
    with store.writer() as con:
        con.execute("UPDATE users SET password_hash = ?, must_change = false, epoch = epoch + 1 "
                    "WHERE name = ?", [digest, user.name])
        audit.record_in(con, who=user.name, action="users.change_password", params={},
                        reason="password change")
    return User(user.name, user.role, False, False, user.epoch + 1)


def _matches(digest: str, password: str) -> bool:
    try:
        return logins.hashing(lambda: _hasher.verify(digest, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _micros(when: datetime) -> int:
    return (when - audit.EPOCH) // timedelta(microseconds=1)

