"""GDPR Art. 17: erasing a senior or a volunteer, on request, when consent is withdrawn, or
by the retention job. One function per kind of person, used by the pages, the CLI
(erasure_views.py) and vanringen/retention.py alike; none of them commits.

What the funder's report counts stays on the person's row (status, gender, birth year,
district, referral source, languages, the dates), so the figures of any period are the
same after an erasure; everything that names, reaches or describes the person goes: their
row's identifying fields, the words about them in their pairs, calls, messages, tasks and
history, the intake calls from their number (with the recording at the provider), and
their name, number and e-mail wherever someone else's notes mention them. Consent rows
stay: they are the programme's proof that the processing was lawful.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, select

from . import audit, matches
from .cache import get_cache
from .models import (
    CallLog,
    InboundMessage,
    IntakeRequest,
    MatchProposal,
    Message,
    Pair,
    PairPause,
    PersonEvent,
    Rejection,
    ScheduledCall,
    Senior,
    SmsOptOut,
    Task,
    Volunteer,
)
from .models.messages import CLAIMABLE
from .people import icontains, record_event
from .phones import display_phone, written_pattern
from .planner import Planner
from .recordings import delete_intake_recording

REASONS = ("request", "consent_withdrawn", "retention")
ERASED_NAME = "Raderad"
REDACTED = "[raderad]"
_LIKE_SPECIAL = re.compile(r"[%_\\]")
# Ending a pair needs a comment with "other"; this one says why without saying who.
SENIOR_END_COMMENT = "Seniorns uppgifter raderades."

# Free text anyone may write about anyone: searched for the erased person's name, number,
# e-mail and old id. (Consent text is the programme's wording; audit rows never hold any;
# a message about someone is filed under them, and the log is the largest table by far.)
FREE_TEXT = (
    (Senior, ("notes",)), (Volunteer, ("motivation", "status_reason")),
    (PersonEvent, ("detail",)), (Task, ("title", "detail", "closing_note", "dedup_key")),
    (CallLog, ("note", "concern")), (ScheduledCall, ("note",)), (PairPause, ("reason",)),
    (Pair, ("end_comment", "handover_note", "explanation", "warnings")),
    (MatchProposal, ("explanation",)), (Rejection, ("reason",)), (InboundMessage, ("body",)),
    (IntakeRequest, ("transcription", "note")),
)


@dataclass
class Erasure:
    """What an erasure did, for the CLI's summary and the retention job's counts."""

    done: bool = True  # False: the person had been erased already; nothing was changed
    pairs_ended: int = 0
    calls_cancelled: int = 0
    messages_cancelled: int = 0
    rows_scrubbed: int = 0
    recordings_deleted: int = 0


@dataclass
class _Person:
    model: type
    row: Senior | Volunteer
    key: str  # "senior_id" | "volunteer_id"

    @property
    def id(self) -> int:
        return self.row.id

    def linked(self, model):
        return getattr(model, self.key) == self.id


# ---------------------------------------------------------------- finding the person in text

@dataclass
class Identifiers:
    """The erased person's name, number, e-mail and old id: the SQL terms that find rows
    mentioning them and the pattern that rewrites what is found."""

    terms: list[str]
    pattern: re.Pattern | None

    @classmethod
    def of(cls, person: Senior | Volunteer, *, include_phone: bool) -> "Identifiers":
        terms, patterns = [], []
        # A first name alone is anybody's: the full name only, when there is one.
        if person.first_name and person.last_name:
            terms.append(person.full_name)
            patterns.append(r"\s+".join(re.escape(p) for p in person.full_name.split()))
        if include_phone and person.phone:
            pattern = written_pattern(person.phone)
            if pattern:
                patterns.append(pattern)
            try:
                national = str(phonenumbers.parse(person.phone).national_number)
            except phonenumbers.NumberParseException:
                national = person.phone
            shown = display_phone(person.phone) if national != person.phone else ""
            terms += [t for t in (national, shown, shown.replace("-", " ")) if t]
        email = getattr(person, "email", None)
        if email:
            terms.append(email)
            patterns.append(re.escape(email))
        if person.external_id and len(person.external_id) >= 3:
            terms.append(person.external_id)
            patterns.append(rf"(?<![\w-]){re.escape(person.external_id)}(?![\w-])")
        pattern = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) \
            if patterns else None
        return cls(list(dict.fromkeys(terms)), pattern)

    def where(self, columns, dialect: str):
        if dialect != "postgresql":
            return sa.or_(*(icontains(c, term) for c in columns for term in self.terms))
        # Plain LIKEs on the stored text in the spellings people use (as icontains):
        # lower() and ILIKE cost seconds a table at national scale and lower() depends on
        # the database's collation.
        found = {"%" + _LIKE_SPECIAL.sub(r"\\\g<0>", spelling) + "%" for t in self.terms
                 for spelling in (t, t.lower(), t.capitalize(), t.title(), t.upper())}
        patterns = sa.literal(sorted(found), postgresql.ARRAY(sa.String))
        return sa.or_(*(c.like(sa.any_(patterns)) for c in columns))

    def scrub(self, text: str | None) -> str | None:
        if not text or self.pattern is None:
            return text
        return self.pattern.sub(REDACTED, text)


# ---------------------------------------------------------------- erasing

def erase_senior(senior: Senior, *, session: Session, reason: str, now: datetime, sender,
                 actor_id: int | None = None) -> Erasure:
    return _erase(_Person(Senior, senior, "senior_id"), session=session, reason=reason,
                  now=now, sender=sender, actor_id=actor_id)


def erase_volunteer(volunteer: Volunteer, *, session: Session, reason: str, now: datetime,
                    sender, actor_id: int | None = None) -> Erasure:
    return _erase(_Person(Volunteer, volunteer, "volunteer_id"), session=session,
                  reason=reason, now=now, sender=sender, actor_id=actor_id)


def _erase(person: _Person, *, session: Session, reason: str, now: datetime, sender,
           actor_id: int | None) -> Erasure:
    if reason not in REASONS:
        raise ValueError(f"unknown erasure reason {reason!r}")
    if person.row.erased_at is not None:
        # Its name is "Raderad" now: searching other people's notes for it would do harm.
        return Erasure(done=False)
    result = Erasure()
    shared = _phone_shared(person, session=session)
    found = Identifiers.of(person.row, include_phone=not shared)
    pair_ids = list(session.exec(select(Pair.id).where(person.linked(Pair))))
    # Counted first: ending a pair cancels its calls and their reminders itself.
    result.calls_cancelled = _count(session, ScheduledCall, _future_calls(pair_ids, now))
    result.messages_cancelled = _count(session, Message, sa.and_(
        _their_messages(person, pair_ids, shared), Message.status.in_(CLAIMABLE)))
    result.pairs_ended = _end_pairs(person, pair_ids, session=session, now=now,
                                    actor_id=actor_id)
    _cancel_calls(pair_ids, session=session, now=now)
    session.flush()
    _cancel_messages(person, pair_ids, shared, session=session, now=now)
    result.recordings_deleted = _intake_calls(person, shared, session=session, now=now,
                                              sender=sender)
    result.rows_scrubbed = _scrub_linked(person, pair_ids, shared, session=session)
    if not shared:
        session.execute(sa.delete(SmsOptOut).where(SmsOptOut.phone == person.row.phone)
                        .execution_options(synchronize_session="fetch"))
    session.flush()
    result.rows_scrubbed += _scrub_mentions(found, session=session)
    result.rows_scrubbed += _scrub_counterparts(person, pair_ids, session=session, now=now)
    _leave(person, session=session, now=now, actor_id=actor_id)
    _anonymise(person.row, now=now)
    session.add(person.row)
    session.flush()
    get_cache().clear()  # the start page keeps names for a minute
    audit.record("erase", session=session, **{person.key: person.id}, detail=reason,
                 actor_id=actor_id)
    return result


def _phone_shared(person: _Person, *, session: Session) -> bool:
    """Whether someone not erased has the same number (a couple's landline): then their
    texts, opt-out and calls from it are theirs too and stay."""
    phone = person.row.phone
    return bool(phone) and any(session.exec(
        select(model.id).where(model.phone == phone, model.erased_at.is_(None),
                               model.id != (person.id if model is person.model else -1))
    ).first() is not None for model in (Senior, Volunteer))


def _end_pairs(person: _Person, pair_ids: list[int], *, session: Session, now: datetime,
               actor_id: int | None) -> int:
    """End the active pairs as a coordinator would (matches.end_pair): the calls are
    cancelled, follow-up tasks close, and a senior whose volunteer goes waits again in
    the place in the queue they had."""
    reason, comment = ("other", SENIOR_END_COMMENT) if person.model is Senior else \
        ("volunteer_stopped", "")
    active = session.exec(select(Pair).where(Pair.id.in_(pair_ids), Pair.status == "active"))
    for pair in (pairs := list(active)):
        matches.end_pair(pair, reason, comment, "", session=session, actor=actor_id)
        pair.ended_at = now  # end_pair reads the wall clock; the erasure has its own `now`
        session.add(pair)
    return len(pairs)


def _count(session: Session, model, where) -> int:
    return int(session.exec(select(sa.func.count()).select_from(model).where(where)).one())


def _future_calls(pair_ids: list[int], now: datetime):
    return sa.and_(ScheduledCall.pair_id.in_(pair_ids), ScheduledCall.status == "planned",
                   ScheduledCall.scheduled_at > now)


def _cancel_calls(pair_ids: list[int], *, session: Session, now: datetime) -> None:
    """What end_pair left planned: it cancels by the wall clock, the retention job and the
    tests erase at a `now` of their own."""
    planner = Planner.from_app(current_app, session=session)
    for call in session.exec(select(ScheduledCall).where(_future_calls(pair_ids, now))).all():
        planner.cancel(call, status="cancelled", note="", now=now)


def _their_messages(person: _Person, pair_ids: list[int], shared: bool):
    call_ids = select(ScheduledCall.id).where(ScheduledCall.pair_id.in_(pair_ids))
    conditions = [person.linked(Message), Message.call_id.in_(call_ids)]
    addresses = [a for a in (None if shared else person.row.phone,
                             getattr(person.row, "email", None)) if a]
    if addresses:
        # Sent to their number but filed under nobody (a reply to a stranger's STOPP).
        conditions.append(sa.and_(Message.recipient.in_(addresses),
                                  Message.senior_id.is_(None), Message.volunteer_id.is_(None)))
    return sa.or_(*conditions)


def _cancel_messages(person: _Person, pair_ids: list[int], shared: bool, *, session: Session,
                     now: datetime) -> None:
    _update(session, Message, sa.and_(_their_messages(person, pair_ids, shared),
                                      Message.status.in_(CLAIMABLE)),
            status="cancelled", claimed_until=None, updated_at=now)


def _intake_calls(person: _Person, shared: bool, *, session: Session, now: datetime,
                  sender) -> int:
    conditions = [IntakeRequest.senior_id == person.id] if person.model is Senior else []
    if person.row.phone and not shared:
        conditions.append(sa.and_(IntakeRequest.from_number == person.row.phone,
                                  IntakeRequest.senior_id.is_(None)))
    deleted = 0
    for intake in session.exec(select(IntakeRequest).where(sa.or_(sa.false(), *conditions))):
        deleted += int(delete_intake_recording(intake, sender=sender, now=now))
        intake.transcription, intake.note, intake.from_number = "", "", ""
        session.add(intake)
    return deleted


def _update(session: Session, model, where, **values) -> int:
    found = session.execute(sa.update(model).where(where).values(**values)
                            .execution_options(synchronize_session="fetch"))
    return found.rowcount or 0


def _scrub_linked(person: _Person, pair_ids: list[int], shared: bool, *,
                  session: Session) -> int:
    """Everything filed under the person or their pairs loses its words."""
    call_ids = select(ScheduledCall.id).where(ScheduledCall.pair_id.in_(pair_ids))
    n = 0
    message_ids = list(session.exec(select(Message.id).where(
        _their_messages(person, pair_ids, shared))))
    n += _update(session, Message, Message.id.in_(message_ids), body=REDACTED, params="",
                 error="")
    addresses = [a for a in (person.row.phone, getattr(person.row, "email", None)) if a]
    if addresses:
        n += _update(session, Message, sa.and_(Message.id.in_(message_ids),
                                               Message.recipient.in_(addresses)),
                     recipient=REDACTED)
    inbound = [person.linked(InboundMessage)]
    if person.row.phone and not shared:
        inbound.append(sa.and_(InboundMessage.from_number == person.row.phone,
                               InboundMessage.senior_id.is_(None),
                               InboundMessage.volunteer_id.is_(None)))
    inbound_ids = list(session.exec(select(InboundMessage.id).where(sa.or_(*inbound))))
    n += _update(session, InboundMessage, InboundMessage.id.in_(inbound_ids), body="",
                 from_number="")
    log_ids = select(CallLog.id).where(CallLog.pair_id.in_(pair_ids))
    n += _scrub_tasks(sa.or_(person.linked(Task), Task.pair_id.in_(pair_ids),
                             Task.message_id.in_(message_ids),
                             Task.inbound_id.in_(inbound_ids), Task.call_log_id.in_(log_ids)),
                      session=session)
    n += _update(session, CallLog, CallLog.pair_id.in_(pair_ids), note="", concern="")
    n += _update(session, ScheduledCall, ScheduledCall.id.in_(call_ids), note="")
    n += _update(session, PairPause, PairPause.pair_id.in_(pair_ids), reason="")
    n += _update(session, Pair, Pair.id.in_(pair_ids), end_comment="", handover_note="",
                 explanation="", warnings="")
    n += _update(session, MatchProposal, person.linked(MatchProposal), explanation="")
    n += _update(session, Rejection, person.linked(Rejection), reason="")
    n += _update(session, PersonEvent, person.linked(PersonEvent), detail="")
    return n


def _scrub_tasks(where, *, session: Session) -> int:
    from .tasks import KIND_LABELS

    tasks = session.exec(select(Task).where(where)).all()
    with force_locale("sv"):
        for task in tasks:
            # The kind says what the task was about; a title naming no one stays useful.
            task.title = str(KIND_LABELS.get(task.kind, "Uppgift"))
            task.detail = task.closing_note = ""
            # Keys name the number ("opted_out:+4670…"); no more tasks will come of it.
            task.dedup_key = None
            session.add(task)
    return len(tasks)


def _scrub_mentions(found: Identifiers, *, session: Session) -> int:
    """Other people's notes, tasks and history naming the person: the name, number,
    e-mail or old id becomes "[raderad]", the rest of the words stay."""
    if not found.terms:
        return 0
    changed = 0
    for model, names in FREE_TEXT:
        rows = session.exec(select(model).where(found.where(
            [getattr(model, name) for name in names], session.get_bind().dialect.name))).all()
        changed += _rewrite(rows, names, found.scrub, session=session)
    return changed


def _rewrite(rows, names, change, *, session: Session) -> int:
    """Apply `change` to the text columns `names` of `rows`; how many rows changed."""
    changed = 0
    for row in rows:
        before = {name: getattr(row, name) for name in names}
        for name, value in before.items():
            new = change(value)
            if name == "dedup_key" and new != value:
                new = None  # a shared placeholder would make two open tasks clash
            length = getattr(row.__table__.c[name].type, "length", None)
            setattr(row, name, new[:length] if new and length else new)
        if any(getattr(row, name) != value for name, value in before.items()):
            session.add(row)
            changed += 1
    return changed


def _scrub_counterparts(person: _Person, pair_ids: list[int], *, session: Session,
                        now: datetime) -> int:
    """What the other side of a pair wrote to us while paired names the person by first
    name ("samtalet med Gunborg gick bra"), as do the on-duty SMS about the pair's
    concerns: there the first name goes too."""
    first = person.row.first_name.strip()
    if not first:
        return 0
    pattern = re.compile(rf"(?<!\w){re.escape(first)}(?!\w)", re.IGNORECASE)
    other_key = "volunteer_id" if person.model is Senior else "senior_id"
    changed = 0
    other_model = Volunteer if person.model is Senior else Senior
    for pair in session.exec(select(Pair).where(Pair.id.in_(pair_ids))).all():
        other, until = getattr(pair, other_key), pair.ended_at or now
        if session.get(other_model, other).first_name.casefold() == first.casefold():
            continue  # Anna and her volunteer Anna: the name would be hers as well
        targets = (
            (InboundMessage, InboundMessage.received_at, ("body",),
             getattr(InboundMessage, other_key) == other),
            (Task, Task.created_at, ("title", "detail", "closing_note"),
             getattr(Task, other_key) == other),
            # The on-duty coordinator's SMS about the pair's concern is filed under nobody.
            (Message, Message.created_at, ("body", "params"),
             Message.kind == "concern_on_duty"))
        for model, when, names, mine in targets:
            rows = session.exec(select(model).where(
                mine, when.between(pair.started_at, until))).all()
            changed += _rewrite(rows, names, lambda text: pattern.sub(REDACTED, text or ""),
                                session=session)
    return changed


def _leave(person: _Person, *, session: Session, now: datetime, actor_id) -> None:
    """Out of the waiting list and the matching for good, with the status history the
    report reads saying so."""
    row, senior = person.row, person.model is Senior
    new = "ended" if senior else "withdrawn"
    if row.status in ("ended", "declined", "withdrawn"):
        return
    event = record_event("status", session=session, from_status=row.status, to_status=new,
                         actor=actor_id, **{"senior" if senior else "volunteer": row})
    # A moment after the pair's end: the report's status timeline puts a senior back on
    # the waiting list when their pair ends, and this one left instead.
    event.at = now + timedelta(microseconds=1)
    row.status, row.updated_at = new, now


def _anonymise(row: Senior | Volunteer, *, now: datetime) -> None:
    row.first_name, row.last_name, row.phone = ERASED_NAME, "", ""
    row.external_id = None
    row.interests = row.availability = ""
    if isinstance(row, Senior):
        row.notes = ""
        row.call_in, row.reminder_channel = False, "none"
    else:
        row.email = None
        row.motivation = row.status_reason = row.training_course = ""
        row.link_version += 1  # the links in their old SMS stop working
    row.erased_at = row.updated_at = now
