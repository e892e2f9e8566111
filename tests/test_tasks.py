"""Coordinators' tasks (vanringen/tasks.py): the Att göra page, closing a task with a note,
one open task per cause (open_task), and the count in the menu."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from call_support import at, paired
from sqlmodel import Session, select
from test_message_log import table_rows
from twilio_mock import FAKE_AUTH_TOKEN, signed_webhook

from vanringen.models import Message, Task
from vanringen.tasks import open_task

NOW = at("2026-12-01 10:00")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def page(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def tasks(session) -> list[Task]:
    session.expire_all()
    return list(session.exec(select(Task).order_by(Task.id)))


def opened(app, session, kind, title, **kw) -> Task:
    """A task as the system opens one (delivery failures, replies, opt-outs)."""
    with app.app_context():
        task = open_task(kind, title, session=session, **kw)
        session.commit()
    return task


@pytest.fixture
def three(app, session, clock):
    """A failed reminder to Greta, an SMS from Jonas, and an opt-out from an unknown number,
    an hour apart."""
    pair = paired(session)
    failed = Message(channel="sms", recipient="+46701110000", kind="reminder_senior_sms",
                     body="Hej Greta!", status="undelivered", due_at=NOW - timedelta(hours=3),
                     senior_id=pair.senior_id, volunteer_id=pair.volunteer_id)
    session.add(failed)
    session.commit()
    found = [opened(app, session, "delivery_failed", "Greta Lind (seniorn) fick inte SMS:et",
                    detail="SMS 2026-12-01 07:00 till +46701110000: undelivered",
                    dedup_key="delivery_failed:+46701110000", senior_id=pair.senior_id,
                    message_id=failed.id)]
    clock.shift(timedelta(hours=1))
    found.append(opened(app, session, "inbound_sms", "SMS från Jonas Berg",
                        detail="Kan jag ringa på torsdag?", volunteer_id=pair.volunteer_id,
                        dedup_key="inbound_sms:+46702220000"))
    clock.shift(timedelta(hours=1))
    found.append(opened(app, session, "opted_out", "+46709999999 har svarat STOPP",
                        dedup_key="opted_out:+46709999999"))
    return pair, found


def sections(text: str) -> list[str]:
    """The tasks' titles, in the order the page lists them."""
    return re.findall(r'<section class="task[^"]*"[^>]*>\s*<h2 id="task-\d+">(.*?)</h2>', text)


def close(client, task, note=""):
    return client.submit(f"/att-gora/{task.id}/klar", {"note": note}, form_path="/att-gora/")


def nav_count(text: str) -> str:
    return re.search(r'<a href="/att-gora/">(.*?)</a>', text, re.S).group(1)


# ---------------------------------------------------------------- who

def test_the_tasks_need_sign_in(client, session, three):
    _pair, (task, *_rest) = three
    response = client.get("/att-gora/")
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    response = client.submit(f"/att-gora/{task.id}/klar", {"note": "x"}, form_path="/logga-in")
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    assert {t.status for t in tasks(session)} == {"open"}


def test_without_the_csrf_token_a_task_stays_open(logged_in, session, three):
    _pair, (task, *_rest) = three
    assert logged_in.raw.post(f"/att-gora/{task.id}/klar", data={"note": "x"}).status_code == 400
    assert {t.status for t in tasks(session)} == {"open"}


def test_an_unknown_task_is_not_found(logged_in, session, three):
    assert close(logged_in, Task(id=9999)).status_code == 404


# ---------------------------------------------------------------- the page

