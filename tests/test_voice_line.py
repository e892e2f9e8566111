"""Calls to the programme's number (vanringen.voice_line): a volunteer put through to their
senior, a senior phoning in, and the intake line. Every request is signed with twilio's own
RequestValidator as Twilio signs it, and the TwiML is read as XML."""

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
import time_machine
from call_support import at, paired, planner
from sqlmodel import select
from test_matches import make_pair, make_senior
from test_seniors import intake as senior_form
from twilio_mock import FAKE_AUTH_TOKEN, signed_webhook

from vanringen.db import utcnow
from vanringen.models import CallLog, IntakeRequest, Pair, PairPause, ScheduledCall, Volunteer

PROGRAMME = "+46766861004"
GRETA, JONAS, KARL, STRANGER = "+46701110000", "+46702220000", "+46701110001", "+46733334444"
CA = "CA" + "cd" * 16
BASE = "http://localhost"
TUESDAY_1420 = at("2026-12-01 14:20")  # Tuesday; the pair's call is at 14:00


@pytest.fixture(autouse=True)
def twilio_settings(app):
    app.config.update(TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN, TWILIO_PHONE_NUMBER=PROGRAMME)


def post(client, url, params, *, token=FAKE_AUTH_TOKEN):
    """POST to `url` (absolute, query included) signed for exactly that URL."""
    body, headers = signed_webhook(url, params, token)
    return client.raw.post(url.removeprefix(BASE), data=body, headers=headers)


def twiml(response) -> ET.Element:
    assert response.status_code == 200 and response.mimetype == "text/xml", response.data
    return ET.fromstring(response.get_data())


def call(client, caller, *, sid=CA):
    return twiml(post(client, f"{BASE}/twilio/voice",
                      {"CallSid": sid, "From": caller, "To": PROGRAMME}))


def said(root: ET.Element) -> list[str]:
    return [say.text for say in root.iter("Say")]


def assert_dial(root, *, to, pair, timeout="30"):
    dial = root.find("Dial")
    assert dial is not None, ET.tostring(root)
    assert dial.attrib["callerId"] == PROGRAMME
    assert dial.attrib["action"] == f"{BASE}/twilio/voice/koppla/{pair.id}/klar"
    assert dial.attrib["method"] == "POST" and dial.attrib["timeout"] == timeout
    assert [n.text for n in dial.findall("Number")] == [to]
    assert root.find("Say").attrib["language"] == "sv-SE"


@pytest.fixture
def two(session):
    """Jonas with two seniors: Greta (older pair) and Karl."""
    greta_pair = paired(session)
    jonas = session.get(Volunteer, greta_pair.volunteer_id)
    karl = make_senior(session, "Karl", phone=KARL, gender="male")
    return greta_pair, make_pair(session, karl, jonas)


# ---------------------------------------------------------------- a volunteer calls

def test_a_volunteer_with_one_senior_is_put_through_with_the_programmes_number(client,
                                                                               session):
    pair = paired(session)
    root = call(client, JONAS)
    assert said(root) == ["Vi kopplar dig till Greta."]
    assert_dial(root, to=GRETA, pair=pair)
    assert root.find("Gather") is None and root.find("Hangup") is None


def test_how_long_the_senior_s_phone_rings_is_a_setting(app, client, session):
    app.config["DIAL_TIMEOUT_SECONDS"] = 45
    pair = paired(session)
    assert_dial(call(client, JONAS), to=GRETA, pair=pair, timeout="45")


def test_behind_a_proxy_the_dial_action_is_the_public_address(app, client, session):
    app.config["PUBLIC_BASE_URL"] = "https://vanringen.example.se"
    pair = paired(session)
    url = "https://vanringen.example.se/twilio/voice"
    body, headers = signed_webhook(url, {"CallSid": CA, "From": JONAS})
    dial = twiml(client.raw.post("/twilio/voice", data=body, headers=headers)).find("Dial")
    assert dial.attrib["action"] == \
        f"https://vanringen.example.se/twilio/voice/koppla/{pair.id}/klar"


