"""The one disk-cache mechanism: atomic writes, tolerant reads, pruning."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tracing import diskcache


def test_arrays_round_trip_and_a_corrupt_file_reads_as_none(tmp_path: Path) -> None:
    path = diskcache.cache_file(tmp_path, "routes", diskcache.content_key("a", np.arange(3)))
    assert diskcache.write_arrays(path, {"x": np.arange(4)})
    got = diskcache.read_arrays(path, ("x",))
    assert got is not None and got["x"].tolist() == [0, 1, 2, 3]
    assert diskcache.read_arrays(path, ("x", "missing")) is None
    path.write_bytes(path.read_bytes()[:40])
    assert diskcache.read_arrays(path, ("x",)) is None
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_a_pickle_of_another_type_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "network-x.pickle"
    assert diskcache.write_pickle(path, {"not": "a graph"})
    assert diskcache.read_pickle(path, dict) == {"not": "a graph"}
    assert diskcache.read_pickle(path, list) is None
    path.write_bytes(b"garbage")
    assert diskcache.read_pickle(path, dict) is None


def test_keys_differ_with_content_and_prune_keeps_the_newest(tmp_path: Path) -> None:
    assert diskcache.content_key("a", np.zeros(2)) != diskcache.content_key("a", np.ones(2))
    assert diskcache.content_key("ab", "c") != diskcache.content_key("a", "bc")
    for i in range(5):
        path = tmp_path / f"routes-{i}.npz"
        diskcache.write_arrays(path, {"x": np.arange(i)})
        os.utime(path, (i, i))
    (tmp_path / "network-0.pickle").write_bytes(b"")
    diskcache.prune(tmp_path, "routes", keep=2)
    assert sorted(p.name for p in tmp_path.glob("routes-*")) == ["routes-3.npz", "routes-4.npz"]
    assert (tmp_path / "network-0.pickle").exists()


def test_an_unwritable_folder_is_only_logged(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert not diskcache.write_arrays(blocked / "routes-x.npz", {"x": np.arange(2)})
