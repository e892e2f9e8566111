"""The automatic access log (vanringen/access_log.py): every request by staff, or by a
volunteer through their link, that touches a person's data leaves one audit row."""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from call_support import paired
from conftest import CSRF_RE
from sqlmodel import select
from test_seniors import intake

from vanringen import volunteer_links
from vanringen.db import utcnow
from vanringen.models import AuditEvent, Message, ScheduledCall, Senior, Task, Volunteer

ACCESS = ("view", "change", "list", "export")


def events(session, **where) -> list[AuditEvent]:
    """The access log's rows (sign-ins leave rows of their own, written by auth)."""
    session.rollback()  # see what the app committed
    query = select(AuditEvent).where(AuditEvent.action.in_(ACCESS)).order_by(AuditEvent.id)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return session.exec(query).all()


@pytest.fixture
def pair(session):
    return paired(session, call_times="tue 14:00")


def test_viewing_a_senior_writes_who_whom_and_from_where(logged_in, session, coordinator,
                                                          pair):
    assert logged_in.get(f"/seniorer/{pair.senior_id}").status_code == 200
    [event] = events(session)
    assert (event.action, event.actor_id, event.actor_volunteer_id) == \
        ("view", coordinator.id, None)
    assert (event.senior_id, event.volunteer_id, event.pair_id) == (pair.senior_id, None, None)
    assert (event.endpoint, event.method, event.status_code) == ("seniors.detail", "GET", 200)
    assert event.ip == "127.0.0.1"
    assert event.at is not None


def test_viewing_a_volunteer(logged_in, session, coordinator, pair):
    logged_in.get(f"/volontarer/{pair.volunteer_id}")
    [event] = events(session)
    assert (event.action, event.volunteer_id, event.senior_id, event.actor_id) == \
        ("view", pair.volunteer_id, None, coordinator.id)


def test_a_pair_page_is_found_by_either_person(logged_in, session, pair):
    logged_in.get(f"/par/{pair.id}")
    [event] = events(session)
    assert (event.pair_id, event.senior_id, event.volunteer_id) == \
        (pair.id, pair.senior_id, pair.volunteer_id)
    assert events(session, senior_id=pair.senior_id) == [event]
    assert events(session, volunteer_id=pair.volunteer_id) == [event]


def test_a_missing_person_is_logged_with_its_status(logged_in, session):
    assert logged_in.get("/par/999").status_code == 404
    [event] = events(session)
    assert (event.pair_id, event.senior_id, event.status_code) == (999, None, 404)


def test_a_change_names_the_fields_never_what_was_written(logged_in, session, coordinator):
    response = logged_in.submit("/seniorer/ny", intake())
    assert response.status_code == 302
    [senior] = session.exec(select(Senior)).all()
    [event] = events(session, method="POST")
    assert (event.action, event.endpoint, event.status_code, event.actor_id) == \
        ("change", "seniors.new", 302, coordinator.id)
    # The new senior's id comes from where the form sent the browser.
    assert event.senior_id == senior.id
    assert "first_name" in event.detail and "phone" in event.detail
    assert "csrf_token" not in event.detail
    for value in ("Greta", "Lind", "070", "1234567", "Trädgård", "Hör dåligt", "Karin"):
        assert value not in event.detail


def test_a_refused_change_is_logged_as_such(logged_in, session):
    response = logged_in.submit("/seniorer/ny", intake(phone="12345"))
    assert response.status_code >= 400
    [event] = events(session, method="POST")
    assert event.action == "change" and event.status_code == response.status_code
    assert event.senior_id is None and "12345" not in event.detail


def test_an_upload_too_large_is_logged_not_turned_into_an_error(app, logged_in, session):
    # Without CSRF the view is the first to read the body, and refuses it; the log must not
    # read it again and fail.
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = logged_in.post("/import/", data={"kind": "seniors", "file": (
        io.BytesIO(b"x" * 4096), "stor.csv")}, content_type="multipart/form-data")
    assert response.status_code == 413
    [event] = events(session, method="POST")
    assert (event.action, event.status_code) == ("change", 413)


def test_closing_a_task_is_a_change_about_its_people(logged_in, session, pair):
    task = Task(kind="no_call", title="Inget samtal för Greta", pair_id=pair.id,
                senior_id=pair.senior_id, volunteer_id=pair.volunteer_id)
    session.add(task)
    session.commit()
    logged_in.submit(f"/att-gora/{task.id}/klar", {"note": "Ringde Greta"},
                     form_path="/att-gora/")
    [event] = events(session, method="POST")
    assert (event.action, event.senior_id, event.volunteer_id, event.pair_id) == \
        ("change", pair.senior_id, pair.volunteer_id, pair.id)
    assert event.detail == f"task_id={task.id} fält=note"


@pytest.mark.parametrize("path, endpoint", [
    ("/seniorer/", "seniors.index"), ("/volontarer/", "volunteers.index"),
    ("/att-gora/", "tasks.index"), ("/meddelanden/", "message_log.index"),
    ("/inkorg/", "intake.index"), ("/oversikt", "views.home")])
def test_pages_of_many_people_are_lists(logged_in, session, pair, path, endpoint):
    assert logged_in.get(path).status_code == 200
    [event] = events(session)
    assert (event.action, event.endpoint, event.senior_id, event.status_code) == \
        ("list", endpoint, None, 200)


def test_the_message_log_of_one_pair_names_the_pair(logged_in, session, pair):
    logged_in.get(f"/meddelanden/?par={pair.id}")
    [event] = events(session)
    assert (event.action, event.pair_id, event.senior_id) == ("list", pair.id, pair.senior_id)


