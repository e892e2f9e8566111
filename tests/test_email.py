"""E-mail senders (notifications/email.py) against a real SMTP server (aiosmtpd on
127.0.0.1): plain, STARTTLS, SMTPS, login, and the server's refusals turned into
PermanentError / TemporaryError."""

import io
import socket
import ssl
import subprocess
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import need_tool

from notifications.email import ConsoleMailer, OutboxMailer, SmtpMailer, get_mailer
from notifications.errors import PermanentError, TemporaryError

FROM = "Vänringen <no-reply@vanringen.se>"
BODY = "Välj ett lösenord här:\n\nhttps://vanringen.example/nytt-losenord/abc.def"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping what it got; `refuse` answers RCPT with that line."""

    def __init__(self, refuse: str | None = None):
        self.refuse = refuse
        self.envelopes = []
        self.tls = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.tls.append(session.ssl is not None)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    """start(handler, **controller_options) -> port; every server is stopped afterwards."""
    started = []

    def start(handler, **options):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True,
                       capture_output=True)
    except (FileNotFoundError, subprocess.CalledProcessError):
        need_tool("openssl is needed to make a test certificate")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def received(inbox: Inbox):
    (envelope,) = inbox.envelopes
    return envelope, message_from_bytes(envelope.content, policy=policy.default)


def test_plain_smtp_delivers_the_message(smtp_server):
    inbox = Inbox()
    port = smtp_server(inbox)
    result = SmtpMailer(f"smtp://127.0.0.1:{port}", FROM).send_email(
        "karin@example.se", "Nytt lösenord till Vänringen", BODY)
    envelope, message = received(inbox)
    assert envelope.mail_from == "no-reply@vanringen.se"
    assert envelope.rcpt_tos == ["karin@example.se"]
    assert message["Subject"] == "Nytt lösenord till Vänringen"
    assert message["To"] == "karin@example.se"
    assert message.get_content().replace("\r\n", "\n").strip() == BODY
    assert result.provider == "smtp" and result.status == "sent"
    assert result.provider_id == message["Message-ID"].strip("<>")
    assert inbox.tls == [False]


def test_starttls_and_login(smtp_server, certificate):
    server_context, client_context = certificate
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"hemligt losen", handled=False)

    inbox = Inbox()
    port = smtp_server(inbox, tls_context=server_context, require_starttls=True,
                       authenticator=authenticator, auth_required=True)
    url = f"smtp://vanringen%40example.se:hemligt%20losen@127.0.0.1:{port}"
    SmtpMailer(url, FROM, ssl_context=client_context).send_email("karin@example.se", "Hej",
                                                                 BODY)
    assert logins == [(b"vanringen@example.se", b"hemligt losen")]
    assert inbox.tls == [True]


def test_smtps(smtp_server, certificate):
    server_context, client_context = certificate
    inbox = Inbox()
    port = smtp_server(inbox, ssl_context=server_context)
    SmtpMailer(f"smtps://127.0.0.1:{port}", FROM, ssl_context=client_context).send_email(
        "karin@example.se", "Hej", BODY)
    assert len(inbox.envelopes) == 1


def test_an_unknown_certificate_is_refused(smtp_server, certificate):
    server_context, _client_context = certificate
    port = smtp_server(Inbox(), tls_context=server_context, require_starttls=True)
    with pytest.raises(TemporaryError):
        SmtpMailer(f"smtp://127.0.0.1:{port}", FROM).send_email("karin@example.se", "Hej",
                                                                BODY)


def test_wrong_password_is_permanent(smtp_server, certificate):
    server_context, client_context = certificate
    port = smtp_server(Inbox(), tls_context=server_context, require_starttls=True,
                       auth_required=True, auth_exclude_mechanism=["LOGIN"],
                       authenticator=lambda *args: AuthResult(success=False, handled=False))
    mailer = SmtpMailer(f"smtp://user:fel@127.0.0.1:{port}", FROM, ssl_context=client_context,
                        timeout=5)
    with pytest.raises(PermanentError) as caught:
        mailer.send_email("karin@example.se", "Hej", BODY)
    assert caught.value.code == 535


@pytest.mark.parametrize(("answer", "error", "code"), [
    ("550 5.1.1 No such user", PermanentError, 550),
    ("450 4.2.1 Mailbox busy, try later", TemporaryError, 450),
])
def test_refused_recipient(smtp_server, answer, error, code):
    port = smtp_server(Inbox(refuse=answer))
    with pytest.raises(error) as caught:
        SmtpMailer(f"smtp://127.0.0.1:{port}", FROM).send_email("nobody@example.se", "Hej",
                                                                BODY)
    assert caught.value.code == code


def test_no_server_is_temporary():
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", FROM, timeout=5)
    with pytest.raises(TemporaryError):
        mailer.send_email("karin@example.se", "Hej", BODY)


@pytest.mark.parametrize("address", ["karin", "karin@", "@example.se",
                                     "karin@example.se\nBcc: all@example.se"])
@pytest.mark.parametrize("mailer", [OutboxMailer(), SmtpMailer("smtp://127.0.0.1:9", FROM)])
def test_a_bad_address_is_permanent_and_never_sent(mailer, address):
    with pytest.raises(PermanentError):
        mailer.send_email(address, "Hej", BODY)


@pytest.mark.parametrize("url", ["http://mail.example.se", "smtp://", "mail.example.se:587"])
def test_a_bad_url_is_refused(url):
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpMailer(url, FROM)


def test_default_ports():
    assert SmtpMailer("smtp://mail.example.se", FROM).port == 587
    assert SmtpMailer("smtps://mail.example.se", FROM).port == 465
    assert SmtpMailer("smtp://mail.example.se:2525", FROM).port == 2525


def test_console_prints_and_outbox_records():
    stream = io.StringIO()
    result = ConsoleMailer(stream).send_email("karin@example.se", "Hej", BODY)
    assert result.provider == "console" and result.status == "recorded"
    assert "[E-post till karin@example.se] Hej" in stream.getvalue()
    assert BODY in stream.getvalue()
    outbox = OutboxMailer().send_email("karin@example.se", "Hej", BODY)
    assert outbox.provider == "outbox" and outbox.provider_id.startswith("OB")


def test_get_mailer_picks_by_settings():
    assert isinstance(get_mailer("smtp://mail.example.se", from_addr=FROM), SmtpMailer)
    assert isinstance(get_mailer("", backend="console"), ConsoleMailer)
    assert type(get_mailer("", backend="outbox")) is OutboxMailer
    assert type(get_mailer("", backend="twilio")) is OutboxMailer
