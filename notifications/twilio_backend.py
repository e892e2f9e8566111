"""SMS and outbound calls through Twilio's REST API, every failure sorted into try-again
(TemporaryError) or give-up (PermanentError) with Twilio's error code."""

import re

from twilio.base.exceptions import TwilioException

from .errors import PermanentError, TemporaryError
from .result import SendResult

# Codes the app acts on: mark the number invalid, respect the STOP, fall back to a call.
INVALID_NUMBER = 21211
UNSUBSCRIBED = 21610
NOT_MOBILE = 21614

# Short words for the codes worth recognising; any other code keeps Twilio's own message.
_KNOWN = {
    20003: "authentication failed: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
    20429: "too many requests",
    21210: "the From number is not verified for calls on this account",
    21215: "calls to this country are not enabled (geo permissions)",
    INVALID_NUMBER: "the To number is not a valid phone number",
    21408: "SMS to this region is not enabled (geo permissions)",
    21606: "the From number cannot send SMS",
    21608: "a trial account can only send to verified numbers",
    UNSUBSCRIBED: "the recipient has unsubscribed (replied STOP)",
    21612: "the To number cannot be reached by SMS from the From number",
    NOT_MOBILE: "the To number is not a mobile number (landline?)",
}

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TwilioBackend:
    """`timeout` (seconds per request) is for twilio's own HTTP client; an `http_client`
    passed in (tests point one at a local mock) keeps its own. `ring_timeout` is how long a
    call rings before Twilio gives up."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str, *,
                 http_client=None, timeout: float = 10.0, ring_timeout: int = 30):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.http_client = http_client
        self.timeout = timeout
        self.ring_timeout = ring_timeout
        self._client = None

    @property
    def client(self):
        # Built on first send: twilio.rest takes half a second to import, which every app
        # start (CLI commands, migrations, the tests) would otherwise pay.
        if self._client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            http = self.http_client or TwilioHttpClient(timeout=self.timeout)
            self._client = Client(self.account_sid, self.auth_token, http_client=http)
        return self._client

    def send_sms(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        params = {"to": to, "from_": self.from_number, "body": body}
        if status_callback:
            params["status_callback"] = status_callback
        return self._create(self.client.messages, params)

    def start_call(self, to: str, *, twiml_url: str,
                   status_callback: str | None = None) -> SendResult:
        params = {"to": to, "from_": self.from_number, "url": twiml_url, "method": "POST",
                  "timeout": self.ring_timeout}
        if status_callback:
            params.update(status_callback=status_callback, status_callback_method="POST",
                          status_callback_event=CALL_EVENTS)
        return self._create(self.client.calls, params)

    def delete_recording(self, recording_sid: str) -> None:
        """Delete a recording (and its transcription) at Twilio. One already gone (404) is
        what was wanted, so it is no error: a retry after a lost answer must succeed."""
        try:
            self._request(self.client.recordings(recording_sid).delete,
                          unsure="it may have been deleted")
        except PermanentError as exc:
            if getattr(exc.__cause__, "status", None) != 404:
                raise

    def _create(self, resource, params: dict) -> SendResult:
        created = self._request(lambda: resource.create(**params), unsure="it may have been sent")
        return SendResult(self.name, created.sid, created.status)

    @staticmethod
    def _request(call, *, unsure: str):
        # twilio-python lets requests' own exceptions through untouched (9.13 wraps none).
        from requests import exceptions as http

        try:
            return call()
        except TwilioException as exc:
            raise _sorted(exc) from exc
        except http.ConnectionError as exc:  # before Timeout: ConnectTimeout is both
            raise TemporaryError(f"connection to Twilio failed ({type(exc).__name__})") from exc
        except (http.Timeout, http.ChunkedEncodingError) as exc:
            # The request went out, so Twilio may have acted on it: a retry can do it twice.
            raise TemporaryError(
                f"no complete answer from Twilio ({type(exc).__name__}); {unsure}") from exc


def _sorted(exc: TwilioException) -> TemporaryError | PermanentError:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None) or status
    if status is None:  # raised by the library itself, not by an HTTP answer
        return PermanentError(f"Twilio: {exc}")
    what = _KNOWN.get(code) or _twilio_message(exc)
    error = TemporaryError if status == 429 or status >= 500 else PermanentError
    where = f"HTTP {status}" if code == status else f"{code} (HTTP {status})"
    return error(f"Twilio {where}: {what}", code=code)


def _twilio_message(exc) -> str:
    # TwilioRestException carries msg ("Unable to create record: <Twilio's words>", or
    # "delete" for a deletion);
    # RFC 9457 answers (TwilioServiceException, newer twilio 9.x) carry title and detail.
    text = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "")
    text = re.sub(r"^Unable to \w+ record: ", "", str(text))
    return text or "request refused"
