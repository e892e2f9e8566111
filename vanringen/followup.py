"""Follow-up: nobody is forgotten when the calls stop.

Three rules, each evaluated as of `now` by the clock process (`followup_step`):

- no_call: an active pair, not paused, with no held call for FOLLOWUP_NO_CALL_DAYS, counted
  from the latest of the pair's start, the end of its last pause and its last held call;
- no_answer: a pair's last FOLLOWUP_NO_ANSWER_COUNT logged outcomes are all "no_answer";
- no_report: a volunteer with active pairs and calls planned for them who has reported no
  call (by SMS, their page or a call through the programme's number) for
  FOLLOWUP_NO_REPORT_DAYS.

Each cause opens one task (its `dedup_key`), however many ticks find it again, and the task
closes by itself, with a note saying why, once the cause is gone. A task a coordinator closed
by hand counts as looked at: the rule starts counting again from that moment, so closing a
task does not make the next tick open it again.

The rules are set-based SQL: the queries return only the pairs or volunteers that break a
rule, never every pair for Python to check. Nothing here commits except `followup_step`,
which the clock calls.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from .models import CallLog, Pair, PairPause, ScheduledCall, Senior, Task, Volunteer
from .tasks import open_task_created

KINDS = ("no_call", "no_answer", "no_report")
# A log with one of these sources came from the volunteer (or their call), not the office.
VOLUNTEER_SOURCES = ("bridge", "sms", "link")
# New tasks opened per rule and tick.
OPEN_BATCH = 500


@dataclass(frozen=True)
class Rules:
    no_call_days: int = 14
    no_answer_count: int = 3
    no_report_days: int = 21
    tz: ZoneInfo = ZoneInfo("Europe/Stockholm")

    @classmethod
    def from_config(cls, config) -> "Rules":
        return cls(config["FOLLOWUP_NO_CALL_DAYS"], config["FOLLOWUP_NO_ANSWER_COUNT"],
                   config["FOLLOWUP_NO_REPORT_DAYS"], ZoneInfo(config["TIMEZONE"]))

    @classmethod
    def current(cls) -> "Rules":
        # record_outcome may run outside a request (a script, a test): the defaults then.
        return cls.from_config(current_app.config) if has_app_context() else cls()

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def day(self, moment: datetime | date) -> str:
        if isinstance(moment, datetime):
            moment = moment.astimezone(self.tz).date()
        return moment.isoformat()

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(ZoneInfo("UTC"))


@dataclass
class Finding:
    """A cause that needs a task: its dedup key, the task's text and who it is about."""

    key: str
    title: str
    detail: str
    refs: dict = field(default_factory=dict)


@dataclass
class Counts:
    opened: int = 0
    closed: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.opened + other.opened, self.closed + other.closed)

    def __str__(self) -> str:
        if not (self.opened or self.closed):
            return "uppföljning: inget nytt"
        closed = "stängd" if self.closed == 1 else "stängda"
        return f"uppföljning: {self.opened} {'ny' if self.opened == 1 else 'nya'}, " \
               f"{self.closed} {closed}"


def _narrow(query, id_column, kind: str, task_column, ids, new_only: bool, limit):
    if ids is not None:
        query = query.where(id_column.in_(ids))
    if new_only:
        query = query.where(id_column.not_in(select(task_column).where(
            Task.kind == kind, Task.status == "open", task_column.is_not(None))))
    if limit is not None:
        query = query.order_by(id_column).limit(limit)
    return query


def _looked_at(kind: str, column, since: datetime):
    """Ids (pair or volunteer) whose task of `kind` a coordinator closed after `since`."""
    return select(column).where(Task.kind == kind, Task.closed_by_id.is_not(None),
                                Task.closed_at > since, column.is_not(None))


# ---------------------------------------------------------------- the rules

def no_call_pairs(*, now: datetime, rules: Rules):
    """The ids of the pairs that break the no_call rule, as a SELECT."""
    return select(Pair.id).where(*_no_call(now=now, rules=rules))


