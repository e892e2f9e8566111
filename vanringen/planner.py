"""Calls and their reminders, planned ahead for every active pair.

Each weekly slot becomes a ScheduledCall per date for PLAN_DAYS ahead, and each call gets
its reminder Messages at once (record first, then send): the volunteer's SMS, and the
senior's SMS or voice call by their reminder channel. Editing a plan, pausing a pair or
ending it replans: calls no longer wanted are cancelled with their reminders, and what is
missing is planned. Nothing here commits; views and the clock process do.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, select

from . import messaging
from .models import Message, Pair, PairPause, ScheduledCall, Senior, Volunteer
from .phones import display_phone
from .schedule import ReminderRules, local_instant, occurrences, parse_slots, rules_from_config
from .texts import Texts
from .volunteer_links import number_to_ring


@dataclass
class Planner:
    session: Session
    rules: ReminderRules
    wording: Texts
    horizon_days: int = 14
    config: dict = field(default_factory=dict)  # the app's, for what volunteers are told

    @classmethod
    def from_app(cls, app: Flask, *, session: Session) -> "Planner":
        return cls(session=session, rules=rules_from_config(app.config),
                   wording=Texts.load(session=session), horizon_days=app.config["PLAN_DAYS"],
                   config=app.config)

    def window(self, now: datetime) -> tuple[date, date]:
        today = self.rules.local(now).date()
        return today, today + timedelta(days=self.horizon_days)

    # ------------------------------------------------------------ planning

    def plan(self, pairs: list[Pair], *, now: datetime) -> list[ScheduledCall]:
        """Plan every missing call of `pairs` up to the horizon; returns the new calls."""
        session, tz = self.session, self.rules.tz
        today, end = self.window(now)
        active = [p for p in pairs if p.status == "active" and p.call_times]
        for pair in pairs:
            pair.planned_until = end
            session.add(pair)
        if not active:
            return []
        ids = [p.id for p in active]
        seniors = _by_id(Senior, {p.senior_id for p in active}, session)
        volunteers = _by_id(Volunteer, {p.volunteer_id for p in active}, session)
        pauses = self.pauses(ids)
        known = {(c.pair_id, c.slot, c.occurs_on): c for c in session.exec(
            select(ScheduledCall).where(ScheduledCall.pair_id.in_(ids),
                                        ScheduledCall.occurs_on >= today))}
        planned = []
        for pair in active:
            start = max(today, pair.started_at.astimezone(tz).date())
            for day, slot in occurrences(parse_slots(pair.call_times), start, end):
                call = known.get((pair.id, slot.code, day))
                # A moved call keeps its place in the week but happens at its new time.
                moved = call is not None and call.moved_from is not None
                at = call.scheduled_at if moved else local_instant(day, slot.at, tz)
                if paused(pauses[pair.id], self.rules.local(at).date()):
                    continue
                if call is None and at > now:
                    call = ScheduledCall(pair_id=pair.id, slot=slot.code, occurs_on=day,
                                         scheduled_at=at)
                elif call is not None and call.status == "cancelled" and at > now:
                    # Cancelled by a pause or an edit that has since been undone.
                    call.status, call.note, call.scheduled_at, call.updated_at = \
                        "planned", "", at, now
                else:
                    continue
                session.add(call)
                planned.append(call)
        session.flush()
        for call in planned:
            pair = next(p for p in active if p.id == call.pair_id)
            self.queue_reminders(call, seniors[pair.senior_id], volunteers[pair.volunteer_id])
        return planned

    def queue_reminders(self, call: ScheduledCall, senior: Senior,
                        volunteer: Volunteer) -> list[Message]:
        call_at, rules = call.scheduled_at, self.rules
        refs = {"session": self.session, "wording": self.wording, "tz": rules.tz,
                "expires_at": call_at, "call_id": call.id, "senior_id": senior.id,
                "volunteer_id": volunteer.id}
        when = {"call_at": call_at.isoformat()}
        queued = [messaging.queue(
            "reminder_volunteer", volunteer.phone,
            {**when, "volontär": volunteer.first_name, "senior": senior.first_name,
             "telefon": number_to_ring(senior.phone, config=self.config) if self.config
             else display_phone(senior.phone)},
            due_at=rules.volunteer_reminder(call_at), **refs)]
        if senior.reminder_channel in ("sms", "voice"):
            key = f"reminder_senior_{senior.reminder_channel}"
            queued.append(messaging.queue(
                key, senior.phone,
                {**when, "senior": senior.first_name, "volontär": volunteer.first_name},
                language=self.wording.language_for(key, senior.language_list),
                due_at=rules.senior_reminder(call_at), **refs))
        return queued

    def tell_volunteer(self, call: ScheduledCall, key: str, *, now: datetime) -> Message:
        """An SMS to the pair's volunteer about `call` (text `key`), due now."""
        pair = self.session.get(Pair, call.pair_id)
        senior = self.session.get(Senior, pair.senior_id)
        volunteer = self.session.get(Volunteer, pair.volunteer_id)
        return messaging.queue(
            key, volunteer.phone, {"volontär": volunteer.first_name, "senior": senior.first_name,
                                   "call_at": call.scheduled_at.isoformat()},
            session=self.session, wording=self.wording, tz=self.rules.tz, due_at=now,
            senior_id=senior.id, volunteer_id=volunteer.id)

    # ------------------------------------------------------------ changing plans

    def replan(self, pair: Pair, *, now: datetime, note: str) -> None:
        """After a plan was edited, a pause added or ended, or the pair ended: cancel the
        future calls that no longer fit (saying why), then plan what is missing."""
        slots = {s.code for s in parse_slots(pair.call_times)} \
            if pair.status == "active" and pair.call_times else set()
        pauses = self.pauses([pair.id])[pair.id]
        for call in self.session.exec(select(ScheduledCall).where(
                ScheduledCall.pair_id == pair.id, ScheduledCall.status == "planned",
                ScheduledCall.scheduled_at > now)):
            day = self.rules.local(call.scheduled_at).date()
            kept_by_hand = call.moved_from is not None and pair.status == "active"
            if paused(pauses, day) or not (kept_by_hand or call.slot in slots):
                self.cancel(call, status="cancelled", note=note, now=now)
        self.plan([pair], now=now)

    def cancel(self, call: ScheduledCall, *, status: str, note: str, now: datetime,
               actor: int | None = None) -> None:
        """The call will not happen (cancelled by the system, or skipped by a person);
        its reminders not yet sent are not needed."""
        call.status, call.note, call.updated_at = status, note, now
        call.changed_by_id = actor or call.changed_by_id
        self.session.add(call)
        self.cancel_reminders(call, now=now)

    def cancel_reminders(self, call: ScheduledCall, *, now: datetime,
                         kinds: tuple[str, ...] = messaging.REMINDER_KINDS) -> None:
        self.session.execute(
            sa.update(Message).where(Message.call_id == call.id, Message.status == "pending",
                                     Message.kind.in_(kinds))
            .values(status="cancelled", updated_at=now)
            .execution_options(synchronize_session=False))

    def move(self, call: ScheduledCall, new_at: datetime, *, now: datetime,
             actor: int | None) -> None:
        """One call at another time; it keeps its place in the week (slot and date)."""
        self.cancel_reminders(call, now=now)
        call.moved_from = call.moved_from or call.scheduled_at
        call.scheduled_at, call.status, call.updated_at = new_at, "planned", now
        call.changed_by_id = actor
        self.session.add(call)
        self.session.flush()
        pair = self.session.get(Pair, call.pair_id)
        self.queue_reminders(call, self.session.get(Senior, pair.senior_id),
                             self.session.get(Volunteer, pair.volunteer_id))

    def pauses(self, pair_ids: list[int]) -> dict[int, list[PairPause]]:
        found = defaultdict(list)
        for pause in self.session.exec(select(PairPause).where(PairPause.pair_id.in_(pair_ids))):
            found[pause.pair_id].append(pause)
        return found

    # ------------------------------------------------------------ the clock process

    def claim_due_pairs(self, *, now: datetime, limit: int = 500) -> list[Pair]:
        """Active pairs whose plan ends before the horizon, claimed by moving their
        planned_until: a conditional UPDATE, so two clock processes never plan one pair."""
        _today, end = self.window(now)
        behind = sa.and_(Pair.status == "active",
                         sa.or_(Pair.planned_until.is_(None), Pair.planned_until < end))
        # Materialized: run once, not rescanned per row (see Dispatcher.claim).
        pick = (select(Pair.id).where(behind).order_by(Pair.id).limit(limit)
                .with_for_update(skip_locked=True)
                .cte("picked").prefix_with("MATERIALIZED", dialect="postgresql"))
        ids = self.session.execute(
            sa.update(Pair).where(Pair.id.in_(select(pick.c.id)), behind)
            .values(planned_until=end).returning(Pair.id)
            .execution_options(synchronize_session=False)).scalars().all()
        if not ids:
            return []
        return list(self.session.exec(select(Pair).where(Pair.id.in_(ids)).order_by(Pair.id)
                                      .execution_options(populate_existing=True)))


def paused(pauses: list[PairPause], day: date) -> bool:
    return any(p.starts_on <= day < p.resumes_on for p in pauses)


def active_pause(pauses: list[PairPause], day: date) -> PairPause | None:
    return next((p for p in pauses if p.starts_on <= day < p.resumes_on), None)


def _by_id(model, ids, session: Session) -> dict:
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(ids)))}
