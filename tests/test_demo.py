import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
import sqlalchemy as sa
import time_machine
from sqlmodel import select

from vanringen import create_app, demo, vocab
from vanringen.models import (
    CallLog,
    Consent,
    IntakeRequest,
    MatchProposal,
    MatchRun,
    Message,
    Pair,
    PersonEvent,
    ScheduledCall,
    Senior,
    StaffUser,
    Task,
    Volunteer,
)
from vanringen.phones import is_mobile, parse_phone
from vanringen.seniors import SENIOR_CONSENT_TEXT
from vanringen.volunteer_forms import VOLUNTEER_CONSENT_VERSION

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FICTION_MOBILE = {f"+467017406{n:02d}" for n in range(5, 100)}
FICTION_LANDLINE = (
    {f"+468465004{n:02d}" for n in range(100)} | {f"+463139006{n:02d}" for n in range(100)}
    | {f"+464062804{n:02d}" for n in range(100)} | {f"+469803192{n:02d}" for n in range(100)}
)


def run(runner, *args):
    result = runner.invoke(args=["demo-data", *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def frozen():
    # Dates are relative to today; one instant keeps a test from straddling midnight.
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def full(runner, session):
    """The default demo programme: 300 seniors, 200 volunteers."""
    result = run(runner)
    return result, session.exec(select(Senior)).all(), session.exec(select(Volunteer)).all()


def local_date(moment):
    return moment.astimezone(STOCKHOLM).date()


def test_creates_people_consents_and_history(runner, session):
    result = run(runner, "--seniors", "30", "--volunteers", "20", "--seed", "3")
    seniors = session.exec(select(Senior)).all()
    volunteers = session.exec(select(Volunteer)).all()
    assert (len(seniors), len(volunteers)) == (30, 20)
    assert "Skapade 30 seniorer och 20 volontärer" in result.output

    staff = session.exec(select(StaffUser).order_by(StaffUser.email)).all()
    assert [(u.email, u.role) for u in staff] == [(demo.DEMO_ADMIN_EMAIL, "admin"),
                                                  (demo.DEMO_EMAIL, "coordinator")]
    coordinator = staff[1]
    consents = session.exec(select(Consent)).all()
    assert sorted(c.senior_id for c in consents if c.senior_id) == sorted(s.id for s in seniors)
    assert sorted(c.volunteer_id for c in consents if c.volunteer_id) == \
        sorted(v.id for v in volunteers)
    by_senior = {c.senior_id: c for c in consents if c.senior_id}
    for s in seniors:
        consent = by_senior[s.id]
        assert consent.method == "verbal" and consent.recorded_by_id == coordinator.id
        assert consent.given_on == local_date(s.created_at)
        assert consent.text == SENIOR_CONSENT_TEXT
    assert {(c.method, c.text_version) for c in consents if c.volunteer_id} == \
        {("web", VOLUNTEER_CONSENT_VERSION)}

    events = session.exec(select(PersonEvent).order_by(PersonEvent.at)).all()
    created = [e for e in events if e.action == "created"]
    assert sorted(e.senior_id for e in created if e.senior_id) == sorted(s.id for s in seniors)
    assert sorted(e.volunteer_id for e in created if e.volunteer_id) == \
        sorted(v.id for v in volunteers)
    for v in volunteers:
        history = [e for e in events if e.volunteer_id == v.id and e.action != "paired"]
        assert history[0].action == "created" and history[0].at == v.created_at
        path = ["applied"] + [e.to_status for e in history[1:]]
        assert all(e.from_status == before for e, before in zip(history[1:], path, strict=False))
        assert path[-1] == v.status
        assert history[-1].at == v.updated_at


def test_same_seed_same_people_other_seed_others(runner, session, frozen):
    def snapshot():
        seniors = [s.model_dump(exclude={"id"}) for s in
                   session.exec(select(Senior).order_by(Senior.id)).all()]
        volunteers = [v.model_dump(exclude={"id"}) for v in
                      session.exec(select(Volunteer).order_by(Volunteer.id)).all()]
        # Ids in details come from the database (PostgreSQL sequences keep counting after a
        # delete), not from the seed.
        events = [(e.action, e.from_status, e.to_status, re.sub(r"#\d+", "#", e.detail), e.at)
                  for e in
                  session.exec(select(PersonEvent).order_by(PersonEvent.id)).all()]
        return seniors, volunteers, events

    def wipe():
        for model in (Message, MatchProposal, MatchRun, Pair, PersonEvent, Consent, Senior,
                      Volunteer):
            session.exec(sa.delete(model))
        session.commit()

    run(runner, "--seniors", "40", "--volunteers", "30", "--seed", "7")
    first = snapshot()
    wipe()
    run(runner, "--seniors", "40", "--volunteers", "30", "--seed", "7")
    assert snapshot() == first
    wipe()
    run(runner, "--seniors", "40", "--volunteers", "30", "--seed", "8")
    other = snapshot()
    assert [s["first_name"] for s in other[0]] != [s["first_name"] for s in first[0]]


def test_if_empty_does_nothing_when_people_exist(runner, session):
    session.add(Senior(first_name="Elsa", phone="+46701740650", gender="female"))
    session.commit()
    result = run(runner, "--if-empty")
    assert "ingen demodata" in result.output
    assert len(session.exec(select(Senior)).all()) == 1
    assert session.exec(select(Volunteer)).all() == []
    assert session.exec(select(StaffUser)).all() == []


def test_if_empty_fills_an_empty_database(runner, session):
    run(runner, "--if-empty", "--seniors", "5", "--volunteers", "0")
    assert len(session.exec(select(Senior)).all()) == 5
    run(runner, "--if-empty", "--seniors", "5", "--volunteers", "0")
    assert len(session.exec(select(Senior)).all()) == 5


def test_runs_again_without_clashing(runner, session):
    run(runner, "--seniors", "60", "--volunteers", "60")
    result = run(runner, "--seniors", "60", "--volunteers", "60")
    assert "kontot fanns redan" in result.output
    assert len(session.exec(select(StaffUser)).all()) == 2
    people = session.exec(select(Senior)).all() + session.exec(select(Volunteer)).all()
    assert len(people) == 240
    assert len({p.phone for p in people}) == 240
    assert len({p.full_name for p in people}) == 240


@pytest.mark.parametrize(("setting", "message"), [
    ({"VANRINGEN_ENV": "production"}, "får inte skapas i produktion"),
    ({"NOTIFY_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
      "TWILIO_AUTH_TOKEN": "token", "TWILIO_PHONE_NUMBER": "+46701234567",
      "PUBLIC_BASE_URL": "https://vanringen.example"}, "riktiga SMS"),
])
def test_refuses_in_production_or_with_a_real_sender(database_url, setting, message):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x" * 32, **setting})
    try:
        result = app.test_cli_runner().invoke(args=["demo-data", "--seniors", "3"])
        assert result.exit_code != 0
        assert message in result.output
        with app.extensions["vanringen.engine"].connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM senior")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM staff_user")).scalar() == 0
    finally:
        app.extensions["vanringen.engine"].dispose()


