"""Retention (vanringen.retention): who is anonymised after RETENTION_MONTHS and who never
is, intake recordings after INTAKE_RECORDING_DAYS, old audit rows, the counts in the audit
log, a second run doing nothing, and the nightly job at local time."""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from call_support import at
from sqlmodel import select
from test_matches import make_senior, make_volunteer
from test_recordings import Spy, intake_row
from twilio_mock import FAKE_ACCOUNT_SID

from notifications import TemporaryError
from vanringen import create_app
from vanringen import retention as r
from vanringen.db import utcnow
from vanringen.models import AuditEvent, IntakeRequest, Pair, PersonEvent, Senior, Volunteer
from vanringen.scheduler import build_scheduler

NOW = at("2029-06-15 03:30")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def months_ago(n: int) -> datetime:
    return r.months_before(NOW, n)


def senior(session, n: int, *, status="ended", pair_ended=None, became=None,
           updated=None) -> Senior:
    """Senior `n` (own phone number); with a pair that ended at `pair_ended`, and marked
    `status` at `became` (default: when the pair ended) in the status history."""
    row = make_senior(session, f"Senior{n}", phone=f"+4670111{n:04d}", status=status)
    if pair_ended is not None:
        friend = make_volunteer(session, f"Volontär{n}", phone=f"+4670222{n:04d}")
        session.add(Pair(senior_id=row.id, volunteer_id=friend.id, status="ended",
                         started_at=pair_ended - timedelta(days=300), ended_at=pair_ended))
    when = became or pair_ended
    if when is not None:
        session.add(PersonEvent(senior_id=row.id, action="status", from_status="waiting",
                                to_status=status, at=when))
    if updated is not None:
        row.updated_at = updated
        session.add(row)
    session.commit()
    return row


def volunteer(session, n: int, *, status="declined", decided=None, pair=None,
              updated=None) -> Volunteer:
    """Volunteer `n`; `pair` is "active" or the moment their one pair ended."""
    row = make_volunteer(session, f"Volontär{n}", phone=f"+4670333{n:04d}", status=status,
                         email=f"v{n}@example.se")
    if decided is not None:
        session.add(PersonEvent(volunteer_id=row.id, action="status", from_status="approved",
                                to_status=status, at=decided))
    if pair is not None:
        other = make_senior(session, f"Partner{n}", phone=f"+4670444{n:04d}",
                            status="matched" if pair == "active" else "waiting")
        ended = None if pair == "active" else pair
        session.add(Pair(senior_id=other.id, volunteer_id=row.id,
                         status="active" if pair == "active" else "ended",
                         started_at=months_ago(40), ended_at=ended))
    if updated is not None:
        row.updated_at = updated
        session.add(row)
    session.commit()
    return row


def step(app, session, *, now=NOW, sender=None) -> r.Counts:
    with app.app_context():
        return r.retention_step(session=session, now=now, config=app.config,
                                sender=sender or Spy())


def fresh(session, model, row_id):
    session.expire_all()
    return session.get(model, row_id)


def erased_ids(session, model) -> set[int]:
    session.expire_all()
    return set(session.exec(select(model.id).where(model.erased_at.is_not(None))))


# ---------------------------------------------------------------- the cut-off

@pytest.mark.parametrize(("moment", "months", "expected"), [
    (datetime(2029, 6, 15, 1, 30, tzinfo=UTC), 24, datetime(2027, 6, 15, 1, 30, tzinfo=UTC)),
    (datetime(2029, 3, 31, tzinfo=UTC), 1, datetime(2029, 2, 28, tzinfo=UTC)),
    (datetime(2028, 2, 29, tzinfo=UTC), 12, datetime(2027, 2, 28, tzinfo=UTC)),
    (datetime(2029, 1, 10, tzinfo=UTC), 13, datetime(2027, 12, 10, tzinfo=UTC)),
])
def test_months_before(moment, months, expected):
    assert r.months_before(moment, months) == expected


# ---------------------------------------------------------------- seniors

