"""Senders for e-mail (password-reset links, invitations). No Flask and no database here,
like the SMS senders: the app writes its Message row with what the sender answers.

Every mailer has send_email(to, subject, body) -> SendResult, or raises PermanentError
(5xx answers, an address that cannot be one) or TemporaryError (4xx answers, no connection).
"""

import smtplib
import ssl
import sys
import uuid
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

from .errors import PermanentError, TemporaryError
from .result import SendResult

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


def _check_address(to: str) -> None:
    # A newline would let the address add headers of its own; no "@" cannot be delivered.
    name, address = parseaddr(to)
    if any(ch in to for ch in "\r\n") or "@" not in address or address.startswith("@") \
            or address.endswith("@"):
        raise PermanentError("not an e-mail address", code="bad_address")


class OutboxMailer:
    """Sends nothing: the Message row the app wrote is all there is."""

    name = "outbox"

    def send_email(self, to: str, subject: str, body: str) -> SendResult:
        _check_address(to)
        return SendResult(self.name, f"OB{uuid.uuid4().hex}", "recorded")


class ConsoleMailer(OutboxMailer):
    """Like the outbox, and prints each e-mail (with its link), for a laptop without SMTP."""

    name = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def send_email(self, to: str, subject: str, body: str) -> SendResult:
        result = super().send_email(to, subject, body)
        # sys.stdout is looked up per e-mail: pytest's capsys and click swap it at run time.
        print(f"[E-post till {to}] {subject}\n{body}", file=self.stream or sys.stdout,
              flush=True)
        return SendResult(self.name, result.provider_id, result.status)


class SmtpMailer:
    """smtp://user:password@host:587 (STARTTLS whenever the server offers it) or
    smtps://user:password@host:465 (TLS from the start). One connection per e-mail: they are
    rare (a forgotten password, a new colleague), so nothing is kept open."""

    name = "smtp"

    def __init__(self, url: str, from_addr: str, *, timeout: float = 20,
                 ssl_context: ssl.SSLContext | None = None):
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("SMTP_URL ska se ut som smtp://user:password@host:587 "
                             "eller smtps://user:password@host:465")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.username = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.from_addr = from_addr
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.from_addr
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.from_addr)[1].rpartition("@")[2] or "vanringen.invalid"
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
        msg.set_content(body)
        return msg

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=self.ssl_context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send_email(self, to: str, subject: str, body: str) -> SendResult:
        _check_address(to)
        msg = self.message(to, subject, body)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code = min(code for code, _text in exc.recipients.values())
            raise _by_code(code, "recipient refused") from exc
        except (smtplib.SMTPNotSupportedError, UnicodeError) as exc:
            # SMTP_URL names a user but the server offers no login, or the password is not
            # ASCII (smtplib cannot send it): trying again won't help.
            raise PermanentError(f"SMTP: {exc}", code="login") from exc
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused, authentication failed: the server's code decides.
            raise _by_code(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryError(f"SMTP: {exc}", code="connection") from exc
        return SendResult(self.name, msg["Message-ID"].strip("<>")[:64], "sent")


def _by_code(code: int, text) -> PermanentError | TemporaryError:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    error = PermanentError if 500 <= code < 600 else TemporaryError
    return error(f"SMTP {code}: {text}", code=code)


def get_mailer(smtp_url: str = "", *, from_addr: str = "", backend: str = "outbox"):
    """SMTP when an address is given, else the console (NOTIFY_BACKEND=console) or outbox."""
    if smtp_url:
        return SmtpMailer(smtp_url, from_addr)
    if backend == "console":
        return ConsoleMailer()
    return OutboxMailer()
