"""What the coordinator's start page shows, each part in a query or two whatever the size of
the programme: open tasks by group, police-record extracts running out, the waiting lists and
the week's planned calls. Lists are LIMITed and counted in SQL (a window count beside the rows,
or a count of its own where that reads only an index).

At national scale the aggregates over whole tables (people by status, volunteers with room,
the week's calls) cost far more than the rest of the page together; `counted_figures` gathers
exactly those, so that the page can keep them a minute while tasks stay live."""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from .models import (
    CallLog,
    IntakeRequest,
    MatchProposal,
    Message,
    Pair,
    ScheduledCall,
    Senior,
    Task,
    Volunteer,
)
from .volunteers import extract_state, record_valid_until

SHOWN_TASKS = 5
SHOWN_PEOPLE = 10
# The order a coordinator should work in; a concern is any urgent task, whatever its kind.
# The police-record extracts come between the undelivered reminders and the intake requests
# but are no tasks: the page places them.
GROUP_KINDS = {
    "concern": ("concern",),
    "missed": ("no_call", "no_answer", "no_report"),
    "undelivered": ("delivery_failed", "opted_out", "switched_to_voice"),
    "intake": ("intake",),
}
LISTED_KINDS = tuple(kind for kinds in GROUP_KINDS.values() for kind in kinds)
GROUPS = (*GROUP_KINDS, "other")


@dataclass
class TaskGroup:
    name: str
    count: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)


def group_of(kind: str, urgent: bool) -> str:
    if urgent:
        return "concern"
    return next((name for name, kinds in GROUP_KINDS.items() if kind in kinds), "other")


def _in_group(name: str):
    if name == "concern":
        return sa.or_(Task.urgent, Task.kind == "concern")
    not_urgent = sa.not_(Task.urgent)
    if name == "other":
        return sa.and_(not_urgent, Task.kind.not_in(LISTED_KINDS))
    return sa.and_(not_urgent, Task.kind.in_(GROUP_KINDS[name]))


# The task list's order, so that a task shown here is on the first page of its kind there.
TASK_ORDER = (Task.urgent.desc(), Task.created_at.desc(), Task.id.desc())


def open_tasks(*, session: Session) -> dict[str, TaskGroup]:
    """Every group with its counts per kind and its first tasks: two queries."""
    groups = {name: TaskGroup(name) for name in GROUPS}
    counts = session.exec(select(Task.kind, Task.urgent, sa.func.count())
                          .where(Task.status == "open").group_by(Task.kind, Task.urgent)).all()
    for kind, urgent, count in counts:
        group = groups[group_of(kind, urgent)]
        group.count += count
        group.by_kind[kind] = group.by_kind.get(kind, 0) + count
    firsts = [select(Task.id).where(Task.status == "open", _in_group(name))
              .order_by(*TASK_ORDER).limit(SHOWN_TASKS).subquery().select()
              for name in GROUPS if groups[name].count]
    if firsts:
        for task in session.exec(select(Task).where(Task.id.in_(sa.union_all(*firsts)))
                                 .order_by(*TASK_ORDER)):
            groups[group_of(task.kind, task.urgent)].tasks.append(task)
    return groups


def pairs_of_messages(tasks: list[Task], *, session: Session) -> dict[int, int]:
    """Task id → pair id for the tasks about a reminder (they name the message, whose call
    names the pair): one query."""
    message_ids = {t.message_id for t in tasks if t.message_id and not t.pair_id}
    if not message_ids:
        return {}
    pair_of_message = dict(session.exec(
        select(Message.id, ScheduledCall.pair_id)
        .join(ScheduledCall, Message.call_id == ScheduledCall.id)
        .where(Message.id.in_(message_ids))).all())
    return {t.id: pair_of_message[t.message_id] for t in tasks
            if not t.pair_id and t.message_id in pair_of_message}


def open_intake(*, session: Session) -> tuple[int, list[IntakeRequest]]:
    """Open requests from the intake line, in the inbox's order, and how many are open."""
    rows = session.exec(select(IntakeRequest, sa.func.count().over())
                        .where(IntakeRequest.status == "open")
                        .order_by(IntakeRequest.created_at.desc(), IntakeRequest.id.desc())
                        .limit(SHOWN_TASKS)).all()
    return (rows[0][1] if rows else 0), [intake for intake, _count in rows]


@dataclass
class Extract:
    volunteer_id: int
    name: str
    valid_until: date
    state: str  # valid | expired
    days: int  # days left; negative once it has run out


def expiring_extracts(*, session: Session, today: date, valid_days: int,
                      warn_days: int) -> tuple[int, list[Extract]]:
    """Approved volunteers whose extract runs out within `warn_days`, or has: soonest first.
    A newly recorded check date takes the volunteer off the list."""
    last_checked = today + timedelta(days=warn_days - valid_days)
    running_out = (Volunteer.status == "approved",
                   Volunteer.police_record_checked_on <= last_checked)
    # Thousands may be due at once: counted apart, the count reads only the (status, checked)
    # index, where a window count beside the rows would fetch every one of them.
    count = session.exec(select(sa.func.count()).where(*running_out)).one()
    rows = session.exec(
        select(Volunteer.id, Volunteer.first_name, Volunteer.last_name,
               Volunteer.police_record_checked_on)
        .where(*running_out)
        .order_by(Volunteer.police_record_checked_on, Volunteer.id)
        .limit(SHOWN_PEOPLE)).all()
    extracts = []
    for volunteer_id, first, last, checked_on in rows:
        until = record_valid_until(checked_on, valid_days)
        extracts.append(Extract(volunteer_id, f"{first} {last}".strip(), until,
                                extract_state(checked_on, today, valid_days),
                                (until - today).days))
    return count, extracts


