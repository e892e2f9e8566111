"""Record first, then send (healthchecks.io style): the row exists before any provider call."""

import logging

from flask import current_app
from sqlmodel import Session

from notifications import SendError, get_backend

from .db import utcnow
from .models import Message

log = logging.getLogger(__name__)


def backend():
    app = current_app
    if "vanringen.notifier" not in app.extensions:
        app.extensions["vanringen.notifier"] = get_backend(app.config["NOTIFY_BACKEND"])
    return app.extensions["vanringen.notifier"]


def queue_sms(to: str, body: str, kind: str, *, session: Session, **refs) -> Message:
    message = Message(channel="sms", recipient=to, body=body, kind=kind, **refs)
    session.add(message)
    return message


def queue_voice(to: str, body: str, kind: str, *, session: Session, **refs) -> Message:
    """A message read aloud by phone; it waits in the outbox until a voice sender takes it."""
    message = Message(channel="voice", recipient=to, body=body, kind=kind, **refs)
    session.add(message)
    return message


def deliver(message: Message, *, session: Session) -> Message:
    """Hand one pending message to the configured sender and store its answer.

    A temporary failure leaves the message pending for a later pass; a permanent one
    marks it failed so nobody retries it.
    """
    if message.channel != "sms":
        raise ValueError(f"no sender for {message.channel!r} messages yet")
    sender = backend()
    message.attempts += 1
    try:
        result = sender.send_sms(message.recipient, message.body)
    except SendError as exc:
        message.error = str(exc)
        if exc.permanent:
            message.status = "failed"
    else:
        message.provider = result.provider
        message.provider_id = result.provider_id
        message.status = result.status
        message.sent_at = utcnow()
        message.error = ""
    session.add(message)
    return message


def send_committed(messages: list[Message], *, session: Session) -> None:
    """Hand messages whose rows are already committed to the sender, and commit what it said.

    The one place besides the scheduler that commits: a failing sender must not undo the
    user's action, so a message that cannot be handed over stays pending for a later pass.
    """
    try:
        for message in messages:
            deliver(message, session=session)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("messages %s not handed over", [m.id for m in messages])
