"""The Twilio sender with the real twilio-python client: requests checked by Prism against
Twilio's OpenAPI spec, and Twilio's failures (crafted answers, dead sockets) sorted into
try-again and give-up."""

import json
import re
import socket

import pytest
import requests
from conftest import need_tool
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio_mock import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    ROOT,
    MockTwilioHttpClient,
    signed_webhook,
)

from notifications import (
    INVALID_NUMBER,
    NOT_MOBILE,
    UNSUBSCRIBED,
    VOICES,
    PermanentError,
    TemporaryError,
    TwilioBackend,
    get_backend,
)

TO = "+46701234567"
FROM = "+46766861004"


class CannedHttpClient(HttpClient):
    """Gives one prepared answer to every request, and keeps the requests."""

    def __init__(self, status: int = 201, body="{}"):
        super().__init__(logger=None, is_async=False)
        self.response = Response(status, body if isinstance(body, str) else json.dumps(body))
        self.requests = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append((method, url, data))
        return self.response


def backend_with(http) -> TwilioBackend:
    return TwilioBackend(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FROM, http_client=http)


def twilio_error(status: int, code: int, message: str = "refused") -> dict:
    """An error body the way Twilio's REST API writes it."""
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


# Against Prism

def test_sms_reaches_twilio_as_the_spec_wants(twilio_backend, twilio_http):
    result = twilio_backend.send_sms(TO, "Hej Greta! Påminnelse: Jonas ringer i dag kl 14.",
                                     status_callback="https://vanringen.example/twilio/sms")
    method, url, _ = twilio_http.last_sent
    assert method == "POST"
    assert url.endswith(f"/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Messages.json")
    assert twilio_http.last_form() == {
        "To": [TO], "From": [FROM], "Body": ["Hej Greta! Påminnelse: Jonas ringer i dag kl 14."],
        "StatusCallback": ["https://vanringen.example/twilio/sms"],
    }
    # Prism answers with the spec's example, whatever was sent.
    assert result.provider == "twilio"
    assert result.provider_id.startswith("SM") and result.status == "queued"


def test_sms_without_callback_sends_no_callback_field(twilio_backend, twilio_http):
    twilio_backend.send_sms(TO, "Hej")
    assert "StatusCallback" not in twilio_http.last_form()