def test_an_ended_pair_is_not_put_through(client, session):
    pair = paired(session)
    pair.status = "ended"
    session.add(pair)
    session.commit()
    root = call(client, JONAS)
    assert root.find("Dial") is None and root.find("Gather") is not None  # the intake line


def test_a_volunteer_with_two_seniors_chooses_with_a_key(client, session, two):
    greta_pair, karl_pair = two
    root = call(client, JONAS)
    gather = root.find("Gather")
    assert gather.attrib["numDigits"] == "1" and root.find("Dial") is None
    assert gather.attrib["action"] == \
        f"{BASE}/twilio/voice/koppla/valj?par={greta_pair.id}-{karl_pair.id}"
    assert said(gather) == ["Vem vill du ringa?", "Tryck 1 för Greta.", "Tryck 2 för Karl."]
    assert said(root)[-1].startswith("Vi hörde inget val") and root[-1].tag == "Hangup"

    chosen = twiml(post(client, gather.attrib["action"],
                        {"CallSid": CA, "From": JONAS, "Digits": "2"}))
    assert said(chosen) == ["Vi kopplar dig till Karl."]
    assert_dial(chosen, to=KARL, pair=karl_pair)
    first = twiml(post(client, gather.attrib["action"],
                       {"CallSid": CA, "From": JONAS, "Digits": "1"}))
    assert_dial(first, to=GRETA, pair=greta_pair)


@pytest.mark.parametrize("digit", ["3", "0", "*", ""])
def test_a_key_that_names_no_one_repeats_the_menu(client, session, two, digit):
    greta_pair, karl_pair = two
    action = f"{BASE}/twilio/voice/koppla/valj?par={greta_pair.id}-{karl_pair.id}"
    root = twiml(post(client, action, {"CallSid": CA, "From": JONAS, "Digits": digit}))
    assert root.find("Dial") is None
    assert said(root.find("Gather"))[:2] == ["Det valet finns inte.", "Vem vill du ringa?"]


def test_a_pair_that_is_not_the_callers_is_refused(client, session, two):
    greta_pair, karl_pair = two
    other = paired(session, senior="Ulla", volunteer="Lena", n=5)
    action = f"{BASE}/twilio/voice/koppla/valj?par={other.id}-{karl_pair.id}"
    root = twiml(post(client, action, {"CallSid": CA, "From": JONAS, "Digits": "1"}))
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert said(root)[0].startswith("Det samtalet kan vi inte koppla")
    # Someone else pressing a key in Jonas's menu gets nobody either.
    action = f"{BASE}/twilio/voice/koppla/valj?par={greta_pair.id}-{karl_pair.id}"
    root = twiml(post(client, action, {"CallSid": CA, "From": STRANGER, "Digits": "1"}))
    assert root.find("Dial") is None


def test_a_pair_ended_while_the_menu_was_read_is_refused(client, session, two):
    greta_pair, karl_pair = two
    action = f"{BASE}/twilio/voice/koppla/valj?par={greta_pair.id}-{karl_pair.id}"
    karl_pair.status = "ended"
    session.add(karl_pair)
    session.commit()
    root = twiml(post(client, action, {"CallSid": CA, "From": JONAS, "Digits": "2"}))
    assert root.find("Dial") is None and said(root)[0].startswith("Det samtalet")


# ---------------------------------------------------------------- strangers, seniors

def test_an_unknown_caller_hears_a_greeting_and_the_intake_menu(client, session):
    paired(session)
    root = call(client, STRANGER)
    gather = root.find("Gather")
    assert gather.attrib["action"] == f"{BASE}/twilio/voice/intag/val"
    assert gather.attrib["numDigits"] == "1" and root.find("Dial") is None
    assert said(gather) == [
        "Hej och välkommen till Vänringen, ring så pratar vi.",
        "Tryck 1 om du vill ha en telefonvän. Tryck 2 för att lämna ett meddelande till en "
        "samordnare."]
    assert all(s.attrib["language"] == "sv-SE" for s in root.iter("Say"))


