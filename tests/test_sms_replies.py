"""A volunteer's reply to the reminder SMS (vanringen.sms_replies): the lenient parser on a
table of real-life replies, and the whole way through Twilio's signed SMS webhook."""

import xml.etree.ElementTree as ET
from datetime import date, time

import pytest
import time_machine
from call_support import at, calls_of, local, messages, paired, planner
from sqlmodel import select
from twilio_mock import FAKE_AUTH_TOKEN, signed_webhook

from vanringen.models import CallLog, InboundMessage, Message, Task
from vanringen.sms_replies import HELP, Reply, move_date, parse

# ---------------------------------------------------------------- the parser

H = "held"


@pytest.mark.parametrize(("body", "expected"), [
    ("JA 25", Reply(H, minutes=25)),
    ("ja 20", Reply(H, minutes=20)),
    ("Ja, 20 min", Reply(H, minutes=20)),
    ("JA20", Reply(H, minutes=20)),
    ("ja 20min", Reply(H, minutes=20)),
    ("Ja ca 30 minuter", Reply(H, minutes=30)),
    ("ja 1 timme", Reply(H, minutes=60)),
    ("ja 1h", Reply(H, minutes=60)),
    ("Ja en timme", Reply(H, minutes=60)),
    ("ja 1,5 timmar", Reply(H, minutes=90)),
    ("Ja, en halvtimme", Reply(H, minutes=30)),
    ("ok", Reply(H)),
    ("Ok!", Reply(H)),
    ("ja", Reply(H)),
    ("Jaa", Reply(H)),
    ("Ja tack det gick bra", Reply(H)),
    ("Ja 25 min, hon lät trött idag", Reply(H, minutes=25, remark=True)),
    ("nej", Reply("no_answer")),
    ("NEJ.", Reply("no_answer")),
    ("Nej tyvärr", Reply("no_answer")),
    ("nä, hon svarade inte", Reply("no_answer", remark=True)),
    ("FLYTTA tor 15:00", Reply("move", weekday=3, at=time(15, 0))),
    ("flytta torsdag 15.00", Reply("move", weekday=3, at=time(15, 0))),
    ("Flytta till fredag kl 9.30", Reply("move", weekday=4, at=time(9, 30))),
    ("flytta i morgon kl 15", Reply("move", days_ahead=1, at=time(15, 0))),
    ("flytta idag 1800", Reply("move", days_ahead=0, at=time(18, 0))),
    ("flytta 12/3 14.30", Reply("move", day_month=(12, 3), at=time(14, 30))),
    ("", HELP),
    ("   ", HELP),
    ("👍", HELP),
    ("🙂🙂", HELP),
    ("Hej! Jag kan tyvärr inte ringa på torsdag, kan vi byta dag?", HELP),
    ("Tack för påminnelsen", HELP),
    ("Ja men jag vet inte riktigt om hon hörde vad jag sa i telefonen alls", HELP),
    ("ja 20 30", HELP),      # which one?
    ("ja 900", HELP),        # longer than any call: a typo
    ("ja 0", HELP),
    ("ja 20.5", HELP),
    ("flytta tor", HELP),    # no time
    ("flytta 15:00", HELP),  # no day
    ("flytta tor 25:00", HELP),
    ("flytta snart", HELP),
])
def test_real_life_replies(body, expected):
    assert parse(body) == expected


@pytest.mark.parametrize(("reply", "today", "expected"), [
    (Reply("move", weekday=3, at=time(15)), date(2026, 12, 1), date(2026, 12, 3)),
    (Reply("move", weekday=1, at=time(15)), date(2026, 12, 1), date(2026, 12, 1)),  # today
    (Reply("move", weekday=0, at=time(15)), date(2026, 12, 1), date(2026, 12, 7)),
    (Reply("move", days_ahead=1, at=time(15)), date(2026, 12, 31), date(2027, 1, 1)),
    (Reply("move", day_month=(3, 1), at=time(15)), date(2026, 12, 30), date(2027, 1, 3)),
    (Reply("move", day_month=(28, 11), at=time(15)), date(2026, 12, 1), date(2026, 11, 28)),
])
def test_the_day_a_move_means(reply, today, expected):
    assert move_date(reply, today) == expected


