"""The call plan on the pair page (vanringen/call_plans.py) through its forms, on a clock set
by time-machine: weekly times, pauses, single calls moved or skipped. Each change is checked
on the page and in the database (calls, reminders and the UTC instants they are due at, both
people's history); a refused form shows its error at the field and changes nothing."""

from datetime import date, timedelta

import pytest
import time_machine
from babel.dates import format_date
from call_support import at, calls_of, local, messages, paired, planner
from plan_pages import (
    due,
    field_error,
    followed,
    label,
    plan_events,
    plan_rows,
    planned,
    post,
    refused_at,
    reminders,
    row,
    state,
    text,
    utc,
)
from sqlmodel import select

from vanringen.models import Pair, PairPause

NOW = at("2026-12-01 08:00")  # Tuesday morning in Stockholm
TODAY = date(2026, 12, 1)
A_DATE = "Ange ett datum, t.ex. 2026-12-01."


@pytest.fixture(autouse=True)
def clock():
    """Frozen before anyone signs in: a session cookie from the future would not count."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def plan(app, session, pair, now=NOW):
    """What the clock process does: plan the pair's next PLAN_DAYS of calls and reminders."""
    with app.app_context():
        found = planner(app, session)
        found.plan(found.claim_due_pairs(now=now) if pair is None else [pair], now=now)
        session.commit()
    return pair


@pytest.fixture
def pair(app, session):
    return plan(app, session, paired(session, call_times="tue 14:00"))


# ---------------------------------------------------------------- who may change a plan

def action_paths(session, pair) -> list[str]:
    pause = PairPause(pair_id=pair.id, starts_on=date(2026, 12, 20),
                      resumes_on=date(2026, 12, 27))
    session.add(pause)
    session.commit()
    call, p = calls_of(session, pair)[1], f"/par/{pair.id}"
    return [f"{p}/samtalstider", f"{p}/paus", f"{p}/paus/{pause.id}/avsluta",
            f"{p}/samtal/{call.id}/flytta", f"{p}/samtal/{call.id}/hoppa-over"]


EVERYTHING = {"day-0": "wed", "time-0": "10:00", "starts_on": "2026-12-02",
              "resumes_on": "2026-12-05", "new_date": "2026-12-09", "new_time": "16:00",
              "reason": "Greta är bortrest"}


def test_every_change_needs_sign_in_the_csrf_token_and_a_known_pair(app, client, session, pair,
                                                                     coordinator):
    other = plan(app, session, paired(session, senior="Ingrid", volunteer="Amira", n=1))
    paths, theirs = action_paths(session, pair), action_paths(session, other)
    before = state(session, pair)
    response = client.get(f"/par/{pair.id}")
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    for path in paths:
        # With a valid CSRF token, so that it is the sign-in check that refuses.
        response = client.submit(path, EVERYTHING, form_path="/logga-in")
        assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    client.login(coordinator)
    for path in paths:
        assert client.raw.post(path, data=EVERYTHING).status_code == 400, path
    # Another pair's pause or call through this pair's address; pairs and calls not there.
    mine = f"/par/{pair.id}"
    for path in [p.replace(f"/par/{other.id}/", f"{mine}/") for p in theirs[2:]] + [
            f"/par/{other.id + 1}/samtalstider", f"{mine}/samtal/99/flytta"]:
        assert client.submit(path, EVERYTHING, form_path=mine).status_code == 404, path
    assert client.get(f"/par/{other.id + 1}").status_code == 404
    assert state(session, pair) == before


# ---------------------------------------------------------------- weekly times

