"""Recognise plates: upload an image or a short video, see the plates read, save the reads
to a camera (through the spool, then loaded into the store)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import pandas as pd
import streamlit as st

from app_pages import auth, resources
from recognition import models
from recognition.draw import annotate
from recognition.errors import SourceError
from recognition.ingest import RecognisedPlate, plates_of_tracks, save_reads, to_reads
from recognition.pipeline import Detection, Frame, Recogniser
from recognition.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES, open_source, read_image
from tracing import settings
from tracing.cameras import load_registry
from tracing.errors import TracingError

LOCAL = ZoneInfo(settings.LOCAL_TZ)
RESULT_KEY = "recognise_result"


@dataclass(frozen=True)
class Result:
    """What one upload gave (kept in the session so that Save works after a rerun)."""

    file_id: str
    plates: list[RecognisedPlate]
    picture: bytes | None
    problems: list[str] = field(default_factory=list)


@st.cache_resource(show_spinner="Loading the plate reader (offline)…")
def _recogniser(version: str) -> Recogniser:
    """One recogniser (and OCR models) per server process and model version."""
    engine = Recogniser()
    _ = engine.engine  # load the model now, under the spinner (a bare expression is drawn)
    return engine


def recogniser() -> Recogniser:
    """The recogniser with the active model version (a new one after an activation)."""
    return _recogniser(models.active_model().name)


def camera_choice() -> str | None:
    registry = load_registry(resources.store())
    registry = registry.sort_values(["is_lpr", "code"], ascending=[False, True])
    labels = {row.id: f"{row.code} · {row.name}" + ("" if row.is_lpr else " (not plate-reading)")
              for row in registry.itertuples()}
    choice = st.selectbox("Camera", list(labels), format_func=labels.__getitem__)
    return None if choice is None else str(choice)


def recognise_image(data: bytes, name: str, when: datetime) -> tuple[list[RecognisedPlate], bytes]:
    image = read_image(data, name)
    frame = Frame(0, when, image, name)
    shown: list[Detection] = []
    tracks = recogniser().track([frame], still=True, on_frame=lambda _f, d: shown.extend(d))
    return plates_of_tracks(tracks, source_name=name), _png(annotate(image, shown))


def recognise_video(data: bytes, name: str, when: datetime, every: int
                    ) -> tuple[list[RecognisedPlate], bytes | None, list[str]]:
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        source = open_source(path, every=every, start=when)
        total = min(source.total or 1, settings.RECOGNITION_MAX_UPLOAD_FRAMES)
        bar = st.progress(0.0, text="Reading plates…")
        best: dict[str, bytes | None] = {"image": None}
        most = {"n": 0}

        def frames() -> Iterator[Frame]:
            for i, frame in enumerate(source.frames()):
                if i >= settings.RECOGNITION_MAX_UPLOAD_FRAMES:
                    source.problems.append(f"only the first {i} sampled frames were read")
                    break
                bar.progress(min(1.0, (i + 1) / total), text=f"Frame {frame.index}")
                yield frame

        def seen(frame: Frame, detections: list[Detection]) -> None:
            if len(detections) > most["n"]:
                most["n"] = len(detections)
                best["image"] = _png(annotate(frame.image, detections))

        tracks = recogniser().track(frames(), on_frame=seen)
        bar.empty()
    return plates_of_tracks(tracks, source_name=name), best["image"], source.problems


def _png(image: object) -> bytes:
    ok, buffer = cv2.imencode(".png", image)  # type: ignore[call-overload]
    if not ok:
        raise SourceError("the annotated frame cannot be encoded")
    return bytes(buffer)


def plates_table(plates: list[RecognisedPlate]) -> pd.DataFrame:
    return pd.DataFrame({
        "plate": [p.plate.text for p in plates],
        "confidence": [round(p.confidence, 3) for p in plates],
        "colour": [p.colour for p in plates],
        "vehicle": [p.vehicle_class for p in plates],
        "frames": [p.frames for p in plates],
        "seen at": [p.ts.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S") for p in plates],
    })


def run(upload: st.runtime.uploaded_file_manager.UploadedFile, when: datetime, every: int) -> None:
    data = upload.getvalue()
    if len(data) > settings.RECOGNITION_MAX_UPLOAD_BYTES:
        limit = settings.RECOGNITION_MAX_UPLOAD_BYTES // 1024**2
        raise SourceError(f"{upload.name} is {len(data) / 1024**2:.1f} MB; the limit is {limit} MB")
    suffix = Path(upload.name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        plates, picture = recognise_image(data, upload.name, when)
        result = Result(upload.file_id, plates, picture)
    elif suffix in VIDEO_SUFFIXES:
        result = Result(upload.file_id, *recognise_video(data, upload.name, when, every))
    else:
        raise SourceError(f"{upload.name}: unsupported format {suffix or '(none)'}")
    st.session_state[RESULT_KEY] = result


def show(result: Result, camera_id: str) -> None:
    plates = result.plates
    for problem in result.problems:
        st.warning(problem)
    if result.picture is not None:
        st.image(result.picture, caption="Plates found (box, read, confidence)")
    if not plates:
        st.info("No plate could be read. Try a sharper or closer image.")
        return
    st.dataframe(plates_table(plates), hide_index=True)
    cols = st.columns(min(6, len(plates)))
    for col, plate in zip(cols, plates, strict=False):
        col.image(_png(plate.crop), caption=plate.plate.text)
    keep = [p for p in plates if p.confidence >= settings.RECOGNITION_MIN_CONFIDENCE]
    if len(keep) < len(plates):
        st.caption(f"{len(plates) - len(keep)} read(s) below confidence "
                   f"{settings.RECOGNITION_MIN_CONFIDENCE} are not saved.")
    if st.button(f"Save {len(keep)} read(s) to this camera", disabled=not keep, type="primary"):
        reads = to_reads(keep, camera_id=camera_id, crops_dir=settings.CROPS_DIR,
                         source="upload")
        spool = resources.database_path().parent / "spool"
        report = save_reads(reads, spool_dir=spool, store=resources.store())
        if report is not None:
            st.success(f"Saved: {report.inserted} new read(s), {report.duplicates} already "
                       f"stored, {report.rejected} rejected"
                       + (f" ({', '.join(report.reasons)})" if report.rejected else "") + ".")


auth.require("recognise")
st.title("Recognise plates")
try:
    st.caption("Plates are read on this machine, nothing is sent anywhere: OpenCV finds "
               "them, EasyOCR (plate-trained head) and PP-OCRv6 read them. Active model "
               f"version: {models.active_model().describe()}.")
    camera = camera_choice()
    kinds = sorted(s.lstrip(".") for s in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
    upload = st.file_uploader("Image or short video", type=kinds)
    st.caption(f"At most {settings.RECOGNITION_MAX_UPLOAD_BYTES // 1024**2} MB; videos: the "
               f"first {settings.RECOGNITION_MAX_UPLOAD_FRAMES} sampled frames.")
    left, right = st.columns(2)
    day = left.date_input("Captured on (local)", value=datetime.now(LOCAL).date())
    clock = right.time_input("at", value=datetime.now(LOCAL).time().replace(microsecond=0))
    every = st.number_input("Video: read every N-th frame", min_value=1, max_value=30, value=2)
    when = datetime.combine(day, clock, tzinfo=LOCAL)
    if upload is None:
        st.session_state.pop(RESULT_KEY, None)
    else:
        result = st.session_state.get(RESULT_KEY)
        if result is None or result.file_id != upload.file_id:
            run(upload, when, int(every))
            result = st.session_state[RESULT_KEY]
        if camera is not None:
            show(result, camera)
except TracingError as exc:
    st.error(str(exc))