def test_open_tasks_newest_first_with_who_and_what(logged_in, session, three):
    pair, (failed, reply, stop) = three
    text = page(logged_in.get("/att-gora/"))
    assert '<p role="status">3 uppgifter</p>' in text
    assert sections(text) == [stop.title, reply.title, failed.title]
    for task, kind in ((failed, "Meddelande kom inte fram"), (reply, "SMS till Vänringen"),
                       (stop, "Vill inte ha SMS")):
        block = text[text.index(f'<h2 id="task-{task.id}">'):]
        block = block[:block.index("</section>")]
        assert f'<p class="hint">{kind} · ' in block
        assert f'action="/att-gora/{task.id}/klar"' in block
        assert ('<a href="/seniorer/' in block) == (task is failed)
        assert ('<a href="/volontarer/' in block) == (task is reply)
    assert f'<a href="/seniorer/{pair.senior_id}">Greta Lind</a>' in text
    assert f'<a href="/volontarer/{pair.volunteer_id}">Jonas Berg</a>' in text
    assert '<p class="detail">Kan jag ringa på torsdag?</p>' in text
    # From a failed message to everything sent to that number.
    link = re.search(r'<a href="([^"]+)">Meddelanden till numret</a>', text).group(1)
    assert link == "/meddelanden/?q=%2B46701110000"
    log = page(logged_in.get(link))
    assert [row[5] for row in table_rows(log, "messages")] == ["Hej Greta!"]


def test_nothing_to_do(logged_in):
    text = page(logged_in.get("/att-gora/"))
    assert "Inget att göra just nu." in text and "0 uppgifter" in text
    assert nav_count(text) == "Att göra"
    assert "Inga klara uppgifter ännu." in page(logged_in.get("/att-gora/?visa=klara"))


def test_the_menu_counts_the_open_tasks_on_every_page(logged_in, session, three):
    _pair, found = three
    for path in ("/oversikt", "/att-gora/", "/meddelanden/"):
        assert nav_count(page(logged_in.get(path))) == \
            'Att göra <span class="count">(3)</span>'
    for task in found[:2]:
        close(logged_in, task)
    assert nav_count(page(logged_in.get("/oversikt"))) == 'Att göra <span class="count">(1)</span>'
    close(logged_in, found[2])
    assert nav_count(page(logged_in.get("/oversikt"))) == "Att göra"


# ---------------------------------------------------------------- closing

def test_closing_a_task_keeps_what_was_done(logged_in, session, three, coordinator):
    _pair, (failed, reply, stop) = three
    response = close(logged_in, failed, "  Ringde Greta: nytt nummer  ")
    assert response.status_code == 302 and response.headers["Location"] == "/att-gora/"
    text = page(logged_in.get("/att-gora/"))
    assert f"Uppgiften är klar: {failed.title}" in text
    assert sections(text) == [stop.title, reply.title]
    done = tasks(session)[0]
    assert (done.status, done.closed_at, done.closed_by_id, done.closing_note) == (
        "done", NOW + timedelta(hours=2), coordinator.id, "Ringde Greta: nytt nummer")
    text = page(logged_in.get("/att-gora/?visa=klara"))
    assert '<option value="klara" selected>' in text
    assert sections(text) == [failed.title]
    assert "Klar 2026-12-01 12:00: Ringde Greta: nytt nummer" in text
    assert "/klar" not in text.split("<h1>", 1)[1]  # nothing left to close there


def test_a_task_closed_twice_keeps_the_first_close(client, session, three, coordinator, admin,
                                                   clock):
    _pair, (failed, *_rest) = three
    client.login(coordinator)
    close(client, failed, "Ringde Greta")
    first = tasks(session)[0]
    clock.shift(timedelta(minutes=5))
    client.login(admin)  # a second tab, or a colleague
    response = close(client, failed, "Skickade brev")
    assert response.status_code == 302
    assert "Uppgiften är klar" not in page(client.get("/att-gora/"))
    again = tasks(session)[0]
    assert (again.closed_at, again.closed_by_id, again.closing_note) == (
        first.closed_at, coordinator.id, "Ringde Greta")


# ---------------------------------------------------------------- one open task per cause