def _no_call(*, now: datetime, rules: Rules) -> list:
    days = rules.no_call_days
    cutoff, today = now - timedelta(days=days), rules.today(now)
    held_since = sa.exists().where(CallLog.pair_id == Pair.id, CallLog.outcome == "held",
                                   CallLog.occurred_at > cutoff)
    # A pause going on now, or one that ended less than `days` ago, stops the count.
    paused_since = sa.exists().where(PairPause.pair_id == Pair.id,
                                     PairPause.starts_on <= today,
                                     PairPause.resumes_on > today - timedelta(days=days))
    return [Pair.status == "active", Pair.started_at <= cutoff, ~held_since, ~paused_since,
            Pair.id.not_in(_looked_at("no_call", Task.pair_id, cutoff))]


def find_no_call(session: Session, *, now: datetime, rules: Rules,
                 pair_ids: list[int] | None = None, new_only: bool = False,
                 limit: int | None = None) -> dict[str, Finding]:
    """The pairs that break the rule, with their task's text (`new_only`: those without
    an open task yet)."""
    today = rules.today(now)
    last_held = (select(sa.func.max(CallLog.occurred_at))
                 .where(CallLog.pair_id == Pair.id, CallLog.outcome == "held")
                 .correlate(Pair).scalar_subquery())
    last_pause = (select(sa.func.max(PairPause.resumes_on))
                  .where(PairPause.pair_id == Pair.id, PairPause.starts_on <= today)
                  .correlate(Pair).scalar_subquery())
    query = _narrow(select(Pair, Senior, Volunteer, last_held, last_pause)
                    .join(Senior, Pair.senior_id == Senior.id)
                    .join(Volunteer, Pair.volunteer_id == Volunteer.id)
                    .where(*_no_call(now=now, rules=rules)),
                    Pair.id, "no_call", Task.pair_id, pair_ids, new_only, limit)
    found = {}
    for pair, senior, volunteer, held_at, pause_end in session.exec(query):
        since = max(m for m in (pair.started_at, held_at,
                                pause_end and rules.start_of(pause_end)) if m)
        lines = [f"Senaste samtalet som blev av: {rules.day(held_at)}." if held_at else
                 f"Inget samtal har blivit av sedan telefonvänskapet började "
                 f"{rules.day(pair.started_at)}."]
        if pause_end:
            lines.append(f"Senaste pausen slutade {rules.day(pause_end)}.")
        lines.append(f"Volontär: {volunteer.full_name}.")
        found[f"no_call:{pair.id}"] = Finding(
            f"no_call:{pair.id}",
            f"{senior.full_name} har inte haft något samtal på "
            f"{(today - since.astimezone(rules.tz).date()).days} dagar",
            " ".join(lines), {"pair_id": pair.id, "senior_id": senior.id,
                              "volunteer_id": volunteer.id})
    return found