def test_a_day_that_does_not_exist_is_explained():
    with pytest.raises(ValueError, match="Datumet 31/2 finns inte"):
        move_date(Reply("move", day_month=(31, 2), at=time(15)), date(2026, 12, 1))


# ---------------------------------------------------------------- through the webhook

JONAS = "+46702220000"  # paired()'s volunteer
SM = "SM" + "ab" * 16


@pytest.fixture(autouse=True)
def token(app):
    app.config["TWILIO_AUTH_TOKEN"] = FAKE_AUTH_TOKEN


def sms(client, body, *, sid=SM, sender=JONAS):
    params = {"MessageSid": sid, "From": sender, "To": "+46766861004", "Body": body}
    payload, headers = signed_webhook("http://localhost/twilio/sms", params)
    return client.raw.post("/twilio/sms", data=payload, headers=headers)


def answer_of(response) -> str | None:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    found = ET.fromstring(response.get_data()).find("Message")
    return None if found is None else found.text


@pytest.fixture
def pair(app, session):
    """Jonas calls Greta on Tuesdays at 14:00; planned on Tuesday 1 December, and his
    reminder for that day's call sent at 13:00."""
    pair = paired(session)
    with app.test_request_context():
        planner(app, session).plan([pair], now=at("2026-12-01 08:00"))
        session.commit()
    remind(session, "2026-12-01 14:00")
    return pair


def remind(session, call_at: str) -> Message:
    """The volunteer's reminder of the call at `call_at`, as the dispatcher sent it."""
    reminder = next(m for m in messages(session, kind="reminder_volunteer")
                    if local(m.expires_at) == call_at)
    reminder.status, reminder.sent_at = "delivered", reminder.due_at
    session.add(reminder)
    session.commit()
    return reminder


def logs(session) -> list[CallLog]:
    session.expire_all()
    return list(session.exec(select(CallLog).order_by(CallLog.id)))


def tasks(session) -> list[Task]:
    session.expire_all()
    return list(session.exec(select(Task)))


def test_ja_25_logs_a_held_call_of_25_minutes_and_says_so(client, session, pair):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        response = sms(client, "Ja, 25 min")
    assert answer_of(response) == \
        "Tack Jonas! Noterat: samtalet med Greta i dag kl. 14.00 blev av, 25 min. /Vänringen"
    entry, = logs(session)
    call = calls_of(session, pair)[0]
    assert (entry.call_id, entry.outcome, entry.minutes, entry.source) == (
        call.id, "held", 25, "sms")
    assert entry.reported_by_volunteer_id == pair.volunteer_id and entry.note == ""
    reply, = messages(session, kind="reply_logged")
    assert (reply.status, reply.recipient, reply.volunteer_id) == (
        "replied", JONAS, pair.volunteer_id)
    assert session.exec(select(InboundMessage.kind)).one() == "report"
    assert tasks(session) == []  # nothing for a coordinator to do


def test_nej_logs_a_call_that_did_not_happen(client, session, pair):
    with time_machine.travel(at("2026-12-01 15:10"), tick=False):
        text = answer_of(sms(client, "Nej tyvärr"))
    assert text == "Tack Jonas! Noterat: samtalet med Greta i dag kl. 14.00 blev inte av. " \
                   "/Vänringen"
    assert [(e.outcome, e.minutes) for e in logs(session)] == [("no_answer", None)]


def test_a_later_reply_corrects_the_first(client, session, pair):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        sms(client, "ja 20", sid="SM1")
        sms(client, "JA 35", sid="SM2")
    assert [(e.outcome, e.minutes) for e in logs(session)] == [("held", 35)]


