"""Retention ("gallring"): what the programme no longer needs goes, every night.

- seniors who left (status "ended", no active pair) are anonymised RETENTION_MONTHS after
  the later of their last pair's end and the day they were marked ended;
- volunteers whose application was declined or who withdrew, likewise after the decision
  and the end of any pair they had;
- intake-line recordings (and transcriptions) after INTAKE_RECORDING_DAYS;
- audit rows after AUDIT_RETENTION_MONTHS (the database refuses anything under a year).

The clock runs `retention_step` daily at RETENTION_TIME, local time; `vanringen gdpr
retention [--now …]` runs it by hand. Selection is SQL over ids in batches, and each person
is committed on their own, so a national programme is never loaded at once and a failure
halfway keeps what was done. Running it again finds nothing more to do.
"""

import calendar
import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlmodel import Session, func, select

from notifications import SendError

from . import audit
from .db import get_engine, utcnow
from .erasure import erase_senior, erase_volunteer
from .gdpr_cli import gdpr_cli
from .messaging import backend
from .models import AuditEvent, IntakeRequest, Pair, PersonEvent, Senior, Volunteer
from .recordings import delete_intake_recording

log = logging.getLogger(__name__)

BATCH = 200
AUDIT_BATCH = 5000
LEFT_VOLUNTEER = ("declined", "withdrawn")
# The audit triggers compare with the database's own clock: rows younger than this are
# refused whatever `now` the job is given, and one refusal would undo the whole batch.
AUDIT_FLOOR = timedelta(days=366)


