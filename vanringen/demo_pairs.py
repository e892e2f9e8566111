"""Active pairs for the demo, made the way a coordinator makes them: the matcher proposes,
and the best proposals are approved. A newcomer then sees matched seniors, volunteers with
fewer free places, and the approval SMS in the outbox."""

import random
from datetime import date, timedelta

from sqlmodel import Session, select

from . import messaging
from .db import utcnow
from .matches import approve, run_matching, slot_choices
from .models import MatchProposal, Senior, Volunteer


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
        for message in messages:
            messaging.deliver(message, session=session)
    return len(best)
