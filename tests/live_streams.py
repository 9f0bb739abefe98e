"""Test helpers for the stream workers: an MJPEG camera served on 127.0.0.1 (like an IP
camera's ``multipart/x-mixed-replace`` stream) and a port nothing listens on."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy.typing as npt

BOUNDARY = b"frame"


def jpegs(images: Sequence[npt.NDArray[Any]]) -> list[bytes]:
    """The images JPEG-encoded."""
    return [cv2.imencode(".jpg", image)[1].tobytes() for image in images]


@contextlib.contextmanager
def mjpeg_camera(frames: list[bytes], *, fps: float = 25.0,
                 per_connection: int | None = None) -> Iterator[str]:
    """Serve ``frames`` in a loop at ``fps`` as an MJPEG stream on 127.0.0.1; yields its URL.
    ``per_connection``: end each connection after that many frames (the stream "breaks")."""
    done = threading.Event()

    class Camera(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type",
                             f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
            self.end_headers()
            sent = 0
            with contextlib.suppress(OSError):
                while not done.is_set() and (per_connection is None or sent < per_connection):
                    data = frames[sent % len(frames)]
                    self.wfile.write(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                                     + f"Content-Length: {len(data)}\r\n\r\n".encode()
                                     + data + b"\r\n")
                    sent += 1
                    time.sleep(1 / fps)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
    finally:
        done.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
