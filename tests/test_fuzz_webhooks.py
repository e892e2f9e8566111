"""Hostile input at every Twilio webhook (blueprint "twilio"): correctly signed requests with
hostile parameters, and unsigned or badly signed ones.

For every example: no 500; a signed request is answered with valid TwiML (or an empty
204/4xx); an unsigned or badly signed one gets 403 and writes nothing; text a webhook
stored is shown escaped on the coordinator's task list and intake inbox.
"""

import xml.etree.ElementTree as ET

import pytest
from call_support import messages, paired, planner
from fuzz_support import (
    COORDINATOR,
    FEW,
    FORM,
    FUZZ,
    PASSWORD,
    UPLOAD_MB,
    Harness,
    form_body,
    hostile_text,
    no_raw_script,
    parsed_form,
    raw_value,
    sign_in_coordinator,
)
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select
from twilio.request_validator import RequestValidator
from twilio_mock import FAKE_AUTH_TOKEN

from vanringen.auth import create_user
from vanringen.db import utcnow
from vanringen.models import Message

SM, CA = "SM" + "ab" * 16, "CA" + "cd" * 16
BASE = "https://vanringen.example.se"
SENIOR, VOLUNTEER = "+46812340000", "+46702220000"
PHONES = [SENIOR, VOLUNTEER, "+46701119999", "anonymous", "", "+0", "client:Anonymous"]
STATUSES = ["queued", "sent", "delivered", "undelivered", "failed", "busy", "no-answer",
            "canceled", "completed", "in-progress", "ringing"]
# Each webhook with the parameters Twilio sends it: (realistic values, …).
HOOKS = {
    "/twilio/sms": {"MessageSid": [SM, "SM" + "0" * 32], "SmsSid": [SM], "From": PHONES,
                    "To": ["+46766861004"], "Body": ["STOPP", "START", "hej", "1", "klar 30"]},
    "/twilio/status": {"MessageSid": [SM], "CallSid": [CA], "MessageStatus": STATUSES,
                       "SmsStatus": STATUSES, "CallStatus": STATUSES,
                       "ErrorCode": ["30003", "21211", "21610", ""], "ErrorMessage": ["x"]},
    "/twilio/voice": {"CallSid": [CA], "From": PHONES, "To": ["+46766861004"]},
    "/twilio/voice/koppla/valj?par=1": {"From": PHONES, "Digits": ["1", "2", "0", "#"]},
    "/twilio/voice/koppla/1/klar": {"CallSid": [CA], "From": PHONES,
                                    "DialCallStatus": ["completed", "no-answer", "busy"],
                                    "DialCallDuration": ["0", "65", "-5", "9" * 30]},
    "/twilio/voice/intag/val": {"CallSid": [CA], "From": PHONES, "Digits": ["1", "2", "9"]},
    "/twilio/voice/intag/inspelad": {
        "CallSid": [CA], "From": PHONES, "RecordingSid": ["RE" + "1" * 32],
        "RecordingUrl": ["https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"],
        "RecordingStatus": ["completed", "failed"], "RecordingDuration": ["12", "x"]},
    "/twilio/voice/intag/inspelning": {
        "CallSid": [CA], "RecordingSid": ["RE" + "2" * 32], "RecordingStatus": ["completed"],
        "RecordingUrl": ["https://evil.example/rec", "javascript:alert(1)"]},
    "/twilio/voice/intag/text": {"CallSid": [CA], "TranscriptionStatus": ["completed"],
                                 "TranscriptionText": ["Jag vill ha en telefonvän"]},
    "/twilio/voice/meddelande/1": {"CallSid": [CA]},
    "/twilio/voice/meddelande/1/svar": {"CallSid": [CA], "Digits": ["1", "2", "3"]},
}
# Pages that show what a webhook stored, to a coordinator.
SHOWN_ON = ["/att-gora/", "/inkorg/", "/inkorg/?visa=klara"]


@pytest.fixture
def fuzz(migrated_db, database_url):
    # PUBLIC_BASE_URL as in production (NOTIFY_BACKEND=twilio needs it): the signed address
    # is then the one Twilio requested, its query string byte for byte.
    harness = Harness(migrated_db, database_url, TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN,
                      PUBLIC_BASE_URL=BASE)
    harness.reset()
    seed(harness)
    harness.checkpoint()
    yield harness
    harness.close()


