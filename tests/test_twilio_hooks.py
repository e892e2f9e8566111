"""Twilio's webhooks (vanringen.twilio_hooks), every request signed with twilio's own
RequestValidator as Twilio signs it: inbound SMS, status callbacks, reminder calls."""

import xml.etree.ElementTree as ET

import pytest
import time_machine
from call_support import at, local, messages, paired, planner
from sqlmodel import select
from twilio_mock import FAKE_AUTH_TOKEN, signed_webhook

from vanringen.models import InboundMessage, Message, PersonEvent, ScheduledCall, SmsOptOut, Task

NOW = at("2026-12-01 08:00")
SM, CA = "SM" + "ab" * 16, "CA" + "cd" * 16


@pytest.fixture(autouse=True)
def token(app):
    app.config["TWILIO_AUTH_TOKEN"] = FAKE_AUTH_TOKEN


def post(client, path, params, *, token=FAKE_AUTH_TOKEN, url=None):
    body, headers = signed_webhook(url or f"http://localhost{path}", params, token)
    return client.raw.post(path, data=body, headers=headers)


def twiml(response):
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return ET.fromstring(response.get_data())


def sms(client, body, *, sid=SM, sender="+46701110000"):
    return post(client, "/twilio/sms", {"MessageSid": sid, "From": sender,
                                        "To": "+46766861004", "Body": body})


# ---------------------------------------------------------------- signatures

@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status", "/twilio/voice",
                                  "/twilio/voice/meddelande/1",
                                  "/twilio/voice/meddelande/1/svar"])
def test_a_request_not_signed_by_twilio_is_refused(client, path):
    params = {"MessageSid": SM, "From": "+46701110000", "Body": "STOPP", "Digits": "2"}
    assert client.raw.post(path, data=params).status_code == 403
    assert post(client, path, params, token="not-the-token").status_code == 403
    body, headers = signed_webhook(f"http://localhost{path}", params)
    tampered = body.replace(b"STOPP", b"START")
    assert client.raw.post(path, data=tampered, headers=headers).status_code == 403


def test_without_an_auth_token_every_webhook_is_refused(app, client):
    app.config["TWILIO_AUTH_TOKEN"] = ""
    assert post(client, "/twilio/voice", {"CallSid": CA}, token="").status_code == 403


def test_behind_a_proxy_the_public_address_is_what_is_signed(app, client, session):
    app.config["PUBLIC_BASE_URL"] = "https://vanringen.example.se"
    params = {"MessageSid": SM, "From": "+46701110000", "Body": "hej"}
    assert post(client, "/twilio/sms", params).status_code == 403  # signed for localhost
    assert post(client, "/twilio/sms", params,
                url="https://vanringen.example.se/twilio/sms").status_code == 200


def test_no_login_and_no_csrf_token_needed(client, session):
    assert sms(client, "hej").status_code == 200


# ---------------------------------------------------------------- inbound SMS

@pytest.mark.parametrize("body", ["STOPP", "stopp", " Stopp! ", "STOP", "avsluta",
                                  "Stopp tack"])
def test_stop_words_opt_the_number_out(client, session, body):
    response = sms(client, body)
    reply = twiml(response).find("Message").text
    assert reply.startswith("Du får inga fler SMS från Vänringen")
    assert session.exec(select(SmsOptOut.phone)).all() == ["+46701110000"]
    assert session.exec(select(InboundMessage.kind)).one() == "opt_out"
    confirmation = session.exec(select(Message)).one()
    assert (confirmation.status, confirmation.kind) == ("replied", "opt_out_confirmation")


def test_opt_out_is_a_task_and_in_the_persons_history(client, session):
    greta = paired(session).senior_id
    sms(client, "STOPP")
    task = session.exec(select(Task)).one()
    assert (task.kind, task.senior_id) == ("opted_out", greta)
    assert task.title == "Greta Lind har svarat STOPP: inga fler SMS"
    event = session.exec(select(PersonEvent).where(PersonEvent.senior_id == greta)).one()
    assert event.action == "sms_opt" and "STOPP" in event.detail


def test_start_opts_back_in(client, session):
    sms(client, "STOPP", sid="SM1")
    response = sms(client, "Start", sid="SM2")
    assert twiml(response).find("Message").text.startswith("Välkommen tillbaka")
    assert session.exec(select(SmsOptOut)).all() == []


def test_twilio_retrying_the_same_sms_changes_nothing_more(client, session):
    first = sms(client, "STOPP")
    again = sms(client, "STOPP")
    assert again.get_data() == first.get_data()
    assert len(session.exec(select(InboundMessage)).all()) == 1
    assert len(session.exec(select(Message)).all()) == 1
    assert len(session.exec(select(Task)).all()) == 1