def test_call_fetches_its_twiml_by_post_and_reports_every_stage(twilio_http):
    backend = TwilioBackend(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FROM, http_client=twilio_http,
                            ring_timeout=25)
    result = backend.start_call(TO, twiml_url="https://vanringen.example/twilio/call/7",
                                status_callback="https://vanringen.example/twilio/status")
    assert twilio_http.last_sent[1].endswith(f"/Accounts/{FAKE_ACCOUNT_SID}/Calls.json")
    assert twilio_http.last_form() == {
        "To": [TO], "From": [FROM], "Url": ["https://vanringen.example/twilio/call/7"],
        "Method": ["POST"], "Timeout": ["25"],
        "StatusCallback": ["https://vanringen.example/twilio/status"],
        "StatusCallbackMethod": ["POST"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
    }
    assert result.provider == "twilio" and result.provider_id.startswith("CA")


def test_call_without_callback_rings_thirty_seconds(twilio_backend, twilio_http):
    twilio_backend.start_call(TO, twiml_url="https://vanringen.example/twilio/call/7")
    form = twilio_http.last_form()
    assert form["Timeout"] == ["30"]
    assert not {"StatusCallback", "StatusCallbackMethod", "StatusCallbackEvent"} & set(form)


def test_request_prism_refuses_is_permanent(twilio_backend, twilio_http):
    with pytest.raises(PermanentError) as caught:
        twilio_backend.start_call(TO, twiml_url="inte en adress")
    # Prism's 422 carries no Twilio code, so the code is the HTTP status.
    assert caught.value.code == 422
    assert [v["location"] for v in twilio_http.last_json()["validation"]] == [["body", "Url"]]


RECORDING = "RE" + "0123456789abcdef" * 2


def test_recording_is_deleted_as_the_spec_wants(twilio_backend, twilio_http):
    assert twilio_backend.delete_recording(RECORDING) is None
    method, url, body = twilio_http.last_sent
    assert method == "DELETE" and body == ""
    assert url.endswith(f"/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Recordings/{RECORDING}.json")


def test_deleting_a_recording_prism_refuses_is_permanent(twilio_backend, twilio_http):
    with pytest.raises(PermanentError) as caught:
        twilio_backend.delete_recording("RE1")  # not a recording sid
    assert caught.value.code == 422
    assert twilio_http.last_sent[1].endswith("/Recordings/RE1.json")


@pytest.mark.parametrize("body", [twilio_error(404, 20404, "The requested resource was not found"),
                                  "<html>Not Found</html>"])
def test_a_recording_already_gone_counts_as_deleted(body):
    http = CannedHttpClient(404, body)
    assert backend_with(http).delete_recording(RECORDING) is None
    ((method, url, _),) = http.requests
    assert method == "DELETE" and url.endswith(f"/Recordings/{RECORDING}.json")


@pytest.mark.parametrize(("status", "code", "error"), [
    (401, 20003, PermanentError),
    (403, 20403, PermanentError),
    (429, 20429, TemporaryError),
    (500, 20500, TemporaryError),
])
def test_deletion_errors_are_sorted_like_send_errors(status, code, error):
    backend = backend_with(CannedHttpClient(status, twilio_error(status, code, "No access")))
    with pytest.raises(error) as caught:
        backend.delete_recording(RECORDING)
    assert type(caught.value) is error and caught.value.code == code
    assert "Unable to" not in str(caught.value)


def test_deletion_without_an_answer_is_temporary():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        http = MockTwilioHttpClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2)
        with pytest.raises(TemporaryError, match="may have been deleted"):
            backend_with(http).delete_recording(RECORDING)
        http.session.close()


# Twilio's failures, crafted

@pytest.mark.parametrize(("status", "code", "error"), [
    (400, INVALID_NUMBER, PermanentError),
    (400, UNSUBSCRIBED, PermanentError),
    (400, NOT_MOBILE, PermanentError),
    (400, 21612, PermanentError),
    (400, 21408, PermanentError),
    (401, 20003, PermanentError),
    (429, 20429, TemporaryError),
    (500, 20500, TemporaryError),
    (503, 20503, TemporaryError),
])
def test_twilio_errors_say_whether_to_retry(status, code, error):
    backend = backend_with(CannedHttpClient(status, twilio_error(status, code)))
    with pytest.raises(error) as caught:
        backend.send_sms(TO, "Hej")
    assert type(caught.value) is error and caught.value.code == code
    assert str(code) in str(caught.value) and len(str(caught.value)) < 100


def test_known_codes_are_explained_in_a_few_words():
    backend = backend_with(CannedHttpClient(400, twilio_error(400, UNSUBSCRIBED)))
    with pytest.raises(PermanentError, match="unsubscribed"):
        backend.send_sms(TO, "Hej")


def test_unknown_code_keeps_twilios_words():
    body = twilio_error(400, 21602, "Message body is required.")
    with pytest.raises(PermanentError) as caught:
        backend_with(CannedHttpClient(400, body)).send_sms(TO, "")
    assert str(caught.value) == "Twilio 21602 (HTTP 400): Message body is required."


def test_calls_are_sorted_the_same_way():
    backend = backend_with(CannedHttpClient(400, twilio_error(400, INVALID_NUMBER)))
    with pytest.raises(PermanentError) as caught:
        backend.start_call(TO, twiml_url="https://vanringen.example/twilio/call/7")
    assert caught.value.code == INVALID_NUMBER


@pytest.mark.parametrize(("status", "error"), [(502, TemporaryError), (404, PermanentError)])
def test_an_answer_without_a_code_falls_back_to_the_http_status(status, error):
    # A proxy's HTML page, say: twilio-python cannot read a code from it.
    backend = backend_with(CannedHttpClient(status, "<html>Bad Gateway</html>"))
    with pytest.raises(error) as caught:
        backend.send_sms(TO, "Hej")
    assert caught.value.code == status


