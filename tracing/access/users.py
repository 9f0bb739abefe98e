"""Local accounts: argon2id password hashes, lock-out after repeated failures, one-time
passwords that must be changed at the first login, and the first administrator.

No password is ever shipped or logged: new accounts and resets get a random one-time
password that the caller shows once (the CLI prints it; the first administrator's goes to
the server console). Every change is written to the audit log.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tracing import settings
from tracing.access import audit
from tracing.access.roles import Role, check_role
from tracing.errors import AccessError
from tracing.store import Store

NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,31}")
"""User names: 2–32 lower-case letters, digits, dot, dash, underscore."""
FIRST_ADMIN: Final = "admin"
SYSTEM: Final = "system:first-run"



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
        _DUMMY_HASH = _hasher.hash("not a password of anyone")
    return _DUMMY_HASH


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


def check_password(password: str, name: str) -> str:
    """The password if acceptable; AccessError saying why not (never echoing it)."""
    if len(password) < settings.PASSWORD_MIN_LENGTH:
        raise AccessError(f"the password must have at least {settings.PASSWORD_MIN_LENGTH} "
                          "characters")
    if len(password) > settings.PASSWORD_MAX_LENGTH:
        raise AccessError(f"the password must have at most {settings.PASSWORD_MAX_LENGTH} "
                          "characters")
    if name.lower() in password.lower():
        raise AccessError("the password must not contain the user name")
    return password


def one_time_password() -> str:
    """A random password of 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


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


def add_user(store: Store, name: str, role: str, *, by: str, reason: str,
             password: str | None = None) -> str:
    """Create an account; return its password: the one given (the user need not change it)
    or a new one-time password (changed at the first login)."""
    name, role = check_name(name), check_role(role)
    secret = one_time_password() if password is None else check_password(password, name)
    with store.writer() as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            raise AccessError(f"user {name!r} exists already")
        con.execute("INSERT INTO users (name, role, password_hash, must_change) "
                    "VALUES (?, ?, ?, ?)", [name, role, _hasher.hash(secret), password is None])
        audit.record_in(con, who=by, action="users.add", params={"user": name, "role": role},
                        reason=reason)
    return secret


def bootstrap_admin(store: Store) -> str | None:
    """On a store without any account, create ``admin`` with a one-time password and
    return it (the caller prints it once); None when accounts exist."""
    secret = one_time_password()
    with store.writer() as con:
        row = con.execute("SELECT count(*) FROM users").fetchone()
        if row and row[0]:
            return None
        con.execute("INSERT INTO users (name, role, password_hash, must_change) "
                    "VALUES (?, 'admin', ?, true)", [FIRST_ADMIN, _hasher.hash(secret)])
        audit.record_in(con, who=SYSTEM, action="users.add",
                        params={"user": FIRST_ADMIN, "role": "admin"},
                        reason="first run: no account existed")
    return secret


def _existing(con: duckdb.DuckDBPyConnection, name: str) -> tuple[object, ...]:
    row = con.execute(_SELECT, [name]).fetchone()
    if row is None:
        raise AccessError(f"no user {name!r}")
    return tuple(row)


def reset_password(store: Store, name: str, *, by: str, reason: str) -> str:
    """Give ``name`` a new one-time password (returned), unlock it, end its sessions."""
    name, secret = check_name(name), one_time_password()
    with store.writer() as con:
        _existing(con, name)
        con.execute("UPDATE users SET password_hash = ?, must_change = true, failed_logins = 0, "
                    "locked_until = NULL, epoch = epoch + 1 WHERE name = ?",
                    [_hasher.hash(secret), name])
        audit.record_in(con, who=by, action="users.reset_password", params={"user": name},
                        reason=reason)
    return secret


def set_role(store: Store, name: str, role: str, *, by: str, reason: str) -> None:
    """Change an account's role (its sessions end); the last administrator stays one."""
    name, role = check_name(name), check_role(role)
    with store.writer() as con:
        old = _existing(con, name)[1]
        if old == "admin" and role != "admin":
            _keep_an_admin(con, name)
        con.execute("UPDATE users SET role = ?, epoch = epoch + 1 WHERE name = ?", [role, name])
        audit.record_in(con, who=by, action="users.set_role",
                        params={"user": name, "from": old, "role": role}, reason=reason)