def test_new_call_times_replan_the_coming_calls_and_reminders(logged_in, session, pair,
                                                              coordinator):
    old = calls_of(session, pair)
    page = followed(logged_in, post(logged_in, pair, "/samtalstider", {
        "form": "times", "day-0": "fri", "time-0": "18.30", "day-1": "wed", "time-1": "10:00"}))
    assert "Samtalstiderna är ändrade och påminnelserna planerade om." in page
    times = "onsdagar kl. 10.00 och fredagar kl. 18.30"
    assert f"Volontären ringer {times}." in page
    session.expire_all()
    assert session.get(Pair, pair.id).call_times == "wed 10:00;fri 18:30"
    calls = {c.id: c for c in calls_of(session, pair)}
    for call in old:
        assert (calls[call.id].status, calls[call.id].note) == (
            "cancelled", f"Samtalstiderna ändrades till {times}")
        assert {m.status for m in messages(session, call_id=call.id)} == {"cancelled"}
    assert planned(session, pair) == ["2026-12-02 10:00", "2026-12-04 18:30",
                                      "2026-12-09 10:00", "2026-12-11 18:30"]
    # Stockholm is UTC+1 in December: the volunteer an hour before, the senior at 09:00.
    wednesday, friday = (c for c in calls.values() if c.status == "planned"
                         and c.occurs_on in (date(2026, 12, 2), date(2026, 12, 4)))
    assert wednesday.scheduled_at == utc(2026, 12, 2, 9)
    assert reminders(session, wednesday) == due(utc(2026, 12, 2, 8), utc(2026, 12, 2, 8))
    assert friday.scheduled_at == utc(2026, 12, 4, 17, 30)
    assert reminders(session, friday) == due(utc(2026, 12, 4, 16, 30), utc(2026, 12, 4, 8))
    rows = plan_rows(logged_in, pair)
    assert row(rows, at("2026-12-04 18:30"))[1:3] == [
        "Planerat", "Seniorn, sms fre 09:00: Planerat Volontären, sms fre 17:30: Planerat"]
    assert row(rows, at("2026-12-08 14:00"))[1] == f"Inställt Samtalstiderna ändrades till {times}"
    assert {(e.senior_id, e.volunteer_id, e.actor_id, e.detail) for e in plan_events(session)} \
        == {(pair.senior_id, None, coordinator.id, f"Samtalstider: {times}"),
            (None, pair.volunteer_id, coordinator.id, f"Samtalstider: {times}")}
    senior_page = text(logged_in.get(f"/seniorer/{pair.senior_id}"))
    assert "Samtalsplan ändrad" in senior_page and f"Samtalstider: {times}" in senior_page


def test_calls_keep_their_wall_clock_time_across_the_spring_clock_change(
        client, coordinator, app, session, clock):
    clock.move_to(at("2027-03-20 08:00"))  # a Saturday; clocks go forward on the 28th
    pair = plan(app, session, paired(session, call_times="tue 14:00"), now=at("2027-03-20 08:00"))
    client.login(coordinator)
    followed(client, post(client, pair, "/samtalstider", {"day-0": "sun", "time-0": "14:00"}))
    sundays = [c for c in calls_of(session, pair) if c.status == "planned"]
    assert [c.scheduled_at for c in sundays] == [utc(2027, 3, 21, 13), utc(2027, 3, 28, 12)]
    assert [reminders(session, c) for c in sundays] == [
        due(utc(2027, 3, 21, 12), utc(2027, 3, 21, 8)),
        due(utc(2027, 3, 28, 11), utc(2027, 3, 28, 7))]


@pytest.mark.parametrize(("form", "field", "error"), [
    ({"day-0": "tue", "time-0": "25:00"}, "slot-0", "Ogiltig tid '25:00' (skriv t.ex. 14:00)."),
    ({"day-0": "tue", "time-0": "06:45"}, "slot-0",
     "Samtal kan planeras mellan 07:00 och 22:00, inte 06:45."),
    ({"day-0": "", "time-0": "14:00"}, "slot-0", "Välj veckodag."),
    ({"day-0": "", "time-0": ""}, "slot-0", "Ange en eller två olika samtalstider i veckan."),
    ({"day-0": "tue", "time-0": "14:00", "day-1": "tue", "time-1": "14.00"}, "slot-0",
     "Ange en eller två olika samtalstider i veckan."),
    ({"day-0": "wed", "time-0": "10:00", "day-1": "fri", "time-1": "22:30"}, "slot-1",
     "Samtal kan planeras mellan 07:00 och 22:00, inte 22:30."),
])
def test_call_times_that_make_no_sense_are_refused_at_their_field(logged_in, session, pair,
                                                                  form, field, error):
    before = state(session, pair)
    page = refused_at(post(logged_in, pair, "/samtalstider", {"form": "times", **form}),
                      field, error)
    assert field_error(page, "slot-1" if field == "slot-0" else "slot-0") is None
    i = field[-1]  # what was typed is there to correct
    if form[f"day-{i}"] in ("wed", "tue"):
        assert f'<option value="{form[f"day-{i}"]}" selected>' in page
    assert f'name="time-{i}" value="{form[f"time-{i}"]}"' in page
    assert state(session, pair) == before


