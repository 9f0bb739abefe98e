"""Shared fixtures. Sockets are disabled by pytest-socket (see pyproject.toml): any
connection to a host other than 127.0.0.1 fails the test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="session")
def app_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the shipped camera registry (what the app opens)."""
    from tracing import cameras
    from tracing.store import Store

    path = tmp_path_factory.mktemp("app") / "app.duckdb"
    with Store(path) as store:
        store.replace_cameras(cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv"))
    return path


@pytest.fixture(autouse=True, scope="session")
def _english_pages() -> Iterator[None]:
    """Pages open in English in the tests (the app's default is Vietnamese), also in the
    app servers tests start; tests of other languages set ``settings.DEFAULT_LANGUAGE``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "DEFAULT_LANGUAGE", "en")
        patch.setenv("TRACING_LANGUAGE", "en")
        yield


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> None:
    """Argon2 at its production cost takes ~0.1–1 s per hash; tests use a cheap one."""
    from argon2 import PasswordHasher

    from tracing.access import users

    users._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    users._DUMMY_HASH = None


_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """Streamlit's AppTest runs a page as ``sys.modules["__main__"]`` and leaves it there
    (also from module-scoped fixtures); a test starting "spawn" processes would then re-run
    that page in each child. Every test starts with pytest's own ``__main__``."""
    sys.modules["__main__"] = _MAIN
    yield
    sys.modules["__main__"] = _MAIN
