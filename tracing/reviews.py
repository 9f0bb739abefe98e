"""Operators confirm or correct the plates of reads.

Wherever a read's crop is shown (alert evidence, Find results, the review queue of unsure
reads) an operator with the ``review`` permission says the plate is right (*confirmed*) or
types the right one (*corrected*). The read keeps what the camera or recogniser read
(``plate_raw``); its ``plate`` becomes the corrected plate, so search, trace and the alerts
see that plate from then on. A correction also restamps the read's ``ingested_at`` with its
own transaction, as ingest stamps new reads, so the alert engine evaluates the read again:
a watched plate revealed by a correction raises its alert. Alerts still ``new`` that the
misread raised are dismissed with a note naming the correction.

Each review is a ``read_reviews`` row (who, when, old → new) written in one transaction
with the read's change and its audit entry. Confirmed and corrected crops are the training
data of ``python -m recognition finetune`` (:func:`reviewed_crops`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import duckdb
import pandas as pd

from tracing import settings
from tracing.access.actor import Who, name_of, permit, record_change, record_look
from tracing.alerts.common import aware, check_who, fetch, records, utc_now
from tracing.errors import PlateError, ReviewError
from tracing.plates import parse_plate
from tracing.store import Store
from tracing.store.store import touch_reads

__all__ = ["Review", "ReviewedCrop", "confirm_read", "correct_read", "review_queue",
           "reviewed_crops", "reviews_of"]

Verdict = Literal["confirmed", "corrected"]
MAX_READ_ID_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class Review:
    """What a review did: the verdict, the plate before and after, alerts it dismissed."""

    read_id: str
    verdict: Verdict
    old_plate: str
    new_plate: str
    dismissed_alerts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewedCrop:
    """A read's crop with the plate an operator confirmed or typed (its latest review)."""

    read_id: str
    plate: str
    crop_ref: str
    verdict: Verdict
    reviewed_at: datetime


def confirm_read(store: Store, read_id: str, *, who: Who, note: str | None = None) -> Review:
    """Say the read's plate is right (it stays as it is)."""
    return _review(store, read_id, None, who=who, note=note)


def correct_read(store: Store, read_id: str, plate: str, *, who: Who,
                 note: str | None = None) -> Review:
    """Replace the read's plate by ``plate`` (any tolerated spelling; ReviewError when it is
    no valid plate). The same plate as stored counts as a confirmation."""
    try:
        text = parse_plate(plate).text
    except PlateError as exc:
        raise ReviewError(f"the corrected plate is not valid: {exc}") from exc
    return _review(store, read_id, text, who=who, note=note)


def _checked(read_id: object, note: str | None) -> tuple[str, str | None]:
    if not isinstance(read_id, str) or not read_id.strip() or \
            len(read_id) > MAX_READ_ID_LENGTH:
        raise ReviewError(f"read id {str(read_id)[:60]!r} is not a read id")
    text = (note or "").strip() or None
    if text is not None and len(text) > settings.REVIEW_MAX_NOTE_LENGTH:
        raise ReviewError(f"the note is longer than {settings.REVIEW_MAX_NOTE_LENGTH} "
                          "characters")
    return read_id.strip(), text