# ---------------------------------------------------------------- pauses

def test_a_pause_stops_the_calls_in_it_and_they_come_back_after_it(
        logged_in, app, session, clock, coordinator):
    pair = plan(app, session, paired(session, call_times="tue 14:00;fri 10:30"))
    page = followed(logged_in, post(logged_in, pair, "/paus", {
        "form": "pause", "starts_on": "2026-12-01", "resumes_on": "2026-12-08",
        "reason": " Sjukhuset "}))
    assert "Paret är pausat. Inga påminnelser skickas under pausen." in page
    back = date(2026, 12, 8)
    start, end = (format_date(day, locale="sv") for day in (TODAY, back))  # "8 dec. 2026"
    assert f"Pausat till {end}" in page and "Avsluta pausen nu" in page
    assert f"{start} – samtalen börjar igen {end}: Sjukhuset" in page
    pause = session.exec(select(PairPause)).one()
    assert (pause.starts_on, pause.resumes_on, pause.reason, pause.created_by_id) == (
        TODAY, back, "Sjukhuset", coordinator.id)
    calls = {local(c.scheduled_at): c for c in calls_of(session, pair)}
    for paused in ("2026-12-01 14:00", "2026-12-04 10:30"):
        assert calls[paused].status == "cancelled" and "Sjukhuset" in calls[paused].note
        assert {m.status for m in messages(session, call_id=calls[paused].id)} == {"cancelled"}
    # The day the calls begin again has its call, reminded as usual.
    assert planned(session, pair) == ["2026-12-08 14:00", "2026-12-11 10:30"]
    assert reminders(session, calls["2026-12-08 14:00"]) == due(at("2026-12-08 13:00"),
                                                                at("2026-12-08 09:00"))
    assert {e.detail for e in plan_events(session)} == {
        "Paus 2026-12-01 – samtalen börjar igen 2026-12-08: Sjukhuset"}
    # A week on the clock has planned further: nothing inside the pause, all after it.
    clock.move_to(at("2026-12-08 08:00"))
    plan(app, session, None, now=at("2026-12-08 08:00"))
    assert planned(session, pair) == ["2026-12-08 14:00", "2026-12-11 10:30",
                                      "2026-12-15 14:00", "2026-12-18 10:30"]
    page = text(logged_in.get(f"/par/{pair.id}"))
    assert "Pausat till" not in page and "Pauser" not in page


@pytest.mark.parametrize(("starts_on", "resumes_on", "field", "error"), [
    ("1/12", "2026-12-08", "starts_on", A_DATE),
    ("2026-12-01", "2026-02-30", "resumes_on", A_DATE),
    ("2026-11-30", "2026-12-08", "starts_on", "En paus kan inte börja före i dag."),
    ("2026-12-05", "2026-12-05", "resumes_on", "Samtalen ska börja igen efter pausens första dag."),
    ("2026-12-05", "2027-12-07", "resumes_on",
     "En paus kan vara högst ett år. Avsluta telefonvänskapet om det behövs en längre paus."),
    ("2026-12-14", "2026-12-20", "starts_on",
     "Paret har redan en paus 2026-12-10–2026-12-15 som överlappar."),
])
def test_a_pause_that_makes_no_sense_is_refused_at_its_field(logged_in, session, pair,
                                                             starts_on, resumes_on, field, error):
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 12, 10),
                          resumes_on=date(2026, 12, 15)))
    session.commit()
    before = state(session, pair)
    form = {"form": "pause", "reason": "Semester", "starts_on": starts_on,
            "resumes_on": resumes_on}
    page = refused_at(post(logged_in, pair, "/paus", form), field, error)
    assert f'name="{field}" value="{form[field]}" min="2026-12-01" aria-invalid' in page
    assert 'name="reason" value="Semester"' in page
    assert state(session, pair) == before