def find_no_answer(session: Session, *, now: datetime, rules: Rules,
                   pair_ids: list[int] | None = None) -> dict[str, Finding]:
    count, today = rules.no_answer_count, rules.today(now)
    # Only pairs whose latest log is a no-answer (one index lookup each) are ranked.
    latest = (select(CallLog.outcome).where(CallLog.pair_id == Pair.id)
              .order_by(CallLog.occurred_at.desc(), CallLog.id.desc()).limit(1)
              .correlate(Pair).scalar_subquery())
    paused_now = sa.exists().where(PairPause.pair_id == Pair.id, PairPause.starts_on <= today,
                                   PairPause.resumes_on > today)
    suspects = select(Pair.id).where(Pair.status == "active", latest == "no_answer",
                                     ~paused_now)
    if pair_ids is not None:
        suspects = suspects.where(Pair.id.in_(pair_ids))
    rank = sa.func.row_number().over(partition_by=CallLog.pair_id,
                                     order_by=(CallLog.occurred_at.desc(), CallLog.id.desc()))
    ranked = (select(CallLog.pair_id, CallLog.outcome, CallLog.occurred_at, rank.label("rank"))
              .where(CallLog.pair_id.in_(suspects)).subquery())
    rows = session.exec(
        select(ranked.c.pair_id, sa.func.min(ranked.c.occurred_at),
               sa.func.max(ranked.c.occurred_at))
        .where(ranked.c.rank <= count).group_by(ranked.c.pair_id)
        .having(sa.func.count() == count,
                sa.func.sum(sa.case((ranked.c.outcome == "no_answer", 0), else_=1)) == 0)).all()
    if not rows:
        return {}
    ids = [row[0] for row in rows]
    # No-answers from before a pause, or before a coordinator closed the last such task,
    # have been dealt with: `count` new ones are needed.
    pause_ends = dict(session.exec(
        select(PairPause.pair_id, sa.func.max(PairPause.resumes_on))
        .where(PairPause.pair_id.in_(ids), PairPause.starts_on <= today)
        .group_by(PairPause.pair_id)).all())
    closes = dict(session.exec(
        select(Task.pair_id, sa.func.max(Task.closed_at))
        .where(Task.pair_id.in_(ids), Task.kind == "no_answer", Task.closed_by_id.is_not(None))
        .group_by(Task.pair_id)).all())
    fresh = {pair_id: (first, last) for pair_id, first, last in rows
             if (pair_id not in pause_ends or first >= rules.start_of(pause_ends[pair_id]))
             and (closes.get(pair_id) is None or first > closes[pair_id])}
    found = {}
    for pair, senior, volunteer in session.exec(
            select(Pair, Senior, Volunteer).join(Senior, Pair.senior_id == Senior.id)
            .join(Volunteer, Pair.volunteer_id == Volunteer.id)
            .where(Pair.id.in_(list(fresh)))):
        first, last = fresh[pair.id]
        found[f"no_answer:{pair.id}"] = Finding(
            f"no_answer:{pair.id}",
            f"{senior.full_name} har inte svarat {count} gånger i rad",
            f"De senaste {count} samtalen ({rules.day(first)} – {rules.day(last)}) blev inte "
            f"besvarade. Volontär: {volunteer.full_name}.",
            {"pair_id": pair.id, "senior_id": senior.id, "volunteer_id": volunteer.id})
    return found


def no_report_volunteers(*, now: datetime, rules: Rules):
    """The ids of the volunteers who break the no_report rule, as a SELECT."""
    return select(Volunteer.id).where(*_no_report(now=now, rules=rules))


def _no_report(*, now: datetime, rules: Rules) -> list:
    days = rules.no_report_days
    cutoff, today = now - timedelta(days=days), rules.today(now)
    mine, theirs = aliased(Pair), aliased(Pair)
    # A join, not `pair_id IN (their pairs)`: PostgreSQL cannot flatten that correlated IN and
    # ran it per volunteer and log (25 min at national scale); joined it is one anti-join.
    reported = sa.exists().where(CallLog.pair_id == theirs.id,
                                 theirs.volunteer_id == Volunteer.id, _by_volunteer(),
                                 CallLog.occurred_at > cutoff)
    # Only pairs with calls planned all along count: one paused lately (or new) does not.
    paused_since = sa.exists().where(PairPause.pair_id == mine.id,
                                     PairPause.starts_on <= today,
                                     PairPause.resumes_on > today - timedelta(days=days))
    planned = sa.exists().where(ScheduledCall.pair_id == mine.id,
                                mine.volunteer_id == Volunteer.id, mine.status == "active",
                                mine.started_at <= cutoff, ~paused_since,
                                ScheduledCall.status == "planned",
                                ScheduledCall.scheduled_at > cutoff,
                                ScheduledCall.scheduled_at <= now)
    return [planned, ~reported,
            Volunteer.id.not_in(_looked_at("no_report", Task.volunteer_id, cutoff))]


def _their_pairs(mine):
    return select(mine.id).where(mine.volunteer_id == Volunteer.id).correlate(Volunteer)


def _by_volunteer():
    return sa.or_(CallLog.reported_by_volunteer_id == Volunteer.id,
                  CallLog.source.in_(VOLUNTEER_SOURCES))