def test_problem_details_answers_are_sorted_too():
    # twilio 9.13 turns an RFC 9457 body into TwilioServiceException, not TwilioRestException.
    body = {"type": "https://www.twilio.com/docs/errors/20429", "title": "Too Many Requests",
            "status": 429, "code": 20429, "detail": "Slow down"}
    with pytest.raises(TemporaryError) as caught:
        backend_with(CannedHttpClient(429, body)).send_sms(TO, "Hej")
    assert caught.value.code == 20429
    assert type(caught.value.__cause__).__name__ == "TwilioServiceException"


def test_unreachable_twilio_is_temporary():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    http = MockTwilioHttpClient(f"http://127.0.0.1:{closed}")
    with pytest.raises(TemporaryError, match="connection to Twilio failed") as caught:
        backend_with(http).send_sms(TO, "Hej")
    http.session.close()
    assert isinstance(caught.value.__cause__, requests.exceptions.ConnectionError)
    assert caught.value.code is None


def test_silent_twilio_is_temporary_and_may_have_sent():
    # The kernel accepts the connection into the backlog; nothing ever answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        http = MockTwilioHttpClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.2)
        with pytest.raises(TemporaryError, match="may have been sent") as caught:
            backend_with(http).send_sms(TO, "Hej")
        http.session.close()
    # twilio-python passes requests' exception through: ReadTimeout, not a Twilio error.
    assert isinstance(caught.value.__cause__, requests.exceptions.ReadTimeout)


# Construction

def test_nothing_is_built_or_sent_before_the_first_message():
    http = CannedHttpClient()
    backend = TwilioBackend("bogus", "bogus", "not a number", http_client=http)
    assert backend._client is None and http.requests == []


def test_get_backend_builds_twilio_from_settings():
    http = CannedHttpClient(201, {"sid": "SM" + "1" * 32, "status": "accepted"})
    backend = get_backend("twilio", account_sid=FAKE_ACCOUNT_SID, auth_token=FAKE_AUTH_TOKEN,
                          from_number=FROM, http_client=http)
    assert http.requests == []
    assert backend.send_sms(TO, "Hej").provider_id == "SM" + "1" * 32
    assert len(http.requests) == 1


def test_get_backend_names_missing_twilio_settings():
    with pytest.raises(ValueError, match="TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER"):
        get_backend("twilio", account_sid=FAKE_ACCOUNT_SID, auth_token=None)


# Twilio's own definitions

def test_every_voice_is_one_twilio_accepts():
    # twilio-node (installed with @twilio/cli-core) types <Say>'s attributes from Twilio's
    # list; a voice or language outside it makes the <Say> fail on a real call.
    typings = ROOT / "node_modules/twilio/lib/twiml/VoiceResponse.d.ts"
    if not typings.exists():
        need_tool("twilio-node's typings: `make test` installs them with npm")
    text = typings.read_text()

    def union(name):
        return set(re.findall(r'"([^"]+)"', re.search(rf"type {name} = ([^;]+);", text)[1]))

    voices, languages = union("SayVoice"), union("SayLanguage")
    assert {v for _, v in VOICES.values()} <= voices
    assert {lang for lang, _ in VOICES.values()} <= languages


# Webhooks

def test_signed_webhook_matches_twilios_published_example():
    # From Twilio's "Webhooks security" documentation.
    _, headers = signed_webhook("https://mycompany.com/myapp.php?foo=1&bar=2", {
        "CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
        "From": "+14158675309", "To": "+18005551212"}, "12345")
    assert headers["X-Twilio-Signature"] == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signed_webhook_validates():
    url = "https://vanringen.example/twilio/gather/7"
    body, headers = signed_webhook(url, {"Digits": "1", "CallSid": "CA" + "a" * 32})
    assert body == f"Digits=1&CallSid=CA{'a' * 32}".encode()
    assert RequestValidator(FAKE_AUTH_TOKEN).validate(
        url, {"Digits": "1", "CallSid": "CA" + "a" * 32}, headers["X-Twilio-Signature"])
