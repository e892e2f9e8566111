"""The volunteer's own page (vanringen.volunteer_page), opened with the signed link from
their reminder SMS: what it shows, reporting a call with a concern, and every way a link
must not open it (expired, revoked, forged, another volunteer's call)."""

import re
from datetime import timedelta

import pytest
import time_machine
from call_support import at, calls_of, messages, paired, planner
from conftest import CSRF_RE, html_text
from sqlmodel import select

from vanringen import volunteer_links
from vanringen.models import CallLog, Task, Volunteer

NOW = at("2026-12-01 15:00")  # Tuesday; the 14:00 call is over, next is 8 December


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def pair(app, session):
    pair = paired(session, call_times="tue 14:00", district="Bromma")
    with app.test_request_context():
        planner(app, session).plan([pair], now=at("2026-12-01 08:00"))
        session.commit()
    return pair


@pytest.fixture
def link(app, session, pair):
    return "/v/" + volunteer_links.token_for(session.get(Volunteer, pair.volunteer_id),
                                             config=app.config)


def first_call(session, pair):
    return calls_of(session, pair)[0]


def report(client, link, call, **data):
    html = client.raw.get(link).get_data(as_text=True)
    match = CSRF_RE.search(html)
    return client.raw.post(f"{link}/samtal/{call.id}",
                           data={"csrf_token": match.group(1) or match.group(2), **data})


def logs(session) -> list[CallLog]:
    session.expire_all()
    return list(session.exec(select(CallLog)))


def test_the_link_opens_the_volunteers_own_page(client, session, pair, link):
    response = client.get(link)
    assert response.status_code == 200
    text = html_text(response)
    assert "<h1>Hej Jonas!</h1>" in text
    assert "Greta" in text and "Lind" not in text and "Bromma" not in text  # first name only
    assert "070-111 00 00" in text and 'href="tel:+46701110000"' in text  # not masked
    assert "tisdag 8 december kl. 14.00 med Greta" in text  # coming
    assert "Greta, tisdag 1 december kl. 14.00" in text and "Inte rapporterat än." in text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_no_sign_in_needed_and_staff_menu_not_shown(client, link, pair):
    text = html_text(client.get(link))
    assert "Logga ut" not in text and "/seniorer" not in text


def test_a_held_call_is_logged_from_the_page(client, session, pair, link):
    call = first_call(session, pair)
    response = report(client, link, call, outcome="held", minutes="25", note="Pratade om tomater")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{link}#samtal-{call.id}"
    entry, = logs(session)
    assert (entry.call_id, entry.outcome, entry.minutes, entry.source, entry.note) == (
        call.id, "held", 25, "link", "Pratade om tomater")
    assert entry.reported_by_volunteer_id == pair.volunteer_id and entry.concern == ""
    text = html_text(client.get(link))
    assert "Tack! Samtalet är noterat." in text
    assert "<strong>Samtalet blev av</strong>, 25 minuter" in text
    assert session.exec(select(Task)).all() == []


def test_a_concern_opens_an_urgent_task_and_texts_the_coordinator_on_duty(
        client, session, pair, link, coordinator):
    coordinator.on_duty, coordinator.phone = True, "+46705550000"
    session.add(coordinator)
    session.commit()
    call = first_call(session, pair)
    response = report(client, link, call, outcome="held", minutes="10", concern="y",
                      concern_text="Hon lät förvirrad och hade inte ätit.")
    assert response.status_code == 302
    entry, = logs(session)
    assert entry.concern == "Hon lät förvirrad och hade inte ätit."
    task, = session.exec(select(Task)).all()
    assert (task.kind, task.urgent, task.call_log_id, task.pair_id) == (
        "concern", True, entry.id, pair.id)
    sms, = messages(session, kind="concern_on_duty")
    assert sms.recipient == "+46705550000"
    assert sms.status == "recorded"  # sent at once (the outbox), not at the next tick
    assert sms.body == "Vänringen: Jonas är orolig för Greta. Se Att göra i Vänringen så " \
                       "snart du kan."
    assert "en samordnare har fått veta att du är orolig" in html_text(client.get(link))


def test_a_ticked_concern_needs_words(client, session, pair, link):
    call = first_call(session, pair)
    response = report(client, link, call, outcome="held", concern="y", concern_text="  ")
    assert response.status_code == 422
    text = html_text(response)
    assert f'<p class="error" role="alert" id="c{call.id}-error">Skriv vad du är orolig för.' \
           in text
    assert f'name="concern_text" rows="3" maxlength="2000" aria-invalid="true" ' \
           f'aria-describedby="c{call.id}-error c{call.id}-concern-hint">' in text
    assert logs(session) == []


