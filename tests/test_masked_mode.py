"""Masked mode (MASKED_CALLS): a volunteer never gets a senior's phone number, in no SMS and
on no page of theirs; they get the programme's number, which puts them through.

One programme's first weeks, run through its real paths: matching approved on the
Matchning page, calls and reminders planned and sent by the dispatcher, a call skipped by a
coordinator, a senior pressing 2 in a voice reminder, the volunteer texting back and
opening their own page. Then every message to the volunteer is searched for each senior's
number in every form it could be written. The same run without masking must find the
numbers, so the search is known to work.
"""

import re

import pytest
import time_machine
from call_support import Recorder, at, calls_of, dispatcher, messages, planner
from conftest import html_text
from sqlmodel import select
from test_matches import make_senior, make_volunteer, seed_taxonomy
from test_proposals import pending, run_matching
from twilio_mock import FAKE_AUTH_TOKEN, signed_webhook

from vanringen import texts, volunteer_links
from vanringen.models import Message, Pair, Senior
from vanringen.phones import display_phone

PROGRAMME = "+46766861004"
GRETA, KARL, JONAS = "+46701110000", "+46812345611", "+46702220000"
START = at("2026-11-30 08:00")  # a Monday


def written_forms(e164: str) -> list[str]:
    """+46701110000 → +46701110000, 070-111 00 00, 0701110000, 46701110000, 0046…"""
    national = display_phone(e164)
    digits = e164.lstrip("+")
    return [e164, national, re.sub(r"\D", "", national), digits, "00" + digits,
            national.replace(" ", ""), national.replace("-", " ")]


def shows_number(text: str, e164: str) -> bool:
    # The national significant number (701110000) among the text's digits catches any
    # spacing or punctuation someone could put in it.
    significant = e164.removeprefix("+46")
    return any(form in text for form in written_forms(e164)) \
        or significant in re.sub(r"\D", "", text)


@pytest.fixture(params=[True, False], ids=["masked", "not-masked"])
def masked(request, app):
    app.config.update(MASKED_CALLS=request.param, TWILIO_PHONE_NUMBER=PROGRAMME,
                      TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN)
    return request.param


