"""Find a vehicle: plate search, identity linking, clones, convoys and stakeouts.

Public API (``who``: an :class:`~tracing.access.actor.Actor` whose role holds ``search``,
or a system process's name; every call is audited before it reads, see
:func:`tracing.access.actor.record_look`)::

    result = search_plates(store, "51A-12*", who=who, filters=SearchFilters(start=...))
    reads = reads_of_plates(store, ["51A-123.45"], who=who)   # a vehicle's reads
    reach = load_reachability(graph, load_registry(store))    # camera-to-camera bounds
    links = link_reads(store, "51A-123.45", reach, who=who)   # misreads of the target, why
    pairs = find_clones(store, reach, who=who)                # impossible travel
    convoy = find_convoy(store, "51A-123.45", who=who, window_s=60)  # co-travelling plates
    hits = stakeout(store, [Place("bank", f1), Place("gate", f2)], who=who)
"""

from __future__ import annotations

from tracing.search.clones import ClonePair, clone_pairs, find_clones, plate_tracks
from tracing.search.convoy import ConvoyMember, find_convoy
from tracing.search.linking import Decision, Link, LinkResult, decide, evaluate_links, link_reads
from tracing.search.matching import (
    compact_query,
    confusable,
    fuzzy_matches,
    plate_distance,
    wildcard_matches,
)
from tracing.search.plate_index import PlateIndex, plate_index
from tracing.search.query import (
    Candidate,
    SearchFilters,
    SearchResult,
    reads_of_plates,
    search_plates,
)
from tracing.search.reachability import (
    Reachability,
    load_reachability,
    reachability_from_graph,
    reachability_of,
)
from tracing.search.stakeout import Place, StakeoutHit, stakeout

__all__ = [
    "Candidate",
    "ClonePair",
    "ConvoyMember",
    "Decision",
    "Link",
    "LinkResult",
    "Place",
    "PlateIndex",
    "Reachability",
    "SearchFilters",
    "SearchResult",
    "StakeoutHit",
    "clone_pairs",
    "compact_query",
    "confusable",
    "decide",
    "evaluate_links",
    "find_clones",
    "find_convoy",
    "fuzzy_matches",
    "link_reads",
    "load_reachability",
    "plate_distance",
    "plate_index",
    "plate_tracks",
    "reachability_from_graph",
    "reachability_of",
    "reads_of_plates",
    "search_plates",
    "stakeout",
    "wildcard_matches",
]
