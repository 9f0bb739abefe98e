"""Operators confirm or correct reads (issue 17): the corrected plate is what search, the
plate index and the alerts see from then on, the original read and the history are kept,
a watched plate revealed by a correction raises its alert, the review queue lists unsure
reads with crops until they are reviewed, and bad input is refused without a change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.alerts_support import T0, new_store
from tracing.access import audit, retention
from tracing.access.actor import Actor
from tracing.alerts import add_watch, list_alerts
from tracing.alerts.engine import AlertEngine
from tracing.errors import AccessError, ReviewError
from tracing.reviews import (
    confirm_read,
    correct_read,
    review_queue,
    reviewed_crops,
    reviews_of,
)
from tracing.search import reads_of_plates, search_plates
from tracing.store import Store

MISREAD, TRUE = "51A-123.46", "51A-123.45"
ANN = Actor("ann", "investigator", "case 2026-117")
ALI = Actor("ali", "analyst", "gateway watch")
SUE = Actor("sue", "supervisor", "coverage review")


def _reads(*rows: tuple[str, str, float, float, str | None]) -> pd.DataFrame:
    """Reads (id, plate, minutes after T0, confidence, crop_ref) at camera B."""
    return pd.DataFrame({
        "read_id": [r[0] for r in rows], "plate": [r[1] for r in rows],
        "camera_id": ["B"] * len(rows),
        "ts": [(T0 + timedelta(minutes=r[2])).isoformat() for r in rows],
        "confidence": [r[3] for r in rows], "crop_ref": [r[4] for r in rows]})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = new_store(tmp_path / "s.duckdb")
    store.ingest(_reads(("r0", MISREAD, 0, 0.41, "B/r0.jpg"), ("r1", "60A-111.11", 1, 0.95,
                                                               "B/r1.jpg"),
                        ("r2", "59-X1 234.56", 2, 0.3, None), ("r3", TRUE, 3, 0.5, "B/r3.jpg")))
    return store


def _plate_of(store: Store, read_id: str) -> tuple[str, str, str]:
    with store.reader() as con:
        row = con.execute("SELECT plate, plate_compact, plate_raw FROM reads WHERE read_id = ?",
                          [read_id]).fetchone()
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


def test_a_correction_changes_what_search_sees_and_keeps_the_original(store: Store) -> None:
    assert set(search_plates(store, "51A-123.4*", who=ANN).frame()["plate"]) == {MISREAD, TRUE}
    review = correct_read(store, "r0", "51a12345", who=ANN, note="crop plainly shows 5")
    assert (review.verdict, review.old_plate, review.new_plate) == ("corrected", MISREAD, TRUE)
    assert _plate_of(store, "r0") == (TRUE, "51A12345", MISREAD)
    assert set(reads_of_plates(store, [TRUE], who=ANN)["read_id"]) == {"r0", "r3"}
    assert reads_of_plates(store, [MISREAD], who=ANN).empty
    # the plate index behind wildcard and fuzzy search was rebuilt (same number of reads)
    assert set(search_plates(store, "51A-123.4*", who=ANN).frame()["plate"]) == {TRUE}
    history = reviews_of(store, ["r0"]).iloc[0]
    assert (history["verdict"], history["old_plate"], history["new_plate"], history["who"],
            history["note"]) == ("corrected", MISREAD, TRUE, "ann", "crop plainly shows 5")
    entry = audit.entries(store, action="read.review").iloc[0]
    assert entry["who"] == "ann" and MISREAD in entry["params"] and TRUE in entry["params"]


def test_a_watched_plate_revealed_by_a_correction_raises_its_alert(store: Store) -> None:
    add_watch(store, TRUE, match_kind="exact", reason="stolen", priority=1, who="an")
    add_watch(store, MISREAD, match_kind="exact", reason="other case", priority=2, who="an")
    engine = AlertEngine(store)
    engine.step()  # starts after the stored reads
    store.ingest(_reads(("r9", MISREAD, 9, 0.4, "B/r9.jpg")))
    engine.step()
    assert list(list_alerts(store)["plate"]) == [MISREAD]
    review = correct_read(store, "r9", TRUE, who=ALI)
    assert len(review.dismissed_alerts) == 1
    report = engine.step()
    assert report.reads == 1
    alerts = list_alerts(store).set_index("plate")
    assert alerts.loc[TRUE, "read_id"] == "r9" and alerts.loc[TRUE, "status"] == "new"
    assert alerts.loc[MISREAD, "status"] == "dismissed"
    assert "corrected to 51A-123.45 by ali" in str(alerts.loc[MISREAD, "note"])
    assert engine.step().reads == 0  # evaluated once


def test_the_queue_lists_unsure_reads_with_crops_until_reviewed(store: Store) -> None:
    queue = review_queue(store, who=ANN)
    assert list(queue["read_id"]) == ["r3", "r0"]  # newest first; r1 sure, r2 has no crop
    confirmed = confirm_read(store, "r3", who=ALI)
    assert (confirmed.verdict, confirmed.new_plate) == ("confirmed", TRUE)
    assert _plate_of(store, "r3")[0] == TRUE
    correct_read(store, "r0", TRUE, who=ANN)
    assert review_queue(store, who=ANN).empty
    assert list(review_queue(store, who=ANN, max_confidence=1.0)["read_id"]) == ["r1"]
    crops = reviewed_crops(store, who=ANN)
    assert [(c.read_id, c.plate, c.crop_ref, c.verdict) for c in crops] == [
        ("r3", TRUE, "B/r3.jpg", "confirmed"), ("r0", TRUE, "B/r0.jpg", "corrected")]


def test_a_correction_to_the_stored_plate_is_a_confirmation(store: Store) -> None:
    review = correct_read(store, "r1", "60a-11111", who=ANN)
    assert review.verdict == "confirmed" and _plate_of(store, "r1")[0] == "60A-111.11"


@pytest.mark.parametrize(("read_id", "plate", "note", "message"), [
    ("r0", "not a plate", None, "not valid"),
    ("nope", TRUE, None, "no stored read"),
    ("", TRUE, None, "not a read id"),
    ("r0", TRUE, "x" * 501, "longer than"),
])
def test_bad_reviews_are_refused_and_change_nothing(store: Store, read_id: str, plate: str,
                                                    note: str | None, message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        correct_read(store, read_id, plate, who=ANN, note=note)
    assert _plate_of(store, "r0")[0] == MISREAD and reviews_of(store, ["r0"]).empty


def test_a_role_without_review_may_not_correct_or_see_the_queue(store: Store) -> None:
    with pytest.raises(AccessError):
        correct_read(store, "r0", TRUE, who=SUE)
    with pytest.raises(AccessError):
        review_queue(store, who=SUE)
    assert _plate_of(store, "r0")[0] == MISREAD
    assert len(audit.entries(store, action="denied")) == 2


def test_purged_reads_take_their_reviews_with_them(store: Store) -> None:
    correct_read(store, "r0", TRUE, who=ANN)
    retention.purge(store, now=T0 + timedelta(days=400), crops_dir=store.path.parent / "c")
    assert reviews_of(store, ["r0"]).empty
