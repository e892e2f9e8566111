"""Engine and per-request session. Helpers never commit; views and CLI commands do."""

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, create_engine


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_timestamp(**kw):
    """A column set to the moment each row is made (never a value computed at import)."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones and hands back naive values; storing UTC and
    re-attaching it on the way out keeps comparisons correct everywhere.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL lets the web server and the scheduler work on one file at once.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["vanringen.engine"]


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.extensions["vanringen.engine"] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)
