"""Everything stored about one senior or volunteer: the registerutdrag of GDPR art. 15.

`collect_senior` and `collect_volunteer` read, never write: the views and the CLI in
access_views.py write the audit row and commit. The result is plain JSON (ISO 8601 times
in the programme's time zone) and is also what the printable page shows, so the page and
the file never disagree.

Other people appear by first name only. Free text stored about the person can still name
their phone friend in full (a history row says "Telefonvän: Jonas Berg"), so every string
of the export passes through a redactor that removes the counterparts' last names, phone
numbers (in any written form) and e-mail addresses.
"""

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlmodel import Session, select

from . import texts
from .db import utcnow
from .models import (
    AuditEvent,
    CallLog,
    Consent,
    InboundMessage,
    IntakeRequest,
    MatchProposal,
    MatchRun,
    Message,
    Pair,
    PairPause,
    PersonEvent,
    Rejection,
    ScheduledCall,
    Senior,
    SmsOptOut,
    StaffUser,
    Task,
    Volunteer,
)
from .phones import written_pattern

PROGRAMME = "Vänringen"
# Sections in the order the page shows them.
SECTIONS = ("profile", "consents", "history", "pairs", "pair_pauses", "scheduled_calls",
            "call_logs", "messages_sent", "messages_received", "tasks", "intake_calls",
            "match_proposals", "rejections", "sms_opt_out", "access_log")
# Which table feeds which section. tests/test_access_export.py fails when a table is in
# neither this nor EXCLUDED_TABLES, so a new table cannot be forgotten here.
TABLE_SECTIONS = {
    "senior": "profile", "volunteer": "profile", "consent": "consents",
    "person_event": "history", "pair": "pairs", "pair_pause": "pair_pauses",
    "scheduled_call": "scheduled_calls", "call_log": "call_logs", "message": "messages_sent",
    "inbound_message": "messages_received", "task": "tasks", "intake_request": "intake_calls",
    "match_proposal": "match_proposals", "rejection": "rejections",
    "sms_opt_out": "sms_opt_out", "audit_event": "access_log",
}
EXCLUDED_TABLES = {
    # The staff's own accounts; staff appear in the export by name where they acted.
    "staff_user": "personal",
    # The matcher's vocabulary, edited by coordinators: about nobody.
    "interest_category": "taxonomy",
    # Counts per run only; the run's time is given with each proposal.
    "match_run": "counts",
    # The wording of texts; what was sent to the person is in messages_sent.
    "message_template": "wording",
}
REDACTED = "[…]"


def _iso(value, tz: ZoneInfo):
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def redactor(others: Iterable, own_last_name: str = "") -> Callable[[str], str]:
    """A function that keeps only the first names of `others` (seniors or volunteers)."""
    patterns: list[tuple[re.Pattern, str]] = []
    for person in others:
        last = (person.last_name or "").strip()
        if last and last.lower() != (own_last_name or "").strip().lower():
            patterns.append((re.compile(rf"(?<!\w){re.escape(last)}(?!\w)", re.I), REDACTED))
        phone = written_pattern(person.phone)
        if phone:
            patterns.append((re.compile(phone), REDACTED))
        email = getattr(person, "email", None)
        if email:
            patterns.append((re.compile(re.escape(email), re.I), REDACTED))

    def redact(text: str) -> str:
        for pattern, replacement in patterns:
            text = pattern.sub(replacement, text)
        return text

    return redact


def _scrub(value, redact: Callable[[str], str]):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _scrub(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, redact) for item in value]
    return value


def _default_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"]) if has_app_context() else ZoneInfo("UTC")


def collect_senior(senior: Senior, *, session: Session, tz: ZoneInfo | None = None,
                   now: datetime | None = None) -> dict:
    return _collect(senior, "senior", session=session, tz=tz or _default_tz(),
                    now=now or utcnow())


