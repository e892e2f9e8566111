"""The app's side of e-mail (vanringen/mail.py): which mailer the settings choose, made on
first use; one Message row per e-mail with the redacted body; a failed send recorded, not
raised."""

import socket

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from notifications.email import ConsoleMailer, OutboxMailer, SmtpMailer
from notifications.errors import PermanentError, TemporaryError
from notifications.result import SendResult
from vanringen import create_app, mail
from vanringen.models import Message


class Recording:
    def __init__(self, error: Exception | None = None):
        self.sent, self.error = [], error

    def send_email(self, to, subject, body):
        if self.error:
            raise self.error
        self.sent.append((to, subject, body))
        return SendResult("recording", f"R{len(self.sent)}", "sent")


@pytest.fixture
def make_app(database_url):
    made = []

    def make(**config):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                          **config})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["vanringen.engine"].dispose()


@pytest.mark.parametrize(("config", "kind"), [
    ({}, OutboxMailer),
    ({"NOTIFY_BACKEND": "console"}, ConsoleMailer),
    ({"SMTP_URL": "smtp://mail.example.se:587"}, SmtpMailer),
    ({"SMTP_URL": "smtps://mail.example.se", "NOTIFY_BACKEND": "console"}, SmtpMailer),
])
def test_the_mailer_follows_the_settings_and_is_made_on_first_use(make_app, config, kind):
    app = make_app(**config)
    assert "vanringen.mailer" not in app.extensions
    with app.app_context():
        made = mail.mailer()
        assert type(made) is kind
        assert mail.mailer() is made
    if kind is SmtpMailer:
        assert made.from_addr == app.config["MAIL_FROM"]


def test_a_sent_email_is_logged_with_the_redacted_body(app, session):
    recording = app.extensions["vanringen.mailer"] = Recording()
    with app.app_context():
        message = mail.send_email("karin@example.se", "Ämne", "hemlig länk /nytt-losenord/x.y",
                                  logged_body="länken visas inte", kind="password_reset",
                                  session=session)
        session.commit()
    assert recording.sent == [("karin@example.se", "Ämne", "hemlig länk /nytt-losenord/x.y")]
    row = session.exec(select(Message)).one()
    assert row.id == message.id
    assert (row.channel, row.kind, row.recipient) == ("email", "password_reset",
                                                      "karin@example.se")
    assert row.body == "länken visas inte"
    assert (row.status, row.provider, row.provider_id) == ("sent", "recording", "R1")
    assert row.sent_at is not None


@pytest.mark.parametrize("error", [PermanentError("SMTP 550: no such user", code=550),
                                   TemporaryError("SMTP: connection refused",
                                                  code="connection")])
def test_a_failed_email_is_recorded_not_raised(app, session, error):
    app.extensions["vanringen.mailer"] = Recording(error)
    with app.app_context():
        mail.send_email("karin@example.se", "Ämne", "kropp", logged_body="loggad",
                        kind="password_reset", session=session)
        session.commit()
    row = session.exec(select(Message)).one()
    assert row.status == "failed" and row.sent_at is None
    assert row.error == str(error) and row.error_code == str(error.code)


def test_the_dispatcher_never_claims_an_email(app, session):
    """A row the SMS dispatcher could claim would be sent again, as an SMS."""
    app.extensions["vanringen.mailer"] = Recording()
    with app.app_context():
        mail.send_email("karin@example.se", "Ämne", "kropp", logged_body="loggad",
                        kind="password_reset", session=session)
        session.commit()
    assert session.exec(select(Message)).one().status not in ("pending", "claimed")


def test_through_a_real_smtp_server(make_app, session):
    received = []

    class Handler:
        async def handle_DATA(self, server, smtp_session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(SMTP_URL=f"smtp://127.0.0.1:{port}")
        with app.app_context():
            mail.send_email("karin@example.se", "Ämne", "riktig kropp", logged_body="loggad",
                            kind="password_reset", session=session)
            session.commit()
    finally:
        controller.stop()
    (envelope,) = received
    assert envelope.rcpt_tos == ["karin@example.se"]
    assert b"riktig kropp" in envelope.content
    row = session.exec(select(Message)).one()
    assert row.provider == "smtp" and row.status == "sent" and row.body == "loggad"
    assert row.provider_id and row.provider_id in envelope.content.decode()


def test_the_message_log_shows_the_email_without_its_body_secret(app, session, logged_in):
    app.extensions["vanringen.mailer"] = Recording()
    with app.app_context():
        mail.send_email("karin@example.se", "Ämne", "länk /nytt-losenord/hemlig.token",
                        logged_body="Länken visas inte här.", kind="password_reset",
                        session=session)
        session.commit()
    response = logged_in.get("/meddelanden/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "karin@example.se" in page and "Länken visas inte här." in page
    assert "hemlig.token" not in page