def test_every_phone_is_valid_unique_and_fiction_first(full):
    _, seniors, volunteers = full
    phones = [p.phone for p in seniors + volunteers]
    assert len(set(phones)) == len(phones) == 500
    for person in seniors + volunteers:
        assert parse_phone(person.phone) == person.phone
        assert phonenumbers.is_valid_number(phonenumbers.parse(person.phone))
    for v in volunteers:
        assert is_mobile(v.phone), v.phone
    landlines = set()
    for s in seniors:
        if s.reminder_channel == "sms":
            assert is_mobile(s.phone)
        if not is_mobile(s.phone):
            assert s.reminder_channel == "voice"
            landlines.add(s.phone)
    assert 50 < len(landlines) < 400 and landlines <= FICTION_LANDLINE
    # Stockholm numbers (08) while they last, then the other cities' fiction numbers.
    stockholm = {p for p in FICTION_LANDLINE if p.startswith("+468")}
    assert landlines & stockholm == stockholm if len(landlines) >= 100 else landlines <= stockholm
    # All 95 fiction mobile numbers are used before any invented one.
    assert FICTION_MOBILE <= set(phones)


def test_every_code_is_valid(full):
    result, seniors, volunteers = full
    assert "Skapade 300 seniorer och 200 volontärer" in result.output
    for person in seniors + volunteers:
        assert person.gender in vocab.GENDERS
        assert vocab.parse_languages(person.languages) == person.language_list
        assert vocab.parse_slots(person.availability) == person.slot_list
        assert person.first_name and person.last_name and len(person.interests) > 5
    for s in seniors:
        assert s.status in vocab.SENIOR_STATUSES
        assert s.preferred_gender in vocab.PREFERRED_GENDERS
        assert s.district in vocab.DISTRICTS
        assert s.referral_source in vocab.REFERRAL_SOURCES
        assert s.reminder_channel in vocab.REMINDER_CHANNELS
    for v in volunteers:
        assert v.status in vocab.VOLUNTEER_STATUSES
        assert 1950 <= v.birth_year <= 2005 and v.capacity >= 1
        assert v.email is None or v.email.endswith((".com", ".net", ".org"))


