"""Twilio's REST API on 127.0.0.1: Stoplight Prism serving Twilio's own OpenAPI document.

Prism checks every request against the spec (422 with the reasons when it breaks it) and
answers with the spec's examples. Both come from npm (package.json, installed by `make test`);
the fixtures in conftest.py start Prism once per session.

What Prism does not check: Twilio's own formats (phone numbers, TwiML), rules between fields
(a call needs Url or Twiml) and misspelt field names, which it drops. It keeps no state, so
every created message has the example's sid and status, and it never calls a callback:
signed_webhook() plays Twilio's side of those.
"""

import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

ROOT = pathlib.Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "node_modules/@twilio/cli-core/src/services/twilio-api/twilio_api_v2010.json"
PRISM_NODE = (18, 20, 1)  # Prism 5.14.2's "engines"; 5.15 needs Node 24

# Prism enforces ^AC[0-9a-fA-F]{32}$ on the account in every path.
FAKE_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FAKE_AUTH_TOKEN = "test-auth-token-not-a-secret"

# Without a proxy handler urllib would send even 127.0.0.1 through HTTP_PROXY.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def patched_spec(source: pathlib.Path, target: pathlib.Path) -> None:
    """Write the spec as Prism must see it to judge twilio-python's requests fairly."""
    spec = json.loads(source.read_text())
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            form = (body or {}).get("content", {}).get("application/x-www-form-urlencoded")
            if not form:
                continue
            schema = form.get("schema", {})
            # twilio-python sends lists as repeated keys (StatusCallbackEvent=a&...=b); Prism
            # reads them as an array only when the encoding says so, else "must be array".
            encoding = form.setdefault("encoding", {})
            for name, prop in schema.get("properties", {}).items():
                if prop.get("type") == "array":
                    encoding.setdefault(name, {"style": "form", "explode": True,
                                               "allowReserved": True})
            # Otherwise an empty POST skips validation and gets 201 despite required fields.
            if schema.get("required"):
                body.setdefault("required", True)
    target.write_text(json.dumps(spec))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prism(tmp_dir, *, prism=PRISM, spec=SPEC, timeout: float = 60.0):
    """Start Prism on a free loopback port; (base_url, process) once it answers."""
    tmp_dir = pathlib.Path(tmp_dir)
    served = tmp_dir / "twilio_api_v2010.json"
    patched_spec(pathlib.Path(spec), served)
    port = _free_port()
    log_path = tmp_dir / "prism.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(served)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_dir,
            env={**os.environ, "SCARF_ANALYTICS": "false"})
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _answers(base_url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_prism(process)
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"Prism did not start on {base_url} (log {log_path}):\n{tail}")
        time.sleep(0.2)
    return base_url, process


def _answers(base_url: str) -> bool:
    try:
        _direct.open(f"{base_url}/2010-04-01/Accounts.json", timeout=1)
    except urllib.error.HTTPError:
        return True  # 401 without credentials: it is up
    except OSError:
        return False
    return True


def stop_prism(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class MockTwilioHttpClient(TwilioHttpClient):
    """twilio-python's own HTTP client, sending api.twilio.com's requests to `base_url`.

    twilio-python has no base-URL setting (TWILIO_EDGE/REGION only change the host name), but
    every request passes through HttpClient.request with its full URL.
    """

    def __init__(self, base_url: str, **kwargs):
        super().__init__(request_hooks={"response": [self._record]}, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.last_sent: tuple[str, str, str] | None = None  # method, URL, form body
        self.session.trust_env = False  # no HTTP(S)_PROXY or .netrc between us and Prism

    def request(self, method, url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        # TWILIO_EDGE/TWILIO_REGION make it api.<edge>.<region>.twilio.com, the same API.
        # Other products have other specs; refusing them keeps the tests off the network.
        if not (host.startswith("api.") and host.endswith(".twilio.com")):
            raise RuntimeError(f"the Twilio mock serves api.twilio.com only, not {url}")
        local = f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return super().request(method, local, *args, **kwargs)

    def _record(self, response, *args, **kwargs):
        body = response.request.body or ""
        body = body.decode() if isinstance(body, bytes) else body
        self.last_sent = (response.request.method, response.request.url, body)

    def last_form(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.last_sent[2], keep_blank_values=True)

    def last_json(self):
        response = self._test_only_last_response
        return json.loads(response.text) if response is not None and response.text else None


def signed_webhook(url: str, params, auth_token: str = FAKE_AUTH_TOKEN):
    """(form body, headers) for a POST to `url` signed the way Twilio signs its webhooks.

    `url` must be the one the app rebuilds from the request (scheme, host, port, query), and
    `params` a dict or a list of pairs (repeated keys allowed).
    """
    pairs = list(params.items()) if hasattr(params, "items") else list(params)
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)

    class MultiDict(dict):  # compute_signature reads repeated keys through getlist()
        def getlist(self, key):
            return values[key]

    signature = RequestValidator(auth_token).compute_signature(
        url, MultiDict({key: vs[0] for key, vs in values.items()}))
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": signature}
    return urllib.parse.urlencode(pairs).encode(), headers
