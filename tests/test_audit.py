"""The audit log: reasons required, entries chained by hash, edits and deletions named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracing.access import audit
from tracing.errors import AuditError
from tracing.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "audit.duckdb") as opened:
        for i in range(5):
            audit.record(opened, who="ann", action="search",
                         params={"plate": f"51A-123.4{i}", "mode": "exact"}, reason=f"case {i}")
        yield opened


def test_intact_chain_verifies(store: Store) -> None:
    report = audit.verify(store)
    assert report.ok and report.entries == 5, str(report)
    assert report.head is not None and report.head.startswith("5:")
    assert "intact" in str(report)


@pytest.mark.parametrize("reason", [None, "", "  ", "ab", "x" * 501])
def test_reason_is_required(store: Store, reason: str | None) -> None:
    with pytest.raises(AuditError, match="reason"):
        audit.record(store, who="ann", action="search", params={}, reason=reason)
    assert audit.verify(store).entries == 5


@pytest.mark.parametrize("action", ["", "Search", "drop table; --", "a" * 80])
def test_action_must_be_a_short_name(store: Store, action: str) -> None:
    with pytest.raises(AuditError, match="action"):
        audit.record(store, who="ann", action=action, params={}, reason="case 1")


@pytest.mark.parametrize("column, value", [("reason", "nothing to see"), ("who", "bob"),
                                            ("params", '{"plate": "99A-999.99"}')])
def test_an_edited_entry_is_named(store: Store, column: str, value: str) -> None:
    with store.writer() as con:
        con.execute(f"UPDATE audit_log SET {column} = ? WHERE id = 3", [value])  # noqa: S608
    report = audit.verify(store)
    assert not report.ok
    assert [(p.entry_id, p.kind) for p in report.problems] == [(3, "edited")]
    assert "entry #3: edited" in str(report)


def test_an_edited_and_rehashed_entry_is_named(store: Store) -> None:
    with store.writer() as con:
        con.execute("UPDATE audit_log SET entry_hash = ? WHERE id = 2", ["f" * 64])
    assert (2, "edited") in [(p.entry_id, p.kind) for p in audit.verify(store).problems]


def test_a_deleted_entry_is_named(store: Store) -> None:
    with store.writer() as con:
        con.execute("DELETE FROM audit_log WHERE id = 2")
    report = audit.verify(store)
    assert [(p.entry_id, p.kind) for p in report.problems] == [(2, "deleted")]
    assert "#2" in report.problems[0].detail


def test_deleting_the_newest_entries_is_detected(store: Store) -> None:
    with store.writer() as con:
        con.execute("DELETE FROM audit_log WHERE id >= 4")
    report = audit.verify(store)
    assert [(p.entry_id, p.kind) for p in report.problems] == [(5, "deleted")]
    assert "after #3 up to #5" in report.problems[0].detail


def test_entries_filter_by_user_action_and_plate(store: Store) -> None:
    audit.record(store, who="bob", action="trace", params={"plate": "59-X1 123.45"},
                 reason="case 9")
    assert list(audit.entries(store, who="bob")["action"]) == ["trace"]
    assert len(audit.entries(store, action="search")) == 5
    assert list(audit.entries(store, plate="59X112345")["who"]) == ["bob"]
    assert list(audit.entries(store, plate="51a12342")["reason"]) == ["case 2"]
    audit.record(store, who="cy", action="search", params={"query": "59x112345"},
                 reason="case 10")
    assert list(audit.entries(store, plate="59-X1 123.45")["who"]) == ["cy", "bob"]
    assert audit.entries(store, plate="x" * 30).empty
    assert audit.entries(store, plate="'; DROP TABLE audit_log; --").empty
    frame = audit.entries(store)
    assert list(frame["id"]) == [7, 6, 5, 4, 3, 2, 1]
    assert str(frame["logged_at"].dt.tz) == "Asia/Ho_Chi_Minh"
    assert audit.entries_csv(frame).count("\n") == 8
    assert audit.known_values(store) == (["ann", "bob", "cy"], ["search", "trace"])