def test_a_cause_that_recurs_adds_to_its_open_task(app, logged_in, session):
    key = "delivery_failed:+46701110000"
    first = opened(app, session, "delivery_failed", "Greta fick inte SMS:et",
                   detail="SMS 07:00: undelivered", dedup_key=key)
    again = opened(app, session, "delivery_failed", "Greta fick inte SMS:et igen",
                   detail="SMS 12:00: failed", dedup_key=key)
    same = opened(app, session, "delivery_failed", "x", detail="SMS 12:00: failed",
                  dedup_key=key)
    assert first.id == again.id == same.id
    task, = tasks(session)
    assert (task.title, task.detail) == ("Greta fick inte SMS:et",
                                         "SMS 07:00: undelivered\nSMS 12:00: failed")
    # Other causes, and tasks without a cause to share, get their own.
    opened(app, session, "delivery_failed", "Jonas", dedup_key="delivery_failed:+46702220000")
    opened(app, session, "inbound_sms", "Utan nyckel")
    opened(app, session, "inbound_sms", "Utan nyckel")
    assert len(tasks(session)) == 4
    # Once closed, the cause opens a new task the next time.
    close(logged_in, task)
    fresh = opened(app, session, "delivery_failed", "Greta igen", detail="SMS i morgon",
                   dedup_key=key)
    assert fresh.id != task.id
    assert [(t.title, t.status) for t in tasks(session) if t.dedup_key == key] == [
        ("Greta fick inte SMS:et", "done"), ("Greta igen", "open")]


def test_every_reply_to_one_number_is_kept_in_its_task(app, client, session, logged_in):
    app.config["TWILIO_AUTH_TOKEN"] = FAKE_AUTH_TOKEN
    paired(session)
    # "STOP" is a part of "STOPP": each is a message of its own all the same.
    for n, body in enumerate(["STOPP", "STOP"]):
        params = {"MessageSid": f"SM{n:032d}", "From": "+46701110000",
                  "To": "+46766861004", "Body": body}
        data, headers = signed_webhook("http://localhost/twilio/sms", params, FAKE_AUTH_TOKEN)
        assert client.raw.post("/twilio/sms", data=data, headers=headers).status_code == 200
    task, = tasks(session)
    assert task.detail.splitlines() == ["SMS från +46701110000: STOPP",
                                        "SMS från +46701110000: STOP"]
    assert "SMS från +46701110000: STOPP\nSMS från +46701110000: STOP" in page(
        logged_in.get("/att-gora/"))


def test_two_processes_opening_one_task_at_once_make_one(app, session):
    """The other process's task lands between this one's look for it and its insert."""
    engine, key, raced = app.extensions["vanringen.engine"], "inbound_sms:+46701110000", []

    def rival(_conn, _cursor, statement, *_args):
        if not raced and statement.lstrip().startswith("SELECT") and "FROM task" in statement:
            raced.append(statement)
            with Session(engine) as other, app.app_context():
                open_task("inbound_sms", "SMS från Greta", session=other,
                          detail="09:59 UTC: Hej", dedup_key=key)
                other.commit()

    sa.event.listen(engine, "after_cursor_execute", rival)
    try:
        with app.app_context():
            task = open_task("inbound_sms", "SMS från Greta", session=session,
                             detail="10:00 UTC: Tack", dedup_key=key)
            session.commit()
    finally:
        sa.event.remove(engine, "after_cursor_execute", rival)
    assert raced
    found, = tasks(session)
    assert task.id == found.id and found.detail == "09:59 UTC: Hej\n10:00 UTC: Tack"


# ---------------------------------------------------------------- urgent first, kinds, history

def test_an_urgent_concern_comes_first_and_looks_it(app, logged_in, session, three):
    pair, (failed, reply, stop) = three
    worry = opened(app, session, "concern", "Oro för Greta Lind", urgent=True,
                   detail="Jonas Berg: Greta lät förvirrad", pair_id=pair.id,
                   senior_id=pair.senior_id, volunteer_id=pair.volunteer_id,
                   created_at=NOW - timedelta(hours=5))  # older than all the others
    text = page(logged_in.get("/att-gora/"))
    assert sections(text) == [worry.title, stop.title, reply.title, failed.title]
    assert f'<section class="task urgent" aria-labelledby="task-{worry.id}">' in text
    assert text.count('class="task urgent"') == 1
    assert ('<p class="hint"><strong class="badge badge-urgent">Brådskande</strong> '
            'Oro för en senior · ') in text
    # One click to the pair as well as to each person.
    block = text[text.index(f'<h2 id="task-{worry.id}">'):]
    block = block[:block.index("</section>")]
    assert f'<a href="/par/{pair.id}">Paret</a>' in block
    assert f'<a href="/seniorer/{pair.senior_id}">Greta Lind</a>' in block


