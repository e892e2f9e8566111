"""A fresh database per test, on SQLite by default or PostgreSQL with TEST_DATABASE_URL.

The schema comes from the Alembic migrations (run once per session); each test then gets
empty tables: a copy of the migrated SQLite file, or TRUNCATE on PostgreSQL.
"""

import os
import re
import shutil
import subprocess
import urllib.parse

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from vanringen import auth, create_app
from vanringen.auth import create_user
from vanringen.cli import upgrade
from vanringen.config import normalise_database_url

PASSWORD = "rätt-hemligt-lösen"
# Still scrypt, with a cost a test can afford; production keeps werkzeug's default.
auth.PASSWORD_METHOD = "scrypt:1024:8:1"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


def need_tool(reason: str):
    """Skip for a missing tool on a laptop; in CI (CI=true) a missing tool is a failure."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(url)
        return {"url": url}
    template = tmp_path_factory.mktemp("db") / "template.sqlite"
    upgrade(f"sqlite:///{template}")
    return {"template": template}


@pytest.fixture
def database_url(migrated_db, tmp_path):
    if "url" in migrated_db:
        url = migrated_db["url"]
        engine = sa.create_engine(url)
        tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return url
    path = tmp_path / "test.sqlite"
    shutil.copy(migrated_db["template"], path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url):
    # Many tests sign in and then move the clock days ahead; the idle sign-out has its own
    # tests (test_auth.py) with the real limit.
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                      "SESSION_IDLE_MINUTES": 525600})
    yield app
    app.extensions["vanringen.engine"].dispose()


@pytest.fixture
def session(app):
    with Session(app.extensions["vanringen.engine"], expire_on_commit=False) as s:
        yield s


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def coordinator(session):
    user = create_user("koordinator@example.se", PASSWORD, role="coordinator",
                       name="Karin Koordinator", session=session)
    session.commit()
    return user


@pytest.fixture
def admin(session):
    user = create_user("admin@example.se", PASSWORD, role="admin", name="Ada Admin",
                       session=session)
    session.commit()
    return user


class Client:
    """Flask's test client plus what a browser does with forms: sends the CSRF token back."""

    def __init__(self, flask_client):
        self.raw = flask_client

    def __getattr__(self, name):
        return getattr(self.raw, name)

    def csrf_token(self, path: str = "/logga-in") -> str:
        html = self.raw.get(path).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def submit(self, path: str, data: dict | None = None, *, form_path: str | None = None,
               **kwargs):
        data = dict(data or {})
        data["csrf_token"] = self.csrf_token(form_path or path)
        return self.raw.post(path, data=data, **kwargs)

    def login(self, user, password: str = PASSWORD):
        response = self.submit("/logga-in", {"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def client(app):
    return Client(app.test_client())


@pytest.fixture
def logged_in(client, coordinator):
    client.login(coordinator)
    return client


def html_text(response) -> str:
    return urllib.parse.unquote(response.get_data(as_text=True))


# Browser tests: Playwright + Debian's Chromium. Helpers and usage: tests/browser_support.py.

@pytest.fixture(scope="session")
def browser():
    from browser_support import launched_browser

    with launched_browser() as chromium:
        yield chromium


@pytest.fixture
def live_server(app):
    """The test `app` (own fresh database) over real HTTP: live_server.url, live_server(path)."""
    from browser_support import serve

    with serve(app) as server:
        yield server


@pytest.fixture
def new_page(browser, live_server):
    """A factory of pages, each in its own browser context: new_page(viewport=PHONE)."""
    from browser_support import PageFactory

    # Depending on live_server makes every page close before the server stops.
    factory = PageFactory(browser)
    yield factory
    factory.close()


@pytest.fixture
def page(new_page):
    return new_page()


# Twilio's REST API served by Prism from Twilio's own OpenAPI spec: tests/twilio_mock.py.

@pytest.fixture(scope="session")
def twilio_mock_url(tmp_path_factory):
    """One Prism for the whole session (it takes a few seconds to start)."""
    from twilio_mock import PRISM, PRISM_NODE, SPEC, start_prism, stop_prism

    node = shutil.which("node")
    if node is None:
        need_tool("node is missing: the Twilio mock needs Node >= 18.20.1 "
                  "(then `make test` installs it with npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if tuple(int(n) for n in re.findall(r"\d+", version)[:3]) < PRISM_NODE:
        need_tool(f"node {version.strip()} is too old for Prism 5.14.2 (needs 18.20.1)")
    if not (PRISM.exists() and SPEC.exists()):
        need_tool("the Twilio mock is not installed: `make test` runs npm ci for it")
    url, process = start_prism(tmp_path_factory.mktemp("twilio-mock"))
    yield url
    stop_prism(process)


@pytest.fixture
def twilio_http(twilio_mock_url):
    from twilio_mock import MockTwilioHttpClient

    http = MockTwilioHttpClient(twilio_mock_url)
    yield http
    http.session.close()  # an open keep-alive socket is a ResourceWarning, hence an error


@pytest.fixture
def twilio_backend(twilio_http):
    from twilio_mock import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN

    from notifications import TwilioBackend

    return TwilioBackend(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, "+46766861004",
                         http_client=twilio_http)
