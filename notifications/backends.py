import sys
import uuid

from .result import SendResult


class OutboxBackend:
    """Sends nothing. The message row the app wrote is the outbox; this only gives it an id."""

    name = "outbox"

    def send_sms(self, to: str, body: str) -> SendResult:
        return SendResult(self.name, f"OB{uuid.uuid4().hex}", "recorded")


class ConsoleBackend(OutboxBackend):
    """Like the outbox, and prints each message, for watching a laptop run."""

    name = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def send_sms(self, to: str, body: str) -> SendResult:
        print(f"[SMS till {to}] {body}", file=self.stream or sys.stdout, flush=True)
        return super().send_sms(to, body)


def get_backend(name: str, **settings):
    if name == "outbox":
        return OutboxBackend()
    if name == "console":
        return ConsoleBackend()
    raise ValueError(
        f"NOTIFY_BACKEND={name!r} is not available yet: use 'outbox' or 'console' "
        "(the Twilio sender arrives with the reminders work)."
    )
