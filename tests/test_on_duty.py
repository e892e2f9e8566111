"""The coordinator on duty (vanringen/on_duty.py): taking the duty with a mobile number,
one at a time, the header naming them, and who a concern's SMS goes to (nobody: the
concern is still an urgent task)."""

import html
import re

import pytest
import time_machine
from call_support import at, messages, paired
from sqlmodel import select

from vanringen.call_log import record_outcome
from vanringen.models import StaffUser, Task

NOW = at("2026-12-01 10:00")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def header(text: str) -> str:
    return re.search(r'<a class="on-duty" href="/jour/">(.*?)</a>', text).group(1)


def staff(session) -> dict[str, tuple]:
    session.expire_all()
    return {u.email: (u.on_duty, u.phone) for u in session.exec(select(StaffUser))}


def take(client, phone):
    return client.submit("/jour/", {"phone": phone})


def test_the_page_needs_sign_in(client):
    response = client.get("/jour/")
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]


def test_nobody_on_duty_is_said_in_the_header_and_on_the_page(logged_in):
    text = text_of(logged_in.get("/jour/"))
    assert header(text) == "Ingen har jour"
    assert "Ingen har jour just nu." in text
    assert "Avsluta min jour" not in text


def test_a_coordinator_takes_the_duty_with_their_mobile(logged_in, session):
    response = take(logged_in, "070-123 45 67")
    assert response.status_code == 302 and response.headers["Location"] == "/jour/"
    assert staff(session)["koordinator@example.se"] == (True, "+46701234567")
    text = text_of(logged_in.get("/jour/"))
    assert "Du har jour. SMS om oro skickas till 070-123 45 67." in text
    assert "Du har jour (SMS till 070-123 45 67)." in text
    assert 'value="070-123 45 67"' in text  # the number they gave, to change it
    for path in ("/oversikt", "/att-gora/"):
        assert header(text_of(logged_in.get(path))) == "Jour: Karin Koordinator"


@pytest.mark.parametrize(("phone", "error"), [
    ("", "Fyll i ditt mobilnummer: dit skickas SMS om oro."),
    ("08-123 456 78", "Ange ett giltigt mobilnummer, t.ex. 070-123 45 67."),
    ("123", "Ange ett giltigt mobilnummer, t.ex. 070-123 45 67."),
])
def test_a_number_that_is_no_mobile_is_refused_at_the_field(logged_in, session, phone, error):
    response = take(logged_in, phone)
    assert response.status_code == 422
    text = text_of(response)
    assert f'<p class="error" id="phone-error">{error}</p>' in text
    assert 'aria-invalid="true"' in text
    assert staff(session)["koordinator@example.se"] == (False, "")


def test_taking_over_clears_the_others(client, session, coordinator, admin):
    client.login(coordinator)
    take(client, "0701234567")
    client.login(admin)
    take(client, "+46 70 765 43 21")
    assert staff(session) == {"koordinator@example.se": (False, "+46701234567"),
                              "admin@example.se": (True, "+46707654321")}
    assert header(text_of(client.get("/oversikt"))) == "Jour: Ada Admin"
    client.login(coordinator)
    assert "Ada Admin har jour." in text_of(client.get("/jour/"))


def test_leaving_the_duty(logged_in, session):
    take(logged_in, "0701234567")
    response = logged_in.submit("/jour/avsluta", form_path="/jour/")
    assert response.status_code == 302
    assert staff(session)["koordinator@example.se"] == (False, "+46701234567")
    text = text_of(logged_in.get("/jour/"))
    assert "Du har inte längre jour." in text and header(text) == "Ingen har jour"


def concern(app, session, pair):
    session.expire_all()  # the users changed through the pages, not this session
    with app.app_context():
        _entry, queued = record_outcome(pair, None, "held", session=session, now=NOW,
                                        source="link", minutes=15,
                                        volunteer_id=pair.volunteer_id,
                                        concern="Greta har ramlat")
        session.commit()
    return queued


def test_a_concern_texts_the_one_on_duty(app, client, session, coordinator, admin):
    pair = paired(session)
    client.login(coordinator)
    take(client, "0701234567")
    client.login(admin)
    take(client, "0707654321")
    queued = concern(app, session, pair)
    assert [m.recipient for m in queued] == ["+46707654321"]
    assert [m.kind for m in messages(session, recipient="+46707654321")] == ["concern_on_duty"]
    assert messages(session, recipient="+46701234567") == []


def test_with_nobody_on_duty_a_concern_is_still_an_urgent_task(app, session):
    pair = paired(session)
    assert concern(app, session, pair) == []
    assert messages(session, kind="concern_on_duty") == []
    task, = session.exec(select(Task)).all()
    assert (task.kind, task.urgent, task.pair_id, task.status) == ("concern", True, pair.id,
                                                                   "open")
