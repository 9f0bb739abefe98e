"""The audit log: who did what, when, with which parameters, and why.

Append-only and tamper-evident: each entry's ``entry_hash`` is the SHA-256 of its content
(id, who, time in µs, action, parameters as canonical JSON, reason) and of the previous
entry's hash (``prev_hash``). The newest entry's id and hash are also kept in ``store_meta``
(``audit_head``). Outside the database file, an append-only **anchor** file
(:func:`anchor_path`, ``<db>.audit-anchor``) gets one fsync'd line ``<entries> <id> <hash>``
after every committed entry. :func:`verify` walks the chain and names every edited entry
and every place where entries were removed; against the anchor it also detects the newest
entries removed with ``audit_head`` repointed, every entry removed, and history re-hashed
from an anchored entry on.

What stays undetectable: someone who can write both the database file and the anchor file
(or deletes the anchor and its ``store_meta`` mark together) can rewrite history. Keep the
anchor on another volume or append-only (``settings.AUDIT_ANCHOR_DIR``, ``chattr +a``), and
note the head hash ``python -m tracing audit verify`` prints somewhere outside the system.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal

import duckdb
import pandas as pd

from tracing import settings
from tracing.errors import AuditError, PlateError
from tracing.plates import compact_plate, normalize_plate
from tracing.safecsv import frame_csv
from tracing.store import Store
from tracing.store.store import after_commit, time_range

logger = logging.getLogger(__name__)

GENESIS: Final = "0" * 64
"""``prev_hash`` of the first entry."""
HEAD_KEY: Final = "audit_head"
"""``store_meta`` key holding ``<id>:<hash>`` of the newest entry."""
ACTION_PATTERN: Final = re.compile(r"[a-z][a-z0-9_.]{0,63}")
MAX_WHO_LENGTH: Final = 64
MAX_PARAMS_CHARS: Final = 20_000
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ANCHOR_KEY: Final = "audit_anchor"
"""``store_meta`` key set once the log is anchored (an anchor missing after that is a
finding)."""
ANCHOR_SUFFIX: Final = ".audit-anchor"
_ANCHOR_LINE: Final = re.compile(r"(\d+) (\d+) ([0-9a-f]{64})")
_TORN_LINE: Final = re.compile(r"(\d+( (\d+( [0-9a-f]{0,63})?)?)?)?")
"""The start of an anchor line cut short by a crash (also the empty last line)."""


def _canonical(params: Mapping[str, object]) -> str:
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise AuditError(f"audit parameters must be a mapping with text keys, not {params!r}")
    text = json.dumps(dict(params), sort_keys=True, default=str, ensure_ascii=False)
    if len(text) > MAX_PARAMS_CHARS:
        raise AuditError(f"audit parameters too long ({len(text)} characters)")
    return text


def check_reason(reason: str | None) -> str:
    """The reason stripped; AuditError when it is missing, too short or too long."""
    text = (reason or "").strip()
    if len(text) < settings.REASON_MIN_LENGTH:
        raise AuditError(f"a reason or case number of at least {settings.REASON_MIN_LENGTH} "
                         f"characters is required (got {text!r})")
    if len(text) > settings.REASON_MAX_LENGTH:
        raise AuditError(f"reason too long ({len(text)} > {settings.REASON_MAX_LENGTH} "
                         "characters)")
    return text


def entry_hash(entry_id: int, who: str, logged_us: int, action: str, params: str | None,
               reason: str | None, prev_hash: str) -> str:
    """SHA-256 (hex) of an entry's content chained to the previous entry's hash."""
    content = json.dumps([entry_id, who, logged_us, action, params, reason, prev_hash],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


def record(store: Store, *, who: str, action: str, params: Mapping[str, object],
           reason: str | None) -> int:
    """Append an entry in its own transaction; return its id.

    ``who``: the user (or ``system:<service>``); ``action``: a short dotted name such as
    ``search``, ``trace``, ``export``, ``watchlist.add``; ``params``: what was asked (JSON
    of it is stored); ``reason``: required (AuditError when missing).
    """
    with store.writer() as con:
        return record_in(con, who=who, action=action, params=params, reason=reason)


def record_in(con: duckdb.DuckDBPyConnection, *, who: str, action: str,
              params: Mapping[str, object], reason: str | None) -> int:
    """:func:`record` inside an open ``store.writer()`` transaction (commits with it)."""
    if not who or len(who) > MAX_WHO_LENGTH:
        raise AuditError(f"audit entry needs who (1–{MAX_WHO_LENGTH} characters), got {who!r}")
    if not ACTION_PATTERN.fullmatch(action):
        raise AuditError(f"audit action {action!r} is not a short dotted lower-case name")
    why, text = check_reason(reason), _canonical(params)
    now = datetime.now(UTC)
    logged_us = (now - EPOCH) // timedelta(microseconds=1)
    row = con.execute("SELECT value FROM store_meta WHERE key = ?", [HEAD_KEY]).fetchone()
    prev = str(row[0]).split(":", 1)[1] if row else GENESIS
    id_row = con.execute("SELECT nextval('audit_log_id')").fetchone()
    assert id_row is not None
    entry_id = int(id_row[0])
    digest = entry_hash(entry_id, who, logged_us, action, text, why, prev)
    con.execute("INSERT INTO audit_log (id, who, logged_at, action, params, reason, prev_hash, "
                "entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [entry_id, who, now, action, text, why, prev, digest])
    con.execute("DELETE FROM store_meta WHERE key = ?", [HEAD_KEY])
    con.execute("INSERT INTO store_meta VALUES (?, ?)", [HEAD_KEY, f"{entry_id}:{digest}"])
    _anchor_after_commit(con, entry_id, digest)
    return entry_id


def anchor_path(db: Path | str) -> Path:
    """The anchor file of the store at ``db``: ``<db name>.audit-anchor`` in
    :data:`settings.AUDIT_ANCHOR_DIR`, or beside the database."""
    db = Path(db)
    return (settings.AUDIT_ANCHOR_DIR or db.parent) / (db.name + ANCHOR_SUFFIX)


def _anchor_after_commit(con: duckdb.DuckDBPyConnection, entry_id: int, digest: str) -> None:
    """Mark the store anchored and append ``<entries> <id> <hash>`` to the anchor once the
    entry is committed (a rolled-back entry is never anchored)."""
    row = con.execute("SELECT path FROM duckdb_databases() "
                      "WHERE database_name = current_database()").fetchone()
    counted = con.execute("SELECT count(*) FROM audit_log").fetchone()
    if row is None or not row[0] or counted is None:
        return  # an in-memory database: nothing outside it to anchor to
    path = anchor_path(str(row[0]))
    if not con.execute("SELECT 1 FROM store_meta WHERE key = ?", [ANCHOR_KEY]).fetchone():
        con.execute("INSERT INTO store_meta VALUES (?, ?)", [ANCHOR_KEY, path.name])
    line = f"{int(counted[0])} {entry_id} {digest}\n".encode()
    after_commit(con, lambda: _append(path, line))


def _append(path: Path, line: bytes) -> None:
    """Append and fsync one anchor line (a failure is logged: the entry is committed, and
    :func:`verify` reports the anchor as behind)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # end a line torn by a crash first
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        logger.error("audit: cannot append to the anchor %s: %s", path, exc)


