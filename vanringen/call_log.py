"""What became of each call. Volunteers report by SMS reply or on their personal page, a
coordinator may log it, and a call put through the programme's number logs itself.

A concern is never only a field in a log: it opens an urgent task at once and texts the
coordinator on duty. Nothing here commits; the views, webhooks and clock process do.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from . import messaging
from .followup import resolve_for_pair
from .models import CallLog, Pair, ScheduledCall, Senior, StaffUser, Task, Volunteer
from .tasks import open_task

OUTCOMES = {
    "held": _l("Samtalet blev av"),
    "no_answer": _l("Inget svar"),
    "cancelled_senior": _l("Inställt av seniorn"),
    "cancelled_volunteer": _l("Inställt av volontären"),
    "moved": _l("Flyttat"),
}
SOURCES = {
    "sms": _l("SMS-svar"), "link": _l("Volontärens sida"),
    "bridge": _l("Via Vänringens nummer"), "coordinator": _l("Samordnare"),
}
# Longer than any phone call a pair has: a typo ("JA 250") is refused, not logged.
MAX_MINUTES = 300


class OutcomeError(ValueError):
    """A report that cannot be logged, in Swedish, naming the field."""

    def __init__(self, message: str, field: str = "outcome"):
        super().__init__(message)
        self.field = field


def check_outcome(outcome: str, minutes: int | None) -> int | None:
    if outcome not in OUTCOMES:
        raise OutcomeError("Välj hur det gick med samtalet.")
    if outcome != "held":
        return None
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise OutcomeError(f"Skriv hur många minuter ni pratade (1–{MAX_MINUTES}).", "minutes")
    return minutes


def log_of(call: ScheduledCall, *, session: Session) -> CallLog | None:
    return session.exec(select(CallLog).where(CallLog.call_id == call.id)).first()


def record_outcome(pair: Pair, call: ScheduledCall | None, outcome: str, *, session: Session,
                   now: datetime, source: str, minutes: int | None = None, note: str = "",
                   concern: str = "", volunteer_id: int | None = None,
                   staff_id: int | None = None, provider_id: str | None = None,
                   occurred_at: datetime | None = None) -> tuple[CallLog, list]:
    """Log what became of `call` (a later report replaces the outcome of an earlier one) or,
    without a call, of a call made outside the plan. Returns the log entry and the messages
    queued for it (the on-duty SMS of a concern), for the caller to send after its commit."""
    minutes = check_outcome(outcome, minutes)
    entry = log_of(call, session=session) if call is not None else None
    if entry is None:
        entry = CallLog(pair_id=pair.id, call_id=call.id if call is not None else None,
                        occurred_at=occurred_at or (call.scheduled_at if call else now),
                        outcome=outcome, source=source, created_at=now)
    earlier_concern = entry.concern
    entry.outcome, entry.minutes, entry.source, entry.updated_at = outcome, minutes, source, now
    entry.note = note.strip() or entry.note
    entry.concern = concern.strip() or entry.concern
    entry.provider_id = provider_id or entry.provider_id
    entry.reported_by_volunteer_id = volunteer_id or entry.reported_by_volunteer_id
    entry.reported_by_staff_id = staff_id or entry.reported_by_staff_id
    session.add(entry)
    session.flush()
    # A held call (or a volunteer's report) may end a follow-up task's cause right away.
    resolve_for_pair(pair, session=session, now=now)
    queued = []
    if entry.concern and entry.concern != earlier_concern:
        queued = raise_concern(pair, entry.concern, session=session, now=now,
                               call_log_id=entry.id)[1]
    return entry, queued


def raise_concern(pair: Pair | None, concern: str, *, session: Session, now: datetime,
                  volunteer: Volunteer | None = None,
                  call_log_id: int | None = None) -> tuple[Task, list]:
    """An urgent task for the coordinators, and an SMS to each coordinator on duty. The SMS
    names no one in full and quotes nothing: it only says where to look. Without a pair (a
    volunteer with two seniors whose SMS does not say which) the task names the volunteer."""
    volunteer = volunteer or session.get(Volunteer, pair.volunteer_id)
    senior = session.get(Senior, pair.senior_id) if pair is not None else None
    title = f"Oro för {senior.full_name}" if senior else f"Oro från {volunteer.full_name}"
    task = open_task("concern", title, session=session,
                     detail=f"{volunteer.full_name}: {concern}", urgent=True,
                     pair_id=pair.id if pair else None, senior_id=senior.id if senior else None,
                     volunteer_id=volunteer.id, call_log_id=call_log_id)
    on_duty = session.exec(select(StaffUser).where(StaffUser.on_duty, StaffUser.active,
                                                   StaffUser.phone != "")).all()
    about = senior.first_name if senior else "sin telefonvän"
    queued = [messaging.queue("concern_on_duty", user.phone,
                              {"senior": about, "volontär": volunteer.first_name},
                              session=session, due_at=now) for user in on_duty]
    return task, queued
