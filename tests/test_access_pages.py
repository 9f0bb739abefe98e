"""AppTest of access control in the app: each page checks the role, login and lock-out,
the forced password change, role-aware navigation, the audit and admin pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import (
    ROOT,
    SESSION_KEY,
    TEST_PASSWORD,
    deferred_downloads,
    open_page,
    page_user,
)
from tracing import settings
from tracing.access import audit, sessions, users
from tracing.access.roles import ROLES, allowed
from tracing.store import Store

PAGES = {"app_pages/city_map.py": "map", "app_pages/trace.py": "trace",
         "app_pages/search.py": "search", "app_pages/coverage.py": "coverage",
         "app_pages/audit.py": "audit", "app_pages/admin.py": "users",
         "app_pages/alerts.py": "alerts_view", "app_pages/geofences.py": "geofences",
         "app_pages/recognise.py": "recognise", "app_pages/review.py": "review"}
"""Every page of the navigation and the permission it needs."""


def test_session_key_is_the_apps() -> None:
    from app_pages import auth

    assert SESSION_KEY == auth.SESSION_KEY


@pytest.fixture(scope="module")
def no_cameras_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store without cameras: pages stop early after their role check (fast)."""
    path = tmp_path_factory.mktemp("roles") / "roles.duckdb"
    Store(path).close()
    return path


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("script", PAGES)
def test_every_page_checks_the_role(no_cameras_db: Path, monkeypatch: pytest.MonkeyPatch,
                                    script: str, role: str) -> None:
    at = open_page(script, no_cameras_db, monkeypatch, role=role)
    refused = [e.value for e in at.error if e.value.startswith("Not allowed")]
    if allowed(role, PAGES[script]):
        assert not refused and at.title, refused
    else:
        assert refused == [f"Not allowed: the {role} role may not "
                           f"{_what(PAGES[script])}. Ask an administrator if you need it."]
        assert not at.dataframe and not at.metric


def _what(permission: str) -> str:
    from tracing.access.roles import PERMISSIONS

    return PERMISSIONS[permission]


@pytest.mark.parametrize("script", PAGES)
def test_every_page_needs_a_login(no_cameras_db: Path, monkeypatch: pytest.MonkeyPatch,
                                  script: str) -> None:
    at = open_page(script, no_cameras_db, monkeypatch, role=None)
    assert [w.value for w in at.warning] == ["Please log in (Login page) to use this page."]
    assert not at.dataframe and not at.metric


def login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[0].click().run()


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    from tracing import cameras

    path = tmp_path / "fresh.duckdb"
    with Store(path) as store:
        store.replace_cameras(cameras.read_registry(settings.CAMERAS_DIR / "thuduc_cameras.csv"))
    return path