@dataclass(frozen=True)
class Anchor:
    """One anchor line: the log held ``entries`` entries, the newest ``entry_id`` with
    ``digest``."""

    entries: int
    entry_id: int
    digest: str


def read_anchor(path: Path) -> list[Anchor] | None:
    """The anchor's lines (None when the file does not exist); AuditError on a line that
    is not ``<entries> <id> <64 hex>``."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"cannot read the audit anchor {path}: {exc}") from exc
    out: list[Anchor] = []
    for number, line in enumerate(text.split("\n"), 1):
        if whole := _ANCHOR_LINE.fullmatch(line):
            out.append(Anchor(int(whole[1]), int(whole[2]), whole[3]))
        elif not _TORN_LINE.fullmatch(line):
            raise AuditError(f"audit anchor {path.name} line {number} is not "
                             "'<entries> <id> <hash>': it was edited")
    return out


@dataclass(frozen=True)
class AuditProblem:
    """One finding of :func:`verify`: the entry concerned and what is wrong with it."""

    entry_id: int
    kind: Literal["edited", "deleted", "unchained"]
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify`: entries checked, problems found, the head hash."""

    entries: int
    problems: tuple[AuditProblem, ...]
    head: str | None

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return (f"audit log intact: {self.entries} entries, head "
                    f"{self.head or 'none (empty log)'}")
        lines = [f"audit log TAMPERED: {len(self.problems)} problem(s) in {self.entries} "
                 "entries"]
        lines += [f"  entry #{p.entry_id}: {p.kind}: {p.detail}" for p in self.problems]
        return "\n".join(lines)


