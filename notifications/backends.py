import sys
import uuid

from .result import SendResult
from .twilio_backend import TwilioBackend


class OutboxBackend:
    """Sends nothing. The message row the app wrote is the outbox; this only gives it an id."""

    name = "outbox"

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        return SendResult(self.name, f"OB{uuid.uuid4().hex}", "recorded")

    def start_call(self, to: str, *, twiml_url: str,
                   status_callback: str | None = None) -> SendResult:
        return SendResult(self.name, f"OB{uuid.uuid4().hex}", "recorded")

    def delete_recording(self, recording_sid: str) -> None:
        """Nothing was recorded here: Twilio's recordings are only reached through Twilio."""


class ConsoleBackend(OutboxBackend):
    """Like the outbox, and prints each message, for watching a laptop run."""

    name = "console"

    def __init__(self, stream=None):
        self.stream = stream

    def _print(self, line: str) -> None:
        # sys.stdout is looked up per message: pytest's capsys and click swap it at run time.
        print(line, file=self.stream or sys.stdout, flush=True)

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        self._print(f"[SMS till {to}] {body}")
        return super().send_sms(to, body)

    def start_call(self, to: str, *, twiml_url: str,
                   status_callback: str | None = None) -> SendResult:
        self._print(f"[Samtal till {to}] {twiml_url}")
        return super().start_call(to, twiml_url=twiml_url)

    def delete_recording(self, recording_sid: str) -> None:
        self._print(f"[Radera inspelning {recording_sid}]")


def get_backend(name: str, **settings):
    """The sender NOTIFY_BACKEND names. Twilio takes account_sid, auth_token, from_number and
    optionally http_client (tests point it at a local mock)."""
    if name == "outbox":
        return OutboxBackend()
    if name == "console":
        return ConsoleBackend()
    if name == "twilio":
        needed = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN",
                  "from_number": "TWILIO_PHONE_NUMBER"}
        missing = [env for key, env in needed.items() if not settings.get(key)]
        if missing:
            raise ValueError(f"NOTIFY_BACKEND=twilio needs {', '.join(missing)}.")
        return TwilioBackend(settings["account_sid"], settings["auth_token"],
                             settings["from_number"], http_client=settings.get("http_client"))
    raise ValueError(f"NOTIFY_BACKEND={name!r} is unknown: use 'outbox', 'console' or 'twilio'.")