def _review(store: Store, read_id: str, plate: str | None, *, who: Who,
            note: str | None) -> Review:
    rid, text = _checked(read_id, note)
    user = check_who(name_of(who), ReviewError)
    permit(store, who, "review", "read.review", {"read": rid, "plate": plate})
    with store.writer() as con:
        row = con.execute("SELECT plate, plate_raw, crop_ref FROM reads WHERE read_id = ?",
                          [rid]).fetchone()
        if row is None:
            raise ReviewError(f"no stored read with id {rid!r} (purged, or never stored)")
        old, raw, crop = str(row[0]), row[1], row[2]
        new = plate or old
        verdict: Verdict = "confirmed" if new == old else "corrected"
        dismissed: tuple[int, ...] = ()
        if verdict == "corrected":
            dismissed = _apply_correction(con, rid, new, user)
        con.execute(
            "INSERT INTO read_reviews (read_id, verdict, old_plate, new_plate, plate_raw, "
            "crop_ref, who, reviewed_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [rid, verdict, old, new, raw, crop, user, utc_now(), text])
        record_change(con, who, "read.review", {"read": rid, "verdict": verdict, "old": old,
                                                "new": new, "dismissed": list(dismissed)})
    if verdict == "corrected":
        store.signal_changed_reads()
    return Review(rid, verdict, old, new, dismissed)


def _apply_correction(con: duckdb.DuckDBPyConnection, read_id: str, plate: str,
                      user: str) -> tuple[int, ...]:
    """The read gets the plate and a new ingest stamp; its new alerts for another plate are
    dismissed (their ids returned)."""
    compact = parse_plate(plate).compact
    con.execute("UPDATE reads SET plate = ?, plate_compact = ?, ingested_at = now() "
                "WHERE read_id = ?", [plate, compact, read_id])
    touch_reads(con)
    rows = con.execute(
        "UPDATE alerts SET status = 'dismissed', status_by = ?, status_at = ?, note = ? "
        "WHERE read_id = ? AND status = 'new' AND plate <> ? RETURNING id",
        [user, utc_now(), f"the read was corrected to {plate} by {user}", read_id,
         plate]).fetchall()
    return tuple(sorted(int(r[0]) for r in rows))


_QUEUE_SQL: Final = """
SELECT r.read_id, r.camera_id, c.code, c.name AS camera_name, r.ts, r.plate, r.plate_raw,
       r.confidence, r.vehicle_class, r.plate_colour, r.crop_ref, r.source
FROM reads r LEFT JOIN cameras c ON c.id = r.camera_id
WHERE r.confidence < ? AND r.crop_ref IS NOT NULL
  AND r.read_id NOT IN (SELECT read_id FROM read_reviews)
"""


def review_queue(store: Store, *, who: Who,
                 max_confidence: float = settings.REVIEW_MAX_CONFIDENCE,
                 camera_ids: Sequence[str] | None = None, start: datetime | None = None,
                 end: datetime | None = None, limit: int = 100) -> pd.DataFrame:
    """Reads with a crop, a confidence below ``max_confidence`` and no review yet, newest
    first (at most ``limit`` ≤ REVIEW_QUEUE_MAX; ``start``/``end`` aware, bounding ``ts``
    as [start, end)). A look: checked (``review``) and audited."""
    if not 0.0 < max_confidence <= 1.0:
        raise ReviewError(f"max_confidence {max_confidence!r} must be in (0, 1]")
    if not isinstance(limit, int) or not 0 < limit <= settings.REVIEW_QUEUE_MAX:
        raise ReviewError(f"limit {limit!r} must be an integer in [1, "
                          f"{settings.REVIEW_QUEUE_MAX}]")
    aware(start, "start", ReviewError)
    aware(end, "end", ReviewError)
    cams = sorted(set(camera_ids)) if camera_ids else None
    record_look(store, who, "review", "reads.review_queue", {
        "max_confidence": max_confidence, "cameras": cams, "limit": limit,
        "start": start, "end": end})
    sql, params = _QUEUE_SQL, list[object]([float(max_confidence)])
    for clause, value in (("list_contains(?, r.camera_id)", cams), ("r.ts >= ?", start),
                          ("r.ts < ?", end)):
        if value is not None:
            sql, params = f"{sql} AND {clause}", [*params, value]
    with store.reader() as con:
        return fetch(con, f"{sql} ORDER BY r.ts DESC, r.read_id LIMIT {int(limit)}", params)


def reviews_of(store: Store, read_ids: Sequence[str]) -> pd.DataFrame:
    """Every review of these reads (which the caller already holds), oldest first."""
    ids = [str(r) for r in read_ids]
    if not ids:
        return pd.DataFrame(columns=["read_id", "verdict", "old_plate", "new_plate", "who",
                                     "reviewed_at", "note"])
    with store.reader() as con:
        return fetch(con, "SELECT read_id, verdict, old_plate, new_plate, who, reviewed_at, "
                          "note FROM read_reviews WHERE list_contains(?, read_id) "
                          "ORDER BY reviewed_at, id", [ids])


def reviewed_crops(store: Store, *, who: Who) -> list[ReviewedCrop]:
    """The latest review of every stored read with a crop: the recogniser's training data.
    A look: checked (``review``) and audited."""
    record_look(store, who, "review", "reads.training_set", {})
    with store.reader() as con:
        frame = fetch(con, """
            SELECT v.read_id, r.plate, r.crop_ref, v.verdict, v.reviewed_at
            FROM read_reviews v JOIN reads r USING (read_id)
            WHERE r.crop_ref IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY v.read_id ORDER BY v.id DESC) = 1
            ORDER BY v.id""")
    return [ReviewedCrop(str(r["read_id"]), str(r["plate"]), str(r["crop_ref"]),
                         "corrected" if r["verdict"] == "corrected" else "confirmed",
                         pd.Timestamp(r["reviewed_at"]).to_pydatetime())
            for r in records(frame)]

