"""Matching in the app: records from the database, a matcher run stored as proposals, and
what a coordinator decides (approve, reject, pick a volunteer by hand, end a pair).

No requests here: the proposal pages, the pair pages and `vanringen match` call these and
commit. Errors are MatchError with a Swedish message for the coordinator.
"""

import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from matching import (
    InterestMatcher,
    Proposal,
    SeniorRecord,
    Taxonomy,
    VolunteerRecord,
    hard_constraint_violations,
)

from . import messaging, vocab
from .db import utcnow
from .followup import resolve_for_pair
from .models import (
    InterestCategory,
    MatchProposal,
    MatchRun,
    Message,
    Pair,
    Rejection,
    Senior,
    Volunteer,
)
from .people import record_event
from .planner import Planner
from .schedule import MAX_SLOTS, day_part_slot, format_slots, parse_time
from .texts import Texts, weekly
from .volunteer_links import number_to_ring
from .volunteers import is_matchable

END_REASONS = {
    "moved_to_care": _l("Seniorn har flyttat till ett boende"),
    "passed_away": _l("Seniorn har avlidit"),
    "volunteer_stopped": _l("Volontären har slutat"),
    "no_click": _l("Det klickade inte"),
    "other": _l("Annat"),
}
# Stored with the run: the run saw this senior and found no volunteer for them.
UNMATCHED_TEXT = ("Ingen volontär med ledig plats passar: gemensamt språk, önskat kön och "
                  "gemensam samtalstid saknas, eller så behövdes de volontärer som passar för "
                  "att fler seniorer skulle få en telefonvän eller för bättre matchade intressen.")


class MatchError(ValueError):
    """Something the coordinator must know before anything is saved (Swedish)."""


class SlotError(MatchError):
    """The chosen call times are wrong; shown at the form's call-time field."""


class NeedsConfirmation(MatchError):
    """Hard constraints are broken; the coordinator may still confirm the pair."""

    def __init__(self, warnings: list[str]):
        super().__init__(_("Bekräfta varningarna innan paret skapas."))
        self.warnings = warnings


# ---------------------------------------------------------------- taxonomy

def parse_terms(text: str | None) -> list[str]:
    """Terms one per line or ';'-separated, trimmed, each once, in the order given."""
    return list(dict.fromkeys(t.strip() for t in re.split(r"[\n;]", text or "") if t.strip()))


def load_taxonomy(*, session: Session) -> Taxonomy:
    rows = session.exec(select(InterestCategory)
                        .order_by(InterestCategory.sort_order, InterestCategory.id)).all()
    return Taxonomy.from_mapping({row.key: {"label": row.label, "terms": parse_terms(row.terms)}
                                  for row in rows})


# ---------------------------------------------------------------- records from the database

def active_pair_counts(*, session: Session, volunteer_id: int | None = None) -> dict[int, int]:
    query = (select(Pair.volunteer_id, sa.func.count()).where(Pair.status == "active")
             .group_by(Pair.volunteer_id))
    if volunteer_id is not None:
        query = query.where(Pair.volunteer_id == volunteer_id)
    return dict(session.exec(query).all())


def free_capacity(volunteer: Volunteer, *, session: Session) -> int:
    active = active_pair_counts(session=session, volunteer_id=volunteer.id).get(volunteer.id, 0)
    return volunteer.capacity - active


def senior_record(senior: Senior) -> SeniorRecord:
    since = senior.waiting_since or senior.created_at
    return SeniorRecord(
        id=senior.id, interests=senior.interests, languages=frozenset(senior.language_list),
        gender=senior.gender, preferred_gender=senior.preferred_gender,
        slots=frozenset(senior.slot_list), waiting_since=since.timestamp(),
        first_name=senior.first_name)


def volunteer_record(volunteer: Volunteer, free: int) -> VolunteerRecord:
    return VolunteerRecord(
        id=volunteer.id, interests=volunteer.interests,
        languages=frozenset(volunteer.language_list), gender=volunteer.gender,
        slots=frozenset(volunteer.slot_list), free_capacity=free, status=volunteer.status,
        first_name=volunteer.first_name)


def matchable_volunteers(*, session: Session, today: date,
                         valid_days: int) -> list[tuple[Volunteer, int]]:
    """Approved volunteers with a valid police-record extract and a free place, by name."""
    active = active_pair_counts(session=session)
    volunteers = session.exec(select(Volunteer).where(Volunteer.status == "approved")
                              .order_by(Volunteer.first_name, Volunteer.last_name,
                                        Volunteer.id)).all()
    found = []
    for volunteer in volunteers:
        free = volunteer.capacity - active.get(volunteer.id, 0)
        if free >= 1 and is_matchable(volunteer, today, valid_days):
            found.append((volunteer, free))
    return found