def test_any_other_sms_is_kept_for_the_coordinators(client, session):
    pair = paired(session)
    assert twiml(sms(client, "Kan Jonas ringa på torsdag i stället?", sid="SM1")) \
        .find("Message") is None
    sms(client, "Tack!", sid="SM2")
    task = session.exec(select(Task)).one()  # one task per number, both messages in it
    assert task.kind == "inbound_sms" and task.senior_id == pair.senior_id
    assert "torsdag i stället" in task.detail and "Tack!" in task.detail
    assert session.exec(select(SmsOptOut)).all() == []
    assert session.exec(select(Message)).all() == []  # nothing sent back


def test_an_sms_without_a_sid_is_a_bad_request(client):
    assert post(client, "/twilio/sms", {"From": "+46701110000", "Body": "x"}).status_code == 400


# ---------------------------------------------------------------- delivery status

@pytest.fixture
def sent(app, session):
    """Tuesday 14:00 calls planned; the senior's 09:00 SMS reminder handed to Twilio."""
    with app.test_request_context():
        pair = paired(session)
        planner(app, session).plan([pair], now=NOW)
        session.commit()
    reminder = messages(session, kind="reminder_senior_sms")[0]
    reminder.status, reminder.provider, reminder.provider_id = "queued", "twilio", SM
    reminder.sent_at = at("2026-12-01 09:00")
    session.add(reminder)
    session.commit()
    return reminder


def status(client, sid, value, **extra):
    key = "MessageStatus" if sid.startswith("SM") else "CallStatus"
    sid_key = "MessageSid" if sid.startswith("SM") else "CallSid"
    return post(client, "/twilio/status", {sid_key: sid, key: value, **extra})


def test_status_callbacks_update_the_message_in_order_only(client, session, sent):
    assert status(client, SM, "sent").status_code == 204
    assert status(client, SM, "delivered").status_code == 204
    assert status(client, SM, "sent").status_code == 204  # late, out of order
    session.refresh(sent)
    assert sent.status == "delivered"


def test_a_callback_for_an_unknown_message_is_answered_and_ignored(client, session):
    assert status(client, "SM" + "00" * 16, "delivered").status_code == 204


def test_an_undelivered_reminder_is_tried_once_more_then_shown(client, session, sent):
    with time_machine.travel(at("2026-12-01 09:02"), tick=False):
        status(client, SM, "undelivered", ErrorCode="30003", ErrorMessage="Unreachable")
        status(client, SM, "undelivered", ErrorCode="30003")  # Twilio's retry: no second copy
    session.refresh(sent)
    assert (sent.status, sent.error_code, sent.error) == (
        "undelivered", "30003", "Twilio 30003: Unreachable")
    retry, = [m for m in messages(session, kind="reminder_senior_sms") if m.retry_of_id]
    assert retry.retry_of_id == sent.id and local(retry.due_at) == "2026-12-01 09:32"
    assert retry.expires_at == sent.expires_at and session.exec(select(Task)).all() == []
    # The second try does not arrive either: now a coordinator is told.
    retry.status, retry.provider_id = "sent", "SM" + "ef" * 16
    session.add(retry)
    session.commit()
    status(client, retry.provider_id, "undelivered", ErrorCode="30003")
    task = session.exec(select(Task)).one()
    assert task.kind == "delivery_failed" and task.title == "Greta Lind (seniorn) nåddes inte"


def test_an_undelivered_sms_to_a_landline_switches_to_voice(client, session, sent):
    with time_machine.travel(at("2026-12-01 09:02"), tick=False):
        status(client, SM, "failed", ErrorCode="21614")
    voice = messages(session, kind="reminder_senior_voice")
    assert voice and all(m.channel == "voice" for m in voice)
    assert session.exec(select(Task.kind)).all() == ["switched_to_voice"]


def test_an_unanswered_reminder_call_is_tried_again(client, session, sent):
    sent.channel, sent.kind, sent.template, sent.provider_id = (
        "voice", "reminder_senior_voice", "reminder_senior_voice", CA)
    session.add(sent)
    session.commit()
    with time_machine.travel(at("2026-12-01 09:01"), tick=False):
        for event in ("initiated", "ringing", "no-answer"):
            status(client, CA, event)
    session.refresh(sent)
    assert sent.status == "no-answer" and sent.error == "Inget svar"
    retry, = [m for m in messages(session, kind="reminder_senior_voice") if m.retry_of_id]
    assert local(retry.due_at) == "2026-12-01 09:31"