@pytest.fixture(autouse=True)
def clock():
    """Frozen before anyone signs in: a session cookie from the future would not count."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def signed_post(client, path, params):
    body, headers = signed_webhook(f"http://localhost{path}", params)
    return client.raw.post(path, data=body, headers=headers)


def send_due(app, session, recorder, until):
    """What the clock process does up to `until`: send each message when it falls due."""
    session.expire_all()
    moments = sorted({m.due_at for m in messages(session, status="pending")
                      if m.due_at <= until})
    for moment in moments:
        with app.app_context():
            sender = dispatcher(app, session, recorder)
            sender.send_batch(sender.claim(now=moment), now=moment)


def the_programme(app, session, logged_in, clock, recorder):
    """Greta (mobile, SMS) and Karl (landline, voice reminders) matched with Jonas; two
    weeks of calls planned and sent; a call skipped, a senior's key 2, Jonas's reply."""
    seed_taxonomy(session)
    make_senior(session, "Greta", phone=GRETA, availability="tue-afternoon")
    make_senior(session, "Karl", phone=KARL, gender="male", reminder_channel="voice",
                availability="tue-afternoon", days_waiting=20)
    jonas = make_volunteer(session, "Jonas", phone=JONAS, capacity=2,
                           availability="tue-afternoon")
    run_matching(logged_in)
    for name, at_time in (("Greta", "14:00"), ("Karl", "15:30")):
        senior = session.exec(select(Senior).where(Senior.first_name == name)).one()
        proposal = pending(session, senior)
        assert proposal.volunteer_id == jonas.id
        response = logged_in.submit(f"/matchning/forslag/{proposal.id}/godkann",
                                    {"slots": ["tue-afternoon"],
                                     "time-tue-afternoon": at_time}, form_path="/matchning/")
        assert response.status_code == 302, html_text(response)
    pairs = session.exec(select(Pair).order_by(Pair.id)).all()
    with app.app_context():
        planner(app, session).plan(pairs, now=START)
        session.commit()
    send_due(app, session, recorder, at("2026-12-01 16:00"))

    greta_pair, karl_pair = pairs
    # A coordinator skips Greta's next call and tells Jonas.
    call = calls_of(session, greta_pair)[1]
    response = logged_in.submit(f"/par/{greta_pair.id}/samtal/{call.id}/hoppa-over",
                                {"form": "skip", "reason": "Tandläkaren",
                                 "tell_volunteer": "y"}, form_path=f"/par/{greta_pair.id}")
    assert response.status_code == 302
    # Karl presses 2 in next week's voice reminder: Jonas is texted.
    clock.move_to(at("2026-12-08 09:00"))
    send_due(app, session, recorder, at("2026-12-08 09:00"))
    reminder = next(m for m in messages(session, kind="reminder_senior_voice")
                    if m.status != "pending" and m.due_at >= at("2026-12-08 00:00"))
    response = signed_post(logged_in, f"/twilio/voice/meddelande/{reminder.id}/svar",
                           {"CallSid": "CA1", "Digits": "2"})
    assert response.status_code == 200
    send_due(app, session, recorder, at("2026-12-08 18:00"))
    # Jonas answers a reminder by SMS; whatever the app answers goes to him.
    reply = signed_post(logged_in, "/twilio/sms", {"MessageSid": "SM1", "From": JONAS,
                                                   "To": PROGRAMME, "Body": "JA 25"})
    assert reply.status_code == 200
    send_due(app, session, recorder, at("2026-12-08 18:00"))
    return jonas, reply.get_data(as_text=True)


def to_volunteer(session, jonas) -> list[Message]:
    session.expire_all()
    return [m for m in session.exec(select(Message).order_by(Message.id))
            if m.recipient == JONAS or (m.volunteer_id == jonas.id
                                        and texts.audience(m.template) != "senior")]


def test_no_message_to_a_volunteer_shows_a_seniors_number(app, session, logged_in, clock,
                                                          masked):
    recorder = Recorder()
    jonas, sms_reply = the_programme(app, session, logged_in, clock, recorder)
    sent = to_volunteer(session, jonas)
    kinds = {m.kind for m in sent}
    assert {"pair_volunteer", "reminder_volunteer", "call_skipped_volunteer",
            "skip_notice_volunteer"} <= kinds, kinds
    assert sum(m.kind == "pair_volunteer" for m in sent) == 2
    handed_over = [body for channel, to, body, _cb in recorder.sent if to == JONAS]
    assert len(handed_over) >= 4
    everything = [m.body for m in sent] + [m.params for m in sent] + handed_over + [sms_reply]
    introductions = [m.body for m in sent if m.kind in ("pair_volunteer",
                                                        "reminder_volunteer")]
    if masked:
        for text in everything:
            assert not shows_number(text, GRETA) and not shows_number(text, KARL), text
        assert all(display_phone(PROGRAMME) in body for body in introductions)
    else:  # the search finds a number where there is one
        assert any(shows_number(body, GRETA) for body in introductions)
        assert any(shows_number(body, KARL) for body in introductions)


def test_the_volunteers_own_page_shows_no_seniors_number(app, session, logged_in, clock,
                                                         masked):
    if "volunteer_page" not in app.blueprints:
        pytest.skip("the volunteer's page (/v/<token>) is not part of the app yet")
    jonas, _reply = the_programme(app, session, logged_in, clock, Recorder())
    link = volunteer_links.link_for(jonas, config=app.config)
    anonymous = app.test_client()
    response = anonymous.get(link.removeprefix(volunteer_links.LOCAL_BASE))
    assert response.status_code == 200
    page = html_text(response)
    assert "Greta" in page and "Karl" in page
    if masked:
        assert not shows_number(page, GRETA) and not shows_number(page, KARL)
        assert display_phone(PROGRAMME) in page or PROGRAMME in page
    else:
        assert shows_number(page, GRETA)


def test_the_number_search_itself():
    assert shows_number("ring 070-111 00 00", GRETA)
    assert shows_number("ring +46 70 111 00 00", GRETA)
    assert shows_number("ring 0046701110000", GRETA)
    assert shows_number("ring 08-123 456 11", KARL)
    assert not shows_number("ring 076-686 10 04 kl. 14.00", GRETA)