def waiting_seniors(*, session: Session) -> list[Senior]:
    """Longest waiting first: the order the proposals page shows them in."""
    return list(session.exec(select(Senior).where(Senior.status == "waiting")
                             .order_by(Senior.waiting_since.asc().nulls_last(), Senior.id)).all())


def rejected_pairs(*, session: Session, senior_id: int | None = None) -> list[tuple[int, int]]:
    query = select(Rejection.senior_id, Rejection.volunteer_id)
    if senior_id is not None:
        query = query.where(Rejection.senior_id == senior_id)
    return [tuple(row) for row in session.exec(query).all()]


@dataclass
class Records:
    seniors: list[SeniorRecord]
    volunteers: list[VolunteerRecord]
    rejected: list[tuple[int, int]]
    senior_rows: dict[int, Senior] = field(default_factory=dict)
    volunteer_rows: dict[int, Volunteer] = field(default_factory=dict)


def build_records(*, session: Session, today: date, valid_days: int) -> Records:
    seniors = waiting_seniors(session=session)
    volunteers = matchable_volunteers(session=session, today=today, valid_days=valid_days)
    return Records(
        seniors=[senior_record(s) for s in seniors],
        volunteers=[volunteer_record(v, free) for v, free in volunteers],
        rejected=rejected_pairs(session=session),
        senior_rows={s.id: s for s in seniors}, volunteer_rows={v.id: v for v, _ in volunteers})


# ---------------------------------------------------------------- a run

def run_matching(*, session: Session, today: date, valid_days: int,
                 by_id: int | None = None) -> tuple[MatchRun, Records, list[Proposal]]:
    """Propose a volunteer for everyone waiting; earlier pending proposals are superseded."""
    records = build_records(session=session, today=today, valid_days=valid_days)
    proposals, unmatched = [], [s.id for s in records.seniors]
    if records.seniors and records.volunteers:  # nothing to learn from an empty side
        matcher = InterestMatcher(taxonomy=load_taxonomy(session=session))
        matcher.fit(records.seniors, records.volunteers, rejected=records.rejected)
        proposals, unmatched = list(matcher.proposals_), list(matcher.unmatched_)
    run = MatchRun(by_id=by_id, seniors=len(records.seniors),
                   volunteers=len(records.volunteers), proposed=len(proposals),
                   unmatched=len(unmatched))
    session.add(run)
    session.flush()
    session.execute(sa.update(MatchProposal).where(MatchProposal.status == "pending")
                    .values(status="superseded"))
    base = {"run_id": run.id, "decided_at": None, "decided_by_id": None}
    rows = []
    for proposal in proposals:
        for rank, option in enumerate((proposal, *proposal.alternatives[:2])):
            rows.append({**base, "senior_id": option.senior_id,
                         "volunteer_id": option.volunteer_id, "rank": rank,
                         "score": float(option.score), "explanation": option.explanation,
                         "status": "pending"})
    rows += [{**base, "senior_id": senior_id, "volunteer_id": None, "rank": 0, "score": 0.0,
              "explanation": UNMATCHED_TEXT, "status": "unmatched"}
             for senior_id in unmatched]
    if rows:
        # Core executemany: a run at programme scale writes tens of thousands of rows.
        session.execute(sa.insert(MatchProposal.__table__), rows)
    return run, records, proposals


# ---------------------------------------------------------------- deciding

def slot_choices(senior: Senior, volunteer: Volunteer) -> list[str]:
    """The call times to agree on: the shared ones, else the senior's wishes, else any."""
    shared = [s for s in senior.slot_list if s in set(volunteer.slot_list)]
    return shared or senior.slot_list or volunteer.slot_list or list(vocab.SLOTS)


def violations(senior: Senior, volunteer: Volunteer, *, session: Session) -> list[str]:
    free = free_capacity(volunteer, session=session)
    return hard_constraint_violations(
        senior_record(senior), volunteer_record(volunteer, free),
        rejected=rejected_pairs(session=session, senior_id=senior.id))


def _locked(model, row_id: int, *, session: Session):
    # FOR UPDATE on PostgreSQL makes a second coordinator wait, then see the first one's
    # pair; SQLite allows one writer at a time anyway. populate_existing: fresh values.
    return session.exec(select(model).where(model.id == row_id).with_for_update()
                        .execution_options(populate_existing=True)).one()


def call_times(slots: list[str], times: dict[str, str] | None) -> str:
    """The weekly call plan for chosen day parts, each at the time given for it (or the
    part's usual hour); MatchError (Swedish) for a time outside its part."""
    found = []
    for slot in slots:
        text = ((times or {}).get(slot) or "").strip()
        try:
            found.append(day_part_slot(slot, parse_time(text) if text else None))
        except ValueError as exc:
            with force_locale("sv"):
                raise SlotError(_("Tiden för %(slot)s: %(error)s.", slot=vocab.slot_label(slot),
                                   error=str(exc))) from None
    return format_slots(found)


