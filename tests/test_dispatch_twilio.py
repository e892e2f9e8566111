"""Reminders through the real twilio client, checked by Prism against Twilio's own API spec,
and Twilio's side played back with signed status callbacks."""

import pytest
from call_support import at, dispatcher, messages, paired, planner
from twilio_mock import FAKE_AUTH_TOKEN, signed_webhook

from notifications import PermanentError
from vanringen.dispatch import dispatch_due

NOW = at("2026-12-01 08:00")
BASE = "https://vanringen.example.se"


@pytest.fixture
def ctx(app):
    app.config.update(PUBLIC_BASE_URL=BASE, TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN)
    with app.test_request_context():
        yield


def test_an_sms_reminder_through_twilio_then_its_delivery(app, client, session, ctx,
                                                          twilio_backend, twilio_http):
    pair = paired(session)
    planner(app, session).plan([pair], now=NOW)
    session.commit()
    outcomes = dispatch_due(dispatcher(app, session, twilio_backend), now=at("2026-12-01 09:00"))
    assert outcomes == {"queued": 1}  # what Prism's example answers
    sms = messages(session, kind="reminder_senior_sms")[0]
    assert sms.provider == "twilio" and sms.provider_id.startswith("SM")
    form = twilio_http.last_form()
    assert form["To"] == ["+46701110000"] and form["From"] == ["+46766861004"]
    assert form["Body"] == [sms.body] and form["StatusCallback"] == [f"{BASE}/twilio/status"]

    body, headers = signed_webhook(f"{BASE}/twilio/status", {
        "MessageSid": sms.provider_id, "MessageStatus": "delivered", "To": sms.recipient})
    assert client.raw.post("/twilio/status", data=body, headers=headers).status_code == 204
    session.refresh(sms)
    assert sms.status == "delivered"


def test_a_voice_reminder_is_a_call_to_the_apps_twiml(app, session, ctx, twilio_backend,
                                                      twilio_http):
    pair = paired(session, channel="voice")
    planner(app, session).plan([pair], now=NOW)
    session.commit()
    dispatch_due(dispatcher(app, session, twilio_backend), now=at("2026-12-01 09:00"))
    call = messages(session, kind="reminder_senior_voice")[0]
    assert call.provider_id.startswith("CA")
    form = twilio_http.last_form()
    assert form["Url"] == [f"{BASE}/twilio/voice/meddelande/{call.id}"]
    assert form["Method"] == ["POST"] and form["To"] == ["+4681230000"]
    assert form["StatusCallbackEvent"][-1] == "completed"


def test_a_request_twilio_refuses_is_a_permanent_failure(app, session, ctx, twilio_http):
    from notifications import TwilioBackend

    # A From that is not a number: Prism refuses what Twilio's spec refuses (HTTP 422).
    broken = TwilioBackend("AC" + "0123456789abcdef" * 2, FAKE_AUTH_TOKEN, "",
                           http_client=twilio_http)
    with pytest.raises(PermanentError):
        broken.start_call("+46701110000", twiml_url="not a url")
    pair = paired(session, channel="voice")
    planner(app, session).plan([pair], now=NOW)
    session.commit()
    found = dispatcher(app, session, broken, base_url="")  # a relative TwiML URL is invalid
    assert dispatch_due(found, now=at("2026-12-01 09:00")) == {"failed": 1}
    assert messages(session, kind="reminder_senior_voice")[0].error.startswith("Twilio")
