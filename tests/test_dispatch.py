"""Sending what is due (vanringen.dispatch and vanringen.delivery), step by step: claim,
send, record; expiry, opt-outs, retries with backoff, permanent errors and their tasks."""

from datetime import timedelta

import pytest
import time_machine
from call_support import Recorder, at, calls_of, dispatcher, local, messages, paired, planner
from sqlmodel import select

from notifications import PermanentError, TemporaryError
from vanringen import messaging
from vanringen.dispatch import dispatch_due
from vanringen.models import Message, MessageTemplate, Senior, SmsOptOut, Task

NOW = at("2026-12-01 08:00")


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def planned(app, session, ctx):
    """A pair with Tuesday 14:00 calls, planned on Tuesday 1 December at 08:00."""
    pair = paired(session)
    planner(app, session).plan([pair], now=NOW)
    session.commit()
    return pair


def reload(session, message: Message) -> Message:
    """The row as stored now: the dispatcher detaches a message once its outcome is written."""
    return session.get(Message, message.id, populate_existing=True)


def due_message(session, **kw) -> Message:
    values = {"channel": "sms", "recipient": "+46701110000", "body": "Hej", "kind": "test",
              "due_at": NOW} | kw
    message = Message(**values)
    session.add(message)
    session.commit()
    return message


# ---------------------------------------------------------------- claiming

def test_a_claim_takes_only_what_is_due_and_holds_it_for_the_lease(app, session, planned):
    first = dispatcher(app, session, worker="a")
    at_9 = at("2026-12-01 09:00")
    claimed = first.claim(now=at_9)
    assert [m.kind for m in claimed] == ["reminder_senior_sms"]  # 09:00; the rest later
    assert claimed[0].status == "claimed" and claimed[0].claimed_by == "a"
    assert claimed[0].claimed_until == at_9 + first.lease and claimed[0].attempts == 1
    # Another process sees it claimed until the lease runs out …
    second = dispatcher(app, session, worker="b")
    assert second.claim(now=at_9 + timedelta(seconds=60)) == []
    # … then takes it over, as when the first process died mid-send.
    taken = second.claim(now=at_9 + first.lease + timedelta(seconds=1))
    assert [m.id for m in taken] == [claimed[0].id]
    assert taken[0].claimed_by == "b" and taken[0].attempts == 2


def test_claims_are_made_in_batches_and_dispatch_sends_them_all(app, session, ctx):
    for n in range(7):
        due_message(session, recipient=f"+4670111{n:04d}")
    sender = Recorder()
    found = dispatcher(app, session, sender, batch=3)
    assert len(found.claim(now=NOW)) == 3
    outcomes = dispatch_due(found, now=NOW + found.lease * 2)
    assert outcomes == {"queued": 7}
    assert sorted(to for _kind, to, *_rest in sender.sent) == [f"+4670111{n:04d}"
                                                              for n in range(7)]
    assert {m.status for m in messages(session)} == {"queued"}


# ---------------------------------------------------------------- sending

def test_a_sent_message_keeps_the_providers_id_and_the_moment(app, session, planned):
    sender = Recorder()
    found = dispatcher(app, session, sender)
    moment = at("2026-12-01 13:00")
    assert dispatch_due(found, now=moment) == {"queued": 2}
    sms = messages(session, kind="reminder_volunteer")[0]
    assert (sms.status, sms.provider, sms.provider_id, sms.sent_at) == (
        "queued", "recorder", "RC0002", moment)
    assert sms.claimed_until is None and sms.error == ""
    assert sender.sent[1] == ("sms", "+46702220000", sms.body, None)


def test_the_outbox_records_and_sends_nothing(app, session, planned):
    found = dispatcher(app, session, messaging.backend())
    dispatch_due(found, now=at("2026-12-01 13:00"))
    sms = messages(session, kind="reminder_volunteer")[0]
    assert sms.status == "recorded" and sms.provider_id.startswith("OB")


