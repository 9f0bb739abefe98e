"""AppTest of the review queue and of correcting a read from the Find page (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest import open_page
from tests.test_reviews import MISREAD, TRUE, _reads
from tests.test_search_page import search_db  # noqa: F401 - a fixture
from tracing.access import audit
from tracing.alerts.common import records
from tracing.reviews import reviews_of
from tracing.store import Store


@pytest.fixture
def review_db(tmp_path: Path) -> Path:
    from tests.alerts_support import new_store

    path = tmp_path / "review.duckdb"
    with new_store(path) as store:
        store.ingest(_reads(("r0", MISREAD, 0, 0.41, "B/r0.jpg"), ("r1", "60A-111.11", 1, 0.3,
                                                                   "B/r1.jpg"),
                            ("r2", TRUE, 2, 0.95, "B/r2.jpg")))
    return path


def test_the_queue_shows_unsure_reads_and_a_correction_leaves_it(
        review_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app_pages/review.py", review_db, monkeypatch, role="analyst")
    assert any("reason" in i.value for i in at.info)
    at.text_input(key="review_reason").input("daily read review").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown if m.value.startswith("**")] == [
        "**60A-111.11** (read as `60A-111.11` · 30%)",
        f"**{MISREAD}** (read as `{MISREAD}` · 41%)"]
    at.text_input(key="queue_r0_plate").input("51a12345").run()
    at.button(key="queue_r0_correct").click().run()
    assert not at.exception, at.exception
    assert any(f"{MISREAD} → {TRUE}" in s.value for s in at.success)
    assert [m.value for m in at.markdown if m.value.startswith("**")] == [
        "**60A-111.11** (read as `60A-111.11` · 30%)"]
    at.button(key="queue_r1_confirm").click().run()
    assert any("Nothing to review" in s.value for s in at.success)
    with Store(review_db) as store:
        done = records(reviews_of(store, ["r0", "r1"]))
        assert [(r["read_id"], r["verdict"], r["who"]) for r in done] == [
            ("r0", "corrected", "test-analyst"), ("r1", "confirmed", "test-analyst")]
        entries = audit.entries(store, action="read.review")
        assert set(entries["reason"]) == {"daily read review"}


def test_a_supervisor_has_no_review_queue(review_db: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app_pages/review.py", review_db, monkeypatch, role="supervisor")
    assert any("may not confirm or correct" in e.value for e in at.error)


def test_a_read_found_by_search_can_be_corrected(search_db: Path,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app_pages/search.py", search_db, monkeypatch, role="investigator")
    at.text_input(key="search_reason").input("case 2026-18").run()
    at.text_input[1].input("51A-723.45").run()
    assert not at.exception, at.exception
    read_id = at.selectbox(key="check_read").value
    at.text_input(key=f"search_review_{read_id}_plate").input("51A-123.45").run()
    at.button(key=f"search_review_{read_id}_correct").click().run()
    assert not at.exception, at.exception
    assert any("51A-723.45 → 51A-123.45" in s.value for s in at.success)
    with Store(search_db) as store:
        assert reviews_of(store, [read_id])["new_plate"].tolist() == ["51A-123.45"]
