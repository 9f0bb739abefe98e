"""Diverse candidate paths between two cameras, from the cached shortest-path trees.

Candidates are the fastest path, the fastest path that prefers main roads, and *via paths*
s → w → t (forward tree to w, backward tree from w) picked in order of free-flow time among
nodes w whose via path shares little with the paths already found (the shared part of a tree
path is found for all nodes at once by pointer jumping). Loops are cut; near-duplicates
(ROUTE_DUPLICATE_OVERLAP both ways) are dropped. Results are memoised per camera pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

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
    included), free-flow time and length between the two points, cameras passed between."""

    nodes: IntArray
    edges: IntArray
    free_flow_s: float
    length_m: float
    cameras: tuple[int, ...]
    start_position: float
    """Where along the first edge the first camera reads plates (0–1)."""
    minor_s: float = 0.0
    """Free-flow time on roads outside MAIN_ROAD_CLASSES between the two cameras."""


def _walk(pred: npt.NDArray[np.int32], start: int, end: int) -> list[int]:
    """Nodes from the tree's root to ``end`` (pred of the root is negative)."""
    out = [end]
    node = end
    while node != start:
        node = int(pred[node])
        if node < 0:
            return []
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


def _pair_path(cache: PathCache, a: int, b: int, interior: list[int]) -> PairPath:
    ea, eb = int(cache.camera_edge[a]), int(cache.camera_edge[b])
    nodes = np.array([int(cache.edge_u[ea]), *interior, int(cache.edge_v[eb])], np.int64)
    edges = cache.edges_of(nodes)
    tt, length = cache.edge_tt[edges], cache.edge_len[edges]
    pa, pb = float(cache.camera_position[a]), float(cache.camera_position[b])
    free = float(tt[1:-1].sum() + (1 - pa) * tt[0] + pb * tt[-1])
    metres = float(length[1:-1].sum() + (1 - pa) * length[0] + pb * length[-1])
    inner = edges[1:-1]
    passed = tuple(c for e in inner[cache.watched[inner]].tolist()
                   for c in cache.edge_cameras.get(e, ()))
    return PairPath(nodes=nodes, edges=edges, free_flow_s=free, length_m=metres,
                    cameras=tuple(c for c in passed if c not in (a, b)), start_position=pa,
                    minor_s=float(tt[1:-1][~cache.edge_main[edges[1:-1]]].sum()))


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
            memo = _search(cache, a, b, pool)
        cache.memo[(a, b, pool)] = memo
    return list(memo)


def _stored(cache: PathCache, a: int, b: int) -> list[PairPath] | None:
    """The precomputed candidates of a pair (views of the cache's arrays, nothing
    recomputed), or None when the cache holds none."""
    if len(cache.pair_offsets) != len(cache.camera_ids) ** 2 + 1:
        return None
    pair = a * len(cache.camera_ids) + b
    start = float(cache.camera_position[a])
    nodes, edges, cams = cache.path_offsets, cache.camera_offsets, cache.path_cameras
    return [PairPath(nodes=cache.path_nodes[nodes[r]:nodes[r + 1]],
                     edges=cache.path_edges[nodes[r] - r:nodes[r + 1] - r - 1],
                     free_flow_s=float(cache.path_free[r]),
                     length_m=float(cache.path_length[r]),
                     cameras=tuple(cams[edges[r]:edges[r + 1]].tolist()),
                     start_position=start, minor_s=float(cache.path_minor[r]))
            for r in range(int(cache.pair_offsets[pair]), int(cache.pair_offsets[pair + 1]))]


def precompute_pairs(cache: PathCache) -> dict[str, Any]:
    """Candidates of every ordered camera pair with their features, as the cache's ragged
    arrays (the PathCache fields of the same names)."""
    n = len(cache.camera_ids)
    paths: list[PairPath] = []
    per_pair = []
    for a in range(n):
        for b in range(n):
            found = _search(cache, a, b, settings.ROUTE_POOL)
            paths += found
            per_pair.append(len(found))
    return {
        "pair_offsets": _offsets(per_pair),
        "path_offsets": _offsets([len(p.nodes) for p in paths]),
        "path_nodes": _flat([p.nodes for p in paths]),
        "path_edges": _flat([p.edges for p in paths]),
        "path_free": np.array([p.free_flow_s for p in paths], np.float64),
        "path_length": np.array([p.length_m for p in paths], np.float64),
        "path_minor": np.array([p.minor_s for p in paths], np.float64),
        "camera_offsets": _offsets([len(p.cameras) for p in paths]),
        "path_cameras": np.array([c for p in paths for c in p.cameras], np.int64),
    }


def _offsets(lengths: list[int]) -> IntArray:
    out = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _flat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _search(cache: PathCache, a: int, b: int, pool: int) -> list[PairPath]:
    ea, eb = int(cache.camera_edge[a]), int(cache.camera_edge[b])
    s, t = int(cache.edge_v[ea]), int(cache.edge_u[eb])
    if not np.isfinite(cache.forward_dist[0, a, t]):
        return []
    found: list[PairPath] = []
    n = len(cache.node_ids)
    forward_member, backward_member = np.zeros(n, bool), np.zeros(n, bool)
    for cost in range(cache.forward_pred.shape[0]):
        interior = _walk(cache.forward_pred[cost, a], s, t)
        path = _pair_path(cache, a, b, interior)
        if interior and _is_new(path, found, cache.edge_len):
            found.append(path)
            forward_member[interior] = True
            backward_member[interior] = True
    _add_via_paths(cache, a, b, found, forward_member, backward_member, pool)
    found.sort(key=lambda p: p.free_flow_s)
    return found


def _subtree(pred: npt.NDArray[np.int32], keep: IntArray, position: IntArray) -> IntArray:
    """Predecessors of the ``keep`` nodes renumbered to positions in ``keep`` (-1: none)."""
    parent = pred[keep].astype(np.int64)
    return np.where(parent >= 0, position[np.maximum(parent, 0)], -1)


def _add_via_paths(cache: PathCache, a: int, b: int, found: list[PairPath],
                   forward_member: BoolArray, backward_member: BoolArray, pool: int) -> None:
    """Via paths over the admissible nodes only: every tree ancestor of an admissible node is
    admissible (triangle inequality), so the subtrees hold all the pointer jumping needs."""
    ea, eb = int(cache.camera_edge[a]), int(cache.camera_edge[b])
    s, t = int(cache.edge_v[ea]), int(cache.edge_u[eb])
    fpred, bpred = cache.forward_pred[0, a], cache.backward_pred[0, b]
    via = cache.forward_dist[0, a].astype(np.float64) + cache.backward_dist[0, b]
    keep = np.flatnonzero(via <= settings.ROUTE_MAX_STRETCH * float(via[t]) + STRETCH_SLACK_S)
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
            head, tail = _walk(fpred, s, int(keep[w])), _walk(bpred, t, int(keep[w]))[::-1]
            if head and tail:
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