def test_a_senior_without_call_in_gets_the_intake_menu(client, session):
    paired(session)
    root = call(client, GRETA)
    assert root.find("Dial") is None
    assert root.find("Gather").attrib["action"].endswith("/twilio/voice/intag/val")


def call_in_pair(app, session, **senior_kw):
    with app.test_request_context():
        pair = paired(session, call_in=True, **senior_kw)
        planner(app, session).plan([pair], now=at("2026-11-30 08:00"))
        session.commit()
    return pair


def test_a_senior_phoning_within_the_volunteers_hours_is_put_through(app, client, session):
    pair = call_in_pair(app, session)  # Jonas offers tue-afternoon and wed-evening
    with time_machine.travel(at("2026-12-01 15:30"), tick=False):  # Tuesday afternoon
        root = call(client, GRETA)
    assert said(root) == ["Hej Greta! Vi kopplar dig till Jonas."]
    assert_dial(root, to=JONAS, pair=pair)


@pytest.mark.parametrize(("moment", "next_call"), [
    ("2026-11-30 19:00", "I morgon klockan 14"),  # Monday evening: not his
    ("2026-12-01 11:59", "I dag klockan 14"),     # Tuesday, still morning
    ("2026-12-01 17:00", "Tisdag 8 december klockan 14"),  # the afternoon has ended
])
def test_outside_them_the_senior_hears_when_the_volunteer_calls(app, client, session, moment,
                                                                 next_call):
    call_in_pair(app, session)
    with time_machine.travel(at(moment), tick=False):
        root = call(client, GRETA)
    assert root.find("Dial") is None and root.find("Gather") is None
    assert said(root) == [f"Hej Greta! Jonas kan inte svara just nu. {next_call} ringer Jonas "
                          "till dig. Hej då!"]
    assert root[-1].tag == "Hangup"


def test_a_finnish_senior_hears_finnish(app, client, session):
    call_in_pair(app, session, languages="fi;sv")
    with time_machine.travel(at("2026-12-01 15:30"), tick=False):
        root = call(client, GRETA)
    say = root.find("Say")
    assert say.attrib["language"] == "fi-FI" and say.text.startswith("Hei Greta!")
    assert root.find("Dial") is not None


def test_a_paused_pair_is_not_put_through(app, client, session):
    pair = call_in_pair(app, session)
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 11, 30),
                          resumes_on=date(2026, 12, 14)))
    for planned in session.exec(select(ScheduledCall)).all():
        if planned.occurs_on < date(2026, 12, 14):
            planned.status = "skipped"
            session.add(planned)
    session.commit()
    with time_machine.travel(at("2026-12-01 15:30"), tick=False):
        root = call(client, GRETA)
    assert root.find("Dial") is None
    assert "ringer Jonas till dig" not in said(root)[0]  # nothing planned within PLAN_DAYS
    assert said(root)[0].startswith("Hej Greta! Jonas kan inte svara just nu. Ring gärna")


# ---------------------------------------------------------------- the dial's outcome

def done(client, pair, status, *, duration=None, sid=CA, caller=JONAS):
    params = {"CallSid": sid, "From": caller, "To": PROGRAMME, "DialCallStatus": status,
              "DialCallSid": "CA" + "ef" * 16}
    if duration is not None:
        params["DialCallDuration"] = str(duration)
    return twiml(post(client, f"{BASE}/twilio/voice/koppla/{pair.id}/klar", params))


def planned_pair(app, session):
    with app.test_request_context():
        pair = paired(session)
        planner(app, session).plan([pair], now=at("2026-11-30 08:00"))
        session.commit()
    return pair


def the_call_at(session, text):
    return session.exec(select(ScheduledCall).where(ScheduledCall.scheduled_at == at(text))).one()


def logs(session):
    session.expire_all()
    return session.exec(select(CallLog).order_by(CallLog.id)).all()