def collect_volunteer(volunteer: Volunteer, *, session: Session, tz: ZoneInfo | None = None,
                      now: datetime | None = None) -> dict:
    return _collect(volunteer, "volunteer", session=session, tz=tz or _default_tz(),
                    now=now or utcnow())


class _Reader:
    """The queries for one person; `kind` is "senior" or "volunteer", `other` the opposite."""

    def __init__(self, person, kind: str, *, session: Session, tz: ZoneInfo):
        self.person, self.kind, self.session, self.tz = person, kind, session, tz
        self.other = "volunteer" if kind == "senior" else "senior"
        self.other_model = Volunteer if kind == "senior" else Senior
        self.staff = {s.id: s.name or s.email for s in session.exec(select(StaffUser))}
        self.pairs = list(session.exec(
            select(Pair).where(self.mine(Pair)).order_by(Pair.started_at, Pair.id)))
        self.pair_ids = [p.id for p in self.pairs]
        self.proposals = list(session.exec(
            select(MatchProposal, MatchRun).join(MatchRun, MatchProposal.run_id == MatchRun.id)
            .where(self.mine(MatchProposal)).order_by(MatchRun.started_at, MatchProposal.rank,
                                                      MatchProposal.id)))
        self.rejections = list(session.exec(
            select(Rejection).where(self.mine(Rejection)).order_by(Rejection.at, Rejection.id)))
        other_ids = {self.their_id(row) for row in
                     [*self.pairs, *(p for p, _ in self.proposals), *self.rejections]} - {None}
        self.others = {o.id: o for o in session.exec(
            select(self.other_model).where(self.other_model.id.in_(other_ids)))} \
            if other_ids else {}

    def mine(self, model):
        return getattr(model, f"{self.kind}_id") == self.person.id

    def their_id(self, row):
        return getattr(row, f"{self.other}_id")

    def first_name(self, other_id):
        other = self.others.get(other_id)
        return other.first_name if other else None

    def row(self, obj, *fields, **extra) -> dict:
        values = {name: _iso(getattr(obj, name), self.tz) for name in fields}
        return values | {key: _iso(value, self.tz) for key, value in extra.items()}

    def staff_name(self, staff_id):
        return self.staff.get(staff_id) if staff_id else None

    def contacts(self) -> set[str]:
        return {c for c in (self.person.phone, getattr(self.person, "email", None)) if c}

    def unlinked(self, model):
        return sa.and_(model.senior_id.is_(None), model.volunteer_id.is_(None))


def _collect(person, kind: str, *, session: Session, tz: ZoneInfo, now: datetime) -> dict:
    r = _Reader(person, kind, session=session, tz=tz)
    data = {
        "programme": {"name": PROGRAMME, **_programme_facts()},
        "generated_at": _iso(now, tz),
        "subject": {"kind": kind, "id": person.id},
        "profile": {column.name: _iso(getattr(person, column.name), tz)
                    for column in type(person).__table__.columns},
        "consents": _consents(r), "history": _history(r), "pairs": _pairs(r),
        "pair_pauses": _pauses(r), "scheduled_calls": _scheduled(r),
        "call_logs": _call_logs(r), "messages_sent": _messages_sent(r),
        "messages_received": _messages_received(r), "tasks": _tasks(r),
        "intake_calls": _intake(r), "match_proposals": _proposals(r),
        "rejections": _rejections(r), "sms_opt_out": _opt_outs(r),
        "access_log": _access_log(r),
    }
    return _scrub(data, redactor(r.others.values(), person.last_name))


def _programme_facts() -> dict:
    if not has_app_context():
        return {}
    config = current_app.config
    return {"retention_months_after_ending": config["RETENTION_MONTHS"],
            "intake_recording_days": config["INTAKE_RECORDING_DAYS"]}


