"""DDL of the store and its migrations.

The schema is an ordered list of :data:`MIGRATIONS`; each step runs in one transaction
together with its ``schema_version`` row, so a database is always at exactly one version.
Opening an older database applies the missing steps; opening a newer one is refused.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

import duckdb

from tracing import settings
from tracing.errors import StoreError
from tracing.store import window

logger = logging.getLogger(__name__)

RID_KEY_SQL: Final = "(hash({read_id}) >> 1)::BIGINT"
"""63-bit key of a read_id in ``read_keys`` (format with the column expression). Signed,
because DuckDB cannot push UBIGINT filters into Arrow scans."""
CONTENT_KEY_SQL: Final = "(hash({camera_id}, {ts}, {plate_raw}, {confidence}) >> 1)::BIGINT"
"""63-bit fingerprint of what a read says; two reads with one read_id must share it."""
HASH_PROBE_SQL: Final = "hash('thuduc-tracing read key probe')::VARCHAR"
"""DuckDB does not promise a stable ``hash()`` across versions: the value of this probe is
kept in ``store_meta`` and ``read_keys`` is rebuilt when it changes."""
_MICROSECOND: Final = timedelta(microseconds=1)


class Migration(NamedTuple):
    """One schema step: its version, what it does, and the SQL (several statements)."""

    version: int
    description: str
    sql: str


_V1_CORE: Final = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    description VARCHAR NOT NULL
);
CREATE TABLE cameras (
    id VARCHAR NOT NULL,
    code VARCHAR,
    name VARCHAR,
    lon DOUBLE,
    lat DOUBLE,
    heading DOUBLE,
    heading_known BOOLEAN,
    ward VARCHAR,
    road VARCHAR,
    is_lpr BOOLEAN NOT NULL DEFAULT false,
    status VARCHAR NOT NULL DEFAULT 'up',
    edge_u BIGINT,
    edge_v BIGINT,
    edge_key INTEGER,
    snap_distance_m DOUBLE
);
CREATE TABLE reads (
    read_id VARCHAR NOT NULL,
    camera_id VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    plate VARCHAR NOT NULL,
    plate_compact VARCHAR NOT NULL,
    plate_raw VARCHAR NOT NULL,
    confidence REAL,
    vehicle_class VARCHAR,
    plate_colour VARCHAR,
    crop_ref VARCHAR,
    source VARCHAR,
    ingested_at TIMESTAMPTZ NOT NULL
);
CREATE SEQUENCE rejects_id;
CREATE TABLE rejects (
    id BIGINT NOT NULL DEFAULT nextval('rejects_id'),
    rejected_at TIMESTAMPTZ NOT NULL,
    source VARCHAR,
    reason VARCHAR NOT NULL,
    row_json VARCHAR NOT NULL
);
"""

_V2_WORKFLOW: Final = """
CREATE SEQUENCE watchlist_id;
CREATE TABLE watchlist (
    id BIGINT NOT NULL DEFAULT nextval('watchlist_id'),
    pattern VARCHAR NOT NULL,
    match_kind VARCHAR NOT NULL CHECK (match_kind IN ('exact', 'wildcard', 'fuzzy')),
    reason VARCHAR NOT NULL,
    priority INTEGER NOT NULL DEFAULT 1,
    expires_at TIMESTAMPTZ,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE geofences_id;
CREATE TABLE geofences (
    id BIGINT NOT NULL DEFAULT nextval('geofences_id'),
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('gateway', 'custom')),
    geojson VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE alerts_id;
CREATE TABLE alerts (
    id BIGINT NOT NULL DEFAULT nextval('alerts_id'),
    kind VARCHAR NOT NULL,
    read_id VARCHAR,
    plate VARCHAR,
    geofence_id BIGINT,
    watch_id BIGINT,
    raised_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    status VARCHAR NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'acknowledged', 'dismissed')),
    status_by VARCHAR,
    status_at TIMESTAMPTZ,
    note VARCHAR
);
CREATE SEQUENCE audit_log_id;
CREATE TABLE audit_log (
    id BIGINT NOT NULL DEFAULT nextval('audit_log_id'),
    who VARCHAR NOT NULL,
    logged_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    action VARCHAR NOT NULL,
    params VARCHAR,
    reason VARCHAR
);
"""