def test_an_answered_call_is_logged_held_with_its_minutes(app, client, session):
    pair = planned_pair(app, session)
    with time_machine.travel(TUESDAY_1420, tick=False):
        root = done(client, pair, "completed", duration=1501)
    assert said(root) == ["Tack för samtalet. Hej då!"] and root[-1].tag == "Hangup"
    (entry,) = logs(session)
    assert (entry.outcome, entry.minutes, entry.source) == ("held", 26, "bridge")
    assert entry.provider_id == CA and entry.pair_id == pair.id
    assert entry.call_id == the_call_at(session, "2026-12-01 14:00").id
    assert entry.reported_by_volunteer_id == pair.volunteer_id
    assert entry.occurred_at == TUESDAY_1420 - timedelta(seconds=1501)


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_an_unanswered_call_is_logged_no_answer(app, client, session, status):
    pair = planned_pair(app, session)
    with time_machine.travel(TUESDAY_1420, tick=False):
        root = done(client, pair, status)
    assert said(root) == ["Ingen svarade. Försök gärna igen lite senare. Hej då!"]
    (entry,) = logs(session)
    assert (entry.outcome, entry.minutes) == ("no_answer", None)
    assert entry.call_id == the_call_at(session, "2026-12-01 14:00").id


def test_twilio_retrying_the_callback_logs_the_call_once(app, client, session):
    pair = planned_pair(app, session)
    with time_machine.travel(TUESDAY_1420, tick=False):
        first = done(client, pair, "completed", duration=600)
        with time_machine.travel(TUESDAY_1420 + timedelta(seconds=20), tick=False):
            again = done(client, pair, "completed", duration=600)
    assert ET.tostring(first) == ET.tostring(again)
    (entry,) = logs(session)
    assert entry.minutes == 10


def test_a_call_far_from_any_planned_call_is_logged_on_its_own(app, client, session):
    pair = planned_pair(app, session)
    with time_machine.travel(at("2026-12-03 11:00"), tick=False):  # a Thursday
        done(client, pair, "completed", duration=59)
    (entry,) = logs(session)
    assert (entry.call_id, entry.outcome, entry.minutes) == (None, "held", 1)


def test_no_answer_then_a_held_call_the_same_hour_logs_the_planned_call_held(app, client,
                                                                              session):
    pair = planned_pair(app, session)
    with time_machine.travel(at("2026-12-01 14:02"), tick=False):
        done(client, pair, "no-answer", sid="CA1")
    with time_machine.travel(at("2026-12-01 14:40"), tick=False):
        done(client, pair, "completed", duration=1200, sid="CA2")
    with time_machine.travel(at("2026-12-01 16:00"), tick=False):
        done(client, pair, "no-answer", sid="CA3")  # a held call is not undone by this
    entries = logs(session)
    planned = the_call_at(session, "2026-12-01 14:00")
    assert [(e.call_id, e.outcome, e.provider_id) for e in entries] == [
        (planned.id, "held", "CA2"), (None, "no_answer", "CA3")]


def test_a_senior_phoning_in_is_logged_too(app, client, session):
    pair = call_in_pair(app, session)
    with time_machine.travel(TUESDAY_1420, tick=False):
        done(client, pair, "completed", duration=300, caller=GRETA)
    (entry,) = logs(session)
    assert (entry.outcome, entry.minutes, entry.reported_by_volunteer_id) == ("held", 5, None)


def test_a_callback_for_a_call_the_pair_did_not_make_logs_nothing(app, client, session):
    pair = planned_pair(app, session)
    with time_machine.travel(TUESDAY_1420, tick=False):
        root = done(client, pair, "completed", duration=300, caller=STRANGER)
    assert said(root)[0].startswith("Det samtalet kan vi inte koppla")
    assert logs(session) == []


# ---------------------------------------------------------------- the intake line

def choose(client, digit, *, sid=CA, caller=STRANGER):
    return twiml(post(client, f"{BASE}/twilio/voice/intag/val",
                      {"CallSid": sid, "From": caller, "To": PROGRAMME, "Digits": digit}))


