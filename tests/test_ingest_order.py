"""Bulk ingest internals: the plate order, the column gathers, the key clustering, and what
a big mixed batch stores (every valid row once, in plate order, nothing lost)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_store_support import CAMERAS, T0, new_store
from tracing.plates import plate_columns
from tracing.store import Store, ingest

CANONICAL = st.sampled_from(["51A-123.45", "51A-123.46", "51AB-123.45", "59-X1 123.45",
                             "59X-112.34", "TM-12-34", "30K-555.66", "51F-000.01",
                             "51A-1234", "99Z-999.99"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with new_store(tmp_path / "store.duckdb") as opened:
        yield opened


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(CANONICAL, st.integers(-5, 5)), min_size=1, max_size=40),
       st.data())
def test_plate_order_sorts_by_plate_then_time(rows: list[tuple[str, int]],
                                              data: st.DataObject) -> None:
    plates = pa.chunked_array([pa.array([p for p, _ in rows])])
    ts = pa.chunked_array([pa.array([t for _, t in rows], pa.int64()).cast(
        pa.timestamp("us", tz="UTC"))])
    chosen = np.array(sorted(data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1))))
    order = chosen[ingest._plate_order(plates, ts, chosen)]
    assert sorted(order.tolist()) == chosen.tolist()
    ordered = [(rows[i][0][:8], rows[i][1]) for i in order]  # 8-byte prefix, as zone maps
    assert ordered == sorted(ordered)


def test_plate_order_of_more_rows_than_eight_characters_fit() -> None:
    plates = pa.array(["51A-123.45", "30K-555.66"] * 40_000)
    ts = pa.array(np.arange(80_000)[::-1], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    order = ingest._plate_order(pa.chunked_array([plates]), pa.chunked_array([ts]),
                                np.arange(80_000))
    assert order[:40_000].tolist() == list(range(79_999, 0, -2))  # 30K… newest last
    assert order[40_000:].tolist() == list(range(79_998, -1, -2))


@pytest.mark.parametrize("values", [
    ["51A-123.45", None, "", "59-X1 123.45", None],  # short: gathered as string views
    ["a-read-id-longer-than-twelve", None, "x", "y" * 40, ""],  # long: taken as strings
])
@pytest.mark.parametrize("start", [0, 1])
def test_take_gives_the_rows_of_any_column(values: list[str | None], start: int) -> None:
    column = pa.array(values).slice(start)
    order = np.array([3, 0, 2, 2, 1][: len(column)])[::-1] % len(column)
    taken = ingest._take(pa.chunked_array([column]), order)
    assert taken.to_pylist() == [column[i].as_py() for i in order]
    assert ingest._take(taken, order).to_pylist() == [taken[i].as_py() for i in order]
    assert ingest._take(pa.nulls(4, pa.string()), np.array([1, 2])).to_pylist() == [None] * 2
    numbers = pa.array([1.5, None, 3.0])
    assert ingest._take(numbers, np.array([2, 1])).to_pylist() == [3.0, None]


def test_clustered_orders_keys_by_their_top_bits() -> None:
    keys = np.random.default_rng(1).integers(0, 2**63, 5_000)
    order = ingest._clustered(keys)
    assert sorted(order.tolist()) == list(range(5_000))
    top = keys[order] >> 13  # 5,000 rows need 13 bits of position
    assert bool((np.diff(top) >= 0).all())


def _batch(n: int, *, prefix: str, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    pool = ["51A-123.45", "59-X1 123.45", "30K-555.66", "51F-000.01", "５１Ｇ－１２３．４５"]
    seconds = rng.permutation(n)  # time out of order
    return pa.table({
        "read_id": [f"{prefix}{i}" for i in range(n)],
        "camera_id": [CAMERAS[i % len(CAMERAS)] for i in range(n)],
        "ts": pa.array([T0 + timedelta(seconds=int(s)) for s in seconds],
                       pa.timestamp("us", "UTC")),
        "plate": [pool[i] for i in rng.integers(0, len(pool), n)],
        "confidence": rng.uniform(0.5, 1.0, n),
    })


def test_big_mixed_batch_stores_each_valid_row_once_in_plate_order(store: Store) -> None:
    first = _batch(600, prefix="a", seed=1)
    assert store.ingest(first).inserted == 600
    bad = _batch(3, prefix="bad", seed=2).set_column(1, "camera_id", pa.array(["nope"] * 3))
    changed = pa.concat_tables([first.slice(0, 1), first.slice(400, 1)]).set_column(
        4, "confidence", pa.array([0.51, 0.52]))
    new = _batch(700, prefix="b", seed=3)
    repeated = new.slice(10, 2).set_column(4, "confidence", pa.array([0.6, 0.7]))
    batch = pa.concat_tables([new, first.slice(0, 300), bad, changed, new.slice(0, 5), repeated])
    report = store.ingest(batch)
    assert (report.inserted, report.duplicates, report.rejected) == (700, 305, 7)
    assert report.reasons == {"unknown camera id": 3,  # a0 repeats a row of this batch:
                              "read_id repeated in the batch with different content": 3,
                              "read_id already stored with different content": 1}
    with store.reader() as con:
        stored = con.execute(
            "SELECT read_id, camera_id, ts, plate, plate_compact, plate_raw, confidence "
            "FROM reads WHERE read_id LIKE 'b%' ORDER BY rowid").to_arrow_table()
    expected = new
    by_id = dict(zip(expected.column("read_id").to_pylist(), expected.to_pylist(), strict=True))
    canonical = plate_columns(expected.column("plate"))
    for row in stored.to_pylist():
        source = by_id.pop(row["read_id"])
        i = int(row["read_id"][1:])
        assert (row["camera_id"], row["ts"], row["plate_raw"]) == (
            source["camera_id"], source["ts"], source["plate"])
        assert (row["plate"], row["plate_compact"]) == (
            canonical.plate[i].as_py(), canonical.compact[i].as_py())
        assert row["confidence"] == pytest.approx(source["confidence"])
    assert by_id == {}
    keys = list(zip(stored.column("plate").to_pylist(),
                    pc.cast(stored.column("ts"), pa.int64()).to_pylist(), strict=True))
    assert keys == sorted(keys)


def test_a_key_stored_twice_still_finds_duplicates_and_conflicts(store: Store) -> None:
    batch = _batch(600, prefix="c", seed=4)
    assert store.ingest(batch).inserted == 600
    with store.writer() as con:  # as if each read_id's key collided with another's
        con.execute("INSERT INTO read_keys SELECT rid_key, content_key + 1 FROM read_keys")
    changed = batch.set_column(4, "confidence", pa.array([0.55] * 600))
    report = store.ingest(pa.concat_tables([batch.slice(300), changed.slice(0, 300)]))
    assert (report.inserted, report.duplicates, report.rejected) == (0, 300, 300)
    assert report.reasons == {"read_id already stored with different content": 300}
    assert store.count_reads() == 600


def test_plate_order_of_short_and_empty_texts() -> None:
    plates = pa.chunked_array([pa.array(["B", "", "A-1", "A", "A-1"])])
    ts = pa.chunked_array([pa.array([0, 0, 5, 0, 1], pa.int64()).cast(
        pa.timestamp("us", tz="UTC"))])
    assert ingest._plate_order(plates, ts, np.arange(5)).tolist() == [1, 3, 4, 2, 0]