@pytest.mark.parametrize(("starts_on", "resumes_on"), [
    ("2026-12-05", "2027-12-06"),  # 366 days, the longest pause
    ("9999-12-30", "9999-12-31"),  # the last dates there are
])
def test_the_longest_and_the_latest_pause(logged_in, session, pair, starts_on, resumes_on):
    followed(logged_in, post(logged_in, pair, "/paus", {"starts_on": starts_on,
                                                        "resumes_on": resumes_on}))
    pause = session.exec(select(PairPause)).one()
    assert (pause.starts_on.isoformat(), pause.resumes_on.isoformat()) == (starts_on, resumes_on)


def test_ending_a_pause_early_brings_the_calls_back(logged_in, session, pair, clock):
    post(logged_in, pair, "/paus", {"starts_on": "2026-12-01", "resumes_on": "2026-12-22"})
    assert planned(session, pair) == []
    pause = session.exec(select(PairPause)).one()
    clock.move_to(at("2026-12-04 12:00"))
    assert "Avsluta pausen nu" in text(logged_in.get(f"/par/{pair.id}"))
    page = followed(logged_in, post(logged_in, pair, f"/paus/{pause.id}/avsluta", {}))
    assert "Pausen är avslutad och samtalen planerade igen." in page
    assert "Pausat till" not in page
    session.expire_all()
    assert session.get(PairPause, pause.id).resumes_on == date(2026, 12, 4)
    assert planned(session, pair) == ["2026-12-08 14:00", "2026-12-15 14:00"]
    for call in calls_of(session, pair)[1:]:
        assert reminders(session, call) == due(call.scheduled_at - timedelta(hours=1),
                                               at(f"{call.occurs_on} 09:00"))
    assert calls_of(session, pair)[0].status == "cancelled"  # 1 December has gone by
    assert plan_events(session)[-1].detail == "Pausen avslutades 2026-12-04: samtalen börjar igen"


def test_a_pause_that_has_not_begun_is_taken_away(logged_in, session, pair):
    post(logged_in, pair, "/paus", {"starts_on": "2026-12-07", "resumes_on": "2026-12-10"})
    assert planned(session, pair) == ["2026-12-01 14:00"]
    pause = session.exec(select(PairPause)).one()
    assert "Ta bort pausen" in text(logged_in.get(f"/par/{pair.id}"))
    followed(logged_in, post(logged_in, pair, f"/paus/{pause.id}/avsluta", {}))
    assert session.exec(select(PairPause)).all() == []
    assert planned(session, pair) == ["2026-12-01 14:00", "2026-12-08 14:00"]
    assert reminders(session, calls_of(session, pair)[1]) == due(at("2026-12-08 13:00"),
                                                                 at("2026-12-08 09:00"))
    assert plan_events(session)[-1].detail == "Planerad paus från 2026-12-07 borttagen"


# ---------------------------------------------------------------- one call at a time

