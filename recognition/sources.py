"""Frame sources: a video file, a folder of images, one image, or a live stream URL.

Every source yields :class:`~recognition.pipeline.Frame` objects with a capture instant.
Video frames are timed from ``start`` (default: the file's modification time minus its
duration) plus their position; images carry their file's modification time; streams
carry the clock at capture. Streams open through OpenCV's FFmpeg backend with open and
read timeouts, so an unreachable or stalled stream fails instead of hanging. Bad input
raises :class:`SourceError` naming it; an unreadable image inside a folder or a video
that breaks off midway is recorded in ``Source.problems`` and the frames before it kept.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlparse

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from recognition.errors import SourceError
from recognition.pipeline import Frame
from tracing import settings

__all__ = ["IMAGE_SUFFIXES", "STREAM_SCHEMES", "VIDEO_SUFFIXES", "Source", "open_capture",
           "open_source", "read_image"]

log = logging.getLogger(__name__)
Kind = Literal["video", "images", "image", "stream"]

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES: Final = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg"})
STREAM_SCHEMES: Final = frozenset({"rtsp", "rtsps", "http", "https"})


def read_image(data: bytes, name: str) -> npt.NDArray[np.uint8]:
    """Decode an encoded image (JPEG, PNG, …) into BGR pixels, refusing corrupt ones,
    empty ones and ones larger than ``RECOGNITION_MAX_IMAGE_PIXELS`` — those by the size
    their header declares, before any pixel is decoded (a 20000×20000 PNG of a few
    kilobytes would take gigabytes)."""
    if not data:
        raise SourceError(f"image {name!r} is empty")
    _check_declared_size(data, name)
    buffer = np.frombuffer(data, np.uint8)
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise SourceError(f"image {name!r} cannot be decoded: {exc}") from exc
    if image is None or image.size == 0:
        raise SourceError(f"image {name!r} is corrupt, truncated or not an image")
    if image.shape[0] * image.shape[1] > settings.RECOGNITION_MAX_IMAGE_PIXELS:
        raise SourceError(f"image {name!r} has {image.shape[1]}×{image.shape[0]} pixels, more "
                          f"than {settings.RECOGNITION_MAX_IMAGE_PIXELS}")
    return np.asarray(image, np.uint8)


def _check_declared_size(data: bytes, name: str) -> None:
    """Refuse an image whose header declares more than RECOGNITION_MAX_IMAGE_PIXELS (Pillow
    reads the header only); a header Pillow cannot read is left to OpenCV's decoder."""
    limit = settings.RECOGNITION_MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Image.DecompressionBombError as exc:
            raise SourceError(f"image {name!r} declares more than {limit} pixels") from exc
        except (OSError, ValueError, SyntaxError, EOFError):
            return
    if width * height > limit:
        raise SourceError(f"image {name!r} has {width}×{height} pixels, more than {limit}")


def _check_frame_size(cap: cv2.VideoCapture, name: str) -> None:
    """Refuse a video or stream whose frames are larger than RECOGNITION_MAX_IMAGE_PIXELS
    (before the first frame is decoded)."""
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width * height > settings.RECOGNITION_MAX_IMAGE_PIXELS:
        cap.release()
        raise SourceError(f"{name}: frames of {width}×{height} pixels, more than "
                          f"{settings.RECOGNITION_MAX_IMAGE_PIXELS}")


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


@dataclass(slots=True)
class Source:
    """An opened source; iterate :meth:`frames` once. ``total`` is the number of frames
    expected after sampling (None for streams)."""

    kind: Kind
    name: str
    every: int
    total: int | None
    _frames: Iterator[Frame] = field(repr=False)
    problems: list[str] = field(default_factory=list)

    def frames(self) -> Iterator[Frame]:
        return self._frames


def _check_every(every: int) -> int:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise SourceError(f"frame step {every!r} must be a whole number ≥ 1")
    return every


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise SourceError(f"{path} is empty")
    if size > settings.RECOGNITION_MAX_FILE_BYTES:
        raise SourceError(f"{path} is {size} bytes, more than "
                          f"{settings.RECOGNITION_MAX_FILE_BYTES}")


