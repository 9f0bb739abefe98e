"""Cases: reads an investigator attaches to a case number are evidence, kept beyond the
retention period (see :mod:`tracing.access.retention`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import pandas as pd
import pyarrow as pa

from tracing.access import audit
from tracing.access.actor import Actor, Who, name_of, permit
from tracing.errors import AuditError
from tracing.store import Store

MAX_CASE_LENGTH: Final = 64
AUDIT_IDS: Final = 50
"""At most this many read ids are named in the audit entry of one attachment."""


def check_case(case_ref: str) -> str:
    """The case number stripped; AuditError when it is too short or too long."""
    text = (case_ref or "").strip()
    if not 3 <= len(text) <= MAX_CASE_LENGTH:
        raise AuditError(f"a case number needs 3–{MAX_CASE_LENGTH} characters, got {text!r}")
    return text


def attach_reads(store: Store, case_ref: str, read_ids: Iterable[str], *, by: Who) -> int:
    """Attach stored reads to a case (audited in the same transaction); return how many
    were newly attached. ``by``: an :class:`~tracing.access.actor.Actor` (its role must
    hold ``cases``; the reason is its own) or a user name (reason: the case).

    Unknown read ids are ignored; a read already attached to the case stays once.
    """
    case = check_case(case_ref)
    permit(store, by, "cases", "case.attach", {"case": case})
    who = name_of(by)
    ids = pa.table({"read_id": pa.array(sorted({str(r) for r in read_ids}), pa.string())})
    with store.writer() as con:
        con.register("_attach", ids)
        try:
            new = con.execute(
                "SELECT DISTINCT a.read_id FROM _attach a JOIN reads r USING (read_id) "
                "WHERE a.read_id NOT IN (SELECT read_id FROM case_reads WHERE case_ref = ?) "
                "ORDER BY 1", [case]).fetchall()
            con.executemany("INSERT INTO case_reads (case_ref, read_id, attached_by) "
                            "VALUES (?, ?, ?)", [[case, row[0], who] for row in new])
        finally:
            con.unregister("_attach")
        names = [row[0] for row in new]
        audit.record_in(con, who=who, action="case.attach",
                        params={"case": case, "reads": len(names),
                                "read_ids": names[:AUDIT_IDS]},
                        reason=by.reason if isinstance(by, Actor) else f"case {case}")
    return len(names)


def case_reads(store: Store, case_ref: str) -> pd.DataFrame:
    """The reads attached to a case with who attached them and when, ordered by time."""
    with store.reader() as con:
        table = con.execute(
            "SELECT r.*, c.attached_by, c.attached_at FROM case_reads c "
            "JOIN reads r USING (read_id) WHERE c.case_ref = ? ORDER BY r.ts",
            [check_case(case_ref)]).to_arrow_table()
    return pd.DataFrame(table.to_pandas())
