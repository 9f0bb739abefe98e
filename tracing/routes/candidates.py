"""Diverse candidate paths between two cameras' points, from the cached shortest-path trees.

Candidates are the fastest path, the fastest path that prefers main roads, and *via paths*
a → w → b (forward tree of camera a to node w, backward tree of camera b from w) picked in
order of free-flow time among nodes w whose via path shares little with the paths already
found (the shared part of a tree path is found for all nodes at once by pointer jumping).
The trees start and end at the cameras' points on either direction of their roads, so a
path's first and last edges say which way the vehicle passed each camera. Loops are cut;
near-duplicates (ROUTE_DUPLICATE_OVERLAP both ways) are dropped. Results are memoised per
camera pair.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from tracing import settings
from tracing.routes.pathcache import BoolArray, FloatArray, IntArray, PathCache

MAX_TRIES: Final = 6
"""Via paths (one per branch, cheapest first) tried per pair and round."""
ROUNDS: Final = 3
"""Rounds of branch search; each counts the paths found before as taken."""
STRETCH_SLACK_S: Final = 60.0


@dataclass(frozen=True, slots=True, eq=False)
class PairPath:
    """A path between two cameras' points: node and edge indices (both camera edges
    included, in the direction driven), free-flow time and length between the two points."""

    nodes: IntArray
    edges: IntArray
    free_flow_s: float
    length_m: float
    start_position: float
    """Where along the first edge (as driven) the first camera stands (0–1)."""
    end_position: float
    """Where along the last edge (as driven) the second camera stands (0–1)."""
    minor_s: float = 0.0
    """Free-flow time on roads outside MAIN_ROAD_CLASSES between the two cameras."""


def _walk(pred: npt.NDArray[np.int32], end: int) -> list[int]:
    """Nodes from the tree's root (predecessor -1) to ``end``."""
    out = [end]
    node = end
    while (node := int(pred[node])) >= 0:
        out.append(node)
    out.reverse()
    return out


def _without_loops(nodes: list[int]) -> list[int]:
    out: list[int] = []
    seen: dict[int, int] = {}
    for node in nodes:
        if node in seen:
            for dropped in out[seen[node] + 1:]:
                seen.pop(dropped, None)
            del out[seen[node] + 1:]
        else:
            seen[node] = len(out)
            out.append(node)
    return out


def _joins(pred: npt.NDArray[np.int64], member: BoolArray) -> IntArray:
    """Per node: its deepest tree ancestor (itself included) in ``member``, -1 if none;
    by pointer jumping, O(log depth) vectorised passes."""
    label = np.where(member, np.arange(len(pred)), pred)
    for _ in range(40):
        safe = np.maximum(label, 0)
        settled = (label < 0) | member[safe]
        if settled.all():
            break
        label = np.where(settled, label, label[safe])
    return np.asarray(label, np.int64)


def _site(cache: PathCache, camera: int, node: int, *, leaving: bool) -> tuple[int, int, float]:
    """(edge as driven, its far node, the camera's position along it) for a path that leaves
    (or enters) the camera's road at ``node``: its own edge, or the other direction's."""
    e, r = int(cache.camera_edge[camera]), int(cache.camera_reverse[camera])
    own = int(cache.edge_v[e]) if leaving else int(cache.edge_u[e])
    if node == own or r < 0:
        return e, int(cache.edge_u[e]) if leaving else int(cache.edge_v[e]), \
            float(cache.camera_position[camera])
    far = int(cache.edge_u[r]) if leaving else int(cache.edge_v[r])
    return r, far, float(cache.camera_reverse_position[camera])


def _pair_path(cache: PathCache, a: int, b: int, interior: list[int]) -> PairPath:
    _, far_a, pa = _site(cache, a, interior[0], leaving=True)
    _, far_b, pb = _site(cache, b, interior[-1], leaving=False)
    return _path(cache, np.array([far_a, *interior, far_b], np.int64), pa, pb)


def _path(cache: PathCache, nodes: IntArray, pa: float, pb: float) -> PairPath:
    edges = cache.edges_of(nodes)
    tt, length = cache.edge_tt[edges], cache.edge_len[edges]
    if len(edges) == 1:
        free, metres = (pb - pa) * float(tt[0]), (pb - pa) * float(length[0])
    else:
        free = float(tt[1:-1].sum() + (1 - pa) * tt[0] + pb * tt[-1])
        metres = float(length[1:-1].sum() + (1 - pa) * length[0] + pb * length[-1])
    return PairPath(nodes=nodes, edges=edges, free_flow_s=free, length_m=metres,
                    start_position=pa, end_position=pb,
                    minor_s=float(tt[1:-1][~cache.edge_main[edges[1:-1]]].sum()))