def _capture_frames(cap: cv2.VideoCapture, source: Source, start: datetime | None,
                    fps: float) -> Iterator[Frame]:
    index = -1
    try:
        while True:
            ok = cap.grab()
            if not ok:
                break
            index += 1
            if index % source.every:
                continue
            ok, image = cap.retrieve()
            if not ok or image is None or image.size == 0:
                source.problems.append(f"{source.name}: frame {index} cannot be decoded")
                break
            ts = datetime.now(UTC) if start is None else start + timedelta(seconds=index / fps)
            yield Frame(index, ts, np.asarray(image, np.uint8), source.name)
    finally:
        cap.release()
    if source.total is not None and index + 1 < source.total * source.every - source.every:
        source.problems.append(f"{source.name}: stopped at frame {index + 1} of about "
                               f"{source.total * source.every}")


def _open_video(path: Path, every: int, start: datetime | None) -> Source:
    _check_size(path)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"video {path} cannot be opened (corrupt or unsupported format)")
    _check_frame_size(cap, f"video {path}")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = cap.get(cv2.CAP_PROP_FPS)
    if count <= 0 or not fps or fps <= 0 or fps > 1000:
        cap.release()
        raise SourceError(f"video {path} has no readable frames (corrupt or truncated)")
    if start is None:
        start = _mtime(path) - timedelta(seconds=count / fps)
    source = Source("video", str(path), every, -(-count // every), iter(()))
    source._frames = _capture_frames(cap, source, start, fps)
    return source


def _image_frames(paths: list[Path], source: Source) -> Iterator[Frame]:
    for index, path in enumerate(paths):
        try:
            _check_size(path)
            image = read_image(path.read_bytes(), str(path))
        except (SourceError, OSError) as exc:
            if source.kind == "image":
                raise SourceError(str(exc)) from exc
            source.problems.append(str(exc))
            log.warning("skipped %s: %s", path, exc)
            continue
        yield Frame(index, _mtime(path), image, path.name)


def open_capture(url: str, *, timeout_s: float = settings.RECOGNITION_STREAM_TIMEOUT_S,
                 name: str | None = None) -> cv2.VideoCapture:
    """Open a stream URL with OpenCV's FFmpeg backend, with open and read timeouts of
    ``timeout_s``; SourceError (naming the stream as ``name``, default the URL) when the
    scheme is not a stream's, it cannot be opened or its frames are too large."""
    shown = name if name is not None else repr(url)
    scheme = urlparse(url).scheme.lower()
    if scheme not in STREAM_SCHEMES:
        raise SourceError(f"stream URL {shown}: scheme {scheme!r} is not one of "
                          f"{', '.join(sorted(STREAM_SCHEMES))}")
    timeout_ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
              timeout_ms]
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"stream {shown} cannot be opened (unreachable, refused or not a "
                          f"video stream; waited at most {timeout_s:g} s)")
    _check_frame_size(cap, f"stream {shown}")
    return cap


def _open_stream(url: str, every: int, timeout_s: float) -> Source:
    cap = open_capture(url, timeout_s=timeout_s)
    source = Source("stream", url, every, None, iter(()))
    source._frames = _capture_frames(cap, source, None, 1.0)
    return source


def open_source(spec: str | Path, *, every: int = settings.RECOGNITION_EVERY,
                start: datetime | None = None,
                timeout_s: float = settings.RECOGNITION_STREAM_TIMEOUT_S) -> Source:
    """Open a video file, an image folder, an image file or a stream URL.

    ``every`` samples every N-th frame of a video or stream; ``start`` (time-zone aware)
    is the instant of a video's first frame.
    """
    every = _check_every(every)
    if start is not None and start.utcoffset() is None:
        raise SourceError(f"start {start.isoformat()} has no time zone")
    text = str(spec)
    if "://" in text:
        return _open_stream(text, every, timeout_s)
    path = Path(text)
    if path.is_dir():
        paths = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            raise SourceError(f"folder {path} holds no images ({kinds})")
        source = Source("images", str(path), 1, len(paths), iter(()))
        source._frames = _image_frames(paths, source)
        return source
    if not path.is_file():
        raise SourceError(f"source {text!r} is not a file, a folder or a stream URL")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        source = Source("image", str(path), 1, 1, iter(()))
        source._frames = _image_frames([path], source)
        return source
    if suffix in VIDEO_SUFFIXES:
        return _open_video(path, every, start)
    raise SourceError(f"{path}: unsupported format {suffix or '(no suffix)'!r}; use an image "
                      f"({', '.join(sorted(IMAGE_SUFFIXES))}) or a video "
                      f"({', '.join(sorted(VIDEO_SUFFIXES))})")