def _consents(r: _Reader) -> list[dict]:
    rows = r.session.exec(select(Consent).where(r.mine(Consent))
                          .order_by(Consent.given_on, Consent.id))
    return [r.row(c, "given_on", "method", "text_version", "text", "recorded_by_name",
                  "created_at", "withdrawn_at", "withdrawn_method",
                  withdrawn_by=r.staff_name(c.withdrawn_by_id)) for c in rows]


def _history(r: _Reader) -> list[dict]:
    rows = r.session.exec(select(PersonEvent).where(r.mine(PersonEvent))
                          .order_by(PersonEvent.at, PersonEvent.id))
    return [r.row(e, "at", "action", "from_status", "to_status", "detail",
                  by=r.staff_name(e.actor_id)) for e in rows]


def _pairs(r: _Reader) -> list[dict]:
    rows = []
    for pair in r.pairs:
        row = r.row(pair, "id", "status", "started_at", "ended_at", "end_reason",
                    "end_comment", "agreed_slots", "call_times", "planned_until", "score",
                    "explanation", "warnings",
                    approved_by=r.staff_name(pair.approved_by_id),
                    ended_by=r.staff_name(pair.ended_by_id))
        row[f"{r.other}_first_name"] = r.first_name(r.their_id(pair))
        if r.kind == "senior":
            # What the next volunteer should know about the senior: about the senior
            # only, so it is not part of the volunteer's export.
            row["handover_note"] = pair.handover_note
        rows.append(row)
    return rows


def _by_pair(r: _Reader, model, *order):
    if not r.pair_ids:
        return []
    return r.session.exec(select(model).where(model.pair_id.in_(r.pair_ids)).order_by(*order))


def _pauses(r: _Reader) -> list[dict]:
    return [r.row(p, "pair_id", "starts_on", "resumes_on", "reason", "created_at")
            for p in _by_pair(r, PairPause, PairPause.starts_on, PairPause.id)]


def _scheduled(r: _Reader) -> list[dict]:
    return [r.row(c, "pair_id", "slot", "occurs_on", "scheduled_at", "status", "moved_from",
                  "note") for c in _by_pair(r, ScheduledCall, ScheduledCall.scheduled_at,
                                             ScheduledCall.id)]


def _call_logs(r: _Reader) -> list[dict]:
    rows = []
    for log in _by_pair(r, CallLog, CallLog.occurred_at, CallLog.id):
        if log.reported_by_volunteer_id:
            by = r.person.first_name if r.kind == "volunteer" and \
                log.reported_by_volunteer_id == r.person.id \
                else r.first_name(log.reported_by_volunteer_id)
        else:
            by = r.staff_name(log.reported_by_staff_id)
        rows.append(r.row(log, "pair_id", "occurred_at", "outcome", "minutes", "source",
                          "note", "concern", "created_at", reported_by=by))
    return rows


def _addressed_to_person(r: _Reader, message: Message) -> bool:
    """A reminder row names both people of a pair; only what went to this person is theirs."""
    meant_for = texts.audience(message.kind)
    if meant_for in ("senior", "volunteer", "staff"):
        return meant_for == r.kind
    return message.recipient in r.contacts()


def _messages_sent(r: _Reader) -> list[dict]:
    contacts = r.contacts()
    query = select(Message).where(sa.or_(
        r.mine(Message), sa.and_(r.unlinked(Message), Message.recipient.in_(contacts))))
    rows = r.session.exec(query.order_by(Message.due_at, Message.id))
    return [r.row(m, "channel", "kind", "recipient", "body", "status", "due_at", "sent_at",
                  "response") for m in rows if _addressed_to_person(r, m)]


def _messages_received(r: _Reader) -> list[dict]:
    condition = r.mine(InboundMessage)
    if r.person.phone:
        condition = sa.or_(condition, sa.and_(r.unlinked(InboundMessage),
                                              InboundMessage.from_number == r.person.phone))
    rows = r.session.exec(select(InboundMessage).where(condition)
                          .order_by(InboundMessage.received_at, InboundMessage.id))
    return [r.row(m, "received_at", "from_number", "body", "kind") for m in rows]