def seed(harness) -> None:
    """A pair with planned calls and reminders: pair 1, voice reminder 1 with CallSid CA."""
    with harness.session() as session, harness.app.test_request_context():
        create_user(COORDINATOR, PASSWORD, role="coordinator", name="Karin", session=session)
        pair = paired(session, channel="voice", phone=SENIOR, call_in=True)
        planner(harness.app, session).plan([pair], now=utcnow())
        session.commit()
        reminder = messages(session, kind="reminder_senior_voice")[0]
        reminder.status, reminder.provider_id = "in-progress", CA
        session.add(reminder)
        session.commit()
        for message in messages(session, kind="reminder_volunteer")[:1]:
            message.status, message.provider_id = "sent", SM
            session.add(message)
        session.commit()


def params(hook):
    """Each parameter realistic, hostile, missing, or sent twice; plus unknown ones."""
    def one(values):
        return st.one_of(st.sampled_from(values).map(lambda v: [v]), st.just([]),
                         raw_value.map(lambda v: [v]), st.lists(raw_value, min_size=2,
                                                                max_size=3))
    fixed = st.fixed_dictionaries({name: one(values) for name, values in HOOKS[hook].items()})
    extra = st.lists(st.tuples(st.sampled_from(["AccountSid", "ApiVersion", "X", ""]),
                               raw_value), max_size=2)
    return st.builds(lambda chosen, more: [(k, v) for k, vs in chosen.items() for v in vs]
                     + more, fixed, extra)


def signed_post(harness, hook, pairs, *, token=FAKE_AUTH_TOKEN, query=""):
    body = form_body(pairs)
    url = f"{BASE}{hook}{query}"
    signature = RequestValidator(token).compute_signature(url, parsed_form(body, FORM))
    return harness.client.post(hook + query, data=body, content_type=FORM,
                               headers={"X-Twilio-Signature": signature})


def valid_answer(response) -> None:
    assert response.status_code < 500
    assert response.status_code in (200, 204, 400, 404, 413), response.status_code
    if response.status_code == 200:
        assert response.mimetype == "text/xml"
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response"


def shown_escaped(harness) -> None:
    sign_in_coordinator(harness, create=False)
    for path in SHOWN_ON:
        page = harness.client.get(path)
        assert page.status_code == 200
        no_raw_script(page.get_data(as_text=True))


@pytest.mark.parametrize("hook", list(HOOKS))
def test_signed_hostile_parameters_get_valid_twiml(fuzz, hook):
    @FUZZ
    @given(params(hook))
    def run(pairs):
        fuzz.restore()
        response = signed_post(fuzz, hook, pairs)
        valid_answer(response)
        if hook in ("/twilio/sms", "/twilio/voice/intag/text", "/twilio/voice/intag/val"):
            shown_escaped(fuzz)

    run()


def test_signed_hostile_query_of_the_bridge_menu(fuzz):
    @FEW
    @given(hostile_text, st.sampled_from(["1", "2", "x"]))
    def run(offered, digit):
        fuzz.restore()
        query = "?" + form_body([("par", offered)]).decode()
        valid_answer(signed_post(fuzz, "/twilio/voice/koppla/valj",
                                 [("From", VOLUNTEER), ("Digits", digit)], query=query))

    run()


