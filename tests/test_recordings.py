"""Deleting an intake recording (vanringen.recordings): at the provider first, then the
address, length and transcription here; the sid kept so a second run does nothing."""

import pytest
from call_support import at
from conftest import html_text
from sqlmodel import select
from twilio_mock import FAKE_ACCOUNT_SID

from notifications import OutboxBackend, TemporaryError
from vanringen.models import IntakeRequest
from vanringen.recordings import delete_intake_recording, has_recording

NOW = at("2027-03-01 03:30")
SID = "RE" + "0123456789abcdef" * 2
URL = f"https://api.twilio.com/2010-04-01/Accounts/{FAKE_ACCOUNT_SID}/Recordings/{SID}"


class Spy(OutboxBackend):
    """The outbox, remembering which recordings it was asked to delete."""

    def __init__(self, fail: Exception | None = None):
        self.deleted: list[str] = []
        self.fail = fail

    def delete_recording(self, recording_sid: str) -> None:
        if self.fail:
            raise self.fail
        self.deleted.append(recording_sid)


def intake_row(session, *, sid=SID, url=URL, seconds=37, text="Hej, jag heter Ingrid.",
               call="CA1", **kw) -> IntakeRequest:
    kw.setdefault("created_at", at("2026-12-01 10:00"))
    row = IntakeRequest(call_sid=call, from_number="+46733334444", choice="friend",
                        recording_sid=sid, recording_url=url, recording_seconds=seconds,
                        transcription=text, **kw)
    session.add(row)
    session.commit()
    return row


def reloaded(session, row) -> IntakeRequest:
    session.expire_all()
    return session.exec(select(IntakeRequest).where(IntakeRequest.id == row.id)).one()


def test_deletes_at_the_provider_then_here_keeping_the_sid(session):
    row = intake_row(session)
    spy = Spy()
    assert delete_intake_recording(row, sender=spy, now=NOW) is True
    session.commit()
    assert spy.deleted == [SID]
    row = reloaded(session, row)
    assert (row.recording_sid, row.recording_url, row.recording_seconds, row.transcription) \
        == (SID, "", None, "")
    assert row.recording_deleted_at == NOW
    assert row.from_number == "+46733334444" and row.status == "open"  # the rest stays
    assert not has_recording(row)


def test_a_second_deletion_does_nothing(session):
    row = intake_row(session)
    spy = Spy()
    delete_intake_recording(row, sender=spy, now=NOW)
    session.commit()
    later = at("2027-03-02 03:30")
    assert delete_intake_recording(reloaded(session, row), sender=spy, now=later) is False
    assert spy.deleted == [SID]
    assert reloaded(session, row).recording_deleted_at == NOW


def test_a_request_without_a_recording_is_left_alone(session):
    row = intake_row(session, sid=None, url="", seconds=None, text="")
    spy = Spy()
    assert delete_intake_recording(row, sender=spy, now=NOW) is False
    assert spy.deleted == [] and row.recording_deleted_at is None


def test_the_sid_is_read_from_the_address_when_it_was_never_stored(session):
    row = intake_row(session, sid=None, url=f"{URL}.mp3")
    spy = Spy()
    assert delete_intake_recording(row, sender=spy, now=NOW) is True
    assert spy.deleted == [SID] and row.recording_sid == SID and row.recording_url == ""


def test_a_transcription_without_any_recording_is_still_cleared(session):
    row = intake_row(session, sid=None, url="", seconds=None)
    spy = Spy()
    assert delete_intake_recording(row, sender=spy, now=NOW) is True
    assert spy.deleted == [] and row.transcription == "" and row.recording_deleted_at == NOW


def test_a_provider_failure_changes_nothing_here(session):
    row = intake_row(session)
    with pytest.raises(TemporaryError):
        delete_intake_recording(row, sender=Spy(TemporaryError("Twilio HTTP 503")), now=NOW)
    assert row.recording_url == URL and row.transcription and row.recording_deleted_at is None


def test_without_a_sender_the_apps_own_is_used(app, session):
    row = intake_row(session)
    spy = Spy()
    app.extensions["vanringen.notifier"] = spy
    with app.app_context():
        assert delete_intake_recording(row) is True
    assert spy.deleted == [SID] and row.recording_deleted_at is not None


def test_the_real_twilio_client_deletes_it(session, twilio_backend, twilio_http):
    row = intake_row(session)
    assert delete_intake_recording(row, sender=twilio_backend, now=NOW) is True
    method, url, _ = twilio_http.last_sent
    assert method == "DELETE"
    assert url.endswith(f"/Accounts/{FAKE_ACCOUNT_SID}/Recordings/{SID}.json")


def test_the_inbox_says_the_recording_is_deleted(logged_in, session):
    other = "RE" + "1" * 32
    kept = intake_row(session, call="CA1", sid=other, url=URL.replace(SID, other))
    gone = intake_row(session, call="CA2")
    delete_intake_recording(gone, sender=Spy(), now=NOW)
    session.commit()
    page = html_text(logged_in.get("/inkorg/"))
    assert page.count("Inspelningen är raderad.") == 1
    assert f'src="/inkorg/{kept.id}/inspelning"' in page
    assert f'src="/inkorg/{gone.id}/inspelning"' not in page
    assert "Hej, jag heter Ingrid." in page  # the kept one's transcription only
    assert page.count("Hej, jag heter Ingrid.") == 1
    assert logged_in.get(f"/inkorg/{gone.id}/inspelning").status_code == 404