def test_filtering_by_kind(app, logged_in, session, three):
    _pair, (failed, reply, stop) = three
    text = page(logged_in.get("/att-gora/?typ=inbound_sms"))
    assert sections(text) == [reply.title]
    assert '<option value="inbound_sms" selected>SMS till Vänringen</option>' in text
    assert sections(page(logged_in.get("/att-gora/?typ=no_call"))) == []
    # An unknown kind shows everything rather than nothing.
    assert len(sections(page(logged_in.get("/att-gora/?typ=x")))) == 3
    close(logged_in, reply)
    text = page(logged_in.get("/att-gora/?visa=klara&typ=inbound_sms"))
    assert sections(text) == [reply.title]


def test_a_task_about_a_pair_shows_its_last_calls_and_pauses(app, logged_in, session):
    from datetime import date

    from call_support import calls_of, planner

    from vanringen.call_log import record_outcome
    from vanringen.models import PairPause

    pair = paired(session, call_times="tue 14:00", started=at("2026-11-01 10:00"))
    with app.app_context():
        for day in ("2026-11-01", "2026-11-15"):
            planner(app, session).plan([pair], now=at(f"{day} 10:00"))
            session.commit()
    calls = calls_of(session, pair)  # Tuesdays 3, 10, 17, 24 November (it is 1 December)
    with app.app_context():
        for call, outcome in zip(calls[:3], ("held", "no_answer", "no_answer"), strict=True):
            record_outcome(pair, call, outcome, session=session, now=call.scheduled_at,
                           source="coordinator", minutes=25 if outcome == "held" else None)
        record_outcome(pair, None, "held", session=session, now=at("2026-11-30 11:00"),
                       occurred_at=at("2026-11-30 11:00"), source="bridge", minutes=40)
        session.add(PairPause(pair_id=pair.id, starts_on=date(2026, 12, 2),
                              resumes_on=date(2026, 12, 16), reason="Resa"))
        session.commit()
    task = opened(app, session, "no_answer", "Greta Lind har inte svarat", pair_id=pair.id,
                  senior_id=pair.senior_id, volunteer_id=pair.volunteer_id)
    text = page(logged_in.get("/att-gora/"))
    block = text[text.index(f'<h2 id="task-{task.id}">'):]
    rows = [re.sub(r"<[^>]+>", " ", row).split() for row in
            re.findall(r"<tr><td>(.*?)</tr>", block, re.S)]
    assert [" ".join(r) for r in rows] == [
        "2026-11-30 11:00 Utanför planen Samtalet blev av, 40 min",
        "2026-11-24 14:00 Planerat Inte loggat",
        "2026-11-17 14:00 Planerat Inget svar",
        "2026-11-10 14:00 Planerat Inget svar",
        "2026-11-03 14:00 Planerat Samtalet blev av, 25 min"]
    assert "Paus 2 dec. 2026 – samtalen börjar igen 16 dec. 2026: Resa" in block


def test_the_history_takes_the_same_queries_for_one_task_or_many(app, logged_in, session):
    from vanringen.call_log import record_outcome

    def statements() -> int:
        engine, seen = app.extensions["vanringen.engine"], []

        def count(*_args):
            seen.append(1)

        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            page(logged_in.get("/att-gora/"))
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    def add(n):
        pair = paired(session, senior=f"Greta{n}", volunteer=f"Jonas{n}", n=n)
        with app.app_context():
            record_outcome(pair, None, "no_answer", session=session, now=NOW,
                           occurred_at=NOW - timedelta(days=1), source="coordinator")
            session.commit()
        opened(app, session, "no_call", f"Par {n}", pair_id=pair.id, senior_id=pair.senior_id,
               volunteer_id=pair.volunteer_id)

    add(0)
    one = statements()
    for n in range(1, 6):
        add(n)
    assert statements() == one
