import pytest
from sqlmodel import select

from notifications import PermanentError, TemporaryError
from vanringen import messaging
from vanringen.models import Message


class Failing:
    def __init__(self, error):
        self.error = error

    def send_sms(self, to, body):
        raise self.error


def test_queue_then_deliver_through_outbox(app, session):
    with app.app_context():
        message = messaging.queue_sms("+46701234567", "Hej", "test", session=session)
        session.commit()
        assert message.status == "pending" and message.id
        messaging.deliver(message, session=session)
        session.commit()
    stored = session.exec(select(Message)).one()
    assert stored.status == "recorded"
    assert stored.provider == "outbox" and stored.provider_id.startswith("OB")
    assert stored.attempts == 1 and stored.sent_at is not None


def test_temporary_failure_stays_pending(app, session):
    app.extensions["vanringen.notifier"] = Failing(TemporaryError("timeout"))
    with app.app_context():
        message = messaging.queue_sms("+46701234567", "Hej", "test", session=session)
        messaging.deliver(message, session=session)
        session.commit()
    assert message.status == "pending" and message.error == "timeout"
    assert message.attempts == 1


def test_permanent_failure_is_final(app, session):
    app.extensions["vanringen.notifier"] = Failing(PermanentError("invalid", code=21211))
    with app.app_context():
        message = messaging.queue_sms("+46701234567", "Hej", "test", session=session)
        messaging.deliver(message, session=session)
        session.commit()
    assert message.status == "failed" and message.sent_at is None


def test_voice_messages_are_not_sent_as_sms(app, session):
    with app.app_context():
        message = messaging.queue_voice("+4681234567", "Hej", "test", session=session)
        with pytest.raises(ValueError, match="voice"):
            messaging.deliver(message, session=session)
    assert message.status == "pending" and message.attempts == 0


def test_send_committed_keeps_the_action_when_the_sender_breaks(app, session):
    from vanringen.models import Senior

    app.extensions["vanringen.notifier"] = Failing(RuntimeError("network unreachable"))
    with app.app_context():
        session.add(Senior(first_name="Greta", phone="+46812345678", gender="female"))
        message = messaging.queue_sms("+46701234567", "Hej", "test", session=session)
        session.commit()
        messaging.send_committed([message], session=session)  # logs, does not raise
    session.expire_all()
    assert session.exec(select(Senior)).one().first_name == "Greta"
    stored = session.exec(select(Message)).one()
    assert stored.status == "pending" and stored.attempts == 0


def test_send_committed_stores_the_senders_answer(app, session):
    with app.app_context():
        message = messaging.queue_sms("+46701234567", "Hej", "test", session=session)
        session.commit()
        messaging.send_committed([message], session=session)
    session.expire_all()
    assert session.exec(select(Message)).one().status == "recorded"