@pytest.mark.parametrize(("data", "error"), [
    ({}, "Välj hur det gick med samtalet."),
    ({"outcome": "moved"}, "Välj hur det gick med samtalet."),
    ({"outcome": "held", "minutes": "en halvtimme"}, "Skriv antal minuter med siffror"),
    ({"outcome": "held", "minutes": "400"}, "Skriv hur många minuter ni pratade (1–300)."),
    ({"outcome": "held", "note": "x" * 501}, "Skriv högst 500 tecken."),
])
def test_a_report_that_cannot_be_logged_is_explained(client, session, pair, link, data, error):
    response = report(client, link, first_call(session, pair), **data)
    assert response.status_code == 422 and error in html_text(response)
    assert logs(session) == []


def test_a_call_that_has_not_begun_cannot_be_reported(client, session, pair, link):
    coming = calls_of(session, pair)[1]
    response = report(client, link, coming, outcome="held", minutes="20")
    assert response.status_code == 422
    assert "Samtalet har inte börjat än." in html_text(response) and logs(session) == []


def test_another_volunteers_call_is_not_found(app, client, session, pair, link):
    other = paired(session, senior="Sven", volunteer="Lisa", n=1)
    with app.test_request_context():
        planner(app, session).plan([other], now=at("2026-12-01 08:00"))
        session.commit()
    response = report(client, link, first_call(session, other), outcome="held", minutes="20")
    assert response.status_code == 404
    assert logs(session) == []
    assert "Sven" not in html_text(client.get(link))


def test_a_call_that_does_not_exist_is_not_found(client, session, pair, link):
    class Missing:
        id = 9999
    assert report(client, link, Missing, outcome="held").status_code == 404


def test_without_the_csrf_token_nothing_is_logged(client, session, pair, link):
    response = client.raw.post(f"{link}/samtal/{first_call(session, pair).id}",
                               data={"outcome": "held"})
    assert response.status_code == 400 and logs(session) == []


def test_an_expired_link_shows_a_friendly_page_and_nothing_else(app, client, session, pair,
                                                                link, clock):
    clock.shift(timedelta(days=app.config["VOLUNTEER_LINK_DAYS"], seconds=1))
    response = client.get(link)
    assert response.status_code == 410
    text = html_text(response)
    assert "Länken har gått ut" in text and "Greta" not in text and "Jonas" not in text


def test_a_link_is_valid_until_it_expires(app, client, pair, link, clock):
    clock.shift(timedelta(days=app.config["VOLUNTEER_LINK_DAYS"], seconds=-60))
    assert client.get(link).status_code == 200


def test_a_revoked_link_no_longer_opens(app, client, session, pair, link):
    volunteer = session.get(Volunteer, pair.volunteer_id)
    volunteer_links.revoke(volunteer, session=session)
    session.commit()
    response = client.get(link)
    assert response.status_code == 410
    text = html_text(response)
    assert "Länken gäller inte längre" in text and "Greta" not in text
    fresh = volunteer_links.token_for(volunteer, config=app.config)
    assert client.get(f"/v/{fresh}").status_code == 200


@pytest.mark.parametrize("forge", [
    lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature altered
    lambda token: token.replace(token.split(".")[0], "WzIsMF0"),     # another volunteer id
    lambda token: "inte-en-lank",
])
def test_a_forged_or_altered_link_opens_nothing(client, session, pair, link, forge):
    response = client.get("/v/" + forge(link.removeprefix("/v/")))
    assert response.status_code == 403
    text = html_text(response)
    assert "Länken fungerar inte" in text and "Greta" not in text


def test_a_link_signed_with_another_key_opens_nothing(client, session, pair):
    from itsdangerous import URLSafeTimedSerializer

    token = URLSafeTimedSerializer("gissat", salt=volunteer_links.SALT).dumps(
        [pair.volunteer_id, 0])
    assert client.get(f"/v/{token}").status_code == 403


def test_in_masked_mode_the_seniors_number_is_never_shown(app, client, session, pair, link):
    app.config.update(MASKED_CALLS=True, TWILIO_PHONE_NUMBER="+46766861004")
    text = html_text(client.get(link))
    assert "076-686 10 04" in text and 'href="tel:+46766861004"' in text
    digits = re.sub(r"\D", "", text)
    assert "701110000" not in digits  # Greta's number in no form at all
    assert "Du ringer via Vänringens nummer" in text
