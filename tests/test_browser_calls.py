"""The call plan on the pair page and the message log, in a real browser, as a coordinator
uses them on a laptop: weekly times changed, a pause added and ended, one call moved and
another skipped, a wrong time refused; and the log filtered to what did not arrive.

The pages run on the real clock, so every date here is counted from today in Stockholm.
Run alone with `pytest -m browser tests/test_browser_calls.py`.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from babel.dates import format_date, format_datetime
from browser_support import assert_accessible, described_by, facts, login, table_rows
from call_support import TZ, calls_of, paired, planner
from sqlmodel import select

from vanringen.models import Message, Pair, PairPause

pytestmark = pytest.mark.browser

CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
EVERY = ("måndagar", "tisdagar", "onsdagar", "torsdagar", "fredagar", "lördagar", "söndagar")


def stockholm_today() -> date:
    return datetime.now(TZ).date()


def when(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def call_label(day: date, clock: str) -> str:
    """A call as the plan's table names it: 'fredag 4 dec. 14:00'."""
    return format_datetime(when(day, clock), "EEEE d MMM HH:mm", tzinfo=TZ, locale="sv")


def short_label(day: date, clock: str, pattern: str = "d MMM HH:mm") -> str:
    return format_datetime(when(day, clock), pattern, tzinfo=TZ, locale="sv")


def long_date(day: date) -> str:
    return format_date(day, "medium", locale="sv")


def planned_pair(app, session, days_ahead: int = 2) -> tuple[Pair, date]:
    """An active pair calling weekly at 14:00 on the weekday `days_ahead` from today, its
    two weeks of calls and reminders planned as the clock process does. Returns the pair
    and the date of its first call."""
    first = stockholm_today() + timedelta(days=days_ahead)
    pair = paired(session, call_times=f"{CODES[first.weekday()]} 14:00",
                  started=datetime.now(UTC) - timedelta(days=30))
    with app.test_request_context():
        planner(app, session).plan([pair], now=datetime.now(UTC))
        session.commit()
    return pair, first


def submit(page, button: str, within=None):
    """Click a submit button and wait for the page the server answers with."""
    with page.expect_navigation() as navigation:
        (within or page).get_by_role("button", name=button, exact=True).click()
    return navigation.value


def flash(page) -> str:
    return page.get_by_role("status").first.inner_text()


def plan_region(page):
    return page.get_by_role("region", name="Samtalsplan")


def calls_table(page):
    return plan_region(page).get_by_role("table", name="Samtal och påminnelser")


def plan_rows(page) -> list[tuple[str, str]]:
    """(call, status) per row of the plan's table, without the notes under them."""
    return [tuple(cell.splitlines()[0].strip() for cell in row[:2])
            for row in calls_table(page).evaluate(
                "t => [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText))")]


def call_row(page, day: date, clock: str):
    return calls_table(page).get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=call_label(day, clock)))


def open_pair_page(page, live_server, coordinator, pair):
    login(page, live_server.url, coordinator)
    response = page.goto(live_server(f"/par/{pair.id}"))
    assert response.ok, response.status
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Telefonvänner: Greta Lind och Jonas Berg"


def stored_pair(session, pair) -> Pair:
    session.rollback()
    session.expire_all()
    return session.get(Pair, pair.id)


# ---------------------------------------------------------------- weekly times

