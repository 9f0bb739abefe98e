"""Review reads: the queue of unsure reads with crops, newest first; an investigator or
analyst confirms each plate or types the right one. Confirmed and corrected crops teach the
recogniser (``python -m recognition finetune``)."""

from __future__ import annotations

import streamlit as st

from app_pages import _review, auth, resources
from app_pages._alert_evidence import local
from tracing import cameras as registry
from tracing import settings
from tracing.alerts.common import records
from tracing.errors import TracingError
from tracing.reviews import review_queue

PAGE_SIZE = 10


def queue_filters() -> tuple[float, list[str]]:
    cameras = registry.load_registry(resources.store())
    codes = {str(i): str(c) for i, c in zip(cameras["id"], cameras["code"], strict=True)}
    left, right = st.columns([1, 2])
    below = left.slider("Confidence below", 0.05, 1.0, settings.REVIEW_MAX_CONFIDENCE, 0.05,
                        help="Reads less sure than this, with a crop and not yet reviewed.")
    chosen = right.multiselect("Cameras (none: all)", sorted(codes), format_func=lambda c: codes[c])
    return float(below), chosen


def queue(reason: str) -> None:
    below, cameras = queue_filters()
    reads = review_queue(resources.store(), who=auth.actor(reason), max_confidence=below,
                         camera_ids=cameras or None, limit=settings.REVIEW_QUEUE_MAX)
    if reads.empty:
        st.success("Nothing to review: every unsure read with a crop has been looked at.")
        return
    more = "+" if len(reads) == settings.REVIEW_QUEUE_MAX else ""
    st.caption(f"{len(reads)}{more} read(s) to review; the {min(PAGE_SIZE, len(reads))} "
               "newest below. Each review is written to the audit log.")
    for read in records(reads.head(PAGE_SIZE)):
        with st.container(border=True):
            where = " · ".join(str(v) for v in (read["code"] or read["camera_id"],
                                                 read["camera_name"], read["source"])
                               if isinstance(v, str) and v)
            st.caption(f"{local(read['ts'])} · {where}")
            _review.read_card(read, reason=reason, key=f"queue_{read['read_id']}")


auth.require("review")
st.title("Review reads")
_review.show_done()
why = auth.reason_input("Reason (required)", key="review_reason")
if why is None:
    st.info("Give a reason (e.g. 'daily read review') above: the queue and every "
            "confirmation or correction are written to the audit log with it.")
else:
    try:
        queue(why)
    except TracingError as exc:
        st.error(f"Cannot show the review queue: {exc}")