def test_looks_like_a_real_programme(full):
    _, seniors, volunteers = full
    now = datetime.now(UTC)
    years = [s.birth_year for s in seniors]
    assert sum(1930 <= y <= 1955 for y in years) > 0.85 * len(years)
    waited = [(now - s.waiting_since).days for s in seniors]
    assert min(waited) >= 29 and max(waited) <= 245 and max(waited) - min(waited) > 150
    assert all(s.status in ("waiting", "matched") and s.created_at == s.waiting_since
               for s in seniors)
    languages = {code for p in seniors + volunteers for code in p.language_list}
    assert {"sv", "fi", "ar", "fa", "so", "bs"} <= languages
    assert sum(s.languages == "sv" for s in seniors) > len(seniors) / 3
    # Some seniors speak no Swedish: the reason multilingual volunteers are needed.
    assert any("sv" not in s.language_list for s in seniors)
    assert any("hör dåligt" in s.notes.lower() for s in seniors)
    interests = " ".join(p.interests for p in seniors + volunteers)
    for phrase in ("Hammarby", "korsord", "bastu", "deckare", "stickning", "Solvalla"):
        assert phrase.lower() in interests.lower(), phrase
    statuses = [v.status for v in volunteers]
    assert statuses.count("approved") > len(statuses) / 2
    assert set(statuses) == set(vocab.VOLUNTEER_STATUSES)


def test_volunteer_dates_are_consistent(full):
    _, _, volunteers = full
    today = datetime.now(STOCKHOLM).date()
    stale = 0
    for v in volunteers:
        steps = [local_date(v.created_at), v.interviewed_on, v.police_record_checked_on,
                 v.trained_on, local_date(v.approved_at) if v.approved_at else None]
        reached = [d for d in steps if d]
        # Stages are filled in order, with no gaps, each after the one before.
        assert steps[:len(reached)] == reached, v
        assert reached == sorted(reached) and len(set(reached)) == len(reached), v
        assert reached[-1] < today and v.created_at <= v.updated_at
        expected = {"applied": 1, "interviewed": 2, "record_checked": 3, "trained": 4,
                    "approved": 5}
        if v.status in expected:
            assert len(reached) == expected[v.status], v
            assert v.status_reason == ""
        else:
            assert len(reached) <= 4 and v.status_reason, v
        assert bool(v.training_course) == bool(v.trained_on)
        if v.status == "approved" and today - v.police_record_checked_on > timedelta(days=365):
            stale += 1
    approved = sum(v.status == "approved" for v in volunteers)
    assert 3 <= stale <= approved // 8