def set_disabled(store: Store, name: str, disabled: bool, *, by: str, reason: str) -> None:
    """Disable (sessions end, login refused) or re-enable an account."""
    name = check_name(name)
    with store.writer() as con:
        role = _existing(con, name)[1]
        if disabled and role == "admin":
            _keep_an_admin(con, name)
        con.execute("UPDATE users SET disabled = ?, epoch = epoch + 1 WHERE name = ?",
                    [disabled, name])
        audit.record_in(con, who=by, action="users.disable" if disabled else "users.enable",
                        params={"user": name}, reason=reason)


def _keep_an_admin(con: duckdb.DuckDBPyConnection, name: str) -> None:
    row = con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled "
                      "AND name <> ?", [name]).fetchone()
    if not row or not row[0]:
        raise AccessError(f"{name!r} is the last active administrator")


def authenticate(store: Store, name: str, password: str, *,
                 now: datetime | None = None) -> User:
    """The account when the password is right; AccessError otherwise.

    Failures are counted; after :data:`settings.LOGIN_MAX_FAILURES` in a row the account is
    locked for :data:`settings.LOGIN_LOCKOUT_MINUTES`. A wrong name and a wrong password
    get the same message. Every attempt is written to the audit log.
    """
    when = _now(now)
    key = name.strip().lower()[:64]
    with store.writer() as con:
        row = con.execute(_SELECT, [key]).fetchone()
        user, refusal = _check_login(con, row, password, when)
        audit.record_in(con, who=key or "?", action="login" if refusal is None else
                        "login.failed", params={} if refusal is None else {"why": refusal},
                        reason="sign-in")
    if user is None:
        raise AccessError(refusal or "wrong user name or password")
    return user


def _check_login(con: duckdb.DuckDBPyConnection, row: tuple[object, ...] | None, password: str,
                 when: datetime) -> tuple[User | None, str | None]:
    """(user, None) on success; (None, message) on failure, counting it."""
    if row is None or len(password) > settings.PASSWORD_MAX_LENGTH:
        _matches(_dummy_hash(), password)
        return None, "wrong user name or password"
    name, role, must_change, disabled, epoch, digest, failures, locked_us = row
    if locked_us is not None and int(str(locked_us)) > _micros(when):
        until = datetime.fromtimestamp(int(str(locked_us)) / 1e6, UTC)
        local = until.astimezone(ZoneInfo(settings.LOCAL_TZ)).strftime("%H:%M")
        return None, (f"account {name!r} is locked until {local} after "
                      f"{settings.LOGIN_MAX_FAILURES} failed logins; an administrator can "
                      "reset it")
    if disabled or not _matches(str(digest), password):
        count = int(str(failures)) + 1
        lock = when + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        locked = count >= settings.LOGIN_MAX_FAILURES
        con.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE name = ?",
                    [0 if locked else count, lock if locked else None, name])
        return None, "wrong user name or password"
    if _hasher.check_needs_rehash(str(digest)):
        con.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                    [_hasher.hash(password), name])
    con.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?", [name])
    return User(str(name), check_role(str(role)), bool(must_change), False,
                int(str(epoch))), None


def change_password(store: Store, name: str, old: str, new: str) -> User:
    """Replace a password after checking the old one (AccessError when wrong, when the new
    one is weak or equal to the old); clears the one-time flag and ends other sessions."""
    user = authenticate(store, name, old)
    check_password(new, user.name)
    if new == old:
        raise AccessError("the new password must differ from the old one")
    with store.writer() as con:
        con.execute("UPDATE users SET password_hash = ?, must_change = false, epoch = epoch + 1 "
                    "WHERE name = ?", [_hasher.hash(new), user.name])
        audit.record_in(con, who=user.name, action="users.change_password", params={},
                        reason="password change")
    return User(user.name, user.role, False, False, user.epoch + 1)


def _matches(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _micros(when: datetime) -> int:
    return (when - audit.EPOCH) // timedelta(microseconds=1)