@dataclass
class Counts:
    seniors: int = 0
    volunteers: int = 0
    recordings: int = 0
    audit: int = 0
    failed: int = 0  # left for the next run: the provider could not be reached, say

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __str__(self) -> str:
        # Goes to the audit log and the log file: counts only, never who.
        text = (f"seniors={self.seniors} volunteers={self.volunteers} "
                f"recordings={self.recordings} audit={self.audit}")
        return text + (f" failed={self.failed}" if self.failed else "")

    def swedish(self) -> str:
        text = (f"Gallring: {self.seniors} seniorer och {self.volunteers} volontärer "
                f"anonymiserade, {self.recordings} inspelningar och {self.audit} rader i "
                f"granskningsloggen raderade.")
        if self.failed:
            text += f" {self.failed} kunde inte raderas nu och tas nästa gång."
        return text


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` earlier (the month's last day when it is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


# ------------------------------------------------------------------ who is due

def _latest_pair_end(owner):
    # An ended pair without ended_at (old imports) counts from its start.
    return (select(func.max(func.coalesce(Pair.ended_at, Pair.started_at)))
            .where(owner).scalar_subquery())


def seniors_due(*, cutoff: datetime):
    """Ids of seniors to anonymise: ended, not erased, no active pair, and both their last
    pair's end and the day they became "ended" (status history, else updated_at) before
    `cutoff`. Taking the later of the two means a senior who waited again after a pair
    and left only lately keeps their full time."""
    active = select(Pair.id).where(Pair.senior_id == Senior.id, Pair.status == "active")
    became_ended = (select(func.max(PersonEvent.at))
                    .where(PersonEvent.senior_id == Senior.id, PersonEvent.to_status == "ended")
                    .scalar_subquery())
    last_pair = _latest_pair_end(Pair.senior_id == Senior.id)
    return select(Senior.id).where(
        Senior.erased_at.is_(None), Senior.status == "ended", ~active.exists(),
        func.coalesce(became_ended, Senior.updated_at) < cutoff,
        sa.or_(last_pair.is_(None), last_pair < cutoff))


def volunteers_due(*, cutoff: datetime):
    """Ids of volunteers to anonymise: declined or withdrawn, not erased, no active pair,
    the decision (status history, else updated_at) and any pair's end before `cutoff`."""
    active = select(Pair.id).where(Pair.volunteer_id == Volunteer.id, Pair.status == "active")
    decided = (select(func.max(PersonEvent.at))
               .where(PersonEvent.volunteer_id == Volunteer.id,
                      PersonEvent.to_status.in_(LEFT_VOLUNTEER))
               .scalar_subquery())
    last_pair = _latest_pair_end(Pair.volunteer_id == Volunteer.id)
    return select(Volunteer.id).where(
        Volunteer.erased_at.is_(None), Volunteer.status.in_(LEFT_VOLUNTEER),
        ~active.exists(), func.coalesce(decided, Volunteer.updated_at) < cutoff,
        sa.or_(last_pair.is_(None), last_pair < cutoff))


def recordings_due(*, cutoff: datetime):
    """Intake requests made before `cutoff` that still hold anything of a recording."""
    return select(IntakeRequest).where(
        IntakeRequest.recording_deleted_at.is_(None), IntakeRequest.created_at < cutoff,
        sa.or_(IntakeRequest.recording_sid.is_not(None), IntakeRequest.recording_url != "",
               IntakeRequest.transcription != "", IntakeRequest.recording_seconds.is_not(None)))


def _ids_in_batches(query, column, *, session: Session, batch: int):
    """The ids `query` selects, ascending, `batch` at a time: each batch is a fresh query
    after the last id seen, so no more than a batch is held and commits in between are
    safe."""
    last = 0
    while ids := session.exec(query.where(column > last).order_by(column).limit(batch)).all():
        yield from ids
        last = ids[-1]


# ------------------------------------------------------------------ the parts

def erase_seniors(*, session: Session, now: datetime, config, sender,
                  batch: int = BATCH) -> Counts:
    counts = Counts()
    query = seniors_due(cutoff=months_before(now, config["RETENTION_MONTHS"]))
    for senior_id in _ids_in_batches(query, Senior.id, session=session, batch=batch):
        _erase_one(erase_senior, _locked(Senior, senior_id, session=session), "seniors",
                   counts, session=session, now=now, sender=sender)
    return counts


def erase_volunteers(*, session: Session, now: datetime, config, sender,
                     batch: int = BATCH) -> Counts:
    counts = Counts()
    query = volunteers_due(cutoff=months_before(now, config["RETENTION_MONTHS"]))
    for volunteer_id in _ids_in_batches(query, Volunteer.id, session=session, batch=batch):
        _erase_one(erase_volunteer, _locked(Volunteer, volunteer_id, session=session),
                   "volunteers", counts, session=session, now=now, sender=sender)
    return counts


def _locked(model, row_id: int, *, session: Session):
    # Two clock processes may both run the night's retention: the second waits here and
    # then finds the person erased already (erasure does nothing twice).
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


def _erase_one(erase, person, field: str, counts: Counts, *, session: Session,
               now: datetime, sender) -> None:
    """One person erased and committed, counted under `field`. A provider failure rolls
    back this person only (they are due again tomorrow); anything else is a bug and stops
    the run loudly, keeping the people committed before."""
    person_id = person.id  # a rollback expires the row
    try:
        done = erase(person, session=session, reason="retention", now=now, sender=sender).done
        session.commit()
    except SendError as exc:
        session.rollback()
        counts.failed += 1
        log.warning("retention: %s %s not erased yet: %s", field.rstrip("s"), person_id, exc)
        return
    setattr(counts, field, getattr(counts, field) + int(done))


def delete_recordings(*, session: Session, now: datetime, config, sender,
                      batch: int = BATCH) -> Counts:
    counts = Counts()
    query = recordings_due(cutoff=now - timedelta(days=config["INTAKE_RECORDING_DAYS"]))
    last = 0
    while rows := session.exec(query.where(IntakeRequest.id > last)
                               .order_by(IntakeRequest.id).limit(batch)).all():
        for intake in rows:
            try:
                counts.recordings += delete_intake_recording(intake, sender=sender, now=now)
            except SendError as exc:  # nothing changed on the row: it is due again tomorrow
                counts.failed += 1
                log.warning("retention: recording of intake request %s not deleted: %s",
                            intake.id, exc)
        last = rows[-1].id
        session.commit()
    return counts


def delete_audit_rows(*, session: Session, now: datetime, config,
                      batch: int = AUDIT_BATCH) -> Counts:
    cutoff = min(months_before(now, config["AUDIT_RETENTION_MONTHS"]), utcnow() - AUDIT_FLOOR)
    counts = Counts()
    while True:
        pick = (select(AuditEvent.id).where(AuditEvent.at < cutoff)
                .order_by(AuditEvent.id).limit(batch))
        deleted = session.execute(
            sa.delete(AuditEvent).where(AuditEvent.id.in_(pick))
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
        counts.audit += deleted
        if deleted < batch:
            return counts


def retention_step(*, session: Session, now: datetime, config, sender) -> Counts:
    """Every part as of `now`; commits as it goes, the "retention" audit row last."""
    args = {"session": session, "now": now, "config": config}
    counts = (erase_seniors(**args, sender=sender) + erase_volunteers(**args, sender=sender)
              + delete_recordings(**args, sender=sender) + delete_audit_rows(**args))
    audit.record("retention", session=session, detail=str(counts))
    session.commit()
    log.info("retention: %s", counts)
    return counts


# ------------------------------------------------------------------ clock and CLI

def run(app: Flask, *, now: datetime | None = None, sender=None) -> Counts:
    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as session:
        return retention_step(session=session, now=now or utcnow(), config=app.config,
                              sender=sender or backend())


def retention_time(config) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in config["RETENTION_TIME"].split(":"))
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    except ValueError:
        pass
    raise RuntimeError(f"RETENTION_TIME ska skrivas TT:MM, t.ex. 03:30 "
                       f"(not {config['RETENTION_TIME']!r}).")


def schedule(scheduler, app: Flask) -> None:
    """Add the daily job at RETENTION_TIME in TIMEZONE (so 03:30 stays 03:30 across DST)."""
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = retention_time(app.config)
    trigger = CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(app.config["TIMEZONE"]))

    def job():
        counts = run(app)
        click.echo(counts.swedish())

    # A clock that was down at the hour still runs it once within the next few hours.
    scheduler.add_job(job, trigger, id="retention", max_instances=1, coalesce=True,
                      misfire_grace_time=6 * 3600)


@click.command("retention")
@click.option("--now", "now_text", help="Kör som om klockan vore detta (ISO 8601).")
@with_appcontext
def retention_command(now_text):
    """Gallra nu: anonymisera de som slutat, radera gamla inspelningar och loggrader."""
    from .scheduler import parse_now

    tz = ZoneInfo(current_app.config["TIMEZONE"])
    now = parse_now(now_text, tz) if now_text else None
    click.echo(run(current_app._get_current_object(), now=now).swedish())


def init_app(app: Flask) -> None:
    retention_time(app.config)  # a bad time stops start-up, not the first night
    gdpr_cli.add_command(retention_command)  # the shared `gdpr` group; cli.py adds it
