from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import select

from vanringen.db import utcnow
from vanringen.models import Senior


def test_timestamps_come_back_aware_utc(session):
    stockholm_summer = timezone(timedelta(hours=2))
    senior = Senior(first_name="Greta", phone="+46812345678", gender="female",
                    waiting_since=datetime(2026, 7, 1, 14, 0, tzinfo=stockholm_summer))
    session.add(senior)
    session.commit()
    session.expunge_all()
    stored = session.exec(select(Senior)).one()
    assert stored.waiting_since == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert stored.waiting_since.tzinfo is not None
    assert stored.created_at.tzinfo is not None
    assert abs(stored.created_at - utcnow()) < timedelta(minutes=1)


def test_each_row_gets_its_own_timestamp(session):
    first = Senior(first_name="A", phone="+46812345678", gender="female")
    later = Senior(first_name="B", phone="+46812345679", gender="male")
    assert first.created_at <= later.created_at
    assert first.created_at is not later.created_at


def test_naive_datetimes_are_refused(session):
    session.add(Senior(first_name="A", phone="+46812345678", gender="female",
                       waiting_since=datetime(2026, 1, 1)))
    with pytest.raises(sa.exc.StatementError, match="naive"):
        session.commit()


def test_request_session_is_closed_after_request(app):
    from flask import g

    from vanringen.db import get_session

    with app.app_context():
        s = get_session()
        assert get_session() is s
        assert g.db_session is s
    with app.app_context():
        assert get_session() is not s
