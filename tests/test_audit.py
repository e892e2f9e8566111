"""Writing the audit log (vanringen/audit.py) and the database keeping it append-only
(triggers of migration 0006, on SQLite and on PostgreSQL alike)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from vanringen import audit
from vanringen.db import utcnow
from vanringen.models import AuditEvent


def test_record_joins_the_callers_transaction(app, session):
    with app.test_request_context("/seniorer/5", method="POST",
                                  environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        event = audit.record("change", session=session, senior_id=5, detail="fält=phone")
    assert session.exec(select(AuditEvent)).all() == [event]  # flushed with the session
    session.rollback()  # the action failed: its audit row goes with it
    assert session.exec(select(AuditEvent)).all() == []
    with app.test_request_context("/seniorer/5", method="POST",
                                  environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        audit.record("change", session=session, senior_id=5, status_code=302)
    session.commit()
    [row] = session.exec(select(AuditEvent)).all()
    assert (row.action, row.senior_id, row.method, row.ip, row.actor_id, row.status_code) == \
        ("change", 5, "POST", "10.1.2.3", None, 302)


def test_a_volunteer_actor_has_no_address(app, session):
    with app.test_request_context("/v/x", environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        event = audit.record("view", session=session, volunteer_id=3, actor_volunteer_id=3)
    assert (event.actor_volunteer_id, event.ip) == (3, "")


def test_outside_a_request_the_actor_is_the_command_line(session):
    event = audit.record("retention", session=session, detail="x" * 500)
    session.commit()
    assert (event.endpoint, event.actor_id, event.ip, len(event.detail)) == ("cli", None, "", 400)


# ---------------------------------------------------------------- append-only

def _insert(session, at) -> int:
    event = AuditEvent(action="view", senior_id=1, at=at)
    session.add(event)
    session.commit()
    return event.id


def _refused(app, statement, **params):
    with pytest.raises(DBAPIError) as caught:
        with app.extensions["vanringen.engine"].begin() as conn:
            conn.execute(sa.text(statement), params)
    assert "append-only" in str(caught.value)


def test_the_database_refuses_update_and_delete(app, session):
    event_id = _insert(session, utcnow())
    _refused(app, "UPDATE audit_event SET senior_id = 2 WHERE id = :id", id=event_id)
    _refused(app, "UPDATE audit_event SET detail = '' WHERE id = :id", id=event_id)
    _refused(app, "DELETE FROM audit_event WHERE id = :id", id=event_id)
    session.expire_all()
    [row] = session.exec(select(AuditEvent)).all()
    assert row.senior_id == 1


def test_an_old_row_is_refused_an_update_too(app, session):
    event_id = _insert(session, utcnow() - timedelta(days=400))
    _refused(app, "UPDATE audit_event SET senior_id = 2 WHERE id = :id", id=event_id)


def test_rows_older_than_a_year_may_be_deleted(app, session):
    old = _insert(session, utcnow() - timedelta(days=366))
    recent = _insert(session, utcnow() - timedelta(days=364))
    with app.extensions["vanringen.engine"].begin() as conn:
        deleted = conn.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": old})
    assert deleted.rowcount == 1
    _refused(app, "DELETE FROM audit_event WHERE id = :id", id=recent)
    session.expire_all()
    assert [e.id for e in session.exec(select(AuditEvent))] == [recent]