def test_coordinator_changes_the_weekly_call_times(page, live_server, app, session,
                                                   coordinator):
    pair, first = planned_pair(app, session)
    week = first + timedelta(days=7)
    open_pair_page(page, live_server, coordinator, pair)
    every = EVERY[first.weekday()]
    assert facts(page.locator("dl.facts"))["Samtalstider"] == f"{every} kl. 14.00"
    assert f"Volontären ringer {every} kl. 14.00." in plan_region(page).inner_text()
    assert plan_rows(page) == [(call_label(first, "14:00"), "Planerat"),
                               (call_label(week, "14:00"), "Planerat")]
    assert_accessible(page)

    # Two calls a week instead: the day after the first call at 10:30, and two days
    # later at 18:00.
    a, b = first + timedelta(days=1), first + timedelta(days=3)
    slot1 = page.get_by_role("group", name="Samtalstid 1")
    slot1.get_by_label("Veckodag").select_option(label=DAYS[a.weekday()])
    slot1.get_by_label("Klockan").fill("10:30")
    slot2 = page.get_by_role("group", name="Samtalstid 2 (valfri)")
    slot2.get_by_label("Veckodag").select_option(label=DAYS[b.weekday()])
    slot2.get_by_label("Klockan").fill("18:00")
    response = submit(page, "Spara samtalstider")

    assert response.ok and page.url.endswith(f"/par/{pair.id}#samtalsplan")
    assert flash(page) == "Samtalstiderna är ändrade och påminnelserna planerade om."
    # The week is read from Monday, as the plan stores it.
    ordered = sorted([(a, "10.30"), (b, "18.00")], key=lambda s: s[0].weekday())
    times = " och ".join(f"{EVERY[d.weekday()]} kl. {c}" for d, c in ordered)
    assert facts(page.locator("dl.facts"))["Samtalstider"] == times
    assert f"Volontären ringer {times}." in plan_region(page).inner_text()
    rows = dict(plan_rows(page))
    assert rows[call_label(first, "14:00")] == "Inställt"
    assert rows[call_label(week, "14:00")] == "Inställt"
    planned = [call for call, status in plan_rows(page) if status == "Planerat"]
    assert planned == [call_label(a, "10:30"), call_label(b, "18:00"),
                       call_label(a + timedelta(days=7), "10:30"),
                       call_label(b + timedelta(days=7), "18:00")]
    old = call_row(page, first, "14:00").inner_text()
    assert f"Samtalstiderna ändrades till {times}" in old
    assert "Behövs inte längre" in old  # its reminders will not go out
    # The new call has its own reminder to the volunteer an hour before.
    new = call_row(page, a, "10:30").get_by_role("cell").nth(1).inner_text()
    assert f"Volontären, sms {short_label(a, '09:30', 'EEE HH:mm')}: Planerat" in new
    assert_accessible(page)

    codes = ";".join(f"{CODES[d.weekday()]} {c.replace('.', ':')}" for d, c in ordered)
    assert stored_pair(session, pair).call_times == codes


def test_a_time_outside_calling_hours_is_refused_next_to_its_field(page, live_server, app,
                                                                   session, coordinator):
    pair, first = planned_pair(app, session)
    open_pair_page(page, live_server, coordinator, pair)
    before = plan_rows(page)

    other = first + timedelta(days=1)
    slot2 = page.get_by_role("group", name="Samtalstid 2 (valfri)")
    slot2.get_by_label("Veckodag").select_option(label=DAYS[other.weekday()])
    slot2.get_by_label("Klockan").fill("23:00")
    response = submit(page, "Spara samtalstider")

    assert response.status == 422
    slot1 = page.get_by_role("group", name="Samtalstid 1")
    slot2 = page.get_by_role("group", name="Samtalstid 2 (valfri)")
    error = "Samtal kan planeras mellan 07:00 och 22:00, inte 23:00."
    assert slot2.locator(".error").inner_text() == error
    assert slot2.get_attribute("aria-invalid") == "true"
    assert described_by(slot2) == error
    assert slot1.locator(".error").count() == 0 and slot1.get_attribute("aria-invalid") is None
    # What was typed is still there to correct.
    assert slot2.get_by_label("Veckodag").input_value() == CODES[other.weekday()]
    assert slot2.get_by_label("Klockan").input_value() == "23:00"
    assert_accessible(page)

    # Nothing changed: the times, the plan, the stored pair.
    every = EVERY[first.weekday()]
    assert facts(page.locator("dl.facts"))["Samtalstider"] == f"{every} kl. 14.00"
    assert plan_rows(page) == before
    assert stored_pair(session, pair).call_times == f"{CODES[first.weekday()]} 14:00"
    assert {c.status for c in calls_of(session, pair)} == {"planned"}


# ---------------------------------------------------------------- pauses