def test_an_admins_edit_reaches_a_reminder_planned_before_it(app, session, planned):
    session.add(MessageTemplate(key="reminder_volunteer", language="sv",
                                body="{volontär}: {senior} {när}, ring {telefon}."))
    session.commit()
    found = dispatcher(app, session)
    dispatch_due(found, now=at("2026-12-01 13:00"))
    sms = messages(session, kind="reminder_volunteer")[0]
    assert sms.body == "Jonas: Greta i dag kl. 14.00, ring 070-111 00 00."


def test_voice_reminders_are_calls_to_the_apps_twiml(app, session, ctx):
    app.config["PUBLIC_BASE_URL"] = "https://vanringen.example.se"
    pair = paired(session, channel="voice")
    planner(app, session).plan([pair], now=NOW)
    session.commit()
    sender = Recorder()
    dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 09:00"))
    voice = messages(session, kind="reminder_senior_voice")[0]
    assert sender.sent == [("voice", "+4681230000",
                            f"https://vanringen.example.se/twilio/voice/meddelande/{voice.id}",
                            "https://vanringen.example.se/twilio/status")]
    assert voice.status == "queued"


def test_a_reminder_whose_call_has_begun_expires_unsent(app, session, planned):
    sender = Recorder()
    # The clock process was down all day: at 14:05 both reminders are far overdue.
    outcomes = dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 14:05"))
    assert outcomes == {"expired": 2} and sender.sent == []
    assert {m.status for m in messages(session, call_id=calls_of(session, planned)[0].id)} == {
        "expired"}


def test_a_reminder_of_a_call_no_longer_planned_is_not_sent(app, session, planned):
    call = calls_of(session, planned)[0]
    call.status = "skipped"
    session.add(call)
    session.commit()
    sender = Recorder()
    dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 13:00"))
    assert sender.sent == [] and {m.status for m in messages(session, call_id=call.id)} == {
        "cancelled"}


def test_no_sms_to_a_number_that_said_stop_but_calls_still_go(app, session, ctx):
    session.add(SmsOptOut(phone="+46701110000", keyword="STOPP"))
    session.commit()
    due_message(session)
    due_message(session, channel="voice", kind="reminder_senior_voice")
    sender = Recorder()
    assert dispatch_due(dispatcher(app, session, sender), now=NOW) == {"blocked": 1,
                                                                       "queued": 1}
    assert [s[0] for s in sender.sent] == ["voice"]


# ---------------------------------------------------------------- failures

def test_temporary_errors_are_retried_with_growing_pauses(app, session, ctx):
    message = due_message(session)
    sender = Recorder(fail=TemporaryError("HTTP 503", code=503))
    found = dispatcher(app, session, sender)
    moment, gaps = NOW, []
    for _ in range(found.max_attempts - 1):
        assert dispatch_due(found, now=moment) == {"retry": 1}
        message = reload(session, message)
        assert message.status == "pending" and message.error_code == "503"
        gaps.append(message.due_at - moment)
        moment = message.due_at
    assert gaps == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert dispatch_due(found, now=moment) == {"failed": 1}  # the fifth attempt was the last
    message = reload(session, message)
    assert message.status == "failed" and message.attempts == found.max_attempts
    task = session.exec(select(Task)).one()
    assert task.kind == "delivery_failed" and task.message_id == message.id


def test_a_temporary_error_then_success(app, session, ctx):
    message = due_message(session)
    sender = Recorder(fail=[TemporaryError("timeout")])
    found = dispatcher(app, session, sender)
    dispatch_due(found, now=NOW)
    dispatch_due(found, now=NOW + timedelta(minutes=1))
    message = reload(session, message)
    assert (message.status, message.attempts, message.error) == ("queued", 2, "")


def test_a_sender_bug_counts_as_a_temporary_error(app, session, ctx):
    message = due_message(session)
    dispatch_due(dispatcher(app, session, Recorder(fail=KeyError("x"))), now=NOW)
    message = reload(session, message)
    assert message.status == "pending" and "KeyError" in message.error