def test_a_senior_is_anonymised_25_months_after_the_pair_ended_not_23(app, session):
    kept = senior(session, 1, pair_ended=months_ago(23))
    gone = senior(session, 2, pair_ended=months_ago(25))
    counts = step(app, session)
    assert counts.seniors == 1
    assert erased_ids(session, Senior) == {gone.id}
    assert fresh(session, Senior, gone.id).first_name == "Raderad"
    assert fresh(session, Senior, kept.id).first_name == "Senior1"


def test_waiting_paused_and_matched_seniors_are_never_touched(app, session):
    long_ago = months_ago(60)
    ids = {senior(session, 1, status="waiting", pair_ended=long_ago, updated=long_ago).id,
           senior(session, 2, status="paused", pair_ended=long_ago, updated=long_ago).id,
           senior(session, 3, status="matched", became=long_ago, updated=long_ago).id}
    assert step(app, session).seniors == 0
    assert erased_ids(session, Senior) == set()
    assert {s.first_name for s in session.exec(select(Senior).where(Senior.id.in_(ids)))} \
        == {"Senior1", "Senior2", "Senior3"}


def test_an_ended_senior_with_an_active_pair_is_kept(app, session):
    row = senior(session, 1, became=months_ago(30), updated=months_ago(30))
    friend = make_volunteer(session, "Jonas", phone="+46702229999")
    session.add(Pair(senior_id=row.id, volunteer_id=friend.id, started_at=months_ago(40)))
    session.commit()
    assert step(app, session).seniors == 0


def test_without_pairs_the_day_they_were_marked_ended_counts(app, session):
    gone = senior(session, 1, became=months_ago(25), updated=months_ago(1))
    kept = senior(session, 2, became=months_ago(23), updated=months_ago(30))
    # No status history (imported, say): when the row last changed.
    old_row = senior(session, 3, updated=months_ago(25))
    new_row = senior(session, 4, updated=months_ago(23))
    step(app, session)
    assert erased_ids(session, Senior) == {gone.id, old_row.id}
    assert not {kept.id, new_row.id} & erased_ids(session, Senior)


def test_a_senior_who_left_lately_after_an_old_pair_keeps_their_time(app, session):
    # The pair ended long ago, they waited again and left two months ago.
    row = senior(session, 1, pair_ended=months_ago(30), became=months_ago(2))
    assert step(app, session).seniors == 0
    assert fresh(session, Senior, row.id).erased_at is None


def test_many_seniors_are_erased_in_batches(app, session):
    ids = {senior(session, n, pair_ended=months_ago(26)).id for n in range(5)}
    with app.app_context():
        counts = r.erase_seniors(session=session, now=NOW, config=app.config, sender=Spy(),
                                 batch=2)
    assert counts.seniors == 5 and erased_ids(session, Senior) == ids


def test_a_provider_failure_leaves_that_senior_for_the_next_run(app, session):
    row = senior(session, 1, pair_ended=months_ago(26))
    intake_row(session, senior_id=row.id, created_at=NOW - timedelta(days=10))
    counts = step(app, session, sender=Spy(TemporaryError("Twilio HTTP 503")))
    assert (counts.seniors, counts.failed) == (0, 1)
    assert fresh(session, Senior, row.id).first_name == "Senior1"
    spy = Spy()
    assert step(app, session, sender=spy).seniors == 1
    assert erased_ids(session, Senior) == {row.id} and len(spy.deleted) == 1


# ---------------------------------------------------------------- volunteers

def test_a_volunteer_declined_25_months_ago_is_erased_23_kept(app, session):
    gone = volunteer(session, 1, decided=months_ago(25), updated=months_ago(1))
    kept = volunteer(session, 2, decided=months_ago(23), updated=months_ago(30))
    withdrew = volunteer(session, 3, status="withdrawn", updated=months_ago(25))
    assert step(app, session).volunteers == 2
    assert erased_ids(session, Volunteer) == {gone.id, withdrew.id}
    row = fresh(session, Volunteer, gone.id)
    assert (row.first_name, row.phone, row.email) == ("Raderad", "", None)
    assert fresh(session, Volunteer, kept.id).first_name == "Volontär2"


