"""The figures of the funder's report for any period, shared by the report pages, their
downloads and `vanringen report`: aggregates only, counted in SQL on SQLite and PostgreSQL.

A period is two local dates, both included: [start 00:00, end+1 00:00) in the programme's
time zone, as UTC instants. Whether a senior was waiting at a moment comes from a status
timeline built in SQL (see `_spells`), so it holds for any past date.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from . import report_groups as groups
from .db import UTCDateTime, utcnow
from .matches import END_REASONS
from .models import CallLog, Pair, PersonEvent, ScheduledCall, Senior, Volunteer
from .report_groups import count_if, suppress_count, whole_days

HELD = CallLog.outcome == "held"
# Five years: a week is a column or a SELECT of its own, within every backend's limits
# (SQLite: 500 terms in a compound SELECT).
MAX_DAYS = 5 * 366


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    now: datetime
    tz: ZoneInfo

    def instant(self, day: date) -> datetime:
        """The UTC instant of local midnight at the start of `day`."""
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    @property
    def t0(self) -> datetime:
        return self.instant(self.start)

    @property
    def t1(self) -> datetime:
        """The first instant after the period."""
        return self.instant(self.end + timedelta(days=1))

    @property
    def cutoff(self) -> datetime:
        """Where planned calls and the waiting list are counted up to."""
        return min(self.t1, self.now)

    def has(self, column):
        return sa.and_(column >= self.t0, column < self.t1)


def compute_report(start: date, end: date, *, session: Session, tz: ZoneInfo,
                   min_group: int = 5, now: datetime | None = None) -> dict:
    """Every figure of the report for the local dates `start`..`end` (both included)."""
    if end < start:
        raise ValueError(f"the period {start}..{end} ends before it starts")
    p = Period(start, end, now or utcnow(), tz)
    spells = _spells()
    seniors = _senior_rows(p, spells, session=session)
    volunteers = _volunteer_rows(p, session=session)
    weeks, minutes = _calls_per_week(p, session=session)
    senior_tables = groups.fold(seniors, groups.SENIOR_BREAKDOWNS, groups.SENIOR_MEASURES,
                                groups.SENIOR_BANDS)
    volunteer_tables = groups.fold(volunteers, groups.VOLUNTEER_BREAKDOWNS,
                                   groups.VOLUNTEER_MEASURES, groups.VOLUNTEER_BANDS)
    totals = {
        **_pair_totals(p, session=session),
        "calls_planned": sum(w["planned"] for w in weeks),
        "calls_held": sum(w["held"] for w in weeks),
        "calls_missed": sum(w["missed"] for w in weeks),
        "call_minutes_total": minutes,
        "call_minutes_median": groups.median(_minutes(p, session=session)),
        "seniors_reached": sum(int(r["reached"]) for r in seniors),
        "volunteers_active": sum(int(r["active"]) for r in volunteers),
        "seniors_waiting_at_end": sum(int(r["waiting"]) for r in seniors),
        **_durations("senior_wait_days", _wait_days(p, spells, session=session), min_group),
        **_durations("volunteer_approval_days", _approval_days(p, session=session),
                     min_group),
    }
    for name in ("seniors_reached", "volunteers_active", "seniors_waiting_at_end"):
        totals[name] = suppress_count(totals[name], min_group)
    reasons = {code: {"pairs": n} for code, n in _end_reasons(p, session=session).items()}
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "min_group": min_group,
        "totals": totals,
        "ended_reasons": {code: counts["pairs"] for code, counts in
                          groups.suppress(reasons, min_group, {"pairs"}).items()},
        "seniors": {name: groups.suppress(table, min_group)
                    for name, table in senior_tables.items()},
        "volunteers": {name: groups.suppress(table, min_group)
                       for name, table in volunteer_tables.items()},
        "calls_per_week": weeks,
        "waiting_over_time": [{"date": day.isoformat(),
                               "waiting": suppress_count(count, min_group)}
                              for day, count in _waiting_over_time(p, spells,
                                                                   session=session)],
    }


# ---------------------------------------------------------------- pairs

def _active(p: Period):
    """A pair active at some moment of the period."""
    return sa.and_(Pair.started_at < p.t1, sa.or_(Pair.ended_at.is_(None), Pair.ended_at > p.t0))


def _pair_totals(p: Period, *, session: Session) -> dict:
    active, new, ended = session.execute(
        sa.select(count_if(_active(p)), count_if(p.has(Pair.started_at)),
                  count_if(p.has(Pair.ended_at))).where(Pair.started_at < p.t1)).one()
    return {"active_pairs": int(active), "new_pairs": int(new), "ended_pairs": int(ended)}


def _end_reasons(p: Period, *, session: Session) -> dict[str, int]:
    found = dict.fromkeys(END_REASONS, 0)
    for reason, n in session.execute(
            sa.select(Pair.end_reason, sa.func.count()).where(p.has(Pair.ended_at))
            .group_by(Pair.end_reason)):
        # A code no longer offered is still an ended pair: counted as "other".
        key = reason if reason in found else "other"
        found[key] += int(n)
    return found


# ---------------------------------------------------------------- calls

def _weeks(p: Period) -> list[tuple[date, datetime, datetime]]:
    """Each ISO week overlapping the period: its Monday and its part in the period."""
    found, monday = [], p.start - timedelta(days=p.start.weekday())
    while monday <= p.end:
        first = max(monday, p.start)
        last = min(monday + timedelta(days=6), p.end)
        found.append((monday, p.instant(first), p.instant(last + timedelta(days=1))))
        monday += timedelta(days=7)
    return found


def _calls_per_week(p: Period, *, session: Session) -> tuple[list[dict], int]:
    """Planned, held and missed calls per ISO week, each week cut at the period's edges so
    that the weeks add up to the period's totals; and the held calls' minutes."""
    weeks = _weeks(p)
    table = sa.union_all(*(
        sa.select(sa.literal(i, sa.Integer).label("week"),
                  sa.literal(lo, UTCDateTime).label("lo"),
                  sa.literal(hi, UTCDateTime).label("hi"))
        for i, (_monday, lo, hi) in enumerate(weeks))).subquery("weeks")
    planned = session.execute(
        sa.select(table.c.week, sa.func.count(ScheduledCall.id), sa.func.count(CallLog.id))
        .select_from(table)
        .join(ScheduledCall, sa.and_(ScheduledCall.scheduled_at >= table.c.lo,
                                     ScheduledCall.scheduled_at < table.c.hi,
                                     ScheduledCall.scheduled_at < p.cutoff,
                                     ScheduledCall.status == "planned"))
        .outerjoin(CallLog, sa.and_(CallLog.call_id == ScheduledCall.id, HELD))
        .group_by(table.c.week))
    plan = {week: (int(n), int(held)) for week, n, held in planned}
    held = session.execute(
        sa.select(table.c.week, sa.func.count(CallLog.id),
                  sa.func.coalesce(sa.func.sum(CallLog.minutes), 0))
        .select_from(table)
        .join(CallLog, sa.and_(CallLog.occurred_at >= table.c.lo,
                               CallLog.occurred_at < table.c.hi, HELD))
        .group_by(table.c.week))
    logs = {week: (int(n), int(minutes)) for week, n, minutes in held}
    found = []
    for i, (monday, _lo, _hi) in enumerate(weeks):
        year, week, _day = monday.isocalendar()
        n_planned, planned_held = plan.get(i, (0, 0))
        found.append({"week": f"{year}-W{week:02d}", "start": monday.isoformat(),
                      "planned": n_planned, "held": logs.get(i, (0, 0))[0],
                      "missed": n_planned - planned_held})
    return found, sum(minutes for _n, minutes in logs.values())


def _minutes(p: Period, *, session: Session) -> list[tuple[int, int]]:
    values = (sa.select(CallLog.minutes.label("value"))
              .where(HELD, p.has(CallLog.occurred_at)).subquery())
    return groups.distribution(values, session=session)


def _held_by(person, p: Period):
    """Held calls and their minutes in the period per senior or volunteer (`person`). The
    calls are counted per pair first: joining each of a year's call logs to its pair costs
    more than the count."""
    per_pair = (sa.select(CallLog.pair_id, sa.func.count().label("calls"),
                          sa.func.coalesce(sa.func.sum(CallLog.minutes), 0).label("minutes"))
                .where(HELD, p.has(CallLog.occurred_at)).group_by(CallLog.pair_id).subquery())
    return (sa.select(person.label("pid"),
                      sa.cast(sa.func.sum(per_pair.c.calls), sa.Integer).label("calls"),
                      sa.cast(sa.func.sum(per_pair.c.minutes), sa.Integer).label("minutes"))
            .select_from(per_pair).join(Pair, Pair.id == per_pair.c.pair_id)
            .group_by(person).subquery())


def _in_pair(person, p: Period):
    return sa.select(person.label("pid")).where(_active(p)).distinct().subquery()


# ---------------------------------------------------------------- the waiting list

def _in_a_pair(senior_id, moment):
    return sa.exists().where(Pair.senior_id == senior_id, Pair.started_at <= moment,
                             sa.or_(Pair.ended_at.is_(None), Pair.ended_at > moment))


def _spells():
    """Each senior's statuses over time, one row per change, with when it ended (`until`)
    and the status before it (`before`).

    Pairs are the record of being matched (started_at, ended_at): imported and demo pairs
    begin before the status event written when they were made. Around them: the senior
    waits from being created, and hand changes (pause, end, back to waiting) come from the
    history. A senior without any status history keeps a paused or ended status from their
    last update. Waiting while a pair of theirs is active is impossible and dropped.
    """
    def value(text):
        return sa.literal_column(f"'{text}'")

    events = PersonEvent.__table__.c
    hand = sa.or_(events.from_status.is_(None), events.from_status != "matched")
    changes = sa.union_all(
        sa.select(Senior.id.label("senior_id"), Senior.created_at.label("at"),
                  value("waiting").label("status"), sa.literal_column("0").label("rank"))
        .where(~_in_a_pair(Senior.id, Senior.created_at)),
        sa.select(events.senior_id, events.at, events.to_status, sa.literal_column("1"))
        .where(events.senior_id.is_not(None), events.to_status == "waiting",
               hand, ~_in_a_pair(events.senior_id, events.at)),
        sa.select(events.senior_id, events.at, events.to_status, sa.literal_column("1"))
        .where(events.senior_id.is_not(None), events.to_status.in_(("paused", "ended")), hand),
        sa.select(Senior.id, Senior.updated_at, Senior.status, sa.literal_column("1"))
        .where(Senior.status.in_(("paused", "ended")),
               ~sa.exists().where(events.senior_id == Senior.id,
                                  events.to_status.is_not(None))),
        sa.select(Pair.senior_id, Pair.ended_at,
                  sa.case((Pair.end_reason == "passed_away", value("ended")),
                          else_=value("waiting")), sa.literal_column("2"))
        .where(Pair.ended_at.is_not(None)),
        sa.select(Pair.senior_id, Pair.started_at, value("matched"), sa.literal_column("3")),
    ).subquery("changes")
    window = {"partition_by": changes.c.senior_id, "order_by": (changes.c.at, changes.c.rank)}
    return sa.select(
        changes.c.senior_id, changes.c.at, changes.c.status,
        sa.func.lead(changes.c.at, type_=UTCDateTime).over(**window).label("until"),
        sa.func.lag(changes.c.status).over(**window).label("before"),
    ).subquery("spells")


def _waiting_at(spells, moment: datetime):
    return sa.and_(spells.c.status == "waiting", spells.c.at < moment,
                   sa.or_(spells.c.until.is_(None), spells.c.until >= moment))


def _waiting_over_time(p: Period, spells, *, session: Session) -> list[tuple[date, int]]:
    """Seniors waiting at the end of each Sunday in the period and of its last day, up to
    today (the future is not known yet)."""
    last = min(p.end, p.now.astimezone(p.tz).date())
    days = [d for d in (p.start + timedelta(days=n) for n in range((last - p.start).days + 1))
            if d.weekday() == 6 or d == last]
    if not days:
        return []
    moments = [min(p.instant(d + timedelta(days=1)), p.now) for d in days]
    counts = session.execute(sa.select(*(count_if(_waiting_at(spells, m)) for m in moments))
                             .where(spells.c.status == "waiting")).one()
    return [(d, int(n)) for d, n in zip(days, counts, strict=True)]


def _wait_days(p: Period, spells, *, session: Session) -> list[tuple[int, int]]:
    """Days each pair begun in the period had waited: since the senior last came onto the
    waiting list (a pause does not restart the count) until the pair began. Pairs that
    began before the senior was in Vänringen (imported) are left out."""
    since = (sa.select(Pair.started_at, sa.func.max(spells.c.at).label("since"))
             .join(spells, sa.and_(spells.c.senior_id == Pair.senior_id,
                                   spells.c.status == "waiting",
                                   spells.c.at <= Pair.started_at,
                                   sa.or_(spells.c.before.is_(None),
                                          spells.c.before != "paused")))
             .where(p.has(Pair.started_at)).group_by(Pair.id, Pair.started_at).subquery())
    values = sa.select(whole_days(since.c.started_at, since.c.since).label("value")).subquery()
    return groups.distribution(values, session=session)


def _approved_in(p: Period):
    # Volunteers imported as already approved have approved_at = created_at: approved
    # before Vänringen, their application date unknown.
    return sa.and_(p.has(Volunteer.approved_at), Volunteer.approved_at != Volunteer.created_at)


def _approval_days(p: Period, *, session: Session) -> list[tuple[int, int]]:
    values = (sa.select(whole_days(Volunteer.approved_at, Volunteer.created_at).label("value"))
              .where(_approved_in(p)).subquery())
    return groups.distribution(values, session=session)


def _durations(name: str, histogram: list[tuple[int, int]], min_group: int) -> dict:
    hidden = groups.small(sum(n for _v, n in histogram), min_group)
    return {f"{name}_median": None if hidden else groups.median(histogram),
            f"{name}_longest": None if hidden or not histogram else histogram[-1][0]}


# ---------------------------------------------------------------- people

def _grouped(columns, inner, *, session: Session, measures) -> list[dict]:
    query = (sa.select(*(inner.c[c] for c in columns),
                       *(sa.func.sum(inner.c[m]).label(m) for m in measures))
             .group_by(*(inner.c[c] for c in columns)))
    return [dict(row._mapping) for row in session.execute(query)]


def _flag(condition):
    return sa.case((condition, 1), else_=0)


def _senior_rows(p: Period, spells, *, session: Session) -> list[dict]:
    """Seniors in a pair, reached or waiting at the end, per combination of attributes."""
    paired, held = _in_pair(Pair.senior_id, p), _held_by(Pair.senior_id, p)
    waiting = (sa.select(spells.c.senior_id.label("pid"))
               .where(_waiting_at(spells, p.cutoff)).distinct().subquery())
    inner = (sa.select(Senior.gender, Senior.district, Senior.referral_source,
                       Senior.languages,
                       groups.age_band(Senior.birth_year, p.end.year,
                                       groups.SENIOR_BANDS).label("age_band"),
                       _flag(paired.c.pid.is_not(None)).label("participants"),
                       _flag(held.c.pid.is_not(None)).label("reached"),
                       _flag(waiting.c.pid.is_not(None)).label("waiting"),
                       sa.func.coalesce(held.c.calls, 0).label("calls_held"),
                       sa.func.coalesce(held.c.minutes, 0).label("call_minutes"))
             .outerjoin(paired, paired.c.pid == Senior.id)
             .outerjoin(held, held.c.pid == Senior.id)
             .outerjoin(waiting, waiting.c.pid == Senior.id)
             .where(sa.or_(paired.c.pid.is_not(None), held.c.pid.is_not(None),
                           waiting.c.pid.is_not(None))).subquery())
    return _grouped(("gender", "district", "referral_source", "languages", "age_band"), inner,
                    session=session, measures=groups.SENIOR_MEASURES)


def _volunteer_rows(p: Period, *, session: Session) -> list[dict]:
    """Volunteers in a pair, active or approved in the period, per combination."""
    paired, held = _in_pair(Pair.volunteer_id, p), _held_by(Pair.volunteer_id, p)
    approved = _approved_in(p)
    inner = (sa.select(Volunteer.gender, Volunteer.languages,
                       groups.age_band(Volunteer.birth_year, p.end.year,
                                       groups.VOLUNTEER_BANDS).label("age_band"),
                       _flag(paired.c.pid.is_not(None)).label("participants"),
                       _flag(held.c.pid.is_not(None)).label("active"),
                       _flag(approved).label("approved"),
                       sa.func.coalesce(held.c.calls, 0).label("calls_held"),
                       sa.func.coalesce(held.c.minutes, 0).label("call_minutes"))
             .outerjoin(paired, paired.c.pid == Volunteer.id)
             .outerjoin(held, held.c.pid == Volunteer.id)
             .where(sa.or_(paired.c.pid.is_not(None), held.c.pid.is_not(None), approved))
             .subquery())
    return _grouped(("gender", "languages", "age_band"), inner, session=session,
                    measures=groups.VOLUNTEER_MEASURES)
