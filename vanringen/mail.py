"""E-mail from the app: the mailer SMTP_URL names, and one Message row per e-mail.

The row's body is a redacted copy: coordinators read the message log, and a password-reset
link in it would let any of them take over a colleague's account. The real body goes to the
mailer only. Sent at once (no dispatcher): the row is written with the sender's answer, never
as "pending", so the SMS dispatcher never claims it.
"""

import logging

from flask import current_app
from sqlmodel import Session

from notifications.email import get_mailer
from notifications.errors import SendError

from .db import utcnow
from .models import Message

log = logging.getLogger(__name__)


def mailer():
    """Made on first use, never at import: tests and the CLI set the config first."""
    app = current_app
    if "vanringen.mailer" not in app.extensions:
        config = app.config
        app.extensions["vanringen.mailer"] = get_mailer(
            config["SMTP_URL"], from_addr=config["MAIL_FROM"],
            backend=config["NOTIFY_BACKEND"])
    return app.extensions["vanringen.mailer"]


def send_email(to: str, subject: str, body: str, *, logged_body: str, kind: str,
               session: Session) -> Message:
    """Send `body` to `to` now and add a Message row showing `logged_body` instead.

    A failed send is recorded (status "failed") rather than raised: the caller's answer to
    the visitor must not depend on it (a reset request always reads the same)."""
    message = Message(channel="email", recipient=to, body=logged_body, kind=kind,
                      template=kind)
    try:
        result = mailer().send_email(to, subject, body)
    except SendError as exc:
        log.warning("e-mail %s not sent: %s", kind, exc)
        message.status, message.error = "failed", str(exc)[:500]
        message.error_code = str(exc.code or "")[:20]
        message.attempts = 1
    else:
        message.status, message.provider = result.status, result.provider
        message.provider_id, message.sent_at = result.provider_id, utcnow()
        message.attempts = 1
    message.updated_at = utcnow()
    session.add(message)
    return message