def test_a_volunteer_with_an_active_pair_or_a_recent_one_is_kept(app, session):
    volunteer(session, 1, status="withdrawn", decided=months_ago(30), pair="active")
    volunteer(session, 2, status="withdrawn", decided=months_ago(30), pair=months_ago(10))
    volunteer(session, 3, status="approved", updated=months_ago(60))
    volunteer(session, 4, status="applied", updated=months_ago(60))
    gone = volunteer(session, 5, status="withdrawn", decided=months_ago(30),
                     pair=months_ago(26))
    assert step(app, session).volunteers == 1
    assert erased_ids(session, Volunteer) == {gone.id}


# ---------------------------------------------------------------- recordings

def test_a_recording_91_days_old_is_deleted_89_kept(app, session):
    kept = intake_row(session, call="CA1", sid="RE" + "1" * 32,
                      created_at=NOW - timedelta(days=89))
    gone = intake_row(session, call="CA2", created_at=NOW - timedelta(days=91))
    spy = Spy()
    assert step(app, session, sender=spy).recordings == 1
    assert spy.deleted == [gone.recording_sid]
    assert fresh(session, IntakeRequest, gone.id).recording_deleted_at == NOW
    row = fresh(session, IntakeRequest, kept.id)
    assert row.recording_deleted_at is None and row.recording_url and row.transcription


def test_a_recording_the_provider_would_not_delete_is_tried_again(app, session):
    row = intake_row(session, created_at=NOW - timedelta(days=100))
    counts = step(app, session, sender=Spy(TemporaryError("Twilio HTTP 503")))
    assert (counts.recordings, counts.failed) == (0, 1)
    assert fresh(session, IntakeRequest, row.id).recording_deleted_at is None
    assert step(app, session).recordings == 1


def test_recordings_are_deleted_at_twilio(app, session, twilio_backend, twilio_http):
    row = intake_row(session, created_at=NOW - timedelta(days=91))
    assert step(app, session, sender=twilio_backend).recordings == 1
    method, url, _ = twilio_http.last_sent
    assert method == "DELETE"
    assert url.endswith(f"/Accounts/{FAKE_ACCOUNT_SID}/Recordings/{row.recording_sid}.json")


# ---------------------------------------------------------------- the audit log

def audit_row(session, age: timedelta) -> int:
    # The database's triggers judge age by its own clock, so these are real ages.
    row = AuditEvent(action="view", endpoint="seniors.detail", senior_id=1,
                     at=utcnow() - age)
    session.add(row)
    session.commit()
    return row.id


def remaining(session, ids) -> set[int]:
    return set(session.exec(select(AuditEvent.id).where(AuditEvent.id.in_(ids))))


def test_audit_rows_older_than_the_setting_are_removed(app, session):
    old = audit_row(session, timedelta(days=37 * 31))
    young = audit_row(session, timedelta(days=35 * 30))
    today = audit_row(session, timedelta(0))
    assert step(app, session, now=utcnow()).audit == 1
    assert remaining(session, [old, young, today]) == {young, today}


def test_audit_rows_go_after_a_year_at_the_shortest(app, session):
    app.config["AUDIT_RETENTION_MONTHS"] = 12
    old = audit_row(session, timedelta(days=13 * 31))
    young = audit_row(session, timedelta(days=11 * 31))
    with app.app_context():
        counts = r.delete_audit_rows(session=session, now=utcnow(), config=app.config,
                                     batch=1)
    assert counts.audit == 1 and remaining(session, [old, young]) == {young}


def test_a_run_dated_ahead_never_asks_the_database_for_young_rows(app, session):
    # `--now` years ahead: the log's own clock still protects this year's rows.
    young = audit_row(session, timedelta(days=60))
    assert step(app, session, now=utcnow() + timedelta(days=5 * 365)).audit == 0
    assert remaining(session, [young]) == {young}


# ---------------------------------------------------------------- the whole run

