"""The devices that post plate events: one credential per camera or NVR, bound to cameras.

An administrator creates a device with the registry cameras it may post for (and, for an
NVR, which vendor channel is which camera), rotates its key or revokes it: each change is
checked (permission ``devices``) and audited in its own transaction
(:mod:`tracing.access.actor`). The key is shown once; the store keeps its SHA-256 only. A
key is 32 random bytes (``tdk_…``), so a fast hash is enough: nobody can guess it from the
hash the way a password can be, and the receiver checks a key per request in microseconds.

The receiver never opens the database (the owner process holds it): after each change, and
whenever the owner starts or sees the registry change, the active devices are *published*
to a keys file (:func:`publish_keys`, hashes only) that the receiver reloads when it
changes. A revoked or rotated key therefore stops working within
:data:`~tracing.settings.LIVE_KEYS_POLL_S` of being published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from tracing.access.actor import Who, name_of, permit, record_change
from tracing.errors import DeviceError, TracingError
from tracing.files import replace_file
from tracing.store import Store
from tracing.store.store import after_commit

logger = logging.getLogger(__name__)

VENDORS: Final = ("json", "hikvision", "dahua")
"""Event formats a device posts: the generic JSON body, or a vendor's own."""
KEY_PREFIX: Final = "tdk_"
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
def keys_file(db: Path) -> Path:
    """Where the active devices of the store at ``db`` are published for the receiver
    (hashes only): ``<db>.devices.json``, beside the database."""
    return db.with_name(db.name + ".devices.json")


@dataclass(frozen=True, slots=True)
class Device:
    """A posting device as the receiver needs it (no secret)."""

    id: str
    vendor: str
    key_hash: str = field(repr=False)
    cameras: frozenset[str]
    channels: Mapping[str, str]
    time_zone: str | None

    def camera_of(self, camera_id: str | None, channel: str | None) -> str:
        """The registry camera an event of this device is for (DeviceError when the event
        names a camera or channel the device is not bound to, or names none and the device
        has several)."""
        if camera_id is not None:
            if camera_id not in self.cameras:
                raise DeviceError(f"camera {camera_id!r} is not bound to device {self.id!r}")
            return camera_id
        if channel is not None and channel in self.channels:
            return self.channels[channel]
        if len(self.cameras) == 1:
            return next(iter(self.cameras))
        which = f"channel {channel!r}" if channel is not None else "no camera or channel"
        raise DeviceError(f"device {self.id!r} posts for {len(self.cameras)} cameras and the "
                          f"event names {which} bound to none of them")


def hash_key(key: str) -> str:
    """The stored form of a device key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_device(store: Store, device_id: str, *, vendor: str, cameras: Iterable[str],
                  who: Who, channels: Mapping[str, str] | None = None,
                  time_zone: str | None = None) -> str:
    """Add a device bound to ``cameras`` (registry ids) and return its key (shown once)."""
    device_id = _check_id(device_id)
    bound, mapping = _check_binding(store, cameras, channels or {})
    what = {"device": device_id, "vendor": _check_vendor(vendor), "cameras": sorted(bound),
            "channels": dict(mapping), "time_zone": _check_zone(time_zone)}
    permit(store, who, "devices", "device.create", what)
    key = _new_key()
    with store.writer() as con:
        if _row(con, device_id) is not None:
            raise DeviceError(f"device {device_id!r} exists; rotate its key instead")
        con.execute(
            "INSERT INTO devices (id, vendor, key_hash, key_hint, cameras, channels, time_zone,"
            " created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [device_id, vendor, hash_key(key), _hint(key), sorted(bound),
             json.dumps(dict(mapping), sort_keys=True), time_zone, datetime.now(UTC),
             name_of(who)])
        record_change(con, who, "device.create", what)
        after_commit(con, lambda: _republish(store))
    return key


def rotate_key(store: Store, device_id: str, *, who: Who) -> str:
    """Give a device a new key (the old one stops working) and return it (shown once)."""
    key = _new_key()
    _update(store, device_id, who, "device.rotate",
            "UPDATE devices SET key_hash = ?, key_hint = ?, rotated_at = ? WHERE id = ?",
            [hash_key(key), _hint(key), datetime.now(UTC)])
    return key


def revoke_device(store: Store, device_id: str, *, who: Who) -> None:
    """Revoke a device: its key stops working; the row stays (who revoked it, when)."""
    _update(store, device_id, who, "device.revoke",
            "UPDATE devices SET revoked_at = ?, revoked_by = ? WHERE id = ?",
            [datetime.now(UTC), name_of(who)])


def _update(store: Store, device_id: str, who: Who, action: str, sql: str,
            values: list[object]) -> None:
    """A checked, audited change of an active device's row; the keys published after it."""
    what = {"device": device_id}
    permit(store, who, "devices", action, what)
    with store.writer() as con:
        _active(con, device_id)
        con.execute(sql, [*values, device_id])
        record_change(con, who, action, what)
        after_commit(con, lambda: _republish(store))


_TABLE_SQL: Final = """
SELECT id, vendor, key_hint, cameras, channels, time_zone,
       strftime(timezone('UTC', created_at), '%Y-%m-%d %H:%M:%S UTC') AS created_at,
       created_by,
       strftime(timezone('UTC', rotated_at), '%Y-%m-%d %H:%M:%S UTC') AS rotated_at,
       strftime(timezone('UTC', revoked_at), '%Y-%m-%d %H:%M:%S UTC') AS revoked_at,
       revoked_by
FROM devices ORDER BY id"""


