"""The coordinators' intake inbox (vanringen.intake): calls to the intake line listed,
recordings played through the app from a real (local) HTTP server that wants Twilio's
basic auth, a senior registered from a request, requests closed with a note."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from call_support import at
from conftest import html_text
from sqlmodel import select
from test_seniors import intake as senior_form
from test_seniors import rows
from test_voice_line import BASE, post
from twilio_mock import FAKE_AUTH_TOKEN

from vanringen import intake as inbox
from vanringen.models import IntakeRequest, Senior

SID, TOKEN = "AC" + "0123456789abcdef" * 2, "recording-token-not-a-secret"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 64  # what the browser gets


class FakeTwilio:
    """Serves MP3 for any path ending in .mp3 to the account's basic auth, 401 otherwise;
    remembers every request."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                auth = self.headers.get("Authorization", "")
                owner.requests.append((self.path, auth))
                expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
                if auth != expected:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if not self.path.endswith(".mp3"):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(MP3)))
                self.end_headers()
                self.wfile.write(MP3)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def twilio(app, monkeypatch):
    app.config.update(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN)
    server = FakeTwilio()
    # The local server stands in for api.twilio.com (and speaks plain HTTP).
    monkeypatch.setattr(inbox, "RECORDING_SCHEMES", ("https", "http"))
    monkeypatch.setattr(inbox, "RECORDING_HOSTS", ("twilio.com", "127.0.0.1"))
    yield server
    server.close()


def request_row(session, sid, *, number="+46733334444", choice="friend", when=None,
                recording=None, seconds=None, text="", status="open"):
    row = IntakeRequest(call_sid=sid, from_number=number, choice=choice, status=status,
                        recording_url=recording or "", recording_sid="RE" + sid if recording
                        else None, recording_seconds=seconds, transcription=text,
                        created_at=when or at("2026-12-01 10:00"))
    session.add(row)
    session.commit()
    return row


def test_the_inbox_needs_a_login(client, session, twilio):
    row = request_row(session, "CA1", recording=f"{twilio.url}/Recordings/RE1")
    for path in ("/inkorg/", f"/inkorg/{row.id}/inspelning"):
        response = client.get(path)
        assert response.status_code == 302 and "/logga-in" in response.location
    assert client.post(f"/inkorg/{row.id}/klar", data={"note": "x"}).status_code in (302, 400)
    assert twilio.requests == []
    assert rows(session, IntakeRequest)[0].status == "open"


def test_open_requests_newest_first_with_number_time_choice_and_text(logged_in, session,
                                                                     twilio):
    request_row(session, "CA1", when=at("2026-11-28 09:15"), choice="message",
                number="+46855512345", text="Det gäller min mamma.")
    request_row(session, "CA2", when=at("2026-12-01 16:05"), seconds=42,
                recording=f"{twilio.url}/Recordings/RE2",
                text="Hej, jag heter Ingrid och bor i Farsta.")
    request_row(session, "CA3", number="+46700000003", status="done")
    page = html_text(logged_in.get("/inkorg/"))
    assert page.index("073-333 44 44") < page.index("08-555 123 45")  # newest first
    assert "070-000 00 03" not in page
    assert "Vill ha en telefonvän" in page and "Meddelande till samordnare" in page
    assert "2026-12-01 16:05 · 42 sekunder" in page  # local time (15:05 UTC)
    assert "2026-11-28 09:15" in page
    assert "Hej, jag heter Ingrid och bor i Farsta." in page
    row = rows(session, IntakeRequest, IntakeRequest.call_sid == "CA2")[0]
    assert f'src="/inkorg/{row.id}/inspelning"' in page
    assert twilio.url not in page and "Recordings" not in page  # never Twilio's address
    assert "Ingen inspelning." in page  # CA1 has none
    assert "Inkorg <span class=\"count\">(2)</span>" in page


def test_the_recording_is_fetched_with_the_account_credentials(logged_in, session, twilio):
    row = request_row(session, "CA1", recording=f"{twilio.url}/2010-04-01/Accounts/{SID}"
                      f"/Recordings/RE1")
    response = logged_in.get(f"/inkorg/{row.id}/inspelning")
    assert response.status_code == 200 and response.mimetype == "audio/mpeg"
    assert response.get_data() == MP3
    assert response.headers["Cache-Control"] == "private, no-store"
    ((path, auth),) = twilio.requests
    assert path == f"/2010-04-01/Accounts/{SID}/Recordings/RE1.mp3"
    assert auth.startswith("Basic ")


def test_wrong_credentials_are_a_bad_gateway(app, logged_in, session, twilio):
    app.config["TWILIO_AUTH_TOKEN"] = "not-the-token"
    row = request_row(session, "CA1", recording=f"{twilio.url}/Recordings/RE1")
    assert logged_in.get(f"/inkorg/{row.id}/inspelning").status_code == 502
    assert len(twilio.requests) == 1