def test_coordinator_pauses_the_calls_and_ends_the_pause(page, live_server, app, session,
                                                         coordinator):
    pair, first = planned_pair(app, session)
    week = first + timedelta(days=7)
    today = stockholm_today()
    resumes = first + timedelta(days=3)  # covers the first call, not the next week's
    open_pair_page(page, live_server, coordinator, pair)

    pause_form = page.get_by_role("form", name="Pausa samtalen")
    assert pause_form.get_by_label("Första dagen utan samtal").input_value() == \
        today.isoformat()  # today unless changed
    pause_form.get_by_label("Samtalen börjar igen").fill(resumes.isoformat())
    pause_form.get_by_label("Anledning").fill("Sjukhuset")
    submit(page, "Pausa", within=pause_form)

    assert flash(page) == "Paret är pausat. Inga påminnelser skickas under pausen."
    plan = plan_region(page)
    assert f"Pausat till {long_date(resumes)}" in plan.inner_text()
    assert plan.get_by_role("heading", name="Pauser").is_visible()
    assert plan.get_by_role("listitem").filter(has_text="Sjukhuset").inner_text().startswith(
        f"{long_date(today)} – samtalen börjar igen {long_date(resumes)}: Sjukhuset")
    assert plan_rows(page) == [(call_label(first, "14:00"), "Inställt"),
                               (call_label(week, "14:00"), "Planerat")]
    paused = call_row(page, first, "14:00")
    assert "Paus" in paused.inner_text() and "Sjukhuset" in paused.inner_text()
    assert "Behövs inte längre" in paused.inner_text()
    assert paused.get_by_text("Flytta eller ställ in").count() == 0
    assert_accessible(page)
    pause, = session.exec(select(PairPause)).all()
    assert (pause.starts_on, pause.resumes_on, pause.reason) == (today, resumes, "Sjukhuset")

    submit(page, "Avsluta pausen nu")

    assert flash(page) == "Pausen är avslutad och samtalen planerade igen."
    plan = plan_region(page)
    assert "Pausat till" not in plan.inner_text()
    assert plan.get_by_role("heading", name="Pauser").count() == 0
    statuses = plan_rows(page)
    assert (call_label(first, "14:00"), "Planerat") in statuses, statuses
    assert [s for _c, s in statuses] == ["Planerat"] * 2, statuses
    assert "Volontären, sms" in call_row(page, first, "14:00").inner_text()
    assert_accessible(page)
    session.rollback()
    session.expire_all()
    assert session.get(PairPause, pause.id).resumes_on == today


# ---------------------------------------------------------------- one call at a time

