"""What the task list shows under a task about a pair: the pair's last calls (planned status,
logged outcome, minutes) and its pauses, fetched for a whole page of tasks at once."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from .models import CallLog, Message, Pair, PairPause, ScheduledCall, Task

RECENT_CALLS = 5
# Pauses that ended longer ago than this say nothing about the task at hand.
PAUSE_DAYS = 90


@dataclass
class PairHistory:
    pair: Pair
    calls: list[dict] = field(default_factory=list)
    pauses: list[PairPause] = field(default_factory=list)


def pair_of_tasks(tasks: list[Task], messages: dict[int, Message], *,
                  session: Session) -> dict[int, int]:
    """Task id → pair id: the task's own pair, or that of the call a failed reminder was
    for (delivery tasks name the message, not the pair)."""
    found = {t.id: t.pair_id for t in tasks if t.pair_id}
    call_ids = {m.call_id for m in messages.values() if m.call_id}
    if call_ids:
        pairs = dict(session.exec(select(ScheduledCall.id, ScheduledCall.pair_id)
                                  .where(ScheduledCall.id.in_(call_ids))).all())
        for task in tasks:
            message = messages.get(task.message_id)
            if task.id not in found and message is not None and message.call_id in pairs:
                found[task.id] = pairs[message.call_id]
    return found


def histories(pair_ids, *, session: Session, now: datetime,
              today: date) -> dict[int, PairHistory]:
    """The recent history of each pair: one query for the calls, one for the pauses."""
    from .call_log import OUTCOMES  # call_log imports the tasks module

    ids = sorted(set(pair_ids))
    if not ids:
        return {}
    found = {pair.id: PairHistory(pair) for pair in
             session.exec(select(Pair).where(Pair.id.in_(ids)))}
    planned = (select(ScheduledCall.pair_id.label("pair_id"),
                      ScheduledCall.scheduled_at.label("at"),
                      ScheduledCall.status.label("status"), CallLog.outcome, CallLog.minutes)
               .outerjoin(CallLog, CallLog.call_id == ScheduledCall.id)
               .where(ScheduledCall.pair_id.in_(ids), ScheduledCall.scheduled_at <= now))
    # Calls made through the programme's number outside the plan have a log and no call.
    unplanned = (select(CallLog.pair_id, CallLog.occurred_at,
                        sa.cast(sa.null(), sa.String), CallLog.outcome, CallLog.minutes)
                 .where(CallLog.pair_id.in_(ids), CallLog.call_id.is_(None)))
    both = sa.union_all(planned, unplanned).subquery()
    rank = sa.func.row_number().over(partition_by=both.c.pair_id, order_by=both.c.at.desc())
    ranked = select(both, rank.label("rank")).subquery()
    for row in session.execute(select(ranked).where(ranked.c.rank <= RECENT_CALLS)
                            .order_by(ranked.c.pair_id, ranked.c.at.desc())):
        if row.pair_id in found:
            found[row.pair_id].calls.append({
                "at": row.at, "status": row.status, "outcome": row.outcome,
                "outcome_label": str(OUTCOMES.get(row.outcome, row.outcome or "")),
                "minutes": row.minutes})
    for pause in session.exec(select(PairPause).where(
            PairPause.pair_id.in_(ids), PairPause.resumes_on > today - timedelta(days=PAUSE_DAYS))
            .order_by(PairPause.starts_on.desc())):
        found[pause.pair_id].pauses.append(pause)
    return found