def test_first_run_login_forces_a_password_change(fresh_db: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    at = open_page("app.py", fresh_db, monkeypatch, role=None)
    assert at.title[0].value == "Log in"
    printed = capsys.readouterr().err
    assert "one-time" in printed
    secret = printed.split("password  ", 1)[1].split()[0]
    login(at, "admin", "wrong password")
    assert [e.value for e in at.error] == ["Login refused: wrong user name or password"]
    login(at, "admin", secret)
    assert not at.exception, at.exception
    assert at.title[0].value == "Account"
    assert any("one-time password" in w.value for w in at.warning)
    for field, value in zip(at.text_input, [secret, "my own password 1", "my own password 1"],
                            strict=True):
        field.input(value)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("Thủ Đức City")  # the navigation opened up
    assert any(b.label == "Log out" for b in at.sidebar.button)


def test_lock_out_after_repeated_failures(fresh_db: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    page_user(fresh_db, "analyst")
    at = open_page("app.py", fresh_db, monkeypatch, role=None)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        login(at, "test-analyst", "not the password")
    login(at, "test-analyst", TEST_PASSWORD)
    assert any("locked until" in e.value for e in at.error)
    assert at.title[0].value == "Log in"
    with Store(fresh_db) as store:
        secret = users.reset_password(store, "test-analyst", who="admin")
    login(at, "test-analyst", secret)
    assert at.title[0].value == "Account"


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_only_the_roles_pages(app_db: Path, monkeypatch: pytest.MonkeyPatch,
                                               role: str) -> None:
    at = open_page("app.py", app_db, monkeypatch, role=role)
    assert at.title[0].value.startswith("Thủ Đức City")
    with pytest.raises(ValueError, match="Known pages") as info:
        at.switch_page("app_pages/resources.py")  # not a page: the error lists them
    listed = {Path(p).name for p in str(info.value).split("Known pages: ")[1].strip(".[]")
              .replace("'", "").split(", ")}
    expected = {Path(p).name for p, permission in PAGES.items() if allowed(role, permission)}
    assert listed == expected | {"login.py"}


def test_logout_ends_the_session(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app.py", app_db, monkeypatch, role="investigator")
    next(b for b in at.sidebar.button if b.label == "Log out").click().run()
    assert at.title[0].value == "Log in"
    assert SESSION_KEY not in at.session_state


def test_audit_page_filters_exports_and_verifies(fresh_db: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(fresh_db) as store:
        audit.record(store, who="ann", action="search", params={"plate": "51A-123.45"},
                     reason="case 1")
        audit.record(store, who="bob", action="trace", params={"plate": "59-X1 123.45"},
                     reason="case 2")
    files = deferred_downloads(monkeypatch)
    at = open_page("app_pages/audit.py", fresh_db, monkeypatch, role="supervisor")
    assert set(at.dataframe[0].value["who"]) >= {"ann", "bob"}
    at.text_input[0].input("51A12345").run()
    assert list(at.dataframe[0].value["who"]) == ["ann"]
    assert not at.get("download_button")
    at.text_input(key="audit_export_reason").input("quarterly review").run()
    assert at.get("download_button")
    exported_csv = files["audit_log.csv"]()  # a click: the file is made after its own entry
    assert exported_csv.count(b"\n") == 3 and b",audit.export," in exported_csv
    with Store(fresh_db) as store:
        exported = audit.entries(store, action="audit.export").iloc[0]
    assert (exported["who"], exported["reason"]) == ("test-supervisor", "quarterly review")
    at.button[0].click().run()
    assert any("Intact" in s.value for s in at.success)
    with Store(fresh_db) as store, store.writer() as con:
        con.execute("UPDATE audit_log SET reason = 'nothing' WHERE who = 'ann'")
    at.button[0].click().run()
    assert any("tampered" in e.value for e in at.error)
    assert "edited" in set(at.dataframe[-1].value["problem"])


def test_admin_adds_a_user_with_a_one_time_password(fresh_db: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("app_pages/admin.py", fresh_db, monkeypatch)
    assert any("Give a reason" in i.value for i in at.info)
    at.text_input(key="admin_reason").input("ticket 42").run()
    at.text_input[1].input("carol")
    at.selectbox[0].set_value("analyst")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception, at.exception
    shown = next(s.value for s in at.success if "carol" in s.value)
    secret = shown.split("`")[1]
    with Store(fresh_db) as store:
        assert users.authenticate(store, "carol", secret).must_change
        added = audit.entries(store, action="users.add", who="test-admin")
    assert list(added["reason"]) == ["ticket 42"]
    assert secret not in added.to_csv()


def test_no_page_shows_the_webhook_token(no_cameras_db: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "tok-7f3a-never-shown"
    monkeypatch.setattr(settings, "WEBHOOK_TOKEN", secret)
    monkeypatch.setenv("TRACING_ALERT_WEBHOOK_TOKEN", secret)
    for script in PAGES:
        at = open_page(script, no_cameras_db, monkeypatch)
        rendered = page_text(at)
        assert at.title[0].value in rendered and secret not in rendered, script


def page_text(at: AppTest) -> str:
    """Every text a user can read on the page (values of text elements, tables, inputs)."""
    parts = [str(element.value) for kind in (
        "title", "header", "subheader", "markdown", "caption", "text", "code", "error",
        "warning", "info", "success", "metric", "text_input", "text_area", "selectbox")
        for element in getattr(at, kind)]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(parts)


def test_an_expired_session_asks_to_log_in_again(app_db: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACING_DB", str(app_db))
    idle = datetime.now(UTC) - timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[SESSION_KEY] = sessions.Session(page_user(app_db, "admin"), idle, idle)
    at.run()
    assert at.title[0].value == "Log in"
    assert [i.value for i in at.info] == ["Your session ended; please log in again."]


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_may_replace_the_registry(no_cameras_db: Path,
                                              monkeypatch: pytest.MonkeyPatch, role: str) -> None:
    at = open_page("app_pages/city_map.py", no_cameras_db, monkeypatch, role=role)
    offered = any(e.label.startswith("Load a camera registry") for e in at.expander)
    assert offered == allowed(role, "registry") == (role == "admin")