def test_no_recording_is_not_found(logged_in, session):
    row = request_row(session, "CA1")
    assert logged_in.get(f"/inkorg/{row.id}/inspelning").status_code == 404
    assert logged_in.get("/inkorg/999/inspelning").status_code == 404


def test_credentials_go_to_twilio_only(logged_in, session, twilio, monkeypatch):
    monkeypatch.setattr(inbox, "RECORDING_SCHEMES", ("https",))
    monkeypatch.setattr(inbox, "RECORDING_HOSTS", ("twilio.com",))
    row = request_row(session, "CA1", recording=f"{twilio.url}/Recordings/RE1")
    assert logged_in.get(f"/inkorg/{row.id}/inspelning").status_code == 404
    assert twilio.requests == []


@pytest.mark.parametrize(("url", "fetched"), [
    ("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
     "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1.mp3"),
    ("https://api.dublin.ie1.twilio.com/2010-04-01/Recordings/RE1.mp3",
     "https://api.dublin.ie1.twilio.com/2010-04-01/Recordings/RE1.mp3"),
    ("http://api.twilio.com/Recordings/RE1", None),
    ("https://api.twilio.com.example.org/Recordings/RE1", None),
    ("https://eviltwilio.com/Recordings/RE1", None),
    ("", None),
])
def test_which_recording_addresses_are_trusted(url, fetched):
    assert inbox.recording_address(url) == fetched


def test_registering_the_senior_from_a_request_closes_it(logged_in, session, coordinator):
    row = request_row(session, "CA1")
    other = request_row(session, "CA2", number="+46855512345")
    link = "/seniorer/ny?" + urlencode({"telefon": "073-333 44 44", "inkorg": row.id})
    assert f'href="{link.replace("&", "&amp;")}"' in \
        logged_in.get("/inkorg/").get_data(as_text=True)
    form = html_text(logged_in.get(link))
    assert 'value="073-333 44 44"' in form

    response = logged_in.submit(link, senior_form(phone="073-333 44 44", first_name="Ingrid"))
    assert response.status_code == 302, html_text(response)
    (senior,) = rows(session, Senior)
    assert (senior.first_name, senior.phone) == ("Ingrid", "+46733334444")
    done = rows(session, IntakeRequest, IntakeRequest.id == row.id)[0]
    assert (done.status, done.senior_id, done.handled_by_id) == ("done", senior.id,
                                                                  coordinator.id)
    assert done.handled_at is not None
    assert rows(session, IntakeRequest, IntakeRequest.id == other.id)[0].status == "open"
    page = html_text(logged_in.get("/inkorg/"))
    assert "073-333 44 44" not in page and "08-555 123 45" in page
    assert "Ingrid Lind" in html_text(logged_in.get("/inkorg/?visa=klara"))


def test_a_form_that_does_not_save_leaves_the_request_open(logged_in, session):
    row = request_row(session, "CA1")
    link = "/seniorer/ny?" + urlencode({"telefon": "073-333 44 44", "inkorg": row.id})
    response = logged_in.submit(link, senior_form(phone="073-333 44 44", first_name=""))
    assert response.status_code == 422
    assert rows(session, Senior) == []
    assert rows(session, IntakeRequest)[0].status == "open"


def test_a_request_is_closed_with_a_note(logged_in, session, coordinator):
    row = request_row(session, "CA1", choice="message")
    response = logged_in.submit(f"/inkorg/{row.id}/klar", {"note": "Ringde upp, ville ha "
                                                           "adress till träffpunkten."},
                                form_path="/inkorg/")
    assert response.status_code == 302
    done = rows(session, IntakeRequest)[0]
    assert (done.status, done.note, done.handled_by_id, done.senior_id) == (
        "done", "Ringde upp, ville ha adress till träffpunkten.", coordinator.id, None)
    assert "Inga samtal att ringa upp just nu." in html_text(logged_in.get("/inkorg/"))
    closed = html_text(logged_in.get("/inkorg/?visa=klara"))
    assert "Ringde upp, ville ha adress till träffpunkten." in closed
    assert "Karin Koordinator" in closed
    assert 'class="count"' not in html_text(logged_in.get("/inkorg/")).split("Inkorg")[1][:40]


def test_an_intake_line_call_reaches_the_inbox(app, logged_in, session):
    """The voice webhooks (tests/test_voice_line.py) and the inbox meet on one row."""
    app.config.update(TWILIO_AUTH_TOKEN=FAKE_AUTH_TOKEN)
    params = {"CallSid": "CA9", "From": "+46733334444", "Digits": "1"}
    assert post(logged_in, f"{BASE}/twilio/voice/intag/val", params).status_code == 200
    post(logged_in, f"{BASE}/twilio/voice/intag/text",
         {"CallSid": "CA9", "TranscriptionText": "Jag heter Ingrid."})
    page = html_text(logged_in.get("/inkorg/"))
    assert "Vill ha en telefonvän: 073-333 44 44" in page and "Jag heter Ingrid." in page
    assert session.exec(select(IntakeRequest)).one().transcription == "Jag heter Ingrid."
