"""Active pairs for the demo, made the way a coordinator makes them: the matcher proposes,
and the best proposals are approved. A newcomer then sees matched seniors, volunteers with
fewer free places, the approval SMS and the past weeks' reminders in the message log, what
became of those calls (and one volunteer's concern), and the coming calls planned."""

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, select

from .call_log import record_outcome
from .db import utcnow
from .matches import approve, run_matching, slot_choices
from .models import (
    IntakeRequest,
    MatchProposal,
    Message,
    Pair,
    ScheduledCall,
    Senior,
    Volunteer,
)
from .planner import Planner

HISTORY_DAYS = 28
CONCERN = ("Hon lät tröttare än vanligt och sa att hon inte orkat laga mat på några dagar. "
           "Kan någon höra av sig till hemtjänsten?")


def pair_demo_seniors(*, session: Session, count: int, today: date, valid_days: int,
                      actor: int | None, rng: random.Random) -> int:
    """Approve the `count` best of the matcher's proposals; the caller commits."""
    run, _records, _proposals = run_matching(session=session, today=today,
                                             valid_days=valid_days, by_id=actor)
    best = session.exec(
        select(MatchProposal)
        .where(MatchProposal.run_id == run.id, MatchProposal.rank == 0,
               MatchProposal.status == "pending")
        .order_by(MatchProposal.score.desc(), MatchProposal.id).limit(count)).all()
    pairs = []
    for proposal in best:
        senior = session.get(Senior, proposal.senior_id)
        volunteer = session.get(Volunteer, proposal.volunteer_id)
        pair, messages = approve(proposal, slot_choices(senior, volunteer)[:1],
                                 session=session, today=today, valid_days=valid_days,
                                 actor=actor)
        # A programme that has run for a while: pairs began after the senior started waiting.
        waited = max(0, (utcnow() - senior.waiting_since).days)
        pair.started_at = senior.waiting_since + timedelta(days=rng.randint(0, waited))
        session.add(pair)
        pairs.append(pair)
        # The approval messages went out when the pair began, long before today.
        for message in messages:
            message.status, message.provider, message.sent_at = "recorded", "outbox", \
                pair.started_at
            message.due_at = message.created_at = message.updated_at = pair.started_at
            message.attempts = 1
            session.add(message)
    add_history(pairs, session=session, now=utcnow())
    log_history(pairs, session=session, now=utcnow(), rng=rng)
    return len(best)


def add_history(pairs: list[Pair], *, session: Session, now: datetime) -> None:
    """The past week's calls, their reminders already through the outbox, as if the
    scheduler had been running all along."""
    planner = Planner.from_app(current_app, session=session)
    # Each pass plans `horizon_days` ahead: step through the past weeks, then up to now.
    for days_ago in range(HISTORY_DAYS, 0, -planner.horizon_days):
        planner.plan(pairs, now=now - timedelta(days=days_ago))
    planner.plan(pairs, now=now)  # back to the horizon as of now
    session.flush()
    session.execute(sa.update(Message).where(
        Message.call_id.is_not(None), Message.status == "pending", Message.due_at <= now
    ).values(status="recorded", provider="outbox", sent_at=Message.due_at, attempts=1,
             updated_at=Message.due_at))


def log_history(pairs: list[Pair], *, session: Session, now: datetime,
                rng: random.Random) -> None:
    """What the volunteers reported of the past calls: most were held, some unanswered or
    not reported yet; the most recent report of the first pair carries a concern."""
    by_id = {p.id: p for p in pairs}
    calls = session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id.in_(list(by_id)), ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at < now - timedelta(hours=2))
        .order_by(ScheduledCall.scheduled_at, ScheduledCall.id)).all()
    last = {}
    for call in calls:
        pair, roll = by_id[call.pair_id], rng.random()
        if roll < 0.08:
            continue  # the volunteer has not reported it
        outcome = "held" if roll < 0.85 else "no_answer" if roll < 0.95 else "cancelled_senior"
        entry, _queued = record_outcome(
            pair, call, outcome, session=session, now=call.scheduled_at + timedelta(hours=1),
            source=rng.choice(("sms", "sms", "link")), volunteer_id=pair.volunteer_id,
            minutes=rng.randint(10, 55) if outcome == "held" else None)
        last[pair.id] = (pair, call)
    if pairs and pairs[0].id in last:
        pair, call = last[pairs[0].id]
        record_outcome(pair, call, "held", session=session, now=now, source="link",
                       minutes=35, concern=CONCERN, volunteer_id=pair.volunteer_id)


# Two calls to the intake line, from PTS's numbers for fiction (08-46 500 4xx) that no
# demo person has; no recording, since nothing was really said.
INTAKE_CALLS = (
    ("friend", 38, 3, "Hej, jag heter Ingrid och är 84 år. Jag bor ensam i Farsta sedan min man "
     "dog och skulle gärna prata med någon en gång i veckan. Jag tycker om korsord och gamla "
     "filmer."),
    ("message", 21, 26, "Hej, det är Göran. Jag har en telefonvän genom er. Jag ska opereras på "
     "tisdag, så hon behöver inte ringa nästa vecka."),
)


def demo_intake(*, session: Session, now: datetime) -> None:
    """The intake calls, once (a second demo run adds none); without a free fiction number
    left, fewer."""
    if session.exec(select(IntakeRequest.id).limit(1)).first() is not None:
        return
    taken = set(session.exec(select(Senior.phone))) | set(session.exec(select(Volunteer.phone)))
    free = [phone for phone in (f"+468465004{n:02d}" for n in range(99, 0, -1))
            if phone not in taken]
    for n, (choice, seconds, hours_ago, words) in enumerate(INTAKE_CALLS[:len(free)]):
        session.add(IntakeRequest(call_sid=f"CA{'demo' * 7}{n:04d}", from_number=free[n],
                                  choice=choice, recording_seconds=seconds, transcription=words,
                                  created_at=now - timedelta(hours=hours_ago)))
