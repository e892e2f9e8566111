"""Follow-up (vanringen/followup.py): the three rules with time moved, one task per cause
over many ticks, tasks that close by themselves, the clock's tick, two clocks at once, and
the pair lifecycle (pause, resume, end) seen from follow-up."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from call_support import Recorder, at, calls_of, paired
from sqlmodel import Session, select

from vanringen import followup
from vanringen.call_log import record_outcome
from vanringen.call_plans import add_pause, end_pause
from vanringen.followup import Rules, find_no_answer, find_no_call, find_no_report
from vanringen.matches import end_pair
from vanringen.models import Pair, PairPause, Senior, Task
from vanringen.scheduler import tick

START = at("2026-11-02 10:00")  # a Monday; the pair calls on Tuesdays at 14:00


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def pair(session, clock):
    return paired(session, call_times="tue 14:00", started=START)


@pytest.fixture
def rules(app) -> Rules:
    return Rules.from_config(app.config)


def log(app, session, pair, outcome, when, *, source="coordinator", **kw):
    with app.app_context():
        entry, _queued = record_outcome(
            pair, None, outcome, session=session, now=when, source=source, occurred_at=when,
            minutes=20 if outcome == "held" else None, **kw)
        session.commit()
    return entry


def tasks(session, **where) -> list[Task]:
    session.expire_all()
    query = select(Task).order_by(Task.id)
    for name, value in where.items():
        query = query.where(getattr(Task, name) == value)
    return list(session.exec(query))


def run_tick(app, when):
    return tick(app, now=when, sender=Recorder())


# ---------------------------------------------------------------- no held call

def test_no_held_call_counts_from_the_start_13_days_no_15_days_yes(session, pair, rules):
    assert find_no_call(session, now=START + days(13), rules=rules) == {}
    found = find_no_call(session, now=START + days(15), rules=rules)
    assert list(found) == [f"no_call:{pair.id}"]
    finding = found[f"no_call:{pair.id}"]
    assert finding.title == "Greta Lind har inte haft något samtal på 15 dagar"
    assert finding.detail == ("Inget samtal har blivit av sedan telefonvänskapet började "
                              "2026-11-02. Volontär: Jonas Berg.")
    assert finding.refs == {"pair_id": pair.id, "senior_id": pair.senior_id,
                            "volunteer_id": pair.volunteer_id}


def test_no_held_call_counts_from_the_last_held_call(app, session, pair, rules):
    log(app, session, pair, "held", START + days(10))
    log(app, session, pair, "no_answer", START + days(17))  # not a held call
    assert find_no_call(session, now=START + days(23), rules=rules) == {}
    finding, = find_no_call(session, now=START + days(25), rules=rules).values()
    assert finding.title == "Greta Lind har inte haft något samtal på 15 dagar"
    assert finding.detail.startswith("Senaste samtalet som blev av: 2026-11-12.")


def test_the_setting_changes_the_number_of_days(app, session, pair):
    rules = Rules.from_config({**app.config, "FOLLOWUP_NO_CALL_DAYS": 7})
    assert find_no_call(session, now=START + days(6), rules=rules) == {}
    assert len(find_no_call(session, now=START + days(8), rules=rules)) == 1


def test_a_pause_never_triggers_it_and_the_count_starts_again_at_its_end(session, pair, rules):
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 11, 9),
                          resumes_on=date(2026, 12, 7), reason="Sjukhus"))
    session.commit()
    # 15 and 30 days after the start: paused, then just back from the pause.
    assert find_no_call(session, now=START + days(15), rules=rules) == {}
    assert find_no_call(session, now=at("2026-12-20 10:00"), rules=rules) == {}
    finding, = find_no_call(session, now=at("2026-12-22 10:00"), rules=rules).values()
    assert finding.title == "Greta Lind har inte haft något samtal på 15 dagar"
    assert "Senaste pausen slutade 2026-12-07." in finding.detail


def test_a_pause_in_the_future_does_not_hide_it(session, pair, rules):
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 11, 20),
                          resumes_on=date(2026, 11, 27)))
    session.commit()
    assert len(find_no_call(session, now=START + days(15), rules=rules)) == 1


def test_an_ended_pair_is_not_followed_up(session, pair, rules):
    pair.status = "ended"
    session.add(pair)
    session.commit()
    assert find_no_call(session, now=START + days(30), rules=rules) == {}
    assert find_no_answer(session, now=START + days(30), rules=rules) == {}


# ---------------------------------------------------------------- no answer

def test_three_no_answers_in_a_row(app, session, pair, rules):
    now = START + days(20)
    log(app, session, pair, "held", START + days(1))
    for n in (8, 15):
        log(app, session, pair, "no_answer", START + days(n))
    assert find_no_answer(session, now=now, rules=rules) == {}  # two
    log(app, session, pair, "no_answer", START + days(19))
    finding, = find_no_answer(session, now=now, rules=rules).values()
    assert finding.key == f"no_answer:{pair.id}"
    assert finding.title == "Greta Lind har inte svarat 3 gånger i rad"
    assert finding.detail == ("De senaste 3 samtalen (2026-11-10 – 2026-11-21) blev inte "
                              "besvarade. Volontär: Jonas Berg.")


def test_two_no_answers_and_a_held_call_are_not_three_in_a_row(app, session, pair, rules):
    for n, outcome in ((1, "no_answer"), (8, "no_answer"), (15, "held"), (19, "no_answer")):
        log(app, session, pair, outcome, START + days(n))
    assert find_no_answer(session, now=START + days(20), rules=rules) == {}
    # The order is the calls' order, not the order they were logged in.
    log(app, session, pair, "no_answer", START + days(16))
    log(app, session, pair, "no_answer", START + days(17))
    assert len(find_no_answer(session, now=START + days(20), rules=rules)) == 1


def test_no_answers_before_a_pause_do_not_count_after_it(app, session, pair, rules):
    for n in (1, 8, 15):
        log(app, session, pair, "no_answer", START + days(n))
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 11, 18),
                          resumes_on=date(2026, 11, 25)))
    session.commit()
    assert find_no_answer(session, now=START + days(18), rules=rules) == {}  # paused
    assert find_no_answer(session, now=START + days(24), rules=rules) == {}
    for n in (24, 31):
        log(app, session, pair, "no_answer", START + days(n))
    assert find_no_answer(session, now=START + days(32), rules=rules) == {}
    log(app, session, pair, "no_answer", START + days(38))
    assert len(find_no_answer(session, now=START + days(39), rules=rules)) == 1


# ---------------------------------------------------------------- no report

def test_a_volunteer_who_has_not_reported_while_calls_were_planned(app, session, pair, rules,
                                                                   clock):
    run_tick(app, START)  # plans the Tuesday calls two weeks ahead
    assert find_no_report(session, now=START + days(20), rules=rules) == {}
    # The office logging a call is not the volunteer reporting it.
    log(app, session, pair, "held", START + days(15))
    found = find_no_report(session, now=START + days(22), rules=rules)
    assert list(found) == [f"no_report:{pair.volunteer_id}"]
    finding = found[f"no_report:{pair.volunteer_id}"]
    assert finding.title == "Jonas Berg har inte rapporterat något samtal på 22 dagar"
    assert finding.detail == "Ingen rapport ännu. Telefonvän till: Greta Lind."
    assert finding.refs == {"volunteer_id": pair.volunteer_id, "pair_id": pair.id,
                            "senior_id": pair.senior_id}


@pytest.mark.parametrize("source", ["sms", "link", "bridge"])
def test_a_report_by_sms_link_or_call_counts(app, session, pair, rules, source):
    run_tick(app, START)
    run_tick(app, START + days(16))  # plans on to the end of the month
    log(app, session, pair, "no_answer", START + days(8), source=source)
    assert find_no_report(session, now=START + days(22), rules=rules) == {}
    finding, = find_no_report(session, now=START + days(30), rules=rules).values()
    assert finding.detail.startswith("Senaste rapporten: 2026-11-10.")


def test_no_report_needs_calls_planned_for_them(session, pair, rules):
    # Nothing was ever planned (no tick ran): nothing to report.
    assert find_no_report(session, now=START + days(30), rules=rules) == {}


# ---------------------------------------------------------------- tasks from the clock

def test_one_task_for_a_cause_however_many_ticks_find_it(app, session, pair, clock):
    for n in range(13, 20):
        clock.move_to(START + days(n))
        run_tick(app, START + days(n))
    task, = tasks(session, kind="no_call")
    assert (task.status, task.pair_id, task.senior_id, task.volunteer_id, task.urgent) == (
        "open", pair.id, pair.senior_id, pair.volunteer_id, False)
    assert task.title == "Greta Lind har inte haft något samtal på 14 dagar"
    assert task.created_at == START + days(14)
    assert task.detail.count("Volontär") == 1


def test_a_held_call_closes_the_task_at_once(app, session, pair, clock):
    result = run_tick(app, START + days(15))
    assert (result.followup.opened, result.followup.closed) == (1, 0)
    log(app, session, pair, "held", START + days(15) + timedelta(hours=1))
    task, = tasks(session, kind="no_call")
    assert (task.status, task.closed_by_id, task.closing_note) == (
        "done", None, "Ett samtal blev av 2026-11-17.")
    assert task.closed_at == START + days(15) + timedelta(hours=1)
    result = run_tick(app, START + days(16))
    assert (result.followup.opened, result.followup.closed) == (0, 0)
    # And the cause coming back later is a new task.
    run_tick(app, START + days(31))
    assert [t.status for t in tasks(session, kind="no_call")] == ["done", "open"]


def test_the_clock_closes_a_task_whose_cause_went_away(app, session, pair, clock):
    for n in (1, 8, 15):
        log(app, session, pair, "no_answer", START + days(n))
    run_tick(app, START + days(16))
    assert {t.kind for t in tasks(session, status="open")} == {"no_call", "no_answer"}
    # A pause set in the database directly (not through the pair page): the clock notices.
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 11, 18),
                          resumes_on=date(2026, 12, 1)))
    session.commit()
    result = run_tick(app, START + days(16))
    assert (result.followup.opened, result.followup.closed) == (0, 2)
    assert str(result).endswith("uppföljning: 0 nya, 2 stängda.")
    assert {(t.kind, t.closing_note, t.closed_by_id) for t in tasks(session)} == {
        ("no_call", "Paret har paus till 2026-12-01.", None),
        ("no_answer", "Paret har paus till 2026-12-01.", None)}


def test_a_no_answer_task_closes_when_the_senior_answers(app, session, pair, clock):
    for n in (1, 8, 15):
        log(app, session, pair, "no_answer", START + days(n))
    run_tick(app, START + days(15) + timedelta(hours=5))
    log(app, session, pair, "held", START + days(16))
    closed = {t.kind: t.closing_note for t in tasks(session, status="done")}
    assert closed == {"no_answer": "Ett samtal blev av 2026-11-18.",
                      "no_call": "Ett samtal blev av 2026-11-18."}


def test_a_volunteers_report_closes_their_task(app, session, pair, clock):
    run_tick(app, START)
    run_tick(app, START + days(22))
    task, = tasks(session, kind="no_report")
    assert (task.volunteer_id, task.pair_id) == (pair.volunteer_id, pair.id)
    log(app, session, pair, "no_answer", START + days(22), source="sms",
        volunteer_id=pair.volunteer_id)
    task, = tasks(session, kind="no_report")
    assert (task.status, task.closing_note) == (
        "done", "Volontären har rapporterat samtalet 2026-11-24.")


def test_a_task_closed_by_a_coordinator_is_not_opened_again_at_the_next_tick(
        app, session, pair, coordinator, clock):
    run_tick(app, START + days(15))
    task, = tasks(session, kind="no_call")
    task.status, task.closed_by_id, task.closed_at = "done", coordinator.id, START + days(15)
    session.add(task)
    session.commit()
    run_tick(app, START + days(16))
    assert tasks(session, kind="no_call", status="open") == []
    run_tick(app, START + days(30))  # another 14 days without a call
    assert len(tasks(session, kind="no_call", status="open")) == 1


def test_a_tick_from_the_command_line(runner, session, pair):
    result = runner.invoke(args=["scheduler", "tick", "--now", "2026-11-17T11:00+01:00"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("; uppföljning: 1 ny, 0 stängda.")
    task, = tasks(session)
    assert (task.kind, task.pair_id, task.status) == ("no_call", pair.id, "open")
    again = runner.invoke(args=["scheduler", "tick", "--now", "2026-11-17T11:05+01:00"])
    assert again.output.strip().endswith("; uppföljning: inget nytt.")
    assert len(tasks(session)) == 1


@pytest.mark.parametrize(("moment", "statement"), [
    ("after_finding_the_pair", "SELECT pair.id"),
    ("between_looking_for_its_task_and_inserting_it", "SELECT task.id")])
def test_two_clocks_at_once_open_one_task(app, session, pair, moment, statement):
    """The other clock commits its task after this one found the cause, or even after
    open_task looked for an open task: the unique index and open_task's nested
    transaction keep it to one."""
    engine, raced = app.extensions["vanringen.engine"], []

    def rival(_conn, _cursor, sql, *_args):
        if raced or not sql.lstrip().startswith(statement):
            return
        raced.append(sql)
        with Session(engine, expire_on_commit=False) as other:
            assert followup.followup_step(app, session=other, now=START + days(15)).opened == 1

    sa.event.listen(engine, "after_cursor_execute", rival)
    try:
        counts = followup.followup_step(app, session=session, now=START + days(15))
    finally:
        sa.event.remove(engine, "after_cursor_execute", rival)
    assert raced
    assert (counts.opened, counts.closed) == (0, 0)
    task, = tasks(session)
    assert (task.kind, task.status) == ("no_call", "open")


# ---------------------------------------------------------------- the pair's lifecycle

def test_pausing_closes_the_task_and_no_new_one_opens_until_after_the_pause(
        app, session, pair, clock):
    clock.move_to(START + days(15))
    run_tick(app, START + days(15))
    with app.test_request_context():
        add_pause(pair, date(2026, 11, 17), date(2026, 12, 1), "Sjukhus", session=session,
                  now=START + days(15), today=date(2026, 11, 17), actor=None)
        session.commit()
    task, = tasks(session)
    assert (task.status, task.closing_note) == ("done", "Paret har paus till 2026-12-01.")
    for n in (16, 22, 28):
        clock.move_to(START + days(n))
        run_tick(app, START + days(n))
    assert tasks(session, status="open") == []
    # Calls come back by themselves on the end date...
    tuesdays = [c.occurs_on for c in calls_of(session, pair) if c.status == "planned"]
    assert date(2026, 11, 24) not in tuesdays and date(2026, 12, 1) in tuesdays
    # ...and without one held, follow-up starts again 14 days after it.
    clock.move_to(at("2026-12-14 10:00"))
    run_tick(app, at("2026-12-14 10:00"))
    assert tasks(session, status="open") == []
    clock.move_to(at("2026-12-15 10:00"))
    run_tick(app, at("2026-12-15 10:00"))
    task, = tasks(session, status="open")
    assert task.kind == "no_call" and "Senaste pausen slutade 2026-12-01." in task.detail


def test_resuming_early_starts_the_count_from_that_day(app, session, pair, clock):
    with app.test_request_context():
        pause = add_pause(pair, date(2026, 11, 2), date(2026, 12, 31), "", session=session,
                          now=START, today=date(2026, 11, 2), actor=None)
        session.commit()
    clock.move_to(at("2026-11-20 10:00"))
    with app.test_request_context():
        end_pause(pause, session=session, now=at("2026-11-20 10:00"), today=date(2026, 11, 20),
                  actor=None)
        session.commit()
    run_tick(app, at("2026-12-03 10:00"))
    assert tasks(session) == []
    run_tick(app, at("2026-12-05 10:00"))
    assert [t.kind for t in tasks(session)] == ["no_call"]


def test_ending_the_pair_closes_its_follow_up_but_not_a_concern(app, session, pair, clock):
    for n in (1, 8, 15):
        log(app, session, pair, "no_answer", START + days(n))
    log(app, session, pair, "cancelled_volunteer", START + days(16), source="link",
        volunteer_id=pair.volunteer_id, concern="Greta lät förvirrad")
    for n in (17, 18, 19):
        log(app, session, pair, "no_answer", START + days(n))
    clock.move_to(START + days(20))
    run_tick(app, START + days(20))
    assert {t.kind for t in tasks(session, status="open")} == {"concern", "no_call",
                                                               "no_answer"}
    with app.test_request_context():
        end_pair(pair, "moved_to_care", "", "Tycker om att prata om trädgården",
                 session=session, actor=None)
        session.commit()
    assert {(t.kind, t.status, t.closing_note) for t in tasks(session)} == {
        ("concern", "open", ""),
        ("no_call", "done", "Telefonvänskapet är avslutat."),
        ("no_answer", "done", "Telefonvänskapet är avslutat.")}
    session.expire_all()
    assert session.get(Senior, pair.senior_id).status == "waiting"
    assert session.get(Pair, pair.id).handover_note == "Tycker om att prata om trädgården"
    run_tick(app, START + days(40))
    assert {t.kind for t in tasks(session, status="open")} == {"concern"}