def test_a_report_with_words_beyond_it_is_logged_and_shown_to_a_coordinator(
        client, session, pair):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        text = answer_of(sms(client, "Ja 25 min, hon lät trött idag"))
    assert text.startswith("Tack Jonas! Noterat")
    entry, = logs(session)
    assert entry.minutes == 25 and entry.note == "Ja 25 min, hon lät trött idag"
    task, = tasks(session)
    assert task.kind == "inbound_sms" and "hon lät trött" in task.detail


def test_a_worried_report_is_a_concern_for_the_coordinator_on_duty(
        client, session, pair, coordinator):
    coordinator.on_duty, coordinator.phone = True, "+46705550000"
    session.add(coordinator)
    session.commit()
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        text = answer_of(sms(client, "JA 30, jag är orolig för henne, hon har ramlat"))
    assert text.startswith("Tack Jonas! Noterat")
    entry, = logs(session)
    assert (entry.outcome, entry.minutes) == ("held", 30) and "ramlat" in entry.concern
    task, = tasks(session)  # the urgent task, and no second, ordinary one for the SMS
    assert (task.kind, task.urgent, task.pair_id, task.call_log_id) == (
        "concern", True, pair.id, entry.id)
    on_duty, = messages(session, kind="concern_on_duty")
    assert on_duty.recipient == "+46705550000" and "Jonas" in on_duty.body
    assert "ramlat" not in on_duty.body  # the SMS says where to look, it quotes nothing


def test_a_worried_sms_that_is_no_report_is_still_an_urgent_concern(client, session, pair):
    with time_machine.travel(at("2026-12-01 16:00"), tick=False):
        text = answer_of(sms(client, "Hej, jag blir bekymrad, Greta lät förvirrad idag"))
    assert text.startswith("Hej Jonas! Efter samtalet")  # nothing logged: help as usual
    assert logs(session) == []
    task, = tasks(session)
    assert (task.kind, task.urgent, task.pair_id) == ("concern", True, pair.id)
    assert "förvirrad" in task.detail and task.title == "Oro för Greta Lind"


def test_ja_before_the_reminded_call_logs_the_last_unlogged_one(app, client, session, pair):
    # A week on: the reminder for 8 December is out, Jonas never reported 1 December.
    with time_machine.travel(at("2026-12-08 08:00"), tick=False), app.test_request_context():
        planner(app, session).plan([pair], now=at("2026-12-08 08:00"))
        session.commit()
    remind(session, "2026-12-08 14:00")
    with time_machine.travel(at("2026-12-08 13:05"), tick=False):
        text = answer_of(sms(client, "ja 30"))
    entry, = logs(session)
    assert local(entry.occurred_at) == "2026-12-01 14:00" and entry.minutes == 30
    assert "tisdag 1 december kl. 14.00 blev av, 30 min" in text


def test_ja_before_any_call_has_begun_asks_to_answer_after_it(client, session, pair):
    with time_machine.travel(at("2026-12-01 13:05"), tick=False):
        text = answer_of(sms(client, "ok"))
    assert text == ("Hej Jonas! Svara JA och minuter (JA 25) efter samtalet med Greta i dag "
                    "kl. 14.00, eller NEJ om det inte blir av. /Vänringen")
    assert logs(session) == [] and tasks(session) == []


def test_flytta_moves_the_reminded_call_and_plans_its_reminders_again(client, session, pair):
    with time_machine.travel(at("2026-12-01 13:10"), tick=False):
        text = answer_of(sms(client, "FLYTTA tor 15:00"))
    assert text == ("Tack Jonas! Samtalet med Greta är flyttat till torsdag 3 december kl. "
                    "15.00. Du får en påminnelse innan. /Vänringen")
    call = calls_of(session, pair)[0]
    assert local(call.scheduled_at) == "2026-12-03 15:00"
    assert local(call.moved_from) == "2026-12-01 14:00"
    pending = [local(m.due_at) for m in messages(session, call_id=call.id, status="pending")]
    assert pending == ["2026-12-03 09:00", "2026-12-03 14:00"]  # the senior's, the volunteer's
    assert logs(session) == [] and tasks(session) == []