def longest_waiting(*, session: Session) -> list[Senior]:
    return list(session.exec(select(Senior).where(Senior.status == "waiting")
                             .order_by(Senior.waiting_since.asc().nulls_last(), Senior.id)
                             .limit(SHOWN_PEOPLE)).all())


@dataclass
class FreeVolunteer:
    volunteer_id: int
    free: int
    free_since: datetime | None
    name: str = ""  # filled in live (with_names): names never sit in the shared cache


def free_volunteers(*, session: Session) -> tuple[int, list[FreeVolunteer]]:
    """Approved volunteers with room for another senior, free longest first: since their
    approval or since their last pair ended, whichever is later."""
    load = (select(Pair.volunteer_id,
                   sa.func.sum(sa.case((Pair.status == "active", 1), else_=0)).label("active"),
                   sa.func.max(Pair.ended_at).label("last_end"))
            .group_by(Pair.volunteer_id).subquery())
    free = Volunteer.capacity - sa.func.coalesce(load.c.active, 0)
    ended_later = sa.and_(load.c.last_end.is_not(None),
                          sa.or_(Volunteer.approved_at.is_(None),
                                 load.c.last_end > Volunteer.approved_at))
    since = sa.case((ended_later, load.c.last_end), else_=Volunteer.approved_at)
    rows = session.exec(
        select(Volunteer.id, free, since, sa.func.count().over())
        .outerjoin(load, load.c.volunteer_id == Volunteer.id)
        .where(Volunteer.status == "approved", free > 0)
        .order_by(since.asc().nulls_last(), Volunteer.id)
        .limit(SHOWN_PEOPLE)).all()
    found = [FreeVolunteer(vid, n, moment) for vid, n, moment, _count in rows]
    return (rows[0][3] if rows else 0), found


def with_names(found: list[FreeVolunteer], *, session: Session) -> list[FreeVolunteer]:
    """The volunteers' names as they are now: an erased volunteer's name is gone at once."""
    ids = [v.volunteer_id for v in found]
    names = {vid: f"{first} {last}".strip() for vid, first, last in session.exec(
        select(Volunteer.id, Volunteer.first_name, Volunteer.last_name)
        .where(Volunteer.id.in_(ids))).all()} if ids else {}
    return [replace(v, name=names.get(v.volunteer_id, "")) for v in found]


def proposals_to_review(*, session: Session) -> int:
    """Waiting seniors with a proposed volunteer (rank 0) not yet approved or rejected."""
    return session.exec(select(sa.func.count()).select_from(MatchProposal)
                        .join(Senior, Senior.id == MatchProposal.senior_id)
                        .where(MatchProposal.status == "pending", MatchProposal.rank == 0,
                               MatchProposal.volunteer_id.is_not(None),
                               Senior.status == "waiting")).one()


@dataclass
class CallCounts:
    planned: int = 0  # status planned, within the period
    past: int = 0  # of those, the time has come
    logged: int = 0  # of the past ones, with an outcome logged


@dataclass
class WeekCalls:
    monday: date
    sunday: date
    today: CallCounts
    week: CallCounts


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def planned_calls(*, session: Session, now: datetime, today: date, tz: ZoneInfo) -> WeekCalls:
    """Today's and this local week's (Monday–Sunday) planned calls: one query."""
    monday = today - timedelta(days=today.weekday())
    is_today = sa.and_(ScheduledCall.scheduled_at >= _midnight(today, tz),
                       ScheduledCall.scheduled_at < _midnight(today + timedelta(days=1), tz))
    past = ScheduledCall.scheduled_at <= now
    # A probe of call_log's unique call_id per past call: a join would read all of call_log.
    logged = sa.exists().where(CallLog.call_id == ScheduledCall.id)

    def counted(*conditions):
        return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)

    row = session.exec(
        select(sa.func.count(), counted(past), counted(past, logged),
               counted(is_today), counted(is_today, past), counted(is_today, past, logged))
        .where(ScheduledCall.status == "planned",
               ScheduledCall.scheduled_at >= _midnight(monday, tz),
               ScheduledCall.scheduled_at < _midnight(monday + timedelta(days=7), tz))).one()
    return WeekCalls(monday, monday + timedelta(days=6), today=CallCounts(*row[3:]),
                     week=CallCounts(*row[:3]))


@dataclass
class CountedFigures:
    """The figures that may lag a minute, and when they were counted."""
    counted_at: datetime
    seniors: dict[str, int]
    volunteers: dict[str, int]
    proposals: int
    free: tuple[int, list[FreeVolunteer]]
    calls: WeekCalls


def counted_figures(*, session: Session, now: datetime, today: date,
                    tz: ZoneInfo) -> CountedFigures:
    return CountedFigures(
        counted_at=now,
        seniors=dict(session.exec(
            select(Senior.status, sa.func.count()).group_by(Senior.status)).all()),
        volunteers=dict(session.exec(
            select(Volunteer.status, sa.func.count()).group_by(Volunteer.status)).all()),
        proposals=proposals_to_review(session=session),
        free=free_volunteers(session=session),
        calls=planned_calls(session=session, now=now, today=today, tz=tz))