def test_no_retry_that_would_come_after_the_call(app, session, planned):
    sender = Recorder(fail=TemporaryError("HTTP 500", code=500))
    found = dispatcher(app, session, sender)
    dispatch_due(found, now=at("2026-12-01 13:59:30"))
    volunteer = messages(session, kind="reminder_volunteer")[0]
    assert volunteer.status == "failed"
    task = session.exec(select(Task).where(Task.volunteer_id == planned.volunteer_id)).one()
    assert task.title == "Jonas Berg (volontären) nåddes inte"


def test_an_invalid_number_stops_at_once_and_asks_a_coordinator(app, session, planned):
    sender = Recorder(fail=PermanentError("Twilio 21211", code=21211))
    dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 09:00"))
    sms = messages(session, kind="reminder_senior_sms")[0]
    assert (sms.status, sms.attempts, sms.error_code) == ("failed", 1, "21211")
    task = session.exec(select(Task)).one()
    assert task.title == "Greta Lind (seniorn) har fel telefonnummer"
    assert task.senior_id == planned.senior_id and "2026-12-01 09:00" in task.detail
    # No second task for the same number while the first is open.
    dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 13:00"))
    assert len(session.exec(select(Task)).all()) == 2  # the volunteer's, a different number


def test_unsubscribed_stores_the_opt_out(app, session, planned):
    sender = Recorder(fail=PermanentError("Twilio 21610", code=21610))
    dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 09:00"))
    assert session.exec(select(SmsOptOut.phone)).all() == ["+46701110000"]
    assert session.exec(select(Task.kind)).all() == ["opted_out"]


def test_a_landline_switches_the_senior_to_voice(app, session, planned):
    sender = Recorder(fail=[PermanentError("Twilio 21614", code=21614)])
    found = dispatcher(app, session, sender)
    dispatch_due(found, now=at("2026-12-01 09:00"))
    assert session.get(Senior, planned.senior_id).reminder_channel == "voice"
    first_call = calls_of(session, planned)[0]
    today = {(m.kind, m.status) for m in messages(session, call_id=first_call.id)}
    assert today == {("reminder_senior_sms", "failed"), ("reminder_senior_voice", "queued"),
                     ("reminder_volunteer", "pending")}
    assert sender.sent[0][0] == "voice"  # the same reminder again, at once, as a call
    next_week = messages(session, call_id=calls_of(session, planned)[1].id)
    assert {(m.kind, m.channel) for m in next_week} == {
        ("reminder_volunteer", "sms"), ("reminder_senior_voice", "voice")}
    assert session.exec(select(Task.kind)).all() == ["switched_to_voice"]


def test_send_committed_goes_through_the_same_claim(app, session, ctx):
    message = due_message(session)
    other = dispatcher(app, session, worker="clock")
    assert [m.id for m in other.claim(now=NOW)] == [message.id]
    sender = Recorder()
    app.extensions["vanringen.notifier"] = sender
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        messaging.send_committed([message], session=session)
    assert sender.sent == []  # the clock process has it; it is not sent twice
    message = reload(session, message)
    assert message.status == "claimed" and message.claimed_by == "clock"


def test_send_committed_keeps_the_action_when_the_database_breaks(app, session, ctx,
                                                                   monkeypatch):
    message = due_message(session)
    monkeypatch.setattr("vanringen.dispatch.Dispatcher.claim",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db gone")))
    messaging.send_committed([message], session=session)  # logs, does not raise
    message = reload(session, message)
    assert message.status == "pending"


def test_reminders_show_in_local_time_in_their_task(app, session, planned):
    sender = Recorder(fail=PermanentError("x", code=21211))
    dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 13:00"))
    task = session.exec(select(Task).where(Task.volunteer_id == planned.volunteer_id)).one()
    assert local(at("2026-12-01 13:00")) in task.detail