FILL_READ_KEYS: Final = f"""
INSERT INTO read_keys
    SELECT {RID_KEY_SQL.format(read_id="read_id")} AS k,
           {CONTENT_KEY_SQL.format(camera_id="camera_id", ts="ts", plate_raw="plate_raw",
                                   confidence="confidence")}
    FROM reads ORDER BY k;
"""  # noqa: S608 - constants only
"""Fill ``read_keys`` from ``reads``, sorted by key so its zone maps prune lookups."""

_V3_READ_KEYS: Final = f"""
CREATE TABLE store_meta (key VARCHAR NOT NULL, value VARCHAR);
INSERT INTO store_meta VALUES ('hash_probe', {HASH_PROBE_SQL});
CREATE TABLE read_keys (rid_key BIGINT NOT NULL, content_key BIGINT NOT NULL);
{FILL_READ_KEYS}"""  # noqa: S608 - constants only

_V4_ACCESS: Final = """
ALTER TABLE audit_log ADD COLUMN prev_hash VARCHAR;
ALTER TABLE audit_log ADD COLUMN entry_hash VARCHAR;
CREATE TABLE users (
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('investigator', 'analyst', 'supervisor', 'admin')),
    password_hash VARCHAR NOT NULL,
    must_change BOOLEAN NOT NULL DEFAULT true,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    disabled BOOLEAN NOT NULL DEFAULT false,
    epoch INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE case_reads (
    case_ref VARCHAR NOT NULL,
    read_id VARCHAR NOT NULL,
    attached_by VARCHAR NOT NULL,
    attached_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""
"""Access control: accounts (``epoch`` ends sessions on a reset, role change or disable),
reads attached to a case (kept by the retention purge), the audit log's hash chain."""

_V5_ALERTS: Final = """
ALTER TABLE watchlist ADD COLUMN fence_ids BIGINT[];
ALTER TABLE watchlist ADD COLUMN removed_at TIMESTAMPTZ;
ALTER TABLE watchlist ADD COLUMN removed_by VARCHAR;
ALTER TABLE geofences ADD COLUMN updated_by VARCHAR;
ALTER TABLE geofences ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE geofences ADD COLUMN deleted_by VARCHAR;
ALTER TABLE alerts ADD COLUMN alert_key VARCHAR;
ALTER TABLE alerts ADD COLUMN camera_id VARCHAR;
ALTER TABLE alerts ADD COLUMN read_ts TIMESTAMPTZ;
ALTER TABLE alerts ADD COLUMN plate_raw VARCHAR;
ALTER TABLE alerts ADD COLUMN confidence REAL;
ALTER TABLE alerts ADD COLUMN crop_ref VARCHAR;
ALTER TABLE alerts ADD COLUMN priority INTEGER;
ALTER TABLE alerts ADD COLUMN detail VARCHAR;
CREATE UNIQUE INDEX alerts_alert_key ON alerts (alert_key);
CREATE TABLE alert_checkpoint (
    name VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ,
    reads_seen BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE alert_outbox (
    alert_id BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error VARCHAR,
    delivered_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ
);
"""
"""Alert engine: watch restrictions to fences, soft deletes (alerts keep naming what they
matched), the read's evidence copied into each alert, a unique alert key (no alert twice),
the engine's checkpoint (committed with the alerts it covers) and the webhook outbox."""

_QUARANTINE: Final = """
CREATE TEMP TABLE _out_of_window AS
    SELECT *, {rid_key} AS _k,
           CASE WHEN ts < {earliest} THEN '{too_old}' ELSE '{ahead}' END AS _reason
    FROM reads WHERE ts < {earliest} OR ts > {latest};
INSERT INTO rejects (rejected_at, source, reason, row_json)
    SELECT now(), source, _reason,
           to_json(struct_pack(read_id := read_id, camera_id := camera_id, ts := ts::VARCHAR,
                               plate_raw := plate_raw, confidence := confidence,
                               vehicle_class := vehicle_class, plate_colour := plate_colour,
                               crop_ref := crop_ref, source := source))
    FROM _out_of_window ORDER BY ts, read_id;
DELETE FROM reads WHERE ts < {earliest} OR ts > {latest};
DELETE FROM read_keys WHERE rid_key IN (SELECT _k FROM _out_of_window);
INSERT INTO read_keys SELECT {rid_key} AS k, {content_key} FROM reads
    WHERE k IN (SELECT _k FROM _out_of_window);
DROP TABLE _out_of_window;
"""
"""Move reads outside the accepted window (:mod:`tracing.store.window`) to ``rejects``
with their values and reason, and forget their keys (keys another read shares through a
hash collision are put back)."""