def test_the_script_sms_is_shown_escaped(fuzz):
    fuzz.restore()
    response = signed_post(fuzz, "/twilio/sms", [("MessageSid", SM), ("From", "+46701119999"),
                                                  ("Body", "<script>alert(1)</script>")])
    valid_answer(response)
    sign_in_coordinator(fuzz, create=False)
    page = fuzz.client.get("/att-gora/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    no_raw_script(page)


BAD_SIGNATURES = st.one_of(st.none(), st.just(""), hostile_text,
                           st.sampled_from(["wrong-token", "tampered"]))


@pytest.mark.parametrize("hook", list(HOOKS))
def test_unsigned_or_badly_signed_requests_get_403_and_write_nothing(fuzz, hook):
    @FEW
    @given(params(hook), BAD_SIGNATURES)
    def run(pairs, bad):
        fuzz.restore()
        before = fuzz.counts()
        if bad == "wrong-token":
            response = signed_post(fuzz, hook, pairs, token="not-the-token")
        elif bad == "tampered":
            signature = RequestValidator(FAKE_AUTH_TOKEN).compute_signature(
                f"{BASE}{hook}", {"Body": "START"})
            response = fuzz.client.post(hook, data=form_body(pairs), content_type=FORM,
                                        headers={"X-Twilio-Signature": signature})
        else:
            headers = {} if bad is None else {
                "X-Twilio-Signature": bad.encode("utf-8", "surrogatepass").decode("latin-1")}
            response = fuzz.client.post(hook, data=form_body(pairs), content_type=FORM,
                                        headers=headers)
        assert response.status_code == 403
        assert fuzz.counts() == before

    run()


def test_a_body_beyond_max_upload_is_refused_without_a_page(fuzz):
    fuzz.restore()
    before = fuzz.counts()
    response = signed_post(fuzz, "/twilio/sms", [("MessageSid", SM), ("From", VOLUNTEER),
                                                  ("Body", "x" * (UPLOAD_MB << 20))])
    assert response.status_code == 413
    assert fuzz.counts() == before


@pytest.mark.parametrize("hook, pairs", [
    ("/twilio/sms", [("MessageSid", SM), ("From", "+4670\x00"), ("Body", "hej")]),
    ("/twilio/sms", [("MessageSid", SM), ("From", VOLUNTEER), ("Body", "h\x00j")]),
    ("/twilio/voice/intag/text", [("CallSid", CA), ("TranscriptionText", "a\x00b")]),
])
def test_a_signed_nul_is_refused_and_nothing_written(fuzz, hook, pairs):
    """Found by the fuzzing: PostgreSQL refuses NUL in text, a 500 (SQLite stored it)."""
    fuzz.restore()
    before = fuzz.counts()
    assert signed_post(fuzz, hook, pairs).status_code == 400
    assert fuzz.counts() == before


@pytest.mark.parametrize("called", ["\x1f", "+4676<x>", "+46766861004"])
def test_the_bridge_shows_only_a_real_called_number_as_caller_id(fuzz, called):
    """Found by the fuzzing: without TWILIO_PHONE_NUMBER a signed `To` with a control
    character went into callerId and made the TwiML invalid XML."""
    fuzz.restore()
    response = signed_post(fuzz, "/twilio/voice", [("CallSid", CA), ("From", VOLUNTEER),
                                                    ("To", called)])
    valid_answer(response)
    dial = ET.fromstring(response.get_data()).find("Dial")
    assert dial.get("callerId") == (called if called.startswith("+4676686") else "")


@pytest.mark.parametrize("hook, pairs", [
    ("/twilio/sms", [("MessageSid", "SM" + "a" * 100), ("From", VOLUNTEER), ("Body", "hej")]),
    ("/twilio/sms", [("MessageSid", SM), ("From", "+46" + "7" * 30), ("Body", "hej")]),
    ("/twilio/voice/intag/val", [("CallSid", "CA" + "b" * 100), ("Digits", "1")]),
    ("/twilio/voice/koppla/1/klar", [("CallSid", "CA" + "c" * 100), ("From", VOLUNTEER)]),
])
def test_a_signed_value_too_long_for_its_column_is_refused(fuzz, hook, pairs):
    """Found by the fuzzing on PostgreSQL: a SID or number longer than its column (64/20)
    failed the insert, a 500 (SQLite does not check lengths)."""
    fuzz.restore()
    before = fuzz.counts()
    assert signed_post(fuzz, hook, pairs).status_code == 400
    assert fuzz.counts() == before


def test_a_long_error_code_is_cut_to_its_column(fuzz):
    fuzz.restore()
    response = signed_post(fuzz, "/twilio/status", [("MessageSid", SM),
                                                     ("MessageStatus", "undelivered"),
                                                     ("ErrorCode", "3" * 50)])
    assert response.status_code == 204
    with fuzz.session() as session:
        codes = session.exec(select(Message.error_code).where(Message.provider_id == SM)).all()
    assert codes == ["3" * 20]
