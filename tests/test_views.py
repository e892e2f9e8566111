"""The coordinator's start page (vanringen/views.py): the cards, the open tasks by group with
their links, police-record extracts running out, the waiting lists and the week's calls, a
fixed number of queries however much there is, and counted figures a minute old at most."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from call_support import at, paired, planner
from test_matches import make_pair, make_senior, make_volunteer

from vanringen.models import (
    CallLog,
    IntakeRequest,
    MatchProposal,
    MatchRun,
    Message,
    Pair,
    ScheduledCall,
    Task,
)
from vanringen.people import local_today
from vanringen.tasks import open_task

NOW = at("2026-12-09 10:00")  # a Wednesday; the week is Monday 7 – Sunday 13 December


def card(page: str, label: str) -> str:
    """The number on the card with this label."""
    before = page[:page.index(label)]
    return before[before.rindex('<span class="number">') + 21:].split("<", 1)[0]


def item(page: str, text: str) -> str:
    """The list item (or table row) that shows `text`."""
    found = [m for m in re.findall(r"<li>.*?</li>|<tr[ >].*?</tr>", page, re.S) if text in m]
    assert len(found) == 1, f"{text!r} in {len(found)} items"
    return found[0]


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]


def section(page: str, heading_id: str) -> str:
    start = page.index(">", page.index(f'id="{heading_id}"')) + 1
    return page[start:page.index("</section>", start)]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def get(client) -> str:
    response = client.get("/oversikt")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_overview_counts_people_calls_failures_and_tasks(app, session, logged_in):
    with time_machine.travel(at("2026-12-08 08:00"), tick=False):
        now = at("2026-12-08 08:00")  # a Tuesday
        tuesday = paired(session, call_times="tue 14:00")
        wednesday = paired(session, call_times="wed 14:00", senior="Ingrid", volunteer="Amira",
                           n=1)
        planner(app, session).plan([tuesday, wednesday], now=now)
        session.commit()
        session.add_all([
            Message(channel="sms", recipient="+46701110000", body="x", kind="test",
                    status="undelivered", updated_at=now - timedelta(days=1)),
            Message(channel="sms", recipient="+46701110000", body="x", kind="test",
                    status="failed", updated_at=now - timedelta(days=30)),
            Message(channel="sms", recipient="+46701110000", body="x", kind="test",
                    status="delivered", updated_at=now),
            Task(kind="inbound_sms", title="Svar från Greta")])
        session.commit()
        raw = logged_in.get("/oversikt").get_data(as_text=True)
    assert card(raw, "samtal planerade i dag") == "1"
    assert card(raw, "meddelanden kom inte fram senaste veckan") == "1"
    assert card(raw, "saker att göra") == "1"
    assert 'href="/meddelanden/?visa=misslyckade"' in raw and 'href="/att-gora/"' in raw


# ---------------------------------------------------------------- open tasks

@pytest.fixture
def tasks(app, session, clock):
    """One task of each kind an hour apart, the concern the oldest, and seven missed calls;
    returns the pairs and tasks by name."""
    greta = paired(session)
    ingrid = paired(session, senior="Ingrid", volunteer="Amira", n=1)
    call = ScheduledCall(pair_id=ingrid.id, slot="tue 14:00", occurs_on=date(2026, 12, 8),
                         scheduled_at=at("2026-12-08 14:00"))
    session.add(call)
    session.commit()
    failed = Message(channel="sms", recipient="+46701110001", body="x",
                     kind="reminder_senior_sms", status="undelivered", call_id=call.id,
                     senior_id=ingrid.senior_id)
    stig = make_volunteer(session, "Stig", status="applied")
    session.add(failed)
    session.commit()
    found = {}

    def opened(name, kind, title, **kw):
        with app.app_context():
            found[name] = open_task(kind, title, session=session, **kw)
            session.commit()
        clock.shift(timedelta(hours=1))

    opened("concern", "concern", "Oro för Ingrid Lind", urgent=True, pair_id=ingrid.id,
           senior_id=ingrid.senior_id, volunteer_id=ingrid.volunteer_id)
    opened("sms", "inbound_sms", "SMS från +46709999999")
    opened("delivery", "delivery_failed", "Ingrid Lind (seniorn) fick inte SMS:et",
           senior_id=ingrid.senior_id, message_id=failed.id)
    opened("opted_out", "opted_out", "Stig Berg har svarat STOPP", volunteer_id=stig.id)
    opened("intake", "intake", "Samtal från Greta", senior_id=greta.senior_id)
    for n in range(6):
        opened(f"no_answer{n}", "no_answer", f"Obesvarat nummer {n}", pair_id=greta.id,
               senior_id=greta.senior_id, volunteer_id=greta.volunteer_id)
    opened("no_call", "no_call", "Greta Lind har inte haft något samtal på 15 dagar",
           pair_id=greta.id, senior_id=greta.senior_id, volunteer_id=greta.volunteer_id)
    session.add(Task(kind="no_call", title="Redan klar", status="done"))
    session.add_all([IntakeRequest(call_sid="CA1", from_number="+46701234567", choice="friend"),
                     IntakeRequest(call_sid="CA2", from_number="+46707654321", status="done")])
    session.commit()
    return {"greta": greta, "ingrid": ingrid, "stig": stig, **found}


def test_tasks_come_in_groups_concern_first(tasks, logged_in):
    page = get(logged_in)
    order = ["Oro för Ingrid Lind", "Greta Lind har inte haft något samtal",
             "Ingrid Lind (seniorn) fick inte SMS:et", "Utdrag ur belastningsregistret som går ut",
             "Samtal från Greta", "SMS från +46709999999"]
    positions = [page.index(text, page.index('id="h-tasks"')) for text in order]
    assert positions == sorted(positions)
    assert card(page, "saker att göra") == "12"  # the closed task not counted
    heads = {g: re.sub(r"<[^>]+>", "", section(page, f"group-{g}").split("</h3>")[0])
             for g in ("concern", "missed", "undelivered", "intake", "other")}
    assert heads == {"concern": 'Oro för en senior (1)',
                     "missed": 'Missade samtal (7)',
                     "undelivered": 'Påminnelser som inte kom fram (2)',
                     "intake": 'Samtal till Vänringen (2)',  # a task and a request
                     "other": 'Övrigt (1)'}


def test_a_group_shows_its_newest_tasks_and_counts_per_kind(tasks, logged_in):
    missed = section(get(logged_in), "group-missed")
    assert 'href="/att-gora/?typ=no_answer">Inget svar flera gånger i rad: 6</a>' in missed
    assert 'href="/att-gora/?typ=no_call">Inga samtal på länge: 1</a>' in missed
    shown = re.findall(r">Obesvarat nummer (\d)</a>", missed)
    assert shown == ["5", "4", "3", "2"]  # with the no_call task: five, newest first
    assert '<a href="/att-gora/">Ytterligare 2 uppgifter i listan Att göra</a>' in missed


def test_each_task_links_to_its_pair_or_person_and_to_the_task_list(tasks, logged_in):
    page = get(logged_in)
    greta, ingrid = tasks["greta"], tasks["ingrid"]
    expected = {
        "Oro för Ingrid Lind": f'/par/{ingrid.id}',
        "Greta Lind har inte haft något samtal": f'/par/{greta.id}',
        "fick inte SMS:et": f'/par/{ingrid.id}',  # the failed reminder's call names the pair
        "har svarat STOPP": f'/volontarer/{tasks["stig"].id}',
        "Samtal från Greta": f'/seniorer/{greta.senior_id}',
    }
    for title, href in expected.items():
        assert re.search(f'<a href="{href}">[^<]*{re.escape(title)}', item(page, title)), title
    sms = item(page, "SMS från +46709999999")
    assert "/par/" not in sms and "/seniorer/" not in sms
    task = tasks["no_call"]
    assert f'href="/att-gora/?typ=no_call#task-{task.id}"' in item(
        page, "Greta Lind har inte haft något samtal")
    assert f'href="/att-gora/?typ=inbound_sms#task-{tasks["sms"].id}"' in sms
    intake = section(page, "group-intake")
    assert "1 öppet samtal i inkorgen" in intake and "070-123 45 67" in intake


def test_task_list_anchor_is_on_the_first_page_of_the_kind(tasks, logged_in):
    task = tasks["no_call"]
    listed = logged_in.get("/att-gora/?typ=no_call").get_data(as_text=True)
    assert f'id="task-{task.id}"' in listed


def test_nothing_to_do(logged_in, clock):
    page = get(logged_in)
    assert page.count("Inget just nu.") == 6
    assert "Ingen senior väntar just nu." in page


# ---------------------------------------------------------------- extracts

def test_extracts_running_out_within_the_warning_days_or_already_expired(session, logged_in,
                                                                        clock):
    # The extract is valid for 365 days; the page warns 30 days ahead.
    soon = make_volunteer(session, "Sune", record_age_days=355)  # runs out in 10 days
    make_volunteer(session, "Sextio", record_age_days=305)  # in 60 days
    edge = make_volunteer(session, "Tretti", record_age_days=335)  # in exactly 30
    gone = make_volunteer(session, "Gunnel", record_age_days=370)  # ran out 5 days ago
    make_volunteer(session, "Avböjd", record_age_days=370, status="declined")
    extracts = section(get(logged_in), "group-extracts")
    assert "(3)" in extracts.split("</h3>")[0]
    names = re.findall(r'href="/volontarer/(\d+)">(\w+)', extracts)
    assert names == [(str(gone.id), "Gunnel"), (str(soon.id), "Sune"), (str(edge.id), "Tretti")]
    assert "gick ut för 5 dagar sedan" in item(extracts, "Gunnel")
    assert "går ut om 10 dagar" in item(extracts, "Sune")
    assert "Sextio" not in extracts


def test_a_new_check_date_takes_the_volunteer_off_the_list(session, logged_in, clock):
    sune = make_volunteer(session, "Sune", record_age_days=355)
    assert "Sune" in section(get(logged_in), "group-extracts")
    sune.police_record_checked_on = date(2026, 12, 9)
    session.add(sune)
    session.commit()
    assert "Sune" not in section(get(logged_in), "group-extracts")


# ---------------------------------------------------------------- waiting lists

def test_seniors_waiting_longest_first_with_days(session, logged_in, clock):
    make_senior(session, "Nyss", days_waiting=3, phone="+46701110003")
    old = make_senior(session, "Länge", days_waiting=40, phone="+46701110040")
    make_senior(session, "Parad", status="matched", days_waiting=100, phone="+46701110100")
    waiting = section(get(logged_in), "h-seniors")
    assert "(2)" in waiting.split("</h3>")[0]
    rows = [cells(r) for r in re.findall(r"<tr>.*?</tr>", waiting, re.S)[1:]]
    assert rows == [["Länge Lind", "30 okt. 2026", "40 dagar"],
                    ["Nyss Lind", "6 dec. 2026", "3 dagar"]]
    assert f'href="/seniorer/{old.id}"' in waiting
    assert 'href="/seniorer/?status=waiting"' in waiting


def test_volunteers_with_a_free_place_longest_free_first(session, logged_in, clock):
    def approved(name, day, capacity=1):
        return make_volunteer(session, name, capacity=capacity,
                              approved_at=datetime.fromisoformat(day).replace(tzinfo=UTC))

    vera = approved("Vera", "2026-01-10", capacity=2)
    make_pair(session, make_senior(session, "A", phone="+46701110001"), vera)
    ulla = approved("Ulla", "2026-06-01")
    olle = approved("Olle", "2025-05-01")
    make_pair(session, make_senior(session, "B", phone="+46701110002"), olle, status="ended",
              ended_at=datetime(2026, 11, 1, 12, tzinfo=UTC))
    full = approved("Full", "2025-01-01")
    make_pair(session, make_senior(session, "C", phone="+46701110003"), full)
    make_volunteer(session, "Utbildad", status="trained")
    free = section(get(logged_in), "h-free")
    assert "(3)" in free.split("</h3>")[0]
    rows = [cells(r) for r in re.findall(r"<tr>.*?</tr>", free, re.S)[1:]]
    assert rows == [["Vera Berg", "1", "10 jan. 2026"], ["Ulla Berg", "1", "1 juni 2026"],
                    ["Olle Berg", "1", "1 nov. 2026"]]
    assert f'href="/volontarer/{ulla.id}"' in free and "Full" not in free


def test_proposals_to_review(session, logged_in, clock):
    waiting = make_senior(session, "Väntar", phone="+46701110001")
    other = make_senior(session, "Utan", phone="+46701110002")
    gone = make_senior(session, "Parad", phone="+46701110003", status="matched")
    ulla = make_volunteer(session, "Ulla")
    run = MatchRun()
    session.add(run)
    session.commit()
    session.add_all([
        MatchProposal(run_id=run.id, senior_id=waiting.id, volunteer_id=ulla.id, rank=0),
        MatchProposal(run_id=run.id, senior_id=waiting.id, volunteer_id=ulla.id, rank=1),
        MatchProposal(run_id=run.id, senior_id=other.id, status="unmatched"),
        MatchProposal(run_id=run.id, senior_id=gone.id, volunteer_id=ulla.id, rank=0)])
    session.commit()
    proposals = section(get(logged_in), "h-proposals")
    assert '<a href="/matchning/?visa=forslag">1 matchningsförslag väntar' in proposals


# ---------------------------------------------------------------- calls

def test_planned_calls_today_and_this_week_and_how_many_were_logged(session, logged_in, clock):
    pair = paired(session)

    def call(local_time, status="planned", logged=False):
        moment = at(local_time)
        planned = ScheduledCall(pair_id=pair.id, slot=local_time[-5:] + local_time[8:10],
                                occurs_on=date.fromisoformat(local_time[:10]),
                                scheduled_at=moment, status=status)
        session.add(planned)
        session.commit()
        if logged:
            session.add(CallLog(pair_id=pair.id, call_id=planned.id, outcome="held",
                                minutes=20, occurred_at=moment, source="coordinator"))
            session.commit()

    call("2026-12-06 23:30", logged=True)  # last week's Sunday
    call("2026-12-07 00:15", logged=True)  # Monday, just after local midnight
    call("2026-12-08 14:00")  # held or not, nobody has logged it
    call("2026-12-09 08:00", status="skipped")
    call("2026-12-09 09:00", logged=True)
    call("2026-12-09 15:00")
    call("2026-12-11 14:00")
    call("2026-12-13 23:30")  # Sunday night is still this week
    call("2026-12-14 00:30")
    session.add(CallLog(pair_id=pair.id, outcome="held", minutes=5, occurred_at=NOW,
                        source="bridge"))  # a bridged call outside the plan
    session.commit()
    page = get(logged_in)
    assert cells(item(page, 'id="calls-today"')) == ["I dag", "2", "1", "1"]
    assert cells(item(page, 'id="calls-week"')) == ["Denna vecka", "6", "3", "2"]
    assert "Denna vecka är 7 dec. 2026 – 13 dec. 2026." in page
    assert card(page, "samtal planerade i dag") == "2"


# ---------------------------------------------------------------- scale

def test_the_page_takes_the_same_number_of_queries_however_much_there_is(app, session,
                                                                         logged_in, clock):
    statements = []
    sa.event.listen(app.extensions["vanringen.engine"], "before_cursor_execute",
                    lambda *args: statements.append(args[2]))

    def seed(n):
        for i in range(n):
            pair = paired(session, senior=f"S{n}{i}", volunteer=f"V{n}{i}", n=10 * n + i)
            session.add_all([
                Task(kind=kind, title=f"{kind} {n}{i}", pair_id=pair.id,
                     senior_id=pair.senior_id, volunteer_id=pair.volunteer_id,
                     urgent=kind == "concern")
                for kind in ("concern", "no_call", "delivery_failed", "intake", "inbound_sms")])
            make_senior(session, f"W{n}{i}", phone=f"+4670333{10 * n + i:04d}")
            make_volunteer(session, f"F{n}{i}", record_age_days=355)
            session.add(IntakeRequest(call_sid=f"CA{n}{i}"))
        session.commit()

    def counted_anew():  # the counted figures too, not the minute-old ones
        app.extensions["vanringen.cache"].clear()
        statements.clear()
        return get(logged_in)

    seed(1)
    counted_anew()
    few = len(statements)
    seed(8)
    page = counted_anew()
    assert len(statements) == few
    assert card(page, "saker att göra") == "45"
    assert session.exec(sa.select(sa.func.count()).select_from(Pair)).one()[0] == 9


def test_counted_figures_lag_a_minute_but_a_new_concern_shows_at_once(app, session, logged_in,
                                                                      clock):
    waiting = "seniorer väntar på en telefonvän"
    make_senior(session, "Först", phone="+46701110001")
    page = get(logged_in)
    assert card(page, waiting) == "1" and "räknades kl. 10:00 " in page
    clock.shift(timedelta(seconds=30))
    make_senior(session, "Sedan", phone="+46701110002")
    session.add(Task(kind="concern", title="Oro för Först Lind", urgent=True))
    session.commit()
    page = get(logged_in)
    assert "Oro för Först Lind" in section(page, "group-concern")
    assert "Sedan Lind" in section(page, "h-seniors")  # the list itself is live
    assert card(page, waiting) == "1" and card(page, "saker att göra") == "1"
    app.extensions["vanringen.cache"].clear()
    assert card(get(logged_in), waiting) == "2"
    make_senior(session, "Sist", phone="+46701110003")
    clock.shift(timedelta(seconds=61))  # 10:01:31, the figures of 10:00:30 are too old
    page = get(logged_in)
    assert card(page, waiting) == "3" and "räknades kl. 10:01 " in page


def test_cached_figures_hold_no_names_and_a_changed_name_shows_at_once(app, session,
                                                                       logged_in, clock):
    volunteer = make_volunteer(session, "Sigrid", approved_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert "Sigrid Berg" in section(get(logged_in), "h-free")
    with app.app_context():
        cached = app.extensions["vanringen.cache"].get(f"dashboard:{local_today().isoformat()}")
    assert cached.free[1][0].volunteer_id == volunteer.id and "Sigrid" not in repr(cached)
    volunteer.first_name, volunteer.last_name = "Raderad", ""  # as an erasure leaves it
    session.commit()
    free = section(get(logged_in), "h-free")
    assert "Raderad" in free and "Sigrid" not in free


# ---------------------------------------------------------------- in a browser

@pytest.mark.browser
def test_dashboard_is_accessible_on_a_laptop_and_a_phone(app, session, new_page, live_server,
                                                        coordinator):
    from browser_support import PHONE, assert_accessible, horizontal_overflow, login

    ingrid = paired(session, senior="Ingrid", volunteer="Amira")
    with app.app_context():
        open_task("concern", "Oro för Ingrid Lind", session=session, urgent=True,
                  pair_id=ingrid.id, senior_id=ingrid.senior_id,
                  detail="Amira: hon lät förvirrad och ledsen")
        open_task("inbound_sms", "SMS från +46709999999 med ett mycket långt ord: "
                  "Sjuksköterskemottagningsförfrågningsblanketten", session=session)
        session.commit()
    make_senior(session, "Länge", days_waiting=40, phone="+46701110040")
    make_volunteer(session, "Sune", record_age_days=355)
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        page = new_page(viewport=viewport)
        login(page, live_server.url, coordinator)
        page.goto(live_server.url + "/oversikt")
        assert_accessible(page)
        assert horizontal_overflow(page) <= 0
    page.get_by_role("link", name="Oro för Ingrid Lind", exact=True).click()
    page.wait_for_url(f"**/par/{ingrid.id}")
