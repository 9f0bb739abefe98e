"""A stored plate's sightings: the audited start of every trace (the Trace page, the
``trace`` command on a database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracing.access.actor import Who, record_look
from tracing.plates import normalize_plate
from tracing.routes.evidence import CameraActivity, activity_window, store_activity
from tracing.routes.model import Sighting
from tracing.routes.sightings import sightings_from_table
from tracing.store import Store


@dataclass(frozen=True, eq=False)
class StoredSightings:
    """A plate's (canonical) reads in the store as sightings, their read ids, and which
    cameras were working around them (None when there is no sighting)."""

    plate: str
    sightings: list[Sighting]
    read_ids: tuple[str, ...]
    activity: CameraActivity | None


def stored_sightings(store: Store, plate: str, *, who: Who, start: datetime | None = None,
                     end: datetime | None = None) -> StoredSightings:
    """The reads of ``plate`` (any spelling) in [start, end) as sightings. ``who`` needs the
    ``trace`` permission; the trace is audited before a read is read
    (:func:`tracing.access.actor.record_look`)."""
    canonical = normalize_plate(plate)
    record_look(store, who, "trace", "trace", {
        "plate": canonical, "start": None if start is None else start.isoformat(),
        "end": None if end is None else end.isoformat()})
    table = store.reads_of_plate(canonical, start=start, end=end)
    sightings = sightings_from_table(table)
    activity = (store_activity(store, *activity_window(s.ts for s in sightings))
                if sightings else None)
    ids = tuple(str(r) for r in table.column("read_id").to_pylist())
    return StoredSightings(canonical, sightings, ids, activity)
