"""``python -m tracing serve``: the live centre in one command.

One process holds the database: the owner (spool loading, alert engine, key and status
publishing, :mod:`tracing.live.owner`) runs in a thread beside the Streamlit app, so the
app's queries use the owner's warm connection. The receiver and the stream workers never
open the database and run as child processes, restarted with backoff when they exit.
SIGINT/SIGTERM stops everything.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from tracing import settings
from tracing.store import Spool, Store

logger = logging.getLogger(__name__)

APP: Final = settings.REPO_ROOT / "app.py"
RESTART_MAX_S: Final = 30.0


@dataclass
class Child:
    """A child process kept running: restarted 1 s, 2 s, … up to 30 s after each failure
    (an exit with status 0 means it has nothing to do)."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    _backoff: float = field(default=1.0, repr=False)

    def keep(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            self.process = subprocess.Popen(self.argv)
            while self.process.poll() is None and not stop.wait(0.5):
                pass
            if stop.is_set() or self.process.returncode == 0:
                return  # stopped, or done (e.g. no camera has a stream to read)
            logger.warning("serve: %s exited with %s; restarting in %.0f s", self.name,
                           self.process.returncode, self._backoff)
            self._backoff = 1.0 if time.monotonic() - started > 60 else min(
                self._backoff * 2, RESTART_MAX_S)
            self.restarts += 1
            stop.wait(self._backoff)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class Serve:
    """The receiver, the owner, the stream workers and the app, run together."""

    db: Path
    spool: Path
    host: str = settings.LIVE_HOST
    port: int = settings.LIVE_PORT
    app_port: int = 8501
    workers: bool = True
    travel: bool = True

    def children(self, streams: bool) -> list[Child]:
        """The receiver, and the stream workers when some camera has a stream."""
        python = sys.executable
        out = [Child("receiver", [python, "-m", "tracing", "receiver", "--host", self.host,
                                  "--port", str(self.port), "--spool", str(self.spool),
                                  "--db", str(self.db)])]
        if self.workers and streams:
            out.append(Child("workers", [python, "-m", "recognition", "workers", "--db",
                                         str(self.db), "--spool", str(self.spool)]))
        return out

    def run(self) -> str:
        from streamlit.web import bootstrap

        from tracing.alerts.command import reachability
        from tracing.live.owner import run_owner

        self.db, self.spool = self.db.resolve(), self.spool.resolve()
        os.environ["TRACING_DB"] = str(self.db)
        os.chdir(settings.REPO_ROOT)  # the app's .streamlit/config.toml (offline, no stats)
        stop = threading.Event()
        store = Store(self.db)
        reach = reachability(store) if self.travel else None
        owner = threading.Thread(target=run_owner, name="owner", daemon=True,
                                 args=(store, Spool(self.spool)),
                                 kwargs={"stop_event": stop, "reach": reach})
        owner.start()
        children = self.children(_has_streams(store))
        for child in children:
            threading.Thread(target=child.keep, args=(stop,), name=child.name,
                             daemon=True).start()
        try:
            bootstrap.load_config_options({"server.port": self.app_port,
                                           "server.headless": True})
            bootstrap.run(str(APP), False, [], {"server.port": self.app_port,
                                                "server.headless": True})
        finally:
            stop.set()
            for child in children:
                child.stop()
            owner.join(timeout=10)
            store.close()
        return "live centre stopped"


def _has_streams(store: Store) -> bool:
    """Whether some camera of the registry has a video stream for the workers."""
    with store.reader() as con:
        row = con.execute("SELECT count(*) FROM cameras WHERE coalesce(stream_url, '') <> ''"
                          ).fetchone()
    return bool(row and row[0])