def create_pair(senior: Senior, volunteer: Volunteer, slots: list[str], *, session: Session,
                today: date, valid_days: int, actor: int | None, confirmed: bool = False,
                score: float | None = None, explanation: str = "",
                times: dict[str, str] | None = None) -> tuple[Pair, list[Message]]:
    """Check again what may have changed since the page was shown, then pair, plan the
    calls and notify.

    `slots` are the day parts agreed on (at most two), `times` the clock time for each
    ('14:00'). Raises MatchError (nothing changed) or NeedsConfirmation when hard
    constraints are broken and `confirmed` is false. Returns the pair and the messages to
    deliver after the commit.
    """
    senior = _locked(Senior, senior.id, session=session)
    volunteer = _locked(Volunteer, volunteer.id, session=session)
    if senior.status != "waiting":
        raise MatchError(_("%(name)s väntar inte längre på en telefonvän (status: %(status)s). "
                           "Någon annan kan just ha godkänt en matchning.",
                           name=senior.full_name,
                           status=vocab.SENIOR_STATUSES.get(senior.status, senior.status)))
    if not is_matchable(volunteer, today, valid_days):
        raise MatchError(_("%(name)s kan inte matchas: volontären är inte godkänd eller "
                           "utdraget ur belastningsregistret gäller inte.",
                           name=volunteer.full_name))
    if free_capacity(volunteer, session=session) < 1:
        raise MatchError(_("%(name)s har inga lediga platser längre. Någon annan kan just ha "
                           "godkänt en matchning med volontären.", name=volunteer.full_name))
    warnings = violations(senior, volunteer, session=session)
    if warnings and not confirmed:
        raise NeedsConfirmation(warnings)
    allowed = slot_choices(senior, volunteer)
    chosen = [s for s in allowed if s in set(slots)]
    if not chosen or len(chosen) != len(set(slots)):
        raise SlotError(_("Välj minst en samtalstid bland de tider som passar båda."))
    if len(chosen) > MAX_SLOTS:
        raise SlotError(_("Välj högst två samtalstider i veckan."))
    now = utcnow()
    pair = Pair(senior_id=senior.id, volunteer_id=volunteer.id, started_at=now,
                agreed_slots=";".join(chosen), call_times=call_times(chosen, times),
                score=score, explanation=explanation, warnings="\n".join(warnings),
                approved_by_id=actor)
    session.add(pair)
    senior.status, senior.updated_at = "matched", now
    session.add(senior)
    times = _swedish_times(pair)  # history is stored in one language
    record_event("status", session=session, senior=senior, from_status="waiting",
                 to_status="matched", actor=actor,
                 detail=f"Telefonvän: {volunteer.full_name} (volontär #{volunteer.id}), {times}"
                 + (". Bekräftade varningar: " + "; ".join(warnings) if warnings else ""))
    record_event("paired", session=session, volunteer=volunteer, actor=actor,
                 detail=f"Telefonvän till {senior.full_name} (senior #{senior.id}), {times}")
    session.execute(sa.update(MatchProposal)
                    .where(MatchProposal.senior_id == senior.id,
                           MatchProposal.status == "pending")
                    .values(status="superseded"))
    session.flush()  # the partial unique index refuses a second active pair here
    Planner.from_app(current_app, session=session).plan([pair], now=now)
    return pair, queue_pair_messages(pair, senior, volunteer, session=session)


def approve(proposal: MatchProposal, slots: list[str], *, session: Session, today: date,
            valid_days: int, actor: int | None,
            times: dict[str, str] | None = None) -> tuple[Pair, list[Message]]:
    if proposal.status != "pending" or proposal.volunteer_id is None:
        raise MatchError(_("Förslaget är redan hanterat. Ladda om sidan."))
    senior = session.get(Senior, proposal.senior_id)
    volunteer = session.get(Volunteer, proposal.volunteer_id)
    try:
        pair, messages = create_pair(senior, volunteer, slots, session=session, today=today,
                                     valid_days=valid_days, actor=actor, score=proposal.score,
                                     explanation=proposal.explanation, times=times)
    except NeedsConfirmation as exc:
        raise MatchError(_("Förslaget passar inte längre: %(warnings)s. Välj volontär för hand "
                           "om ni ändå vill para ihop dem.",
                           warnings="; ".join(exc.warnings))) from None
    proposal.status, proposal.decided_at, proposal.decided_by_id = "approved", utcnow(), actor
    session.add(proposal)
    return pair, messages