def intakes(session):
    session.expire_all()
    return session.exec(select(IntakeRequest).order_by(IntakeRequest.id)).all()


@pytest.mark.parametrize(("digit", "choice", "prompt"), [
    ("1", "friend", "Vad roligt! Säg ditt namn"), ("2", "message", "Säg ditt namn och ditt"),
])
def test_pressing_1_or_2_records_the_caller(client, session, digit, choice, prompt):
    root = choose(client, digit)
    assert said(root)[0].startswith(prompt)
    record = root.find("Record")
    assert record.attrib["maxLength"] == "120"
    assert record.attrib["action"] == f"{BASE}/twilio/voice/intag/inspelad"
    assert record.attrib["recordingStatusCallback"] == f"{BASE}/twilio/voice/intag/inspelning"
    assert "transcribe" not in record.attrib  # INTAKE_TRANSCRIBE is off by default
    assert said(root)[-1].startswith("Tack! En samordnare ringer upp dig")
    (intake,) = intakes(session)
    assert (intake.call_sid, intake.from_number, intake.choice, intake.status) == \
        (CA, STRANGER, choice, "open")


def test_transcription_and_recording_length_are_settings(app, client, session):
    app.config.update(INTAKE_TRANSCRIBE=True, INTAKE_RECORDING_SECONDS=60)
    record = choose(client, "1").find("Record")
    assert record.attrib["maxLength"] == "60" and record.attrib["transcribe"] == "true"
    assert record.attrib["transcribeCallback"] == f"{BASE}/twilio/voice/intag/text"


@pytest.mark.parametrize("digit", ["3", "9", ""])
def test_another_key_repeats_the_intake_menu(client, session, digit):
    root = choose(client, digit)
    assert root.find("Record") is None
    assert said(root.find("Gather")) == [
        "Tryck 1 om du vill ha en telefonvän. Tryck 2 för att lämna ett meddelande till en "
        "samordnare."]
    assert intakes(session) == []


