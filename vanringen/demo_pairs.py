"""Active pairs for the demo, made the way a coordinator makes them: the matcher proposes,
and the best proposals are approved. A newcomer then sees matched seniors, volunteers with
fewer free places, the approval SMS and last week's reminders in the message log, and the
coming calls with their reminders planned."""

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlmodel import Session, select

from .db import utcnow
from .matches import approve, run_matching, slot_choices
from .models import MatchProposal, Message, Pair, Senior, Volunteer
from .planner import Planner

HISTORY_DAYS = 7


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
    return len(best)


def add_history(pairs: list[Pair], *, session: Session, now: datetime) -> None:
    """The past week's calls, their reminders already through the outbox, as if the
    scheduler had been running all along."""
    planner = Planner.from_app(current_app, session=session)
    planner.plan(pairs, now=now - timedelta(days=HISTORY_DAYS))
    planner.plan(pairs, now=now)  # back to the horizon as of now
    session.flush()
    session.execute(sa.update(Message).where(
        Message.call_id.is_not(None), Message.status == "pending", Message.due_at <= now
    ).values(status="recorded", provider="outbox", sent_at=Message.due_at, attempts=1,
             updated_at=Message.due_at))
