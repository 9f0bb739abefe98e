"""Opening a page of the app in Streamlit's AppTest against a given store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def open_page(script: str, db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Run ``script`` (relative to the repo root) on store ``db``; it must not raise."""
    monkeypatch.setenv("TRACING_DB", str(db))
    at = AppTest.from_file(str(ROOT / script), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at