def test_a_download_is_an_export(logged_in, session, coordinator):
    response = logged_in.get("/rapporter/ladda-ner.csv")
    assert response.status_code == 200
    [event] = events(session)
    assert (event.action, event.endpoint, event.actor_id, event.detail) == \
        ("export", "reports.download", coordinator.id, "fmt=csv")


def test_pages_about_nobody_are_not_logged(logged_in, session):
    for path in ("/rapporter/", "/matchning/intressen/", "/seniorer/ny"):
        assert logged_in.get(path).status_code == 200
    assert events(session) == []


def test_strangers_and_refused_requests_leave_nothing(app, client, logged_in, session, pair):
    anonymous = app.test_client()
    assert anonymous.get(f"/seniorer/{pair.senior_id}").status_code == 302
    assert logged_in.raw.post(f"/par/{pair.id}/avsluta").status_code == 400  # no CSRF token
    assert logged_in.get("/meddelanden/texter/").status_code == 403  # admins only
    assert logged_in.raw.options(f"/seniorer/{pair.senior_id}").status_code == 200
    assert events(session) == []


def test_a_volunteer_through_their_link(app, client, session, pair):
    volunteer = session.get(Volunteer, pair.volunteer_id)
    token = volunteer_links.token_for(volunteer, config=app.config)
    assert client.raw.get(f"/v/{token}").status_code == 200
    [event] = events(session)
    assert (event.action, event.actor_volunteer_id, event.actor_id) == \
        ("view", volunteer.id, None)
    assert event.volunteer_id == volunteer.id
    assert event.ip == ""  # a volunteer's address is their personal data
    assert token not in event.detail and event.endpoint == "volunteer_page.page"


def test_a_revoked_link_still_says_who_tried(app, client, session, pair):
    volunteer = session.get(Volunteer, pair.volunteer_id)
    token = volunteer_links.token_for(volunteer, config=app.config)
    volunteer_links.revoke(volunteer, session=session)
    session.commit()
    assert client.raw.get(f"/v/{token}").status_code == 410
    [event] = events(session)
    assert (event.actor_volunteer_id, event.status_code, event.ip) == (volunteer.id, 410, "")


def test_a_forged_link_names_nobody(client, session):
    assert client.raw.get("/v/inte-en-riktig-lank").status_code == 403
    assert events(session) == []


def _boom(**_kwargs):
    raise RuntimeError("the view failed")


def test_a_view_that_fails_keeps_its_audit_row(app, logged_in, session, pair):
    app.view_functions["pairs.detail"] = _boom
    with pytest.raises(RuntimeError):  # tests see the exception itself
        logged_in.get(f"/par/{pair.id}")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # production: an error page
    assert logged_in.get(f"/par/{pair.id}").status_code == 500
    assert [(e.action, e.pair_id, e.senior_id, e.status_code) for e in events(session)] == \
        [("view", pair.id, pair.senior_id, 500)] * 2


def test_a_failed_change_is_rolled_back_but_audited(app, logged_in, session, pair):
    def half_done(task_id):
        from vanringen.db import get_session

        db = get_session()
        db.add(Message(channel="sms", recipient="+46701110000", kind="pair_volunteer",
                       body="halvfärdigt", due_at=utcnow()))
        db.flush()  # holds SQLite's write lock until rolled back
        raise RuntimeError("after a write")

    app.view_functions["tasks.close"] = half_done
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = logged_in.submit("/att-gora/7/klar", form_path="/att-gora/")
    assert response.status_code == 500
    assert session.exec(select(Message)).all() == []
    [event] = events(session, method="POST")
    assert (event.action, event.status_code) == ("change", 500)


def test_one_insert_per_request(app, logged_in, session, pair):
    seen = []
    engine = app.extensions["vanringen.engine"]

    def spy(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", spy)
    try:
        logged_in.get(f"/par/{pair.id}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", spy)
    audit = [s for s in seen if "audit_event" in s]
    assert len(audit) == 1 and audit[0].lstrip().upper().startswith("INSERT")


def test_a_volunteer_reporting_a_call(app, client, session, pair):
    call = ScheduledCall(pair_id=pair.id, slot="tue 14:00", occurs_on=date(2026, 12, 1),
                         scheduled_at=utcnow() - timedelta(hours=2))
    session.add(call)
    session.commit()
    token = volunteer_links.token_for(session.get(Volunteer, pair.volunteer_id),
                                      config=app.config)
    page = client.raw.get(f"/v/{token}").get_data(as_text=True)
    match = CSRF_RE.search(page)
    client.raw.post(f"/v/{token}/samtal/{call.id}",
                    data={"csrf_token": match.group(1) or match.group(2), "outcome": "held",
                          "note": "Greta berättade om barnbarnen"})
    [event] = events(session, method="POST")
    assert (event.action, event.actor_volunteer_id, event.actor_id, event.ip) == \
        ("change", pair.volunteer_id, None, "")
    assert (event.pair_id, event.senior_id, event.volunteer_id) == \
        (pair.id, pair.senior_id, pair.volunteer_id)
    assert "Greta" not in event.detail and "barnbarn" not in event.detail
    assert f"call_id={call.id}" in event.detail


def test_a_staff_account_page_names_the_account(client, session, admin, coordinator):
    client.login(admin)
    assert client.get(f"/admin/personal/{coordinator.id}").status_code == 200
    [event] = events(session)
    assert (event.action, event.staff_id, event.actor_id, event.senior_id) == \
        ("view", coordinator.id, admin.id, None)