def test_coordinator_moves_one_call_and_skips_another(page, live_server, app, session,
                                                      coordinator):
    pair, first = planned_pair(app, session)
    week = first + timedelta(days=7)
    later = first + timedelta(days=1)
    open_pair_page(page, live_server, coordinator, pair)

    row = call_row(page, first, "14:00")
    row.get_by_text("Flytta eller ställ in").click()  # the summary opens the forms
    row.get_by_label("Nytt datum").fill(later.isoformat())
    row.get_by_label("Ny tid").fill("16:00")
    submit(page, "Flytta samtalet", within=row)

    assert flash(page) == "Samtalet är flyttat och påminnelserna planerade om."
    assert plan_rows(page)[0] == (call_label(later, "16:00"), "Planerat")
    moved = call_row(page, later, "16:00")
    assert f"flyttat från {short_label(first, '14:00', 'EEE d MMM HH:mm')}" in \
        moved.get_by_role("rowheader").inner_text()
    reminders = moved.get_by_role("cell").nth(1).inner_text()
    assert f"Volontären, sms {short_label(later, '15:00', 'EEE HH:mm')}: Planerat" in \
        reminders
    assert_accessible(page)

    row = call_row(page, week, "14:00")
    row.get_by_text("Flytta eller ställ in").click()
    row.get_by_label("Varför blir samtalet inte av?").fill("Greta är hos tandläkaren")
    assert row.get_by_label("Skicka SMS till volontären om att samtalet inte blir av") \
        .is_checked()
    submit(page, "Ställ in samtalet", within=row)

    assert flash(page) == ("Samtalet blir inte av; dess påminnelser skickas inte, och "
                           "volontären får ett SMS om det.")
    assert plan_rows(page) == [(call_label(later, "16:00"), "Planerat"),
                               (call_label(week, "14:00"), "Blir inte av")]
    skipped = call_row(page, week, "14:00")
    assert "Greta är hos tandläkaren" in skipped.inner_text()
    assert "Planerat" not in skipped.get_by_role("cell").nth(1).inner_text()
    assert skipped.get_by_text("Flytta eller ställ in").count() == 0
    assert_accessible(page)

    calls = {c.id: c for c in calls_of(session, pair)}
    assert sorted((c.status, c.scheduled_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"))
                  for c in calls.values()) == [
        ("planned", f"{later.isoformat()} 16:00"), ("skipped", f"{week.isoformat()} 14:00")]
    skipped_call = next(c for c in calls.values() if c.status == "skipped")
    assert {m.status for m in session.exec(select(Message).where(
        Message.call_id == skipped_call.id, Message.kind.like("reminder%")))} == {"cancelled"}
    (notice,) = session.exec(select(Message).where(Message.kind == "call_skipped_volunteer"))
    assert notice.status == "pending" and "blir inte av" in notice.body


# ---------------------------------------------------------------- the message log

def test_message_log_filtered_to_failures_shows_only_those(page, live_server, app, session,
                                                           coordinator):
    pair, _first = planned_pair(app, session)
    now = datetime.now(UTC)
    common = {"senior_id": pair.senior_id, "volunteer_id": pair.volunteer_id}
    session.add_all([
        Message(channel="sms", recipient="+46701110000", kind="pair_senior_sms",
                body="Hej Greta! Du har fått en telefonvän.", status="failed",
                error="Numret finns inte", attempts=3, due_at=now - timedelta(days=2),
                **common),
        Message(channel="voice", recipient="+46701110000", kind="reminder_senior_voice",
                body="Hej Greta! I dag ringer Jonas.", status="no-answer",
                due_at=now - timedelta(days=1), sent_at=now - timedelta(days=1), **common),
        Message(channel="sms", recipient="+46702220000", kind="pair_volunteer",
                body="Hej Jonas! Du ska ringa Greta.", status="delivered",
                due_at=now - timedelta(days=2), sent_at=now - timedelta(days=2), **common),
    ])
    session.commit()
    failed_ids = [m.id for m in session.exec(select(Message).where(
        Message.status.in_(("failed", "no-answer"))))]
    total = len(session.exec(select(Message)).all())

    login(page, live_server.url, coordinator)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Huvudmeny").get_by_role(
            "link", name="Meddelanden").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Meddelanden"
    assert page.get_by_role("status").inner_text() == f"{total} meddelanden"
    assert page.get_by_role("link", name="2 meddelanden kom inte fram").is_visible()
    assert_accessible(page)

    filters = page.get_by_role("form", name="Filtrera")
    filters.get_by_label("Visa").select_option(
        label="Misslyckade (kom inte fram, avbrutna, spärrade)")
    submit(page, "Visa", within=filters)

    assert "visa=misslyckade" in page.url
    assert filters.get_by_label("Visa").input_value() == "misslyckade"
    assert page.get_by_role("status").inner_text() == "2 meddelanden"
    rows = table_rows(page.locator("table.messages"))
    assert len(rows) == len(failed_ids) == 2
    # Newest first: yesterday's unanswered reminder call, then the SMS that failed.
    assert "Påminnelse (röstsamtal)" in rows[0][3] and rows[0][4] == "Inget svar"
    assert "Ny telefonvän (sms)" in rows[1][3]
    assert rows[1][4].startswith("Misslyckades") and "Numret finns inte" in rows[1][4]
    assert all("Greta Lind" in row[2] for row in rows)
    text = page.locator("main").inner_text()
    assert "Hej Jonas! Du ska ringa Greta." not in text  # delivered
    pending = session.exec(select(Message).where(Message.status == "pending")).all()
    assert pending and not any(m.body in text for m in pending)  # the planned reminders
    assert page.get_by_role("link", name="2 meddelanden kom inte fram").count() == 0
    assert_accessible(page)

