"""Recording messages (vanringen.messaging): queue() writes the row first, with what the
dispatcher needs to write the text again when it is sent."""

import json

import pytest
from call_support import at
from sqlmodel import select

from notifications import ConsoleBackend, OutboxBackend, TwilioBackend
from vanringen import create_app, messaging
from vanringen.models import Message, Senior


def test_queue_records_the_text_its_template_and_params(app, session):
    with app.app_context():
        message = messaging.queue("reminder_senior_sms", "+46701110000",
                                  {"senior": "Greta", "volontär": "Jonas",
                                   "call_at": at("2026-12-08 14:00").isoformat()},
                                  session=session, language="fi",
                                  due_at=at("2026-12-08 09:00"),
                                  expires_at=at("2026-12-08 14:00"))
        session.commit()
    stored = session.exec(select(Message)).one()
    assert stored.id == message.id and stored.status == "pending" and stored.attempts == 0
    assert (stored.channel, stored.kind, stored.template, stored.language) == (
        "sms", "reminder_senior_sms", "reminder_senior_sms", "fi")
    assert json.loads(stored.params)["senior"] == "Greta"
    # Written as it will read when due, on the morning of the call.
    assert stored.body == "Hei Greta! Tänään klo 14.00 sinulle soittaa Jonas Vänringenistä. " \
                          "Terveisin Vänringen"
    assert stored.due_at == at("2026-12-08 09:00")


def test_a_voice_text_becomes_a_voice_message(app, session):
    with app.app_context():
        message = messaging.queue("pair_senior_voice", "+4681234567",
                                  {"senior": "Greta", "volontär": "Jonas",
                                   "slots": "tue 14:00"}, session=session)
    assert message.channel == "voice" and "tisdagar klockan 14" in message.body


def test_queued_messages_are_due_now_by_default(app, session):
    with app.app_context():
        message = messaging.queue("application_confirmation", "+46701110000",
                                  {"volontär": "Lena"}, session=session)
    assert abs((message.due_at - message.created_at).total_seconds()) < 1
    assert message.expires_at is None


@pytest.mark.parametrize(("current", "new", "moves"), [
    ("queued", "sent", True), ("sent", "delivered", True), ("delivered", "sent", False),
    ("queued", "undelivered", True), ("undelivered", "delivered", False),
    ("ringing", "in-progress", True), ("in-progress", "completed", True),
    ("completed", "ringing", False), ("queued", "no-answer", True),
    ("recorded", "delivered", False), ("expired", "sent", False),
    ("delivered", "read", True), ("queued", "something-new", False),
])
def test_a_status_only_moves_forward(current, new, moves):
    assert messaging.moves_forward(current, new) is moves


def test_every_status_has_a_swedish_label():
    for status in messaging.FAILED + messaging.DONE_BY_US + tuple(messaging._PROGRESS):
        assert status in messaging.STATUS_LABELS, status


@pytest.mark.parametrize(("name", "kind"), [("outbox", OutboxBackend),
                                            ("console", ConsoleBackend)])
def test_the_backend_is_the_one_the_settings_name(database_url, name, kind):
    app = create_app({"DATABASE_URL": database_url, "NOTIFY_BACKEND": name})
    with app.app_context():
        assert isinstance(messaging.backend(), kind)
        assert messaging.backend() is messaging.backend()  # made once
    app.extensions["vanringen.engine"].dispose()


def test_twilio_is_chosen_by_environment_variables_alone(database_url, monkeypatch):
    for name, value in {"NOTIFY_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                        "TWILIO_AUTH_TOKEN": "secret", "TWILIO_PHONE_NUMBER": "+46766861004",
                        "PUBLIC_BASE_URL": "https://vanringen.example.se/"}.items():
        monkeypatch.setenv(name, value)
    app = create_app({"DATABASE_URL": database_url})
    assert app.config["PUBLIC_BASE_URL"] == "https://vanringen.example.se"
    with app.app_context():
        sender = messaging.backend()
    assert isinstance(sender, TwilioBackend) and sender.from_number == "+46766861004"
    assert sender._client is None  # no API client until the first send
    app.extensions["vanringen.engine"].dispose()


@pytest.mark.parametrize(("missing", "message"), [
    ("TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"), ("PUBLIC_BASE_URL", "PUBLIC_BASE_URL")])
def test_twilio_without_its_settings_stops_start_up(database_url, missing, message):
    config = {"DATABASE_URL": database_url, "NOTIFY_BACKEND": "twilio",
              "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret",
              "TWILIO_PHONE_NUMBER": "+46766861004", "PUBLIC_BASE_URL": "https://x.se"}
    config[missing] = ""
    with pytest.raises(RuntimeError, match=message):
        create_app(config)


def test_the_programme_number_must_be_e164(database_url):
    with pytest.raises(RuntimeError, match="E.164"):
        create_app({"DATABASE_URL": database_url, "NOTIFY_BACKEND": "twilio",
                    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "secret",
                    "TWILIO_PHONE_NUMBER": "076-686 10 04", "PUBLIC_BASE_URL": "https://x.se"})


def test_nothing_is_lost_when_a_message_cannot_be_sent(app, session):
    class Broken:
        def send_sms(self, to, body, *, status_callback=None):
            raise ConnectionError("network unreachable")

    app.extensions["vanringen.notifier"] = Broken()
    with app.app_context():
        session.add(Senior(first_name="Greta", phone="+46812345678", gender="female"))
        message = messaging.queue("application_confirmation", "+46701110000",
                                  {"volontär": "Lena"}, session=session)
        session.commit()
        messaging.send_committed([message], session=session)
    session.expire_all()
    assert session.exec(select(Senior)).one().first_name == "Greta"
    assert session.exec(select(Message)).one().status == "pending"