def device_table(store: Store) -> list[dict[str, object]]:
    """Every device with its bindings and history (no hash; the key's last characters)."""
    with store.reader() as con:
        cursor = con.execute(_TABLE_SQL)
        names = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall()
    return [{**dict(zip(names, row, strict=True)), "cameras": list(row[3]),
             "channels": json.loads(row[4])} for row in rows]


def active_devices(store: Store) -> list[Device]:
    """The devices that may post now (not revoked), with their bindings."""
    with store.reader() as con:
        rows = con.execute(
            "SELECT id, vendor, key_hash, cameras, channels, time_zone FROM devices"
            " WHERE revoked_at IS NULL ORDER BY id").fetchall()
    return [Device(str(r[0]), str(r[1]), str(r[2]), frozenset(map(str, r[3])),
                   dict(json.loads(r[4])), r[5]) for r in rows]


# --- the keys file ---------------------------------------------------------------------------

def publish_keys(store: Store, path: Path | None = None) -> Path:
    """Write the active devices (hashes, bindings) and the registry's camera ids to
    ``path`` (default :func:`keys_file`) for the receiver; unchanged content is not
    rewritten."""
    path = path or keys_file(store.path)
    with store.reader() as con:
        known = sorted(str(r[0]) for r in con.execute("SELECT id FROM cameras").fetchall())
    text = json.dumps({"devices": [_as_json(d) for d in active_devices(store)],
                       "cameras": known}, sort_keys=True).encode()
    if path.is_file() and path.read_bytes() == text:
        return path
    return replace_file(path, text)


@dataclass(frozen=True, slots=True)
class Keys:
    """A loaded keys file: devices by key hash, and the registry's camera ids."""

    by_hash: Mapping[str, Device]
    cameras: frozenset[str]

    def device(self, key: str) -> Device | None:
        """The active device holding ``key``, or None."""
        return self.by_hash.get(hash_key(key))


def load_keys(path: Path) -> Keys:
    """The keys file (no device may post when it is missing or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        devices = [Device(d["id"], d["vendor"], d["key_hash"], frozenset(d["cameras"]),
                          dict(d["channels"]), d["time_zone"]) for d in data["devices"]]
        return Keys({d.key_hash: d for d in devices}, frozenset(data["cameras"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Keys({}, frozenset())


def _republish(store: Store) -> None:
    """:func:`publish_keys` after a committed change (a failure is logged: the owner
    publishes again when it starts and every few seconds)."""
    try:
        publish_keys(store)
    except (OSError, TracingError) as exc:
        logger.error("device keys not published: %s", exc)


def _as_json(device: Device) -> dict[str, object]:
    return {"id": device.id, "vendor": device.vendor, "key_hash": device.key_hash,
            "cameras": sorted(device.cameras), "channels": dict(device.channels),
            "time_zone": device.time_zone}


# --- checks ----------------------------------------------------------------------------------

def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _hint(key: str) -> str:
    return f"…{key[-4:]}"


def _check_id(device_id: str) -> str:
    if not isinstance(device_id, str) or not ID_PATTERN.fullmatch(device_id):
        raise DeviceError(f"device id {str(device_id)[:70]!r} must be 1–64 letters, digits, "
                          "'.', '_' or '-', starting with a letter or digit")
    return device_id


def _check_vendor(vendor: str) -> str:
    if vendor not in VENDORS:
        raise DeviceError(f"vendor {vendor!r} is not one of {', '.join(VENDORS)}")
    return vendor


def _check_zone(zone: str | None) -> str | None:
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DeviceError(f"time zone {zone!r} is not an IANA zone like Asia/Ho_Chi_Minh"
                          ) from exc
    return zone


def _check_binding(store: Store, cameras: Iterable[str], channels: Mapping[str, str]
                   ) -> tuple[frozenset[str], Mapping[str, str]]:
    bound = frozenset(str(c).strip() for c in cameras) | frozenset(channels.values())
    if not bound:
        raise DeviceError("a device must be bound to at least one camera")
    with store.reader() as con:
        known = {str(r[0]) for r in con.execute("SELECT id FROM cameras").fetchall()}
    unknown = sorted(bound - known)
    if unknown:
        raise DeviceError(f"unknown camera id(s): {', '.join(unknown[:5])}")
    bad = [c for c in channels if not re.fullmatch(r"[A-Za-z0-9._-]{1,32}", str(c))]
    if bad:
        raise DeviceError(f"channel names must be 1–32 letters or digits: {bad[:3]}")
    return bound, {str(k): str(v) for k, v in channels.items()}


def _row(con: duckdb.DuckDBPyConnection, device_id: str) -> tuple[object, ...] | None:
    return con.execute("SELECT revoked_at FROM devices WHERE id = ?", [device_id]).fetchone()


def _active(con: duckdb.DuckDBPyConnection, device_id: str) -> None:
    row = _row(con, device_id)
    if row is None:
        raise DeviceError(f"unknown device {device_id!r}")
    if row[0] is not None:
        raise DeviceError(f"device {device_id!r} is revoked; create a new one")