def test_moving_a_call_moves_its_reminders(logged_in, app, session, pair, clock, coordinator):
    call = calls_of(session, pair)[1]  # Tuesday 8 December 14:00
    old = {m.id for m in messages(session, call_id=call.id)}
    page = followed(logged_in, post(logged_in, pair, f"/samtal/{call.id}/flytta", {
        "form": "move", "new_date": "2026-12-09", "new_time": "16:00"}))
    assert "Samtalet är flyttat och påminnelserna planerade om." in page
    moved = calls_of(session, pair)[1]
    assert (moved.id, moved.status, moved.occurs_on, moved.changed_by_id) == (
        call.id, "planned", date(2026, 12, 8), coordinator.id)
    assert (moved.scheduled_at, moved.moved_from) == (utc(2026, 12, 9, 15), utc(2026, 12, 8, 13))
    assert {m.status for m in messages(session) if m.id in old} == {"cancelled"}
    assert reminders(session, moved) == due(utc(2026, 12, 9, 14), utc(2026, 12, 9, 8))
    shown = row(plan_rows(logged_in, pair), at("2026-12-09 16:00"))
    assert shown[0] == f"{label(at('2026-12-09 16:00'))} flyttat från tis 8 dec. 14:00"
    assert shown[2] == ("Seniorn, sms tis 09:00: Behövs inte längre "
                        "Volontären, sms tis 13:00: Behövs inte längre "
                        "Seniorn, sms ons 09:00: Planerat Volontären, sms ons 15:00: Planerat")
    assert {e.detail for e in plan_events(session)} == {
        "Samtalet 2026-12-08 14.00 flyttat till 2026-12-09 16.00"}
    # Planning on does not bring Tuesday's call back beside the moved one.
    clock.move_to(at("2026-12-02 08:00"))
    plan(app, session, None, now=at("2026-12-02 08:00"))
    assert planned(session, pair) == ["2026-12-01 14:00", "2026-12-09 16:00",
                                      "2026-12-15 14:00"]


@pytest.mark.parametrize(("action", "form", "field", "error"), [
    ("flytta", {"new_date": "9 dec", "new_time": "16:00"}, "new_date", A_DATE),
    ("flytta", {"new_date": "2026-12-09", "new_time": "22:30"}, "new_time",
     "Samtal kan planeras mellan 07:00 och 22:00, inte 22:30."),
    ("flytta", {"new_date": "2026-12-01", "new_time": "07:30"}, "new_date",
     "Välj en tid som inte har passerat."),
    ("flytta", {"new_date": "2026-12-01", "new_time": "14:00"}, "new_date",
     "Paret har redan ett samtal då."),
    ("flytta", {"new_date": "2026-12-15", "new_time": "14:00"}, "new_date",
     "Paret har paus då (till 2026-12-20)."),
    ("hoppa-over", {"reason": "   "}, "reason", "Skriv varför samtalet inte blir av."),
])
def test_a_change_to_one_call_that_cannot_be_is_refused_at_its_field(
        logged_in, session, pair, action, form, field, error):
    session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 12, 14),
                          resumes_on=date(2026, 12, 20)))
    session.commit()
    call = calls_of(session, pair)[1]
    before = state(session, pair)
    response = post(logged_in, pair, f"/samtal/{call.id}/{action}",
                    {"form": "move" if action == "flytta" else "skip", **form})
    page = refused_at(response, field, error)
    assert f'<p class="error" role="alert">{error}</p>' in page
    # In that call's row, opened, with what was typed.
    assert page.count("<details open>") == 1
    form_at = page.index(f'action="/par/{pair.id}/samtal/{call.id}/{action}"')
    assert page.index("<details open>") < form_at < page.index(f'id="{field}-error"')
    assert f'name="{field}" value="{form[field]}"' in page
    assert state(session, pair) == before


