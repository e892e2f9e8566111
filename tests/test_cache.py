"""Where the app keeps what it may reuse a while, and that losing it loses nothing."""

from pathlib import Path

import pytest

import vanringen
from vanringen import create_app

# Nothing listens here: a Redis that has gone away.
GONE = "redis://127.0.0.1:6390/0"


def make_app(database_url, **settings):
    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test"} | settings)


def backend_of(app):
    return app.extensions["cache"][app.extensions["vanringen.cache"]]


@pytest.mark.parametrize(("settings", "kind"), [
    ({"REPORT_CACHE_SECONDS": 0}, "NullCache"),
    ({"REPORT_CACHE_SECONDS": 60, "TESTING": True}, "SimpleCache"),
    ({"REPORT_CACHE_SECONDS": 60, "REPORT_CACHE_DIR": "kept"}, "FileSystemCache"),
    ({"REPORT_CACHE_SECONDS": 60, "REDIS_URL": GONE}, "ForgivingRedisCache"),
])
def test_where_figures_are_kept(database_url, tmp_path, settings, kind):
    if "REPORT_CACHE_DIR" in settings:
        settings["REPORT_CACHE_DIR"] = str(tmp_path / settings["REPORT_CACHE_DIR"])
    app = make_app(database_url, **settings)
    backend = backend_of(app)
    assert type(backend).__name__ == kind
    if kind != "NullCache":
        assert backend.default_timeout == settings["REPORT_CACHE_SECONDS"]
    app.extensions["vanringen.engine"].dispose()


def test_each_database_has_its_own_folder(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(vanringen, "INSTANCE_DIR", tmp_path)  # not the checkout's instance/
    folders = set()
    for url in (database_url, f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"):
        app = make_app(url)
        backend = backend_of(app)
        assert type(backend).__name__ == "FileSystemCache"
        assert Path(backend._path).parent == tmp_path / "report-cache"
        folders.add(backend._path)
        app.extensions["vanringen.engine"].dispose()
    assert len(folders) == 2


@pytest.fixture
def app(database_url):
    app = make_app(database_url, TESTING=True, REDIS_URL=GONE, REPORT_CACHE_SECONDS=60)
    yield app
    app.extensions["vanringen.engine"].dispose()


def test_with_redis_gone_the_pages_count_afresh(logged_in, app, caplog):
    for path in ("/oversikt", "/rapporter/?fran=2026-01-01&till=2026-12-31"):
        assert logged_in.get(path).status_code == 200
    assert "cache unreachable" in caplog.text
    response = logged_in.submit("/rapporter/rakna-om", {"fran": "2026-01-01",
                                                         "till": "2026-12-31"},
                                form_path="/rapporter/?fran=2026-01-01&till=2026-12-31")
    assert response.status_code in (302, 303)


def test_with_redis_gone_nothing_is_kept_and_nobody_waits(app):
    backend = backend_of(app)
    assert backend.set("figures", 1) is False
    assert backend.get("figures") is None
    # The computing lock is "taken": the worker computes instead of waiting for another.
    assert backend.add("figures:computing", True) is True
