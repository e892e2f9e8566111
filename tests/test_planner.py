"""Planning calls and reminders (vanringen.planner and the call-plan changes in
vanringen.call_plans) on the test database, with the clock set by time-machine."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from call_support import at, calls_of, local, messages, paired, planner
from sqlmodel import select

from vanringen import call_plans
from vanringen.models import Message, PairPause, ScheduledCall
from vanringen.schedule import parse_slots


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def plan(app, session, pair, now):
    found = planner(app, session).plan([pair], now=now)
    session.commit()
    return found


def reminder_times(session, pair, kind):
    ids = [c.id for c in calls_of(session, pair) if c.status == "planned"]
    return [local(m.due_at) for m in messages(session, kind=kind, status="pending")
            if m.call_id in ids]


def test_a_pair_gets_calls_and_reminders_for_two_weeks(app, session, ctx):
    pair = paired(session, call_times="tue 14:00;fri 10:30")
    now = at("2026-12-01 09:30")  # a Tuesday
    plan(app, session, pair, now)
    calls = calls_of(session, pair)
    assert [local(c.scheduled_at) for c in calls] == [
        "2026-12-01 14:00", "2026-12-04 10:30", "2026-12-08 14:00", "2026-12-11 10:30"]
    assert reminder_times(session, pair, "reminder_volunteer") == [
        "2026-12-01 13:00", "2026-12-04 09:30", "2026-12-08 13:00", "2026-12-11 09:30"]
    assert reminder_times(session, pair, "reminder_senior_sms") == [
        "2026-12-01 09:00", "2026-12-04 09:00", "2026-12-08 09:00", "2026-12-11 09:00"]
    first = messages(session, kind="reminder_volunteer")[0]
    assert first.expires_at == calls[0].scheduled_at
    assert first.body.startswith("Hej Jonas! I dag kl. 14.00 ringer du Greta, tel 070-111 00 00. ")
    # The log shows the body as it will be sent: with the volunteer's own link.
    assert re.search(r"Din sida: http://127\.0\.0\.1:5000/v/[\w.-]{30,}$", first.body)
    assert session.get(type(pair), pair.id).planned_until == date(2026, 12, 15)


def test_a_call_already_past_today_is_not_planned(app, session, ctx):
    pair = paired(session, call_times="tue 09:00")
    plan(app, session, pair, at("2026-12-01 09:30"))
    assert [local(c.scheduled_at) for c in calls_of(session, pair)] == [
        "2026-12-08 09:00"]


def test_planning_twice_adds_nothing(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 08:00")
    assert len(plan(app, session, pair, now)) == 2
    assert plan(app, session, pair, now) == []
    assert len(calls_of(session, pair)) == 2 and len(messages(session)) == 4


@pytest.mark.parametrize(("today", "sundays"), [
    # The spring change, Sunday 28 March 2027, and the weeks either side.
    ("2027-03-20 08:00", [("2027-03-21 14:00", 13), ("2027-03-28 14:00", 12)]),
    ("2027-03-27 08:00", [("2027-03-28 14:00", 12), ("2027-04-04 14:00", 12)]),
    # The autumn change, Sunday 31 October 2027.
    ("2027-10-23 08:00", [("2027-10-24 14:00", 12), ("2027-10-31 14:00", 13)]),
    ("2027-10-30 08:00", [("2027-10-31 14:00", 13), ("2027-11-07 14:00", 13)]),
])
def test_a_sunday_call_at_14_across_the_clock_changes(app, session, ctx, today, sundays):
    pair = paired(session, call_times="sun 14:00", channel="voice")
    with time_machine.travel(at(today), tick=False):
        plan(app, session, pair, at(today))
    calls = calls_of(session, pair)
    assert [(local(c.scheduled_at), c.scheduled_at.hour) for c in calls] == sundays
    for call in calls:
        kinds = {m.kind: local(m.due_at) for m in messages(session, call_id=call.id)}
        day = local(call.scheduled_at)[:10]
        assert kinds == {"reminder_volunteer": f"{day} 13:00",
                         "reminder_senior_voice": f"{day} 09:00"}


def test_early_calls_are_reminded_the_evening_before(app, session, ctx):
    pair = paired(session, call_times="mon 08:30")
    plan(app, session, pair, at("2026-12-01 12:00"))
    call = calls_of(session, pair)[0]
    assert local(call.scheduled_at) == "2026-12-07 08:30"
    assert {m.kind: local(m.due_at) for m in messages(session, call_id=call.id)} == {
        "reminder_volunteer": "2026-12-06 19:00", "reminder_senior_sms": "2026-12-06 19:00"}
    body = messages(session, call_id=call.id, kind="reminder_senior_sms")[0].body
    assert "I morgon kl. 08.30 ringer Jonas" in body


def test_a_senior_without_reminders_gets_none_and_a_finnish_one_hears_finnish(app, session,
                                                                               ctx):
    quiet = paired(session, channel="none", n=1)
    finnish = paired(session, channel="voice", senior="Aino", languages="fi;sv", n=2)
    now = at("2026-12-01 08:00")
    planner(app, session).plan([quiet, finnish], now=now)
    session.commit()
    assert {m.kind for m in messages(session, senior_id=quiet.senior_id)} == {
        "reminder_volunteer"}
    voice = messages(session, senior_id=finnish.senior_id, kind="reminder_senior_voice")[0]
    assert voice.language == "fi" and voice.channel == "voice"
    assert voice.body.startswith("Hei Aino! Täällä Vänringen. Tänään kello 14")


def test_no_calls_before_the_pair_starts(app, session, ctx):
    pair = paired(session, started=at("2026-12-05 00:00"))
    plan(app, session, pair, at("2026-12-01 08:00"))
    assert [local(c.scheduled_at) for c in calls_of(session, pair)] == ["2026-12-08 14:00"]


def test_the_clock_process_plans_each_pair_once_as_the_days_pass(app, session, ctx):
    pairs = [paired(session, n=i) for i in range(3)]
    now = at("2026-12-01 08:00")
    first = planner(app, session).claim_due_pairs(now=now)
    assert sorted(p.id for p in first) == [p.id for p in pairs]
    assert planner(app, session).claim_due_pairs(now=now) == []  # claimed: planned_until moved
    planner(app, session).plan(first, now=now)
    session.commit()
    assert planner(app, session).claim_due_pairs(now=now + timedelta(hours=12)) == []
    # A day later the horizon has moved; each pair is due again and gets the next Tuesday.
    later = now + timedelta(days=1)
    again = planner(app, session).claim_due_pairs(now=later)
    assert len(again) == 3
    planner(app, session).plan(again, now=later)
    session.commit()
    assert len(calls_of(session, pairs[0])) == 3


# ---------------------------------------------------------------- changing the plan

def test_editing_the_plan_replans_future_reminders(app, session, ctx):
    pair = paired(session, call_times="tue 14:00")
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    tuesday = calls_of(session, pair)[0]
    later = now + timedelta(hours=2)
    call_plans.set_call_times(pair, parse_slots("wed 10:00;fri 18:30"), session=session,
                              now=later, actor=None)
    session.commit()
    calls = {local(c.scheduled_at): c for c in calls_of(session, pair)}
    assert calls[local(tuesday.scheduled_at)].status == "cancelled"
    assert "Samtalstiderna ändrades till onsdagar kl. 10.00 och fredagar kl. 18.30" in \
        calls[local(tuesday.scheduled_at)].note
    planned = sorted(k for k, c in calls.items() if c.status == "planned")
    assert planned == ["2026-12-02 10:00", "2026-12-04 18:30", "2026-12-09 10:00",
                       "2026-12-11 18:30"]
    # The Tuesday reminders will not be sent; the new calls have their own.
    assert {m.status for m in messages(session, call_id=tuesday.id)} == {"cancelled"}
    assert reminder_times(session, pair, "reminder_volunteer") == [
        "2026-12-02 09:00", "2026-12-04 17:30", "2026-12-09 09:00", "2026-12-11 17:30"]


def test_a_reminder_already_sent_stays_sent_when_the_plan_changes(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 09:30")
    plan(app, session, pair, now)
    senior_sms = messages(session, kind="reminder_senior_sms")[0]
    senior_sms.status = "delivered"
    session.add(senior_sms)
    session.commit()
    call_plans.set_call_times(pair, parse_slots("thu 15:00"), session=session, now=now,
                              actor=None)
    session.commit()
    assert session.get(Message, senior_sms.id).status == "delivered"


def test_a_pause_stops_reminders_and_the_pair_resumes_by_itself(app, session, ctx):
    pair = paired(session, call_times="tue 14:00;fri 10:30")
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    call_plans.add_pause(pair, date(2026, 12, 3), date(2026, 12, 9), "Sjukhuset",
                         session=session, now=now, today=date(2026, 12, 1), actor=None)
    session.commit()
    status = {local(c.scheduled_at): c.status for c in calls_of(session, pair)}
    assert status == {"2026-12-01 14:00": "planned", "2026-12-04 10:30": "cancelled",
                      "2026-12-08 14:00": "cancelled", "2026-12-11 10:30": "planned"}
    paused_ids = [c.id for c in calls_of(session, pair) if c.status == "cancelled"]
    assert {m.status for m in messages(session) if m.call_id in paused_ids} == {"cancelled"}

    # The clock process plans on as the days pass: nothing inside the pause, all after it.
    for day in range(1, 14):
        moment = now + timedelta(days=day)
        with time_machine.travel(moment, tick=False):
            p = planner(app, session)
            p.plan(p.claim_due_pairs(now=moment), now=moment)
            session.commit()
    planned = [local(c.scheduled_at) for c in calls_of(session, pair) if c.status == "planned"]
    assert planned[:3] == ["2026-12-01 14:00", "2026-12-11 10:30", "2026-12-15 14:00"]
    assert not any("2026-12-03" <= t < "2026-12-09" for t in planned)


def test_ending_a_pause_early_brings_the_calls_back(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    pause = call_plans.add_pause(pair, date(2026, 12, 1), date(2026, 12, 20), "",
                                 session=session, now=now, today=date(2026, 12, 1), actor=None)
    session.commit()
    assert {c.status for c in calls_of(session, pair)} == {"cancelled"}
    later = at("2026-12-04 12:00")
    call_plans.end_pause(pause, session=session, now=later, today=date(2026, 12, 4),
                         actor=None)
    session.commit()
    assert {local(c.scheduled_at): c.status for c in calls_of(session, pair)} == {
        "2026-12-01 14:00": "cancelled", "2026-12-08 14:00": "planned",
        "2026-12-15 14:00": "planned"}
    assert reminder_times(session, pair, "reminder_volunteer") == [
        "2026-12-08 13:00", "2026-12-15 13:00"]
    assert session.get(PairPause, pause.id).resumes_on == date(2026, 12, 4)


@pytest.mark.parametrize(("start", "resume", "field", "message"), [
    (date(2026, 11, 30), date(2026, 12, 5), "starts_on", "före i dag"),
    (date(2026, 12, 5), date(2026, 12, 5), "resumes_on", "efter pausens första dag"),
    (date(2026, 12, 5), date(2028, 1, 1), "resumes_on", "högst ett år"),
])
def test_a_pause_that_makes_no_sense_is_refused(app, session, ctx, start, resume, field,
                                                message):
    pair = paired(session)
    with pytest.raises(call_plans.PlanError, match=message) as caught:
        call_plans.add_pause(pair, start, resume, "", session=session, now=at("2026-12-01 08:00"),
                             today=date(2026, 12, 1), actor=None)
    assert caught.value.field == field


def test_overlapping_pauses_are_refused(app, session, ctx):
    pair = paired(session)
    now, today = at("2026-12-01 08:00"), date(2026, 12, 1)
    call_plans.add_pause(pair, date(2026, 12, 5), date(2026, 12, 10), "", session=session,
                         now=now, today=today, actor=None)
    with pytest.raises(call_plans.PlanError, match="överlappar"):
        call_plans.add_pause(pair, date(2026, 12, 9), date(2026, 12, 12), "", session=session,
                             now=now, today=today, actor=None)


def test_moving_one_call_moves_its_reminders_and_replanning_keeps_it(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    call = calls_of(session, pair)[1]  # Tuesday 8 December
    call_plans.move_call(call, at("2026-12-09 16:00"), session=session, now=now, actor=None)
    session.commit()
    moved = session.get(ScheduledCall, call.id)
    assert (local(moved.scheduled_at), local(moved.moved_from)) == (
        "2026-12-09 16:00", "2026-12-08 14:00")
    pending = {m.kind: local(m.due_at) for m in messages(session, call_id=call.id,
                                                         status="pending")}
    assert pending == {"reminder_volunteer": "2026-12-09 15:00",
                       "reminder_senior_sms": "2026-12-09 09:00"}
    # Planning again, even after an edit of the weekly times, leaves the moved call alone.
    call_plans.set_call_times(pair, parse_slots("tue 14:00;thu 11:00"), session=session,
                              now=now, actor=None)
    session.commit()
    assert session.get(ScheduledCall, call.id).status == "planned"
    assert len([c for c in calls_of(session, pair) if c.occurs_on == date(2026, 12, 8)]) == 1


def test_a_moved_call_comes_back_when_the_pause_over_it_is_removed(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    call = calls_of(session, pair)[1]  # Tuesday 8 December, moved to Wednesday
    call_plans.move_call(call, at("2026-12-09 16:00"), session=session, now=now, actor=None)
    pause = call_plans.add_pause(pair, date(2026, 12, 9), date(2026, 12, 10), "",
                                 session=session, now=now, today=date(2026, 12, 1), actor=None)
    session.commit()
    assert session.get(ScheduledCall, call.id).status == "cancelled"
    call_plans.end_pause(pause, session=session, now=now, today=date(2026, 12, 1), actor=None)
    session.commit()
    back = session.get(ScheduledCall, call.id)
    assert (back.status, local(back.scheduled_at)) == ("planned", "2026-12-09 16:00")
    pending = {m.kind: local(m.due_at) for m in messages(session, call_id=call.id,
                                                         status="pending")}
    assert pending == {"reminder_volunteer": "2026-12-09 15:00",
                       "reminder_senior_sms": "2026-12-09 09:00"}


def test_skipping_one_call_cancels_its_reminders(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    call = calls_of(session, pair)[0]
    with pytest.raises(call_plans.PlanError, match="varför"):
        call_plans.skip_call(call, " ", session=session, now=now, actor=None)
    call_plans.skip_call(call, "Greta är hos tandläkaren", session=session, now=now, actor=None)
    session.commit()
    assert session.get(ScheduledCall, call.id).status == "skipped"
    assert {m.status for m in messages(session, call_id=call.id)} == {"cancelled"}
    # Planning again does not bring a skipped call back.
    plan(app, session, pair, now)
    assert session.get(ScheduledCall, call.id).status == "skipped"


def test_a_call_cannot_be_moved_into_the_past_or_a_pause(app, session, ctx):
    pair = paired(session)
    now = at("2026-12-01 08:00")
    plan(app, session, pair, now)
    call = calls_of(session, pair)[0]
    with pytest.raises(call_plans.PlanError, match="passerat"):
        call_plans.move_call(call, at("2026-12-01 07:00"), session=session, now=now, actor=None)
    call_plans.add_pause(pair, date(2026, 12, 10), date(2026, 12, 12), "", session=session,
                         now=now, today=date(2026, 12, 1), actor=None)
    with pytest.raises(call_plans.PlanError, match="paus"):
        call_plans.move_call(call, at("2026-12-10 14:00"), session=session, now=now, actor=None)


def test_ending_the_pair_cancels_what_is_planned(app, session, ctx):
    from vanringen.matches import end_pair

    pair = paired(session)
    now = at("2026-12-01 08:00")
    with time_machine.travel(now, tick=False):
        plan(app, session, pair, now)
        end_pair(pair, "volunteer_stopped", "", "", session=session, actor=None)
        session.commit()
    assert {c.status for c in calls_of(session, pair)} == {"cancelled"}
    assert {m.status for m in messages(session)} == {"cancelled"}
    assert session.exec(select(ScheduledCall).where(ScheduledCall.status == "planned")).all() == []