def _timestamp_sql(when: datetime) -> str:
    """A TIMESTAMPTZ literal of an instant computed by this code (never user text)."""
    return f"TIMESTAMPTZ '{when.astimezone(UTC).isoformat()}'"


def quarantine_sql(latest: str) -> str:
    """:data:`_QUARANTINE` bounded by ``latest`` (an SQL expression written by code)."""
    return _QUARANTINE.format(
        rid_key=RID_KEY_SQL.format(read_id="read_id"),
        content_key=CONTENT_KEY_SQL.format(camera_id="camera_id", ts="ts",
                                           plate_raw="plate_raw", confidence="confidence"),
        earliest=_timestamp_sql(settings.READ_TS_EARLIEST), latest=latest,
        too_old=window.TOO_OLD, ahead=window.TOO_FAR_AHEAD)


def quarantine(con: duckdb.DuckDBPyConnection, *, now: datetime | None = None) -> int:
    """Move the reads outside the accepted window at ``now`` (default the clock) to
    ``rejects``, in con's transaction; return how many."""
    latest = window.latest(now)
    row = con.execute("SELECT count(*) FROM reads WHERE ts < ? OR ts > ?",
                      [settings.READ_TS_EARLIEST, latest]).fetchone()
    moved = int(row[0]) if row else 0
    if moved:
        con.execute(quarantine_sql(_timestamp_sql(latest)))
    return moved


_V6_WINDOW: Final = quarantine_sql(
    f"now() + to_microseconds({settings.READ_TS_MAX_AHEAD // _MICROSECOND})")
"""Reads outside the accepted time window, stored before ingest refused them, are moved to
``rejects`` (the clock bound is the migration transaction's start)."""

_V7_DIRECTIONS: Final = """
ALTER TABLE cameras ADD COLUMN directions VARCHAR DEFAULT 'both';
UPDATE cameras SET directions = 'both' WHERE directions IS NULL;
"""
"""Whether a camera reads the traffic of one direction (the one it is snapped to) or of
both directions of its road (the default: rear plates going away, front plates oncoming)."""

_V8_LIVE: Final = """
ALTER TABLE cameras ADD COLUMN stream_url VARCHAR;
CREATE TABLE devices (
    id VARCHAR NOT NULL,
    vendor VARCHAR NOT NULL,
    key_hash VARCHAR NOT NULL,
    key_hint VARCHAR NOT NULL,
    cameras VARCHAR[] NOT NULL,
    channels VARCHAR NOT NULL DEFAULT '{}',
    time_zone VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    rotated_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    revoked_by VARCHAR
);
"""
"""Live feeds: a camera's video stream address (for the stream workers), and the devices
(cameras, NVRs) that post plate events to the receiver: a hashed key each, the camera ids
it may post for, its vendor channels and the time zone of timestamps it sends without one."""

_V9_REVIEWS: Final = """
CREATE SEQUENCE read_reviews_id;
CREATE TABLE read_reviews (
    id BIGINT NOT NULL DEFAULT nextval('read_reviews_id'),
    read_id VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL CHECK (verdict IN ('confirmed', 'corrected')),
    old_plate VARCHAR NOT NULL,
    new_plate VARCHAR NOT NULL,
    plate_raw VARCHAR,
    crop_ref VARCHAR,
    who VARCHAR NOT NULL,
    reviewed_at TIMESTAMPTZ NOT NULL,
    note VARCHAR
);
INSERT INTO store_meta VALUES ('reads_revision', '0');
"""
"""Operators' reviews of reads: a plate confirmed or corrected (old → new, who, when). The
read's ``plate`` becomes the corrected one; ``plate_raw`` keeps what was read. The reads
revision counts changes to stored reads that keep their number (corrections)."""