@pytest.mark.parametrize(("body", "why"), [
    ("flytta tis 10:00", "Den tiden har redan passerat."),
    ("flytta tor 23:00", "Samtal kan flyttas till mellan 07.00 och 22.00."),
    ("flytta 30/2 15:00", "Datumet 30/2 finns inte."),
    ("flytta 5/1 15:00", "Ett samtal kan flyttas högst fyra veckor framåt."),
])
def test_a_move_that_cannot_be_made_is_explained(client, session, pair, body, why):
    with time_machine.travel(at("2026-12-01 13:10"), tick=False):
        text = answer_of(sms(client, body))
    assert text == f"Hej Jonas! {why} Svara t.ex. JA 25, NEJ eller FLYTTA tor 15:00. /Vänringen"
    assert local(calls_of(session, pair)[0].scheduled_at) == "2026-12-01 14:00"


def test_flytta_after_the_call_moves_the_next_one(client, session, pair):
    with time_machine.travel(at("2026-12-01 16:00"), tick=False):
        text = answer_of(sms(client, "flytta i morgon kl 10"))
    assert "flyttat till i morgon kl. 10.00" in text
    moved = [c for c in calls_of(session, pair) if c.moved_from]
    assert [(local(c.moved_from), local(c.scheduled_at)) for c in moved] == [
        ("2026-12-08 14:00", "2026-12-02 10:00")]


def test_a_reply_not_understood_gets_help_and_goes_to_a_coordinator(client, session, pair):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        text = answer_of(sms(client, "Kan vi byta dag nästa vecka?"))
    assert text == ("Hej Jonas! Efter samtalet: svara JA och minuter (JA 25) eller NEJ. "
                    "Flytta nästa samtal: FLYTTA tor 15:00. En samordnare läser ditt SMS.")
    task, = tasks(session)
    assert (task.kind, task.volunteer_id) == ("inbound_sms", pair.volunteer_id)
    assert "Kan vi byta dag nästa vecka?" in task.detail
    assert session.exec(select(InboundMessage.kind)).one() == "other"
    assert [m.kind for m in messages(session, status="replied")] == ["reply_help"]
    assert logs(session) == []


@pytest.mark.parametrize("body", ["", "👍"])
def test_an_empty_or_emoji_reply_gets_help(client, session, pair, body):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        assert answer_of(sms(client, body)).startswith("Hej Jonas! Efter samtalet")


def test_twilio_retrying_a_reply_logs_and_answers_it_once(client, session, pair):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        first = sms(client, "JA 25")
    with time_machine.travel(at("2026-12-01 14:41"), tick=False):
        again = sms(client, "JA 25")
    assert again.get_data() == first.get_data()
    assert len(logs(session)) == 1 and logs(session)[0].updated_at == at("2026-12-01 14:40")
    assert len(messages(session, status="replied")) == 1
    assert len(session.exec(select(InboundMessage)).all()) == 1


def test_stopp_from_a_volunteer_is_still_an_opt_out(client, session, pair):
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        assert answer_of(sms(client, "STOPP")).startswith("Du får inga fler SMS")
    assert logs(session) == []


def test_a_volunteer_without_an_active_pair_is_only_shown_to_coordinators(client, session):
    from test_matches import make_volunteer

    make_volunteer(session, "Jonas", phone=JONAS)
    assert answer_of(sms(client, "JA 25")) is None
    assert tasks(session)[0].kind == "inbound_sms" and logs(session) == []


def test_a_call_of_someone_elses_pair_is_never_logged(client, session, pair):
    """Only the sender's own pairs count: another volunteer's reminder to this number
    (a shared family phone) is not theirs to report."""
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        assert answer_of(sms(client, "JA 25", sender="+46709999999")) is None
    assert logs(session) == []