# ---------------------------------------------------------------- reminder calls

@pytest.fixture
def calling(app, session):
    """A voice reminder for Greta's Tuesday call, being read to her."""
    with app.test_request_context():
        pair = paired(session, channel="voice")
        planner(app, session).plan([pair], now=NOW)
        session.commit()
    reminder = messages(session, kind="reminder_senior_voice")[0]
    reminder.status, reminder.provider_id = "in-progress", CA
    session.add(reminder)
    session.commit()
    return reminder


def test_the_reminder_call_reads_the_text_and_asks_for_a_key(client, calling):
    root = twiml(post(client, f"/twilio/voice/meddelande/{calling.id}", {"CallSid": CA}))
    gather = root.find("Gather")
    assert gather.attrib == {"input": "dtmf", "numDigits": "1", "method": "POST",
                             "timeout": "6",
                             "action": f"/twilio/voice/meddelande/{calling.id}/svar"}
    text, menu = gather.findall("Say")
    assert text.attrib == {"language": "sv-SE", "voice": "Polly.Astrid"}
    assert text.text == calling.body and "ringer din telefonvän Jonas" in text.text
    assert menu.text.startswith("Tryck 1 om det passar. Tryck 2 om du inte kan")
    assert root.find("Say").text.startswith("Vi hörde inget val")  # after no key
    assert root.find("Hangup") is not None


def test_a_finnish_senior_hears_finnish(client, session, calling):
    calling.language = "fi"
    session.add(calling)
    session.commit()
    menu = twiml(post(client, f"/twilio/voice/meddelande/{calling.id}", {"CallSid": CA})) \
        .find("Gather").findall("Say")[1]
    assert menu.attrib["language"] == "fi-FI" and menu.text.startswith("Paina 1")


def test_pressing_1_confirms(client, session, calling):
    root = twiml(post(client, f"/twilio/voice/meddelande/{calling.id}/svar",
                      {"CallSid": CA, "Digits": "1"}))
    assert root.find("Say").text == "Tack! Jonas ringer som vanligt. Hej då!"
    session.refresh(calling)
    assert calling.response == "1"


def test_pressing_2_skips_the_call_and_tells_the_volunteer_once(client, session, calling):
    path = f"/twilio/voice/meddelande/{calling.id}/svar"
    with time_machine.travel(at("2026-12-01 09:01"), tick=False):
        first = twiml(post(client, path, {"CallSid": CA, "Digits": "2"}))
        twiml(post(client, path, {"CallSid": CA, "Digits": "2"}))  # a retry of the request
    assert first.find("Say").text.startswith("Vi hälsar Jonas att du inte kan ta samtalet")
    call = session.get(ScheduledCall, calling.call_id)
    assert call.status == "skipped" and "tryckte 2" in call.note
    notice, = messages(session, kind="skip_notice_volunteer")
    assert (notice.recipient, notice.status, notice.channel) == ("+46702220000", "pending",
                                                                 "sms")
    assert notice.due_at <= at("2026-12-01 09:01")  # due at once
    assert notice.body.startswith("Hej Jonas! Greta kan inte ta samtalet i dag kl. 14.00")
    volunteer_reminder = messages(session, call_id=call.id, kind="reminder_volunteer")[0]
    assert volunteer_reminder.status == "cancelled"
    session.refresh(calling)
    assert calling.response == "2"


@pytest.mark.parametrize("digit", ["3", "9", "*"])
def test_pressing_3_or_anything_else_repeats(client, calling, digit):
    root = twiml(post(client, f"/twilio/voice/meddelande/{calling.id}/svar",
                      {"CallSid": CA, "Digits": digit}))
    assert root.find("Gather").find("Say").text == calling.body


def test_a_call_no_longer_planned_only_says_its_text(client, session, calling):
    call = session.get(ScheduledCall, calling.call_id)
    call.status = "cancelled"
    session.add(call)
    session.commit()
    root = twiml(post(client, f"/twilio/voice/meddelande/{calling.id}", {"CallSid": CA}))
    assert root.find("Gather") is None and root.find("Say").text == calling.body


def test_an_sms_row_has_no_voice(client, session, sent):
    assert post(client, f"/twilio/voice/meddelande/{sent.id}", {"CallSid": CA}).status_code \
        == 404


def test_someone_calling_the_programme_number_hears_a_greeting(client):
    say = twiml(post(client, "/twilio/voice", {"CallSid": CA, "From": "+46701110000"})) \
        .find(".//Say")  # the greeting, in the intake line's menu (tests/test_voice_line.py)
    assert say.attrib["language"] == "sv-SE" and "Vänringen" in say.text