def verify(store: Store) -> VerifyReport:
    """Recompute the chain; name every edited entry and every gap left by removed ones;
    compare the newest entries with the anchor outside the database."""
    with store.reader() as con:
        rows = con.execute(
            "SELECT id, who, epoch_us(logged_at), action, params, reason, prev_hash, "
            "entry_hash FROM audit_log ORDER BY id").fetchall()
        meta = dict(con.execute("SELECT key, value FROM store_meta WHERE key IN (?, ?)",
                                [HEAD_KEY, ANCHOR_KEY]).fetchall())
    problems: list[AuditProblem] = []
    prev_id, prev_hash = 0, GENESIS
    for entry_id, who, us, action, params, reason, stored_prev, stored_hash in rows:
        if stored_hash is None:
            problems.append(AuditProblem(entry_id, "unchained", "entry has no hash"))
        elif entry_hash(entry_id, who, us, action, params, reason,
                        stored_prev or "") != stored_hash:
            problems.append(AuditProblem(entry_id, "edited",
                                         "content does not match its hash"))
        if stored_prev != prev_hash:
            problems.append(_broken_link(prev_id, entry_id))
        prev_id, prev_hash = entry_id, stored_hash
    head = None if meta.get(HEAD_KEY) is None else str(meta[HEAD_KEY])
    if head is not None and head != f"{prev_id}:{prev_hash}":
        head_id = int(head.split(":", 1)[0])
        if head_id > prev_id:
            problems.append(AuditProblem(head_id, "deleted", f"the newest entries after "
                                         f"#{prev_id} up to #{head_id} were removed"))
        else:
            problems.append(AuditProblem(prev_id, "edited",
                                         "the newest entry does not match the recorded head"))
    elif head is None and rows:
        problems.append(AuditProblem(prev_id, "unchained", "the recorded head is missing"))
    hashes = {int(r[0]): str(r[7]) for r in rows}
    known = {(p.entry_id, p.kind) for p in problems}
    for found in _anchor_problems(store, hashes, anchored=ANCHOR_KEY in meta,
                                  gaps=any(p.kind == "deleted" for p in problems)):
        if (found.entry_id, found.kind) not in known:  # a finding the chain missed
            problems.append(found)
    return VerifyReport(len(rows), tuple(problems), head)