def find_no_report(session: Session, *, now: datetime, rules: Rules,
                   volunteer_ids: list[int] | None = None, new_only: bool = False,
                   limit: int | None = None) -> dict[str, Finding]:
    today, mine = rules.today(now), aliased(Pair)
    first_start = (select(sa.func.min(mine.started_at))
                   .where(mine.volunteer_id == Volunteer.id, mine.status == "active")
                   .correlate(Volunteer).scalar_subquery())
    last_report = (select(sa.func.max(CallLog.occurred_at))
                   .where(CallLog.pair_id.in_(_their_pairs(mine)), _by_volunteer())
                   .correlate(Volunteer).scalar_subquery())
    query = _narrow(select(Volunteer, first_start, last_report)
                    .where(*_no_report(now=now, rules=rules)),
                    Volunteer.id, "no_report", Task.volunteer_id, volunteer_ids, new_only,
                    limit)
    rows = session.exec(query).all()
    if not rows:
        return {}
    seniors: dict[int, list[tuple[Pair, Senior]]] = {}
    for pair, senior in session.exec(
            select(Pair, Senior).join(Senior, Pair.senior_id == Senior.id)
            .where(Pair.volunteer_id.in_([v.id for v, *_ in rows]), Pair.status == "active")
            .order_by(Pair.started_at)):
        seniors.setdefault(pair.volunteer_id, []).append((pair, senior))
    found = {}
    for volunteer, started, reported_at in rows:
        theirs = seniors.get(volunteer.id, [])
        since = max(m for m in (started, reported_at) if m)
        refs = {"volunteer_id": volunteer.id}
        if len(theirs) == 1:  # then the task can show that pair's calls
            refs.update(pair_id=theirs[0][0].id, senior_id=theirs[0][1].id)
        found[f"no_report:{volunteer.id}"] = Finding(
            f"no_report:{volunteer.id}",
            f"{volunteer.full_name} har inte rapporterat något samtal på "
            f"{(today - since.astimezone(rules.tz).date()).days} dagar",
            (f"Senaste rapporten: {rules.day(reported_at)}. " if reported_at else
             "Ingen rapport ännu. ")
            + f"Telefonvän till: {', '.join(s.full_name for _p, s in theirs)}.",
            refs)
    return found


# ---------------------------------------------------------------- opening and closing

def close_task(task: Task, note: str, *, session: Session, now: datetime) -> bool:
    """Closed by the system: conditional, so a coordinator closing it at the same moment
    keeps their note, and two clock processes count it once."""
    done = session.execute(
        sa.update(Task).where(Task.id == task.id, Task.status == "open")
        .values(status="done", closed_at=now, closed_by_id=None, closing_note=note)
        .execution_options(synchronize_session=False)).rowcount
    session.expire(task)
    return bool(done)


def _pair_gone(task: Task, *, session: Session, now: datetime, rules: Rules) -> str:
    pair = session.get(Pair, task.pair_id) if task.pair_id else None
    if pair is None or pair.status != "active":
        return "Telefonvänskapet är avslutat."
    today = rules.today(now)
    # A pause since the task was opened, even one over before the clock came by.
    pause = session.exec(select(PairPause).where(
        PairPause.pair_id == pair.id, PairPause.starts_on <= today,
        PairPause.resumes_on > rules.today(task.created_at))
        .order_by(PairPause.resumes_on.desc())).first()
    if pause is not None:
        return (f"Paret har paus till {pause.resumes_on.isoformat()}."
                if pause.resumes_on > today else
                f"Paret hade paus till {pause.resumes_on.isoformat()}.")
    latest = session.exec(select(CallLog).where(CallLog.pair_id == pair.id)
                          .order_by(CallLog.occurred_at.desc(), CallLog.id.desc())).first()
    held = session.exec(select(sa.func.max(CallLog.occurred_at)).where(
        CallLog.pair_id == pair.id, CallLog.outcome == "held")).one()
    if held is not None and (task.kind == "no_call" or latest.outcome == "held"):
        return f"Ett samtal blev av {rules.day(held)}."
    if task.kind == "no_answer" and latest is not None and latest.outcome != "no_answer":
        return f"Samtalet {rules.day(latest.occurred_at)} var inte obesvarat."
    return "Orsaken finns inte längre."