def test_skipping_a_call_cancels_its_reminders_and_sends_nothing(logged_in, app, session, pair,
                                                                 clock, coordinator):
    call = calls_of(session, pair)[1]
    count = len(messages(session))
    page = followed(logged_in, post(logged_in, pair, f"/samtal/{call.id}/hoppa-over", {
        "form": "skip", "reason": "  Greta är hos tandläkaren "}))
    assert "Samtalet blir inte av; dess påminnelser skickas inte." in page
    skipped = calls_of(session, pair)[1]
    assert (skipped.status, skipped.note, skipped.changed_by_id) == (
        "skipped", "Greta är hos tandläkaren", coordinator.id)
    assert {m.status for m in messages(session, call_id=call.id)} == {"cancelled"}
    assert len(messages(session)) == count  # nobody is texted about it: the coordinator spoke
    shown = row(plan_rows(logged_in, pair), at("2026-12-08 14:00"))
    assert shown[1] == "Blir inte av Greta är hos tandläkaren"
    assert "Planerat" not in shown[2] and "Flytta eller ställ in" not in shown[3]
    assert {e.detail for e in plan_events(session)} == {
        "Samtalet 2026-12-08 14.00 blir inte av: Greta är hos tandläkaren"}
    clock.move_to(at("2026-12-02 08:00"))
    plan(app, session, None, now=at("2026-12-02 08:00"))
    assert calls_of(session, pair)[1].status == "skipped"


def test_the_volunteer_can_be_told_by_sms_at_once(logged_in, session, pair, clock):
    call = calls_of(session, pair)[1]
    page = followed(logged_in, post(logged_in, pair, f"/samtal/{call.id}/hoppa-over", {
        "form": "skip", "reason": "Greta ringde och är förkyld", "tell_volunteer": "y"}))
    assert "volontären får ett SMS om det" in page
    (notice,) = messages(session, kind="call_skipped_volunteer")
    assert (notice.recipient, notice.status, notice.due_at) == ("+46702220000", "pending", NOW)
    assert notice.body == ("Hej Jonas! Samtalet med Greta tisdag 8 december kl. 14.00 blir "
                           "inte av. Du behöver inte ringa den gången. /Vänringen")


# ---------------------------------------------------------------- a page left open

def test_what_has_begun_or_is_over_cannot_be_changed(logged_in, session, pair, clock):
    today, tuesday = calls_of(session, pair)
    post(logged_in, pair, f"/samtal/{tuesday.id}/hoppa-over", {"reason": "Sjuk"})
    post(logged_in, pair, "/paus", {"starts_on": "2026-12-03", "resumes_on": "2026-12-04"})
    pause = session.exec(select(PairPause)).one()
    clock.move_to(at("2026-12-04 14:05"))  # pages left open since
    before = state(session, pair)
    response = post(logged_in, pair, f"/paus/{pause.id}/avsluta", {})
    assert response.status_code == 422
    assert '<p class="error" role="alert">Pausen är redan slut.</p>' in text(response)
    for call, error in ((tuesday, "Samtalet är redan inställt eller flyttat bort."),
                        (today, "Samtalet har redan börjat.")):
        for action, form in (("flytta", {"new_date": "2026-12-10", "new_time": "16:00"}),
                             ("hoppa-over", {"reason": "Sjuk"})):
            response = post(logged_in, pair, f"/samtal/{call.id}/{action}",
                            {"form": "move" if action == "flytta" else "skip", **form})
            assert response.status_code == 422
            assert f'<p class="error" role="alert">{error}</p>' in text(response)
    assert state(session, pair) == before


def test_an_ended_pair_has_no_plan_to_change(logged_in, session, pair):
    followed(logged_in, logged_in.submit(f"/par/{pair.id}/avsluta", {"reason": "no_click"},
                                         form_path=f"/par/{pair.id}"))
    page = text(logged_in.get(f"/par/{pair.id}"))
    assert "Spara samtalstider" not in page and "Pausa samtalen" not in page
    assert "Flytta eller ställ in" not in page
    before = state(session, pair)
    call = calls_of(session, pair)[1]
    for path, form in (("/samtalstider", {"form": "times", "day-0": "wed", "time-0": "10:00"}),
                       ("/paus", {"form": "pause", "starts_on": "2026-12-02",
                                  "resumes_on": "2026-12-05"}),
                       (f"/samtal/{call.id}/flytta", {"form": "move", "new_date": "2026-12-09",
                                                      "new_time": "16:00"})):
        response = post(logged_in, pair, path, form)
        assert response.status_code == 422, path
        assert '<p class="error" role="alert">Telefonvänskapet är avslutat.</p>' in \
            text(response), path
    assert state(session, pair) == before
