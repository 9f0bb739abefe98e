"""Opening a page of the app in Streamlit's AppTest against a given store, logged in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from tracing.access import sessions, users
from tracing.store import Store

ROOT = Path(__file__).resolve().parent.parent
TEST_PASSWORD = "test password of the page tests"
SESSION_KEY = "auth_session"
"""``app_pages.auth.SESSION_KEY`` (not imported: importing a page module outside a script
run makes Streamlit log warnings)."""


def page_user(db: Path, role: str) -> users.User:
    """The account ``test-<role>`` of store ``db`` (created on first use)."""
    name = f"test-{role}"
    with Store(db) as store:
        user = users.get_user(store, name)
        if user is None:
            users.add_user(store, name, role, who="tests", password=TEST_PASSWORD)
            user = users.get_user(store, name)
    assert user is not None
    return user


def open_page(script: str, db: Path, monkeypatch: pytest.MonkeyPatch, *,
              role: str | None = "admin") -> AppTest:
    """Run ``script`` (relative to the repo root) on store ``db`` as a user of ``role``
    (default admin, who may do everything; None: nobody logged in); it must not raise."""
    monkeypatch.setenv("TRACING_DB", str(db))
    at = AppTest.from_file(str(ROOT / script), default_timeout=120)
    if role is not None:
        at.session_state[SESSION_KEY] = sessions.start_session(page_user(db, role))
    at.run()
    assert not at.exception, at.exception
    return at


def deferred_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """File name → the callable a download button runs when clicked (filled as pages run;
    calling one is what a click does)."""
    made: dict[str, Callable[[], Any]] = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data: Callable[[], Any], *args: Any,
                     **kwargs: Any) -> str:
        made[str(kwargs["file_name"])] = data
        return register(self, data, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return made