def test_demo_login_works_through_the_form(runner, client, session):
    result = run(runner, "--seniors", "12", "--volunteers", "4")
    assert demo.DEMO_URL in result.output and demo.DEMO_PASSWORD in result.output
    response = client.submit("/logga-in", {"email": demo.DEMO_EMAIL,
                                           "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/oversikt")
    assert page.status_code == 200
    longest = session.exec(select(Senior).order_by(Senior.waiting_since)).first()
    assert longest.full_name in page.get_data(as_text=True)


def test_demo_has_active_pairs_made_by_the_matcher(runner, session):
    from matching import hard_constraint_violations
    from vanringen.matches import senior_record, volunteer_record

    started = datetime.now(UTC)
    result = run(runner, "--seniors", "40", "--volunteers", "30", "--pairs", "8")
    assert "varav 8 par" in result.output
    pairs = session.exec(select(Pair)).all()
    assert len(pairs) == 8 and all(p.status == "active" for p in pairs)
    per_volunteer = {}
    for pair in pairs:
        senior = session.get(Senior, pair.senior_id)
        volunteer = session.get(Volunteer, pair.volunteer_id)
        assert senior.status == "matched" and volunteer.status == "approved"
        assert pair.agreed_slots in senior.slot_list and pair.agreed_slots in volunteer.slot_list
        assert senior.waiting_since <= pair.started_at <= datetime.now(UTC)
        assert hard_constraint_violations(senior_record(senior),
                                          volunteer_record(volunteer, free=1)) == []
        per_volunteer[volunteer.id] = per_volunteer.get(volunteer.id, 0) + 1
        assert per_volunteer[volunteer.id] <= volunteer.capacity
    approvals = session.exec(select(Message).where(
        Message.kind.in_(["pair_volunteer", "pair_senior_sms", "pair_senior_voice"]))).all()
    assert {m.status for m in approvals} == {"recorded"}
    assert len([m for m in approvals if m.kind == "pair_volunteer"]) == 8
    # Every pair has its calls planned and reminders waiting for the scheduler.
    now = datetime.now(UTC)
    for pair in pairs:
        assert pair.call_times and pair.planned_until > now.date()
        calls = session.exec(select(ScheduledCall).where(ScheduledCall.pair_id == pair.id)).all()
        assert calls and all(c.status == "planned" for c in calls)
        assert any(c.scheduled_at > now for c in calls)
        reminders = session.exec(select(Message).where(
            Message.call_id.in_([c.id for c in calls]))).all()
        senior = session.get(Senior, pair.senior_id)
        expected = {"reminder_volunteer"} | ({f"reminder_senior_{senior.reminder_channel}"}
                                             if senior.reminder_channel != "none" else set())
        assert {m.kind for m in reminders} == expected
        for message in reminders:
            if not started <= message.due_at <= now:  # due while the command ran: either
                assert message.status == ("recorded" if message.due_at < started else "pending")
            assert message.sent_at == (message.due_at if message.status == "recorded" else None)
    # The programme has been running: last week's reminders are in the log.
    recorded = session.exec(select(Message).where(Message.status == "recorded",
                                                  Message.call_id.is_not(None))).all()
    assert recorded and min(m.due_at for m in recorded) < now - timedelta(days=5)


def test_demo_calls_have_outcomes_a_concern_and_intake_calls(runner, session):
    run(runner, "--seniors", "40", "--volunteers", "30", "--pairs", "8")
    now = datetime.now(UTC)
    pairs = {p.id: p for p in session.exec(select(Pair))}
    logs = session.exec(select(CallLog)).all()
    assert logs and all(log.pair_id in pairs and log.occurred_at < now for log in logs)
    assert {log.outcome for log in logs} <= {"held", "no_answer", "cancelled_senior"}
    assert all((log.minutes is not None) == (log.outcome == "held") for log in logs)
    for log in logs:  # each log is of a call that pair really had planned, no gap in weeks
        call = session.get(ScheduledCall, log.call_id)
        assert call.pair_id == log.pair_id and call.scheduled_at == log.occurred_at
    weeks = {log.occurred_at.isocalendar()[:2] for log in logs}
    assert len(weeks) >= 3
    concern, = session.exec(select(Task).where(Task.kind == "concern")).all()
    assert concern.urgent and concern.status == "open" and concern.pair_id in pairs
    assert session.get(CallLog, concern.call_log_id).concern
    intake = session.exec(select(IntakeRequest).order_by(IntakeRequest.created_at)).all()
    assert [i.choice for i in intake] == ["message", "friend"]
    people = set(session.exec(select(Senior.phone))) | set(session.exec(select(Volunteer.phone)))
    assert all(i.status == "open" and i.from_number in FICTION_LANDLINE
               and i.from_number not in people for i in intake)
    run(runner, "--seniors", "5", "--volunteers", "5", "--pairs", "0")  # no second set
    assert len(session.exec(select(IntakeRequest)).all()) == 2
