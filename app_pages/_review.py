"""Confirm or correct one read's plate: the controls shown beside a read's crop (Find
results, alert evidence, the review queue). The library checks the ``review`` permission,
applies the correction and audits it (:mod:`tracing.reviews`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import auth, resources
from app_pages._alert_evidence import crop_path, local
from tracing.access.actor import Actor
from tracing.errors import TracingError
from tracing.reviews import Review, confirm_read, correct_read, reviews_of

DONE_KEY = "review_done"


def show_done() -> None:
    """The outcome of the review made before the rerun (once)."""
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(done)


def history(read_id: str) -> None:
    """Earlier reviews of the read, one line each."""
    for row in reviews_of(resources.store(), [read_id]).itertuples():
        what = (f"corrected {row.old_plate} → **{row.new_plate}**"
                if row.verdict == "corrected" else f"confirmed **{row.new_plate}**")
        note = f" ({row.note})" if isinstance(row.note, str) and row.note else ""
        st.caption(f"{what} by {row.who}, {local(row.reviewed_at)}{note}")


def _act(run: Callable[[Actor], Review], reason: str) -> None:
    try:
        review = run(auth.actor(reason))
    except TracingError as exc:
        st.error(f"Not saved: {exc}")
        return
    if review.verdict == "confirmed":
        message = f"Read confirmed as {review.new_plate}."
    else:
        message = (f"Read corrected {review.old_plate} → {review.new_plate}: search, trace "
                   "and alerts now see the corrected plate.")
        if review.dismissed_alerts:
            message += (f" Dismissed {len(review.dismissed_alerts)} alert(s) the misread "
                        "raised.")
    st.session_state[DONE_KEY] = message
    st.rerun()


def review_controls(read: pd.Series | dict[str, Any], *, reason: str, key: str) -> None:
    """Confirm the plate of ``read`` (a row with read_id and plate) or type the right one."""
    read_id, plate = str(read["read_id"]), str(read["plate"])
    history(read_id)
    if not auth.may("review"):
        return
    typed = st.text_input("The plate the crop shows, if it is not the one read",
                          key=f"{key}_plate", placeholder="e.g. 51A-123.45",
                          help="Any spelling: 51A12345, 51A-123.45, 59-X1 234.56")
    note = st.text_input("Note (optional)", key=f"{key}_note", max_chars=500)
    left, right = st.columns(2)
    if left.button("Confirm plate", key=f"{key}_confirm",
                   help=f"The crop shows {plate}: the read is right."):
        _act(lambda who: confirm_read(resources.store(), read_id, who=who, note=note), reason)
    if right.button("Correct plate", key=f"{key}_correct", type="primary",
                    disabled=not typed.strip()):
        _act(lambda who: correct_read(resources.store(), read_id, typed, who=who, note=note),
             reason)


def read_card(read: pd.Series | dict[str, Any], *, reason: str, key: str) -> None:
    """A read's crop, what was read, and the review controls."""
    left, right = st.columns([1, 2])
    image = crop_path(read.get("crop_ref"))
    if image is not None:
        left.image(str(image), caption=f"Crop of read {read['read_id']}")
    else:
        left.info("No crop image stored for this read.")
    with right:
        confidence = read.get("confidence")
        sure = "" if confidence is None or pd.isna(confidence) else f" · {float(confidence):.0%}"
        st.markdown(f"**{read['plate']}** (read as `{read.get('plate_raw') or ''}`{sure})")
        review_controls(read, reason=reason, key=key)
