"""The start page's figures (vanringen/dashboard.py) at their edges: an urgent task of any
kind counts as a concern, the lists stop at their length but count everything, an extract
on the last warning day, and a week with the change to summer time."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from call_support import at, paired
from test_matches import make_pair, make_senior, make_volunteer

from vanringen import dashboard
from vanringen.models import CallLog, ScheduledCall, Task

TZ = ZoneInfo("Europe/Stockholm")


def test_urgent_tasks_are_concerns_and_each_group_shows_its_newest(session):
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    session.add_all(
        [Task(kind="no_report", title="Brådskande", urgent=True, created_at=start)]
        + [Task(kind="delivery_failed" if i % 2 else "opted_out", title=f"Påminnelse {i}",
                created_at=start + timedelta(hours=i)) for i in range(7)]
        + [Task(kind="no_call", title="Klar", status="done"),
           Task(kind="something_new", title="Okänd sort")])
    session.commit()
    groups = dashboard.open_tasks(session=session)
    assert list(groups) == ["concern", "missed", "undelivered", "intake", "other"]
    assert (groups["concern"].count, groups["concern"].by_kind) == (1, {"no_report": 1})
    assert groups["missed"].count == 0 and groups["missed"].tasks == []
    undelivered = groups["undelivered"]
    assert (undelivered.count, undelivered.by_kind) == (7, {"delivery_failed": 3, "opted_out": 4})
    assert [t.title for t in undelivered.tasks] == [f"Påminnelse {i}" for i in (6, 5, 4, 3, 2)]
    assert [t.title for t in groups["other"].tasks] == ["Okänd sort"]


def test_extract_on_the_last_warning_day_is_listed_and_all_are_counted(session):
    today = date(2026, 12, 9)
    for n in range(11):  # runs out in 30 days (the last warned), and earlier
        make_volunteer(session, f"V{n}", police_record_checked_on=today - timedelta(days=335 + n))
    make_volunteer(session, "Senare", police_record_checked_on=today - timedelta(days=334))
    make_volunteer(session, "Utan", police_record_checked_on=None)
    count, extracts = dashboard.expiring_extracts(session=session, today=today,
                                                  valid_days=365, warn_days=30)
    assert count == 11  # V0, on the last warned day, is counted but not among the first ten
    assert [e.name for e in extracts] == [f"V{n} Berg" for n in range(10, 0, -1)]
    assert (extracts[-1].valid_until, extracts[-1].days, extracts[-1].state) == (
        date(2027, 1, 7), 29, "valid")


def test_free_volunteers_count_beyond_the_list(session):
    for n in range(12):
        make_volunteer(session, f"V{n}", approved_at=datetime(2026, 1, 1 + n, tzinfo=UTC))
    busy = make_volunteer(session, "Upptagen", capacity=2)
    for n in range(2):
        make_pair(session, make_senior(session, f"S{n}", phone=f"+4670111000{n}"), busy)
    count, free = dashboard.free_volunteers(session=session)
    assert count == 12
    assert [v.name for v in free] == [""] * 10  # what the shared cache keeps: no names
    named = dashboard.with_names(free, session=session)
    assert [v.name for v in named] == [f"V{n} Berg" for n in range(10)]


def test_week_with_the_change_to_summer_time(session):
    pair = paired(session)
    times = ["2027-03-21 23:30", "2027-03-22 00:15", "2027-03-25 09:00", "2027-03-25 18:00",
             "2027-03-28 23:30", "2027-03-29 00:15"]
    for n, local_time in enumerate(times):
        call = ScheduledCall(pair_id=pair.id, slot=f"s{n}", occurs_on=date(2027, 3, 1),
                             scheduled_at=at(local_time))
        session.add(call)
        session.commit()
        if n == 2:
            session.add(CallLog(pair_id=pair.id, call_id=call.id, outcome="no_answer",
                                occurred_at=call.scheduled_at, source="sms"))
    session.commit()
    week = dashboard.planned_calls(session=session, now=at("2027-03-25 12:00"),
                                   today=date(2027, 3, 25), tz=TZ)
    assert (week.monday, week.sunday) == (date(2027, 3, 22), date(2027, 3, 28))
    assert week.today == dashboard.CallCounts(planned=2, past=1, logged=1)
    assert week.week == dashboard.CallCounts(planned=4, past=2, logged=1)