def test_the_run_is_logged_with_counts_only_and_a_second_run_does_nothing(app, session,
                                                                            caplog):
    senior(session, 1, pair_ended=months_ago(25))
    volunteer(session, 2, decided=months_ago(25))
    intake_row(session, created_at=NOW - timedelta(days=91))
    spy = Spy()
    with caplog.at_level(logging.INFO, logger="vanringen.retention"):
        counts = step(app, session, sender=spy)
    assert str(counts) == "seniors=1 volunteers=1 recordings=1 audit=0"
    assert "seniors=1 volunteers=1 recordings=1 audit=0" in caplog.text
    assert "Senior1" not in caplog.text and "Volontär2" not in caplog.text
    (logged,) = session.exec(select(AuditEvent).where(AuditEvent.action == "retention"))
    assert logged.detail == "seniors=1 volunteers=1 recordings=1 audit=0"
    assert logged.senior_id is None and logged.endpoint == "cli"

    before = {row.id: (row.first_name, row.erased_at)
              for row in session.exec(select(Senior))}
    again = step(app, session, sender=spy)
    assert str(again) == "seniors=0 volunteers=0 recordings=0 audit=0" and again.failed == 0
    assert len(spy.deleted) == 1
    assert {row.id: (row.first_name, row.erased_at)
            for row in session.exec(select(Senior))} == before


def test_the_command_runs_it_as_of_a_given_moment(runner, session):
    senior(session, 1, pair_ended=months_ago(25))
    result = runner.invoke(args=["gdpr", "retention", "--now", "2029-06-15T03:30"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Gallring: 1 seniorer och 0 volontärer anonymiserade, 0 inspelningar och 0 rader i "
        "granskningsloggen raderade.")
    assert erased_ids(session, Senior) != set()
    result = runner.invoke(args=["gdpr", "retention", "--now", "i morgon"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_without_now_the_command_runs_as_of_the_clock(runner, session):
    senior(session, 1, pair_ended=utcnow() - timedelta(days=25 * 31))
    result = runner.invoke(args=["gdpr", "retention"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Gallring: 1 seniorer")


# ---------------------------------------------------------------- the clock

def test_the_job_runs_daily_at_retention_time_stockholm_time(app):
    app.config["RETENTION_TIME"] = "03:30"
    job = build_scheduler(app).get_job("retention")
    assert job.max_instances == 1 and job.coalesce is True
    trigger = job.trigger
    assert str(trigger.timezone) == "Europe/Stockholm"
    # Over the spring-forward night 03:30 stays 03:30 local, a UTC hour earlier.
    fire = trigger.get_next_fire_time(None, datetime(2027, 3, 27, 12, 0, tzinfo=STOCKHOLM))
    assert fire == datetime(2027, 3, 28, 3, 30, tzinfo=STOCKHOLM)
    assert fire.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    winter = trigger.get_next_fire_time(None, datetime(2027, 1, 10, 4, 0, tzinfo=STOCKHOLM))
    assert winter.astimezone(UTC) == datetime(2027, 1, 11, 2, 30, tzinfo=UTC)


def test_another_retention_time_is_used(app):
    app.config["RETENTION_TIME"] = "22:05"
    trigger = build_scheduler(app).get_job("retention").trigger
    fire = trigger.get_next_fire_time(None, datetime(2027, 6, 1, 12, 0, tzinfo=STOCKHOLM))
    assert fire == datetime(2027, 6, 1, 22, 5, tzinfo=STOCKHOLM)


@pytest.mark.parametrize("bad", ["3.30", "25:00", "03:61", ""])
def test_a_bad_retention_time_stops_start_up(database_url, bad):
    with pytest.raises(RuntimeError, match="RETENTION_TIME"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test",
                    "RETENTION_TIME": bad})


def test_the_job_itself_runs_retention_now(app, session, capsys):
    gone = senior(session, 1, pair_ended=utcnow() - timedelta(days=25 * 31))
    build_scheduler(app).get_job("retention").func()
    assert capsys.readouterr().out.startswith("Gallring: 1 seniorer och 0 volontärer")
    assert erased_ids(session, Senior) == {gone.id}
    assert [e.detail for e in session.exec(select(AuditEvent)
                                           .where(AuditEvent.action == "retention"))] \
        == ["seniors=1 volunteers=0 recordings=0 audit=0"]
