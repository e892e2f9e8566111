"""The erasure and consent-withdrawal pages and `vanringen gdpr erase`
(vanringen/erasure_views.py), as a coordinator would use them."""

from datetime import UTC, datetime, time, timedelta

import pytest
from call_support import TZ
from conftest import html_text
from sqlmodel import select
from test_erasure import (
    RECORDING_SID,
    SENIOR,
    VOLUNTEER,
    SpySender,
    assert_gone,
    seed_everything,
)
from test_matches import stockholm_today

from notifications import TemporaryError
from vanringen.models import (
    AuditEvent,
    Consent,
    Message,
    Pair,
    ScheduledCall,
    Senior,
    Volunteer,
)

KINDS = {"senior": ("/seniorer", Senior, SENIOR, "senior_id"),
         "volunteer": ("/volontarer", Volunteer, VOLUNTEER, "volunteer_id")}


@pytest.fixture
def seeded(app, session, coordinator):
    with app.test_request_context():
        return seed_everything(session, coordinator.id)


@pytest.fixture
def spy(app):
    """The app's sender, keeping the recordings it was asked to delete."""
    sender = SpySender()
    app.extensions["vanringen.notifier"] = sender
    return sender


def person_of(kind, seeded):
    return seeded[0] if kind == "senior" else seeded[1]


@pytest.mark.parametrize("kind", KINDS)
def test_after_erasure_nothing_anywhere_names_them(kind, session, seeded, logged_in, spy):
    """THE erasure test: the person is written into every table, their pages are looked at
    (the access log), they are erased through the page; then every value of every row of
    every table is read and none holds their name, number, e-mail or old id."""
    prefix, model, traits, _key = KINDS[kind]
    person = person_of(kind, seeded)
    assert logged_in.get(f"{prefix}/{person.id}").status_code == 200
    page = html_text(logged_in.get(f"{prefix}/{person.id}/radera"))
    assert "går inte att ångra" in page and "statistiken" in page
    response = logged_in.submit(f"{prefix}/{person.id}/radera",
                                {"reason": "request", "confirm": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{prefix}/{person.id}")
    assert spy.deleted == ([RECORDING_SID] if kind == "senior" else [])

    session.expire_all()
    assert_gone(session, traits)
    assert session.get(model, person.id).erased_at is not None
    views = session.exec(select(AuditEvent).where(
        getattr(AuditEvent, KINDS[kind][3]) == person.id, AuditEvent.action == "view")).all()
    assert views, "the access log saw the pages"
    page = html_text(logged_in.get(f"{prefix}/{person.id}"))
    assert "Uppgifterna raderades" in page and "Uppgifterna är raderade." in page
    assert "/radera" not in page and "/aterkalla-samtycke" not in page


@pytest.mark.parametrize("kind", KINDS)
def test_the_detail_page_links_to_both(kind, seeded, logged_in):
    prefix = KINDS[kind][0]
    person = person_of(kind, seeded)
    page = html_text(logged_in.get(f"{prefix}/{person.id}"))
    assert f'href="{prefix}/{person.id}/radera"' in page
    assert f'href="{prefix}/{person.id}/aterkalla-samtycke"' in page
    assert "Uppgifterna raderades" not in page


def test_without_the_tick_nothing_is_erased(session, seeded, logged_in, spy):
    senior = seeded[0]
    response = logged_in.submit(f"/seniorer/{senior.id}/radera", {"reason": "request"})
    assert response.status_code == 422
    assert "Bekräfta att uppgifterna ska raderas." in html_text(response)
    session.expire_all()
    assert session.get(Senior, senior.id).full_name == "Gunborg Qvarnström"
    assert spy.deleted == []


def test_a_provider_error_erases_nothing(app, session, seeded, logged_in):
    app.extensions["vanringen.notifier"] = SpySender(fail=TemporaryError("timeout"))
    senior = seeded[0]
    response = logged_in.submit(f"/seniorer/{senior.id}/radera",
                                {"reason": "request", "confirm": "y"})
    assert response.status_code == 503
    assert "kunde inte raderas hos Twilio" in html_text(response)
    session.expire_all()
    assert session.get(Senior, senior.id).erased_at is None
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "erase")).all() == []