def add_rejection(senior_id: int, volunteer_id: int, reason: str, *, session: Session,
                  actor: int | None) -> None:
    exists = session.exec(select(Rejection.id).where(Rejection.senior_id == senior_id,
                                                     Rejection.volunteer_id == volunteer_id))
    if exists.first() is None:
        session.add(Rejection(senior_id=senior_id, volunteer_id=volunteer_id, reason=reason,
                              by_id=actor))


def reject(proposal: MatchProposal, reason: str, *, session: Session,
           actor: int | None) -> None:
    """The matcher never proposes these two together again; the senior keeps waiting."""
    reason = (reason or "").strip()
    if not reason:
        raise MatchError(_("Ange varför förslaget avvisas."))
    if proposal.status != "pending" or proposal.volunteer_id is None:
        raise MatchError(_("Förslaget är redan hanterat. Ladda om sidan."))
    volunteer = session.get(Volunteer, proposal.volunteer_id)
    add_rejection(proposal.senior_id, proposal.volunteer_id, reason, session=session,
                  actor=actor)
    proposal.status, proposal.decided_at, proposal.decided_by_id = "rejected", utcnow(), actor
    session.add(proposal)
    record_event("proposal_rejected", session=session, senior=session.get(Senior,
                 proposal.senior_id), actor=actor,
                 detail=f"{volunteer.full_name} (volontär #{volunteer.id}): {reason}")


def end_pair(pair: Pair, reason: str, comment: str, handover_note: str, *, session: Session,
             actor: int | None) -> Senior:
    """End the pair; the senior waits again with their first place in the queue kept."""
    comment, handover_note = (comment or "").strip(), (handover_note or "").strip()
    if reason not in END_REASONS:
        raise MatchError(_("Välj varför telefonvänskapet avslutas."))
    if reason == "other" and not comment:
        raise MatchError(_("Beskriv varför telefonvänskapet avslutas."))
    pair = _locked(Pair, pair.id, session=session)
    if pair.status != "active":
        raise MatchError(_("Telefonvänskapet är redan avslutat."))
    senior = _locked(Senior, pair.senior_id, session=session)
    volunteer = session.get(Volunteer, pair.volunteer_id)
    now = utcnow()
    pair.status, pair.ended_at, pair.ended_by_id = "ended", now, actor
    pair.end_reason, pair.end_comment, pair.handover_note = reason, comment, handover_note
    session.add(pair)
    with force_locale("sv"):
        why = str(END_REASONS[reason]) + (f": {comment}" if comment else "")
    if senior.status == "matched":
        # waiting_since is left as it was: they come ahead of people who signed up later.
        new = "ended" if reason == "passed_away" else "waiting"
        if senior.waiting_since is None:
            senior.waiting_since = pair.started_at
        senior.status, senior.updated_at = new, now
        session.add(senior)
        record_event("status", session=session, senior=senior, from_status="matched",
                     to_status=new, actor=actor,
                     detail=f"Telefonvänskapet med {volunteer.full_name} avslutades: {why}")
    record_event("pair_ended", session=session, volunteer=volunteer, actor=actor,
                 detail=f"{senior.full_name} (senior #{senior.id}): {why}")
    Planner.from_app(current_app, session=session).replan(
        pair, now=now, note=f"Telefonvänskapet avslutades: {why}")
    # Whatever the reason, proposing the same two again would not help anyone.
    add_rejection(senior.id, volunteer.id, f"Telefonvänskapet avslutades: {why}",
                  session=session, actor=actor)
    resolve_for_pair(pair, session=session, now=now)  # its follow-up tasks close
    return senior


# ---------------------------------------------------------------- messages

def _swedish_times(pair: Pair) -> str:
    return weekly(pair.call_times, "sv")  # history is stored in one language


def queue_pair_messages(pair: Pair, senior: Senior, volunteer: Volunteer, *,
                        session: Session) -> list[Message]:
    """Record the volunteer's SMS and the senior's message (by their reminder channel);
    returns them, to be sent after the commit."""
    wording = Texts.load(session=session)
    refs = {"session": session, "wording": wording, "senior_id": senior.id,
            "volunteer_id": volunteer.id}
    messages = [messaging.queue(
        "pair_volunteer", volunteer.phone,
        {"volontär": volunteer.first_name, "senior": senior.first_name,
         "telefon": number_to_ring(senior.phone, config=current_app.config),
         "slots": pair.call_times}, **refs)]
    if senior.reminder_channel in ("sms", "voice"):
        key = f"pair_senior_{senior.reminder_channel}"
        messages.append(messaging.queue(
            key, senior.phone, {"senior": senior.first_name, "volontär": volunteer.first_name,
                                "slots": pair.call_times},
            language=wording.language_for(key, senior.language_list), **refs))
    return messages