def test_the_recording_and_its_transcription_complete_one_intake_request(app, client,
                                                                         session):
    choose(client, "1")
    choose(client, "1")  # Twilio's retry
    recording = {"CallSid": CA, "From": STRANGER, "RecordingSid": "RE" + "12" * 16,
                 "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                 "RecordingDuration": "42", "Digits": "hangup"}
    thanks = twiml(post(client, f"{BASE}/twilio/voice/intag/inspelad", recording))
    assert said(thanks) == ["Tack! En samordnare ringer upp dig på numret du ringer från. "
                            "Hej då!"]
    status = {key: recording[key] for key in ("CallSid", "RecordingSid", "RecordingUrl")}
    for _retry in range(2):
        response = post(client, f"{BASE}/twilio/voice/intag/inspelning",
                        {**status, "RecordingStatus": "completed", "RecordingDuration": "43"})
        assert response.status_code == 204
    text = {"CallSid": CA, "From": STRANGER, "RecordingSid": recording["RecordingSid"],
            "TranscriptionStatus": "completed",
            "TranscriptionText": " Hej, jag heter Ingrid och bor i Farsta. "}
    assert post(client, f"{BASE}/twilio/voice/intag/text", text).status_code == 204
    (intake,) = intakes(session)
    assert (intake.from_number, intake.choice) == (STRANGER, "friend")
    assert intake.recording_sid == recording["RecordingSid"]
    assert intake.recording_url == recording["RecordingUrl"]
    assert intake.recording_seconds == 43
    assert intake.transcription == "Hej, jag heter Ingrid och bor i Farsta."


def test_callbacks_after_the_recording_was_deleted_bring_nothing_back(client, session):
    choose(client, "1")
    (intake,) = intakes(session)
    intake.recording_deleted_at = utcnow()
    session.commit()
    late = {"CallSid": CA, "RecordingSid": "RE" + "34" * 16, "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2",
            "RecordingDuration": "12"}
    assert post(client, f"{BASE}/twilio/voice/intag/inspelning", late).status_code == 204
    assert post(client, f"{BASE}/twilio/voice/intag/text",
                {"CallSid": CA, "TranscriptionStatus": "completed",
                 "TranscriptionText": "Jag heter Ingrid"}).status_code == 204
    session.expire_all()
    (intake,) = intakes(session)
    assert (intake.recording_url, intake.recording_seconds, intake.transcription) == (
        "", None, "")


def test_a_failed_transcription_leaves_the_text_empty(client, session):
    choose(client, "2")
    post(client, f"{BASE}/twilio/voice/intag/text",
         {"CallSid": CA, "TranscriptionStatus": "failed", "TranscriptionText": ""})
    assert intakes(session)[0].transcription == ""


def test_two_callers_are_two_requests(client, session):
    choose(client, "1", sid="CA1")
    choose(client, "2", sid="CA2", caller="+46855512345")
    assert [(i.call_sid, i.from_number) for i in intakes(session)] == [
        ("CA1", STRANGER), ("CA2", "+46855512345")]


def test_a_callback_without_a_call_sid_is_a_bad_request(client):
    response = post(client, f"{BASE}/twilio/voice/intag/inspelning", {"RecordingSid": "RE1"})
    assert response.status_code == 400


# ---------------------------------------------------------------- signatures

@pytest.mark.parametrize("path", [
    "/twilio/voice", "/twilio/voice/koppla/valj?par=1-2", "/twilio/voice/koppla/1/klar",
    "/twilio/voice/intag/val", "/twilio/voice/intag/inspelad", "/twilio/voice/intag/inspelning",
    "/twilio/voice/intag/text"])
def test_a_request_not_signed_by_twilio_is_refused(client, session, path):
    pair = paired(session)
    path = path.replace("/1/", f"/{pair.id}/")
    params = {"CallSid": CA, "From": JONAS, "Digits": "1", "DialCallStatus": "completed",
              "DialCallDuration": "600", "RecordingSid": "RE1", "TranscriptionText": "x"}
    assert client.raw.post(path, data=params).status_code == 403
    assert post(client, BASE + path, params, token="not-the-token").status_code == 403
    body, headers = signed_webhook(BASE + path, params)
    tampered = body.replace(b"600", b"900")
    assert client.raw.post(path, data=tampered, headers=headers).status_code == 403
    if "?" in path:  # the query is signed too: another pair list is another URL
        body, headers = signed_webhook(BASE + path, params)
        assert client.raw.post(path.replace("1-2", "2-1"), data=body,
                               headers=headers).status_code == 403
    assert logs(session) == [] and intakes(session) == []
    assert session.exec(select(Pair)).one().status == "active"


# ---------------------------------------------------------------- the senior form

def test_a_coordinator_lets_a_senior_phone_in(app, client, session, coordinator):
    with time_machine.travel(at("2026-12-01 15:30"), tick=False):  # within Jonas's hours
        pair = paired(session)
        client.login(coordinator)
        assert call(client, GRETA).find("Dial") is None  # not yet: the intake line
        form = client.get(f"/seniorer/{pair.senior_id}/andra").get_data(as_text=True)
        assert "Får ringa Vänringens nummer och kopplas till sin telefonvän" in form
        box = re.search(r'<input[^>]*name="call_in"[^>]*>', form).group(0)
        assert 'type="checkbox"' in box and "checked" not in box
        response = client.submit(f"/seniorer/{pair.senior_id}/andra",
                                 senior_form(phone=GRETA, consent=None, call_in="y"))
        assert response.status_code == 302
        detail = client.get(f"/seniorer/{pair.senior_id}").get_data(as_text=True)
        assert "<dt>Ringer in via Vänringens nummer</dt><dd>Ja</dd>" in detail
        history = detail.split("Historik")[1]
        assert "Ringer in via Vänringens nummer" in history  # the field that changed
        assert_dial(call(client, GRETA), to=JONAS, pair=pair)
        form = client.get(f"/seniorer/{pair.senior_id}/andra").get_data(as_text=True)
        assert "checked" in re.search(r'<input[^>]*name="call_in"[^>]*>', form).group(0)