def _anchor_problems(store: Store, hashes: Mapping[int, str], *, anchored: bool,
                     gaps: bool) -> list[AuditProblem]:
    """What the anchor file shows: entries removed (also all of them, with the head),
    entries re-hashed, the anchor itself removed. ``gaps``: the chain already named
    removed entries (then the anchor's entry count adds nothing)."""
    path = anchor_path(store.path)
    try:
        lines = read_anchor(path)
    except AuditError as exc:
        return [AuditProblem(max(hashes, default=0), "unchained", str(exc))]
    if not lines:
        if anchored:
            return [AuditProblem(max(hashes, default=0), "unchained",
                                 f"the anchor {path.name} was removed or emptied")]
        return []
    last = lines[-1]
    newest = max(hashes, default=0)
    if last.entry_id > newest:
        what = ("every entry was removed" if not hashes else
                f"the newest entries after #{newest} up to #{last.entry_id} were removed")
        return [AuditProblem(last.entry_id, "deleted",
                             f"{what} (the anchor records {last.entries} entries)")]
    changed = [a for a in lines if a.entry_id in hashes and hashes[a.entry_id] != a.digest]
    if changed:
        more = f" (and {len(changed) - 1} later anchored entries)" if len(changed) > 1 else ""
        return [AuditProblem(changed[0].entry_id, "edited",
                             f"its hash differs from the one anchored when it was written: "
                             f"history was rewritten from here{more}")]
    held = sum(1 for entry_id in hashes if entry_id <= last.entry_id)
    if held < last.entries and not gaps:
        return [AuditProblem(last.entry_id, "deleted", f"{last.entries - held} entries up to "
                             f"#{last.entry_id} were removed (the anchor records "
                             f"{last.entries})")]
    return []


def _broken_link(prev_id: int, entry_id: int) -> AuditProblem:
    if entry_id > prev_id + 1:
        between = (f"#{prev_id + 1}" if entry_id == prev_id + 2
                   else f"#{prev_id + 1}–#{entry_id - 1}")
        return AuditProblem(entry_id - 1, "deleted", f"entries {between} before #{entry_id} "
                            "were removed")
    return AuditProblem(prev_id, "edited", f"#{entry_id} chains to a different hash: #{prev_id} "
                        "was changed and re-hashed")


def entries(store: Store, *, who: str | None = None, action: str | None = None,
            plate: str | None = None, start: datetime | None = None,
            end: datetime | None = None, limit: int = 10_000) -> pd.DataFrame:
    """Audit entries, newest first, filtered by user, action, a plate in the parameters
    (as typed, normalised or compact: ``51a12345`` finds ``51A-123.45``) and a time range
    [start, end); ``logged_at`` in local time."""
    sql = ["SELECT id, logged_at, who, action, reason, params, entry_hash FROM audit_log "
           "WHERE true"]
    args: list[object] = []
    if who:
        sql.append("AND who = ?")
        args.append(who)
    if action:
        sql.append("AND action = ?")
        args.append(action)
    if plate and plate.strip():
        sql.append("AND (contains(upper(params), ?) OR contains(upper(params), ?) OR "
                   "contains(upper(params), ?))")
        args += _plate_needles(plate)
    clauses, bounds = time_range("logged_at", start, end)
    sql += clauses
    args += bounds
    sql.append("ORDER BY id DESC LIMIT ?")
    args.append(int(limit))
    with store.reader() as con:
        frame = pd.DataFrame(con.execute(" ".join(sql), args).to_arrow_table().to_pandas())
    frame["logged_at"] = frame["logged_at"].dt.tz_convert(settings.LOCAL_TZ)
    return frame


def _plate_needles(plate: str) -> list[str]:
    """Three upper-case spellings to look for: as typed, normalised and compact."""
    typed = plate.strip().upper()
    try:
        return [typed, normalize_plate(plate), compact_plate(plate)]
    except PlateError:
        return [typed] * 3


def entries_csv(frame: pd.DataFrame) -> str:
    """CSV of :func:`entries` (times with their offset; formula-like text made inert)."""
    out = frame.assign(logged_at=frame["logged_at"].map(lambda t: t.isoformat()))
    return frame_csv(out)


def known_values(store: Store) -> tuple[list[str], list[str]]:
    """The users and the actions present in the log (for filters)."""
    with store.reader() as con:
        users = [str(r[0]) for r in con.execute(
            "SELECT DISTINCT who FROM audit_log ORDER BY 1").fetchall()]
        actions = [str(r[0]) for r in con.execute(
            "SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()]
    return users, actions
