"""Shared fixtures. Sockets are disabled by pytest-socket (see pyproject.toml): any
connection to a host other than 127.0.0.1 fails the test."""

from __future__ import annotations

import pytest

from tracing import settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip tests that need ../shared/data when it is absent."""
    if settings.SHARED_DATA_DIR.is_dir():
        return
    skip = pytest.mark.skip(reason=f"needs {settings.SHARED_DATA_DIR} (absent)")
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)