def _volunteer_gone(task: Task, *, session: Session, now: datetime, rules: Rules) -> str:
    active = session.exec(select(Pair.id).where(Pair.volunteer_id == task.volunteer_id,
                                                Pair.status == "active")).all()
    if not active:
        return "Volontären har inga aktiva telefonvänskap."
    reported = session.exec(select(sa.func.max(CallLog.occurred_at)).where(
        CallLog.pair_id.in_(select(Pair.id).where(Pair.volunteer_id == task.volunteer_id)),
        sa.or_(CallLog.reported_by_volunteer_id == task.volunteer_id,
               CallLog.source.in_(VOLUNTEER_SOURCES)))).one()
    if reported is not None and reported > now - timedelta(days=rules.no_report_days):
        return f"Volontären har rapporterat samtalet {rules.day(reported)}."
    return "Inga samtal är planerade för volontären just nu."


def apply(kind: str, new: dict[str, Finding], still, *, session: Session, now: datetime,
          rules: Rules, scope=None, open_new: bool = True) -> Counts:
    """Open a task for each finding in `new` (causes without an open task); close the open
    tasks of `kind` (within `scope`, a condition on Task) whose pair or volunteer is not in
    `still`, the ids that still break the rule (a SELECT or a list)."""
    column = Task.volunteer_id if kind == "no_report" else Task.pair_id
    counts = Counts()
    if open_new:
        for key, finding in new.items():
            created = open_task_created(kind, finding.title, session=session,
                                        detail=finding.detail, dedup_key=key,
                                        **finding.refs)[1]
            counts.opened += created
    gone = select(Task).where(Task.kind == kind, Task.status == "open",
                              sa.or_(column.is_(None), column.not_in(still)))
    if scope is not None:
        gone = gone.where(scope)
    why = _volunteer_gone if kind == "no_report" else _pair_gone
    for task in session.exec(gone).all():
        note = why(task, session=session, now=now, rules=rules)
        counts.closed += close_task(task, note, session=session, now=now)
    return counts


def _ids(found: dict[str, Finding]) -> list[int]:
    return [int(key.rsplit(":", 1)[1]) for key in found]


def run(*, session: Session, now: datetime, rules: Rules, batch: int = OPEN_BATCH) -> Counts:
    """Every rule over the whole programme. Only what changed is loaded: the causes that
    have no task yet (at most `batch` a rule, the rest next time: the first run on a
    large programme must not hold up the reminders) and the tasks whose cause is gone."""
    args = {"session": session, "now": now, "rules": rules}
    no_answer = find_no_answer(**args)
    opened = {key for key, in session.execute(select(Task.dedup_key).where(
        Task.kind == "no_answer", Task.status == "open",
        Task.dedup_key.in_(list(no_answer))))} if no_answer else set()
    return (apply("no_call", find_no_call(**args, new_only=True, limit=batch),
                  no_call_pairs(now=now, rules=rules), **args)
            + apply("no_answer", {k: f for k, f in no_answer.items() if k not in opened},
                    _ids(no_answer), **args)
            + apply("no_report", find_no_report(**args, new_only=True, limit=batch),
                    no_report_volunteers(now=now, rules=rules), **args))


def followup_step(app: Flask, *, session: Session, now: datetime) -> Counts:
    """The clock's pass over every rule; commits."""
    counts = run(session=session, now=now, rules=Rules.from_config(app.config))
    session.commit()
    return counts


def resolve_for_pair(pair: Pair, *, session: Session, now: datetime) -> Counts:
    """Close at once the follow-up tasks of `pair` (and its volunteer's no_report task)
    whose cause is gone: after a held call is logged, a pause starts or the pair ends.
    Opens nothing (the clock does that). Does not commit."""
    rules = Rules.current()
    session.flush()
    args = {"session": session, "now": now, "rules": rules, "open_new": False}
    ids = [pair.id]
    return (apply("no_call", {}, no_call_pairs(now=now, rules=rules).where(Pair.id.in_(ids)),
                  scope=Task.pair_id == pair.id, **args)
            + apply("no_answer", {}, _ids(find_no_answer(session, now=now, rules=rules,
                                                          pair_ids=ids)),
                    scope=Task.pair_id == pair.id, **args)
            + apply("no_report", {}, no_report_volunteers(now=now, rules=rules)
                    .where(Volunteer.id == pair.volunteer_id),
                    scope=Task.volunteer_id == pair.volunteer_id, **args))