MIGRATIONS: Final = (
    Migration(1, "cameras, reads, rejects", _V1_CORE),
    Migration(2, "watchlist, geofences, alerts, audit log", _V2_WORKFLOW),
    Migration(3, "read_keys: idempotency index on read_id", _V3_READ_KEYS),
    Migration(4, "users, case_reads, hash chain of the audit log", _V4_ACCESS),
    Migration(5, "alert engine: keys, evidence, checkpoint, webhook outbox", _V5_ALERTS),
    Migration(6, "reads outside the accepted time window moved to rejects", _V6_WINDOW),
    Migration(7, "cameras: directions read (one or both)", _V7_DIRECTIONS),
    Migration(8, "live feeds: camera stream_url, devices", _V8_LIVE),
    Migration(9, "read reviews: confirmed and corrected plates", _V9_REVIEWS),
)
"""Every schema step in order; append, never edit a released step."""
LATEST_VERSION: Final = MIGRATIONS[-1].version
READ_KEYS_VERSION: Final = 3
"""First version with ``read_keys`` and its hash probe in ``store_meta``."""

REBUILD_READ_KEYS: Final = f"""
DELETE FROM read_keys;
{FILL_READ_KEYS}
UPDATE store_meta SET value = {HASH_PROBE_SQL} WHERE key = 'hash_probe';
"""  # noqa: S608 - constants only
"""Recompute ``read_keys`` from ``reads`` (after a DuckDB upgrade changed ``hash()``)."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Version of the open database: 0 when empty; StoreError when it is not a store."""
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()}
    if "schema_version" in tables:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    if tables:
        raise StoreError(
            f"not a tracing store: tables {sorted(tables)[:5]} but no schema_version table"
        )
    return 0


def check_supported(version: int) -> None:
    """Refuse a database written by newer code than this."""
    if version > LATEST_VERSION:
        raise StoreError(
            f"database schema version {version} is newer than this software supports "
            f"({LATEST_VERSION}); upgrade the software, do not open it with this one"
        )


def migrate(con: duckdb.DuckDBPyConnection, *, target: int = LATEST_VERSION) -> int:
    """Apply the missing steps up to ``target``, one transaction each; return the version."""
    version = schema_version(con)
    check_supported(version)
    for step in MIGRATIONS:
        if version < step.version <= target:
            _apply(con, step)
            version = step.version
    return version


def _apply(con: duckdb.DuckDBPyConnection, step: Migration) -> None:
    logger.info("store: migrating to schema version %s (%s)", step.version, step.description)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(step.sql)
        con.execute(
            "INSERT INTO schema_version (version, description) VALUES (?, ?)",
            [step.version, step.description],
        )
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise StoreError(f"migration to schema version {step.version} failed: {exc}") from exc


def repair_read_keys(con: duckdb.DuckDBPyConnection) -> bool:
    """Rebuild ``read_keys`` when DuckDB's ``hash()`` changed; True when it did."""
    row = con.execute(
        f"SELECT value = {HASH_PROBE_SQL} FROM store_meta WHERE key = 'hash_probe'"  # noqa: S608
    ).fetchone()
    if row is None or row[0]:
        return False
    logger.warning("store: DuckDB hash() changed since read_keys was built; rebuilding it")
    con.execute("BEGIN TRANSACTION")
    con.execute(REBUILD_READ_KEYS)
    con.execute("COMMIT")
    return True


_SORTABLE: Final = frozenset({"reads", "read_keys"})


def rewrite_sorted(con: duckdb.DuckDBPyConnection, table: str, *, order_by: str) -> None:
    """Replace ``table`` by a copy ordered by ``order_by`` (same DDL), in con's transaction."""
    if table not in _SORTABLE:
        raise StoreError(f"{table!r} is not a table that is kept sorted")
    row = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
        "AND database_name = current_database()", [table]).fetchone()
    head = f"CREATE TABLE {table}("
    if row is None or not str(row[0]).startswith(head):
        raise StoreError(f"cannot read the definition of table {table}")
    sorted_name = f"{table}__sorted"
    con.execute(f"CREATE TABLE {sorted_name}(" + str(row[0])[len(head):])
    con.execute(f"INSERT INTO {sorted_name} SELECT * FROM {table} ORDER BY {order_by}")  # noqa: S608
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {sorted_name} RENAME TO {table}")
