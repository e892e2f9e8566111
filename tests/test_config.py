import pytest

from vanringen import create_app
from vanringen.config import load_config, normalise_database_url


def test_defaults_are_embedded(monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "NOTIFY_BACKEND", "VANRINGEN_ENV"):
        monkeypatch.delenv(name, raising=False)
    config = load_config()
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["DATABASE_URL"].endswith("instance/vanringen.sqlite")
    assert config["NOTIFY_BACKEND"] == "outbox"
    assert config["BABEL_DEFAULT_LOCALE"] == "sv"
    assert config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Stockholm"


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/prog")
    monkeypatch.setenv("NOTIFY_BACKEND", "console")
    monkeypatch.setenv("POLICE_RECORD_VALID_DAYS", "730")
    config = load_config()
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@db.example/prog"
    assert config["NOTIFY_BACKEND"] == "console"
    assert config["POLICE_RECORD_VALID_DAYS"] == 730


def test_production_without_secret_key_refuses_to_start(monkeypatch):
    monkeypatch.setenv("VANRINGEN_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_production_with_secret_key_uses_secure_cookies(monkeypatch):
    monkeypatch.setenv("VANRINGEN_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "från-miljön")
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == "från-miljön"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_unknown_notify_backend_is_a_startup_error(monkeypatch):
    monkeypatch.setenv("NOTIFY_BACKEND", "pigeon")
    with pytest.raises(ValueError):
        load_config()


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://a@h/d", "postgresql+psycopg://a@h/d"),
    ("postgresql://a@h/d", "postgresql+psycopg://a@h/d"),
    ("postgresql+psycopg://a@h/d", "postgresql+psycopg://a@h/d"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_url_names_the_driver(given, expected):
    assert normalise_database_url(given) == expected