def _direct_paths(cache: PathCache, a: int, b: int) -> list[PairPath]:
    """Paths along one edge from camera a to camera b ahead of it on that edge."""
    out = []
    for e_a, p_a in reading_sites(cache, a):
        for e_b, p_b in reading_sites(cache, b):
            if e_a == e_b and p_b > p_a:
                nodes = np.array([cache.edge_u[e_a], cache.edge_v[e_a]], np.int64)
                out.append(_path(cache, nodes, p_a, p_b))
    return out


def reading_sites(cache: PathCache, camera: int) -> list[tuple[int, float]]:
    """(routing edge, position along it) of each direction the camera reads."""
    out = [(int(cache.camera_edge[camera]), float(cache.camera_position[camera]))]
    if cache.camera_both[camera] and cache.camera_reverse[camera] >= 0:
        out.append((int(cache.camera_reverse[camera]),
                    float(cache.camera_reverse_position[camera])))
    return out


def passed_cameras(cache: PathCache, path: PairPath) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Active cameras the path passes between its two reads: those seeing the vehicle from
    behind (rear plate) and those reading both directions that see it coming (front plate
    only: motorbikes carry none). The two cameras themselves count when the path passes
    them again (a U-turn beyond one of them)."""
    edges = path.edges[1:-1].tolist()
    rear = dict.fromkeys(c for e in edges for c in cache.edge_cameras.get(e, ()))
    oncoming = dict.fromkeys(c for e in edges for c in cache.oncoming_cameras.get(e, ())
                             if c not in rear)
    return tuple(rear), tuple(oncoming)


def turns_back(cache: PathCache, path: PairPath, a: int, b: int) -> bool:
    """Whether the path drives over camera a's or b's road again between the two reads (a
    U-turn beyond a camera: what a vehicle read in the other direction would need)."""
    own = {int(e) for c in (a, b) for e in (cache.camera_edge[c], cache.camera_reverse[c])
           if e >= 0}
    return bool(own.intersection(path.edges[1:-1].tolist()))


def overlap(x: PairPath, y: PairPath, edge_len: FloatArray) -> tuple[float, float]:
    """Shares of x's and y's interior length that the other path also uses."""
    ex, ey = set(x.edges[1:-1].tolist()), set(y.edges[1:-1].tolist())
    common = float(edge_len[list(ex & ey)].sum()) if ex & ey else 0.0
    lx, ly = float(edge_len[list(ex)].sum()), float(edge_len[list(ey)].sum())
    return (common / lx if lx > 0 else 1.0), (common / ly if ly > 0 else 1.0)


def _is_new(path: PairPath, found: list[PairPath], edge_len: FloatArray) -> bool:
    limit = settings.ROUTE_DUPLICATE_OVERLAP
    return all(min(overlap(path, other, edge_len)) < limit for other in found)


def pair_paths(cache: PathCache, a: int, b: int, *, pool: int = settings.ROUTE_POOL
               ) -> list[PairPath]:
    """Up to ``pool`` diverse paths from camera ``a`` to camera ``b`` (camera indices),
    fastest first; empty when the graph does not connect them."""
    memo = cache.memo.get((a, b, pool))
    if memo is None:
        memo = _stored(cache, a, b) if pool == settings.ROUTE_POOL else None
        if memo is None:
            memo = search(cache, a, b, pool)
        cache.memo[(a, b, pool)] = memo
    return list(memo)


def _stored(cache: PathCache, a: int, b: int) -> list[PairPath] | None:
    """The stored candidates of a pair (nothing searched again), or None when the cache holds
    none for it."""
    pair = cache.pair_index.get((a, b))
    if pair is None:
        return None
    offsets = cache.path_offsets
    out = []
    for r in range(int(cache.pair_offsets[pair]), int(cache.pair_offsets[pair + 1])):
        nodes = cache.path_nodes[offsets[r]:offsets[r + 1]]
        _, _, pa = _site(cache, a, int(nodes[1]), leaving=True)
        _, _, pb = _site(cache, b, int(nodes[-2]), leaving=False)
        if len(nodes) == 2:
            pa, pb = _direct_positions(cache, a, b, nodes)
        out.append(PairPath(nodes=nodes, edges=cache.edges_of(nodes),
                            free_flow_s=float(cache.path_free[r]),
                            length_m=float(cache.path_length[r]), start_position=pa,
                            end_position=pb, minor_s=float(cache.path_minor[r])))
    return out


def _direct_positions(cache: PathCache, a: int, b: int, nodes: IntArray) -> tuple[float, float]:
    edge = int(cache.edges_of(nodes)[0])
    pa = next(p for e, p in reading_sites(cache, a) if e == edge)
    pb = next(p for e, p in reading_sites(cache, b) if e == edge)
    return pa, pb


def add_pairs(cache: PathCache, pairs: list[tuple[int, int]]) -> PathCache:
    """``cache`` with the candidates of ``pairs`` (camera index pairs) searched and stored
    (in worker processes when there are many and this process may fork)."""
    found = _search_all(cache, pairs)
    paths = [p for part in found for p in part]
    start = len(cache.path_free)
    counts = np.array([len(part) for part in found], np.int64)
    pair_offsets = np.concatenate([cache.pair_offsets[:-1],
                                   cache.pair_offsets[-1] + _offsets(list(counts))])
    node_offsets = cache.path_offsets[-1] + _offsets([len(p.nodes) for p in paths])
    assert start == len(cache.path_offsets) - 1
    return dataclasses.replace(
        cache, pair_a=np.concatenate([cache.pair_a, [a for a, _ in pairs]]).astype(np.int64),
        pair_b=np.concatenate([cache.pair_b, [b for _, b in pairs]]).astype(np.int64),
        pair_offsets=pair_offsets,
        path_offsets=np.concatenate([cache.path_offsets[:-1], node_offsets]),
        path_nodes=np.concatenate([cache.path_nodes, _flat([p.nodes for p in paths])]),
        path_free=np.concatenate([cache.path_free, [p.free_flow_s for p in paths]]),
        path_length=np.concatenate([cache.path_length, [p.length_m for p in paths]]),
        path_minor=np.concatenate([cache.path_minor, [p.minor_s for p in paths]]),
        memo={}, vertices=cache.vertices, vertex_offsets=cache.vertex_offsets)


_WORKER: list[PathCache] = []
"""The cache a forked worker searches (set before the fork, inherited)."""
PARALLEL_PAIRS: Final = 100
"""Fewest pairs worth worker processes."""


def _search_all(cache: PathCache, pairs: list[tuple[int, int]]) -> list[list[PairPath]]:
    workers = min(os.cpu_count() or 1, 8)
    if len(pairs) < PARALLEL_PAIRS or workers < 2 or threading.active_count() > 1:
        return [search(cache, a, b, settings.ROUTE_POOL) for a, b in pairs]
    chunks = [pairs[i::workers] for i in range(workers)]
    _WORKER[:] = [cache]
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as executor:
            parts = list(executor.map(_search_chunk, chunks))
    finally:
        _WORKER.clear()
    out: list[list[PairPath]] = [[] for _ in pairs]
    for i, part in enumerate(parts):
        for j, found in enumerate(part):
            out[i + j * workers] = found
    return out


def _search_chunk(pairs: list[tuple[int, int]]) -> list[list[PairPath]]:
    cache = _WORKER[0]
    return [search(cache, a, b, settings.ROUTE_POOL) for a, b in pairs]


def _offsets(lengths: list[int]) -> IntArray:
    out = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _flat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def search(cache: PathCache, a: int, b: int, pool: int) -> list[PairPath]:
    """Diverse paths from camera a's point to camera b's, fastest first (see the module)."""
    via = cache.forward_dist[0, a].astype(np.float64) + cache.backward_dist[0, b]
    found = _direct_paths(cache, a, b)
    if not np.isfinite(via.min()) and not found:
        return []
    n = len(cache.node_ids)
    members = np.zeros(n, bool), np.zeros(n, bool)
    if np.isfinite(via.min()):
        trees = [(cache.forward_pred[k, a], cache.forward_dist[k, a],
                  cache.backward_pred[k, b], cache.backward_dist[k, b])
                 for k in range(cache.forward_pred.shape[0])]
        # every pairing of the directions the two cameras read (which way the vehicle passed
        # each): the trees' best direction alone would hide the others
        trees += [(cache.site_forward_pred[sa, a], cache.site_forward_dist[sa, a],
                   cache.site_backward_pred[sb, b], cache.site_backward_dist[sb, b])
                  for sa in range(2) for sb in range(2)]
        for tree in trees:
            _add_fastest(cache, a, b, tree, found, members)
        _add_via_paths(cache, a, b, via, found, *members, pool)
    found.sort(key=lambda p: p.free_flow_s)
    return found[:pool]


Trees = tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.int32],
              npt.NDArray[np.float32]]
"""A forward tree of one camera and a backward tree of another: predecessors, distances."""


def _add_fastest(cache: PathCache, a: int, b: int, trees: Trees, found: list[PairPath],
                 members: tuple[BoolArray, BoolArray]) -> None:
    """The fastest path through a forward and a backward tree, if it is new."""
    fpred, fdist, bpred, bdist = trees
    via = fdist.astype(np.float64) + bdist
    w = int(np.argmin(via))
    if not np.isfinite(via[w]):
        return
    interior = _without_loops(_walk(fpred, w) + _walk(bpred, w)[::-1][1:])
    path = _pair_path(cache, a, b, interior)
    if _is_new(path, found, cache.edge_len):
        found.append(path)
        members[0][interior] = True
        members[1][interior] = True


def _subtree(pred: npt.NDArray[np.int32], keep: IntArray, position: IntArray) -> IntArray:
    """Predecessors of the ``keep`` nodes renumbered to positions in ``keep`` (-1: none)."""
    parent = pred[keep].astype(np.int64)
    return np.where(parent >= 0, position[np.maximum(parent, 0)], -1)


def _add_via_paths(cache: PathCache, a: int, b: int, via: FloatArray, found: list[PairPath],
                   forward_member: BoolArray, backward_member: BoolArray, pool: int) -> None:
    """Via paths over the admissible nodes only: every tree ancestor of an admissible node is
    admissible (triangle inequality), so the subtrees hold all the pointer jumping needs."""
    fpred, bpred = cache.forward_pred[0, a], cache.backward_pred[0, b]
    keep = np.flatnonzero(via <= settings.ROUTE_MAX_STRETCH * float(via.min()) + STRETCH_SLACK_S)
    position = np.full(len(via), -1, np.int64)
    position[keep] = np.arange(len(keep))
    sub_f, sub_b = _subtree(fpred, keep, position), _subtree(bpred, keep, position)
    fdist = cache.forward_dist[0, a][keep].astype(np.float64)
    bdist = cache.backward_dist[0, b][keep].astype(np.float64)
    in_f, in_b, cost = forward_member[keep], backward_member[keep], via[keep]
    for _ in range(ROUNDS):
        join_f, join_b = _joins(sub_f, in_f), _joins(sub_b, in_b)
        shared = (np.where(join_f >= 0, fdist[np.maximum(join_f, 0)], 0.0)
                  + np.where(join_b >= 0, bdist[np.maximum(join_b, 0)], 0.0))
        ok = np.flatnonzero(~in_f & ~in_b & (shared <= settings.ROUTE_MAX_SHARED * cost))
        before = len(found)
        for w in _branch_representatives(ok, join_f, join_b, cost)[:MAX_TRIES]:
            if len(found) >= pool:
                return
            head, tail = _walk(fpred, int(keep[w])), _walk(bpred, int(keep[w]))[::-1]
            path = _pair_path(cache, a, b, _without_loops(head + tail[1:]))
            if _is_new(path, found, cache.edge_len):
                found.append(path)
                in_f[_positions(position, head)] = True
                in_b[_positions(position, tail)] = True
        if len(found) == before:
            return


def _positions(position: IntArray, nodes: list[int]) -> IntArray:
    sub = position[nodes]
    return sub[sub >= 0]


def _branch_representatives(nodes: IntArray, join_f: IntArray, join_b: IntArray,
                            cost: FloatArray) -> IntArray:
    """The cheapest node of each branch (where its path leaves and rejoins the paths found),
    cheapest first: one via path per way around, not many near-copies of one detour."""
    order = nodes[np.lexsort((cost[nodes], join_b[nodes], join_f[nodes]))]
    lf, lb = join_f[order], join_b[order]
    first = np.r_[True, (lf[1:] != lf[:-1]) | (lb[1:] != lb[:-1])] if len(order) else order > 0
    reps = order[first]
    return reps[np.argsort(cost[reps], kind="stable")]