def test_an_erased_persons_pages_send_back(session, seeded, logged_in, spy):
    volunteer = seeded[1]
    logged_in.submit(f"/volontarer/{volunteer.id}/radera",
                     {"reason": "consent_withdrawn", "confirm": "y"})
    for path in ("radera", "aterkalla-samtycke"):
        response = logged_in.get(f"/volontarer/{volunteer.id}/{path}")
        assert response.status_code == 302
    again = logged_in.submit(f"/volontarer/{volunteer.id}/radera",
                             {"reason": "request", "confirm": "y"},
                             form_path=f"/volontarer/{volunteer.id}")
    assert again.status_code == 302
    session.expire_all()
    erased = session.exec(select(AuditEvent.detail).where(AuditEvent.action == "erase")).all()
    assert erased == ["consent_withdrawn"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_erased_person_cannot_be_edited_or_brought_back(kind, session, seeded, logged_in,
                                                         spy):
    prefix = KINDS[kind][0]
    person = person_of(kind, seeded)
    logged_in.submit(f"{prefix}/{person.id}/radera", {"reason": "request", "confirm": "y"})
    page = html_text(logged_in.get(f"{prefix}/{person.id}"))
    assert f"{prefix}/{person.id}/andra" not in page and "/status" not in page
    assert logged_in.get(f"{prefix}/{person.id}/andra").status_code == 409
    status_path = "status" if kind == "senior" else "status/reopen"
    response = logged_in.submit(f"{prefix}/{person.id}/{status_path}",
                                {"status": "waiting", "reason": "x"},
                                form_path=f"{prefix}/{person.id}")
    assert response.status_code == 409
    assert "Uppgifterna är raderade" in html_text(response)
    session.expire_all()
    assert session.get(KINDS[kind][1], person.id).first_name == "Raderad"


@pytest.mark.parametrize("kind", KINDS)
def test_withdrawing_consent_ends_everything_and_erases(kind, session, seeded, logged_in,
                                                       coordinator, spy):
    prefix, model, traits, key = KINDS[kind]
    person, pair = person_of(kind, seeded), seeded[2]
    page = html_text(logged_in.get(f"{prefix}/{person.id}/aterkalla-samtycke"))
    assert "raderas personens uppgifter direkt" in page
    day = stockholm_today() - timedelta(days=3)  # a letter read a few days late
    response = logged_in.submit(f"{prefix}/{person.id}/aterkalla-samtycke",
                                {"method": "verbal", "withdrawn_on": day.isoformat(),
                                 "confirm": "y"})
    assert response.status_code == 302
    session.expire_all()
    pair = session.get(Pair, pair.id)
    assert pair.status == "ended" and pair.ended_at is not None
    assert session.exec(select(ScheduledCall).where(ScheduledCall.pair_id == pair.id,
                                                    ScheduledCall.status == "planned",
                                                    ScheduledCall.scheduled_at > pair.ended_at)
                        ).all() == []
    assert session.exec(select(Message).where(getattr(Message, key) == person.id,
                                              Message.status.in_(("pending", "claimed")))
                        ).all() == []
    consent = session.exec(select(Consent).where(getattr(Consent, key) == person.id)).one()
    assert (consent.withdrawn_method, consent.withdrawn_by_id) == ("verbal", coordinator.id)
    assert consent.withdrawn_at == datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)
    assert session.get(model, person.id).first_name == "Raderad"
    rows = session.exec(select(AuditEvent.action, AuditEvent.detail, AuditEvent.actor_id)
                        .where(getattr(AuditEvent, key) == person.id,
                               AuditEvent.action.in_(("consent_withdrawn", "erase")))
                        .order_by(AuditEvent.id)).all()
    assert rows == [("consent_withdrawn", "method=verbal consents=1", coordinator.id),
                    ("erase", "consent_withdrawn", coordinator.id)]
    assert_gone(session, traits)


def test_a_withdrawal_in_the_future_is_refused(session, seeded, logged_in, spy):
    senior = seeded[0]
    response = logged_in.submit(f"/seniorer/{senior.id}/aterkalla-samtycke",
                                {"method": "sms", "withdrawn_on": "2999-01-01", "confirm": "y"})
    assert response.status_code == 422
    assert "Datumet kan inte ligga i framtiden." in html_text(response)
    session.expire_all()
    assert session.get(Senior, senior.id).erased_at is None


# ---------------------------------------------------------------- vanringen gdpr erase

def test_cli_erases_with_yes(session, seeded, runner, spy):
    result = runner.invoke(args=["gdpr", "erase", "--volunteer", VOLUNTEER["external_id"],
                                 "--yes"])
    assert result.exit_code == 0, result.output
    assert "Raderade uppgifterna om volontären" in result.output
    assert "1 par avslutade" in result.output
    session.expire_all()
    assert_gone(session, VOLUNTEER)
    erase = session.exec(select(AuditEvent).where(AuditEvent.action == "erase")).one()
    assert (erase.endpoint, erase.detail) == ("cli", "request")


def test_cli_finds_people_without_an_external_id_by_their_number(session, seeded, runner,
                                                                   logged_in, spy):
    senior = seeded[0]
    assert f"#{senior.id}" in html_text(logged_in.get(f"/seniorer/{senior.id}"))
    result = runner.invoke(args=["gdpr", "erase", "--senior", f"#{senior.id}", "--yes"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(Senior, senior.id).erased_at is not None


def test_cli_asks_first(session, seeded, runner, spy):
    senior = seeded[0]
    no = runner.invoke(args=["gdpr", "erase", "--senior", SENIOR["external_id"]], input="n\n")
    assert no.exit_code == 1 and "Ingenting raderades" in no.output
    assert "Gunborg Qvarnström" in no.output  # the question says whom
    session.expire_all()
    assert session.get(Senior, senior.id).erased_at is None

    yes = runner.invoke(args=["gdpr", "erase", "--senior", SENIOR["external_id"]], input="y\n")
    assert yes.exit_code == 0, yes.output
    assert spy.deleted == [RECORDING_SID]
    session.expire_all()
    assert session.get(Senior, senior.id).erased_at is not None


def test_cli_unknown_id(session, seeded, runner):
    result = runner.invoke(args=["gdpr", "erase", "--senior", "FINNS-INTE", "--yes"])
    assert result.exit_code == 1
    assert "Hittade ingen senior med id 'FINNS-INTE'" in result.output
    both = runner.invoke(args=["gdpr", "erase", "--senior", "A", "--volunteer", "B"])
    assert both.exit_code == 2 and "antingen --senior eller --volunteer" in both.output
    session.expire_all()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "erase")).all() == []