def _tasks(r: _Reader) -> list[dict]:
    condition = r.mine(Task)
    if r.pair_ids:
        # A task about the pair as a whole names neither person.
        condition = sa.or_(condition, sa.and_(r.unlinked(Task), Task.pair_id.in_(r.pair_ids)))
    rows = r.session.exec(select(Task).where(condition).order_by(Task.created_at, Task.id))
    return [r.row(t, "kind", "urgent", "title", "detail", "status", "created_at", "closed_at",
                  "closing_note", closed_by=r.staff_name(t.closed_by_id)) for t in rows]


def _intake(r: _Reader) -> list[dict]:
    from_them = sa.and_(IntakeRequest.senior_id.is_(None),
                        IntakeRequest.from_number == r.person.phone) \
        if r.person.phone else sa.false()
    condition = sa.or_(IntakeRequest.senior_id == r.person.id, from_them) \
        if r.kind == "senior" else from_them
    rows = r.session.exec(select(IntakeRequest).where(condition)
                          .order_by(IntakeRequest.created_at, IntakeRequest.id))
    # The recording itself stays at Twilio (and is deleted after INTAKE_RECORDING_DAYS);
    # the export says whether one exists, and a coordinator can play it in the inbox.
    return [r.row(i, "created_at", "from_number", "choice", "recording_seconds",
                  "recording_deleted_at", "transcription", "status", "note", "handled_at",
                  recording_exists=bool(i.recording_sid or i.recording_url)
                  and i.recording_deleted_at is None,
                  handled_by=r.staff_name(i.handled_by_id)) for i in rows]


def _proposals(r: _Reader) -> list[dict]:
    rows = []
    for proposal, run in r.proposals:
        row = r.row(proposal, "rank", "score", "explanation", "status", "decided_at",
                    proposed_at=run.started_at, decided_by=r.staff_name(proposal.decided_by_id))
        row[f"{r.other}_first_name"] = r.first_name(r.their_id(proposal))
        rows.append(row)
    return rows


def _rejections(r: _Reader) -> list[dict]:
    rows = []
    for rejection in r.rejections:
        row = r.row(rejection, "at", "reason", by=r.staff_name(rejection.by_id))
        row[f"{r.other}_first_name"] = r.first_name(r.their_id(rejection))
        rows.append(row)
    return rows


def _opt_outs(r: _Reader) -> list[dict]:
    if not r.person.phone:
        return []
    rows = r.session.exec(select(SmsOptOut).where(SmsOptOut.phone == r.person.phone))
    return [r.row(o, "phone", "keyword", "source", "at") for o in rows]


def _access_log(r: _Reader) -> list[dict]:
    """Who has seen or changed the person's data: staff by name, a volunteer by first name."""
    conditions = [r.mine(AuditEvent)]
    if r.pair_ids:
        conditions.append(AuditEvent.pair_id.in_(r.pair_ids))
    if r.kind == "volunteer":
        conditions.append(AuditEvent.actor_volunteer_id == r.person.id)
    rows = r.session.exec(select(AuditEvent).where(sa.or_(*conditions))
                          .order_by(AuditEvent.at, AuditEvent.id))
    out = []
    for event in rows:
        if event.actor_id:
            by_kind, by = "staff", r.staff_name(event.actor_id)
        elif event.actor_volunteer_id:
            by_kind = "volunteer"
            by = r.person.first_name if r.kind == "volunteer" and \
                event.actor_volunteer_id == r.person.id \
                else r.first_name(event.actor_volunteer_id)
        else:
            by_kind, by = "system", None
        out.append(r.row(event, "at", "action", "endpoint", by_kind=by_kind, by=by))
    return out


def export_filename(kind: str, person_id: int, *, tz: ZoneInfo, now: datetime | None = None):
    day = (now or utcnow()).astimezone(tz).date().isoformat()
    return f"registerutdrag-{kind}-{person_id}-{day}.json"
