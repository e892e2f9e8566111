"""The message log (vanringen/message_log.py): the Meddelanden page with its filters, and
`vanringen messages export` to CSV."""

import csv
import html
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from babel.dates import format_datetime
from call_support import TZ, at, messages, paired, planner
from test_matches import make_pair, make_senior, make_volunteer

from vanringen.models import Message, Volunteer

NOW = at("2026-12-01 08:00")
COLUMNS = ["recipient", "channel", "scheduled_for", "sent_at", "status", "body", "kind",
           "attempts", "error", "provider_id"]


@pytest.fixture
def pair(app, session):
    """Greta and Jonas with two weeks of reminders planned, and what was sent before."""
    pair = paired(session, call_times="tue 14:00")
    with app.app_context():
        planner(app, session).plan([pair], now=NOW)
    both = {"senior_id": pair.senior_id, "volunteer_id": pair.volunteer_id}
    session.add_all([
        Message(channel="sms", recipient="+46702220000", kind="pair_volunteer",
                body="Hej Jonas! Din telefonvän i Vänringen: Greta.", status="delivered",
                due_at=at("2026-11-20 10:00"), sent_at=at("2026-11-20 10:00"),
                provider_id="SM01", attempts=1, **both),
        Message(channel="sms", recipient="+46701110000", kind="pair_senior_sms",
                body="Hej Greta! Nu har du fått en telefonvän.", status="failed",
                error="Numret finns inte", attempts=3, due_at=at("2026-11-20 10:01"), **both),
        Message(channel="voice", recipient="+46701110000", kind="reminder_senior_voice",
                body="Hej Greta! I dag ringer Jonas.", status="completed", response="2",
                due_at=at("2026-11-24 09:00"), sent_at=at("2026-11-24 09:00"),
                provider_id="CA01", attempts=1, **both)])
    session.commit()
    return pair


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.rows[-1].append("")
        elif tag == "br":
            self.handle_data(" ")

    def handle_data(self, data):
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def table_rows(page: str, css_class: str) -> list[list[str]]:
    """The body rows of <table class=css_class>, each cell's text on one line."""
    found = re.search(rf'<table[^>]*class="{css_class}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, f"no table.{css_class}"
    parser = _Cells()
    parser.feed(found.group(1))
    return [[" ".join(cell.split()) for cell in row] for row in parser.rows]


def page(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def shown(client, query=None) -> list[list[str]]:
    text = page(client.get("/meddelanden/", query_string=query))
    return table_rows(text, "messages") if "<table" in text else []


def count(n: int) -> str:
    return f'<p role="status">{n} meddelande{"" if n == 1 else "n"}</p>'


def when(moment) -> str:
    return format_datetime(moment, "short", tzinfo=TZ, locale="sv")


def bodies(rows) -> list[str]:
    return [r[5] for r in rows]


def stored(session, keep=lambda m: True, newest_first=True) -> list[str]:
    found = [m for m in messages(session) if keep(m)]
    found.sort(key=lambda m: (m.due_at, m.id), reverse=newest_first)
    return [m.body for m in found]


# ---------------------------------------------------------------- the page

def test_the_log_needs_sign_in(client, pair):
    for path in ("/meddelanden/", "/meddelanden/?visa=misslyckade&q=0701110000"):
        response = client.get(path)
        assert response.status_code == 302 and "/logga-in" in response.headers["Location"]


def test_every_message_newest_first_with_who_it_went_to(logged_in, session, pair):
    text = page(logged_in.get("/meddelanden/"))
    total = len(messages(session))
    assert count(total) in text
    rows = shown(logged_in)
    assert bodies(rows) == stored(session)
    by_body = {r[5]: r for r in rows}
    delivered = by_body["Hej Jonas! Din telefonvän i Vänringen: Greta."]
    assert delivered[:5] == [when(at("2026-11-20 10:00")), when(at("2026-11-20 10:00")),
                             "Jonas Berg 070-222 00 00", "Ny telefonvän (sms)", "Levererat"]
    failed = by_body["Hej Greta! Nu har du fått en telefonvän."]
    assert failed[1:5] == ["–", "Greta Lind 070-111 00 00", "Ny telefonvän (sms)",
                           "Misslyckades 3 försök Numret finns inte"]
    answered = by_body["Hej Greta! I dag ringer Jonas."]
    assert answered[3:5] == ["Påminnelse (röstsamtal)", "Besvarat Tryckte 2"]
    # A planned reminder names the person it goes to, though it carries both people.
    for m in messages(session, kind="reminder_volunteer"):
        assert by_body[m.body][2:5] == ["Jonas Berg 070-222 00 00", "Påminnelse (sms)",
                                        "Planerat"]
    for m in messages(session, kind="reminder_senior_sms"):
        assert by_body[m.body][2] == "Greta Lind 070-111 00 00"
    assert f'href="/seniorer/{pair.senior_id}">Greta Lind</a>' in text
    assert f'href="/volontarer/{pair.volunteer_id}">Jonas Berg</a>' in text
    assert '<a href="/meddelanden/?visa=misslyckade">1 meddelande kom inte fram</a>' in text


def test_a_reminder_keeps_its_recipient_after_the_volunteer_changes_number(logged_in, session,
                                                                          pair):
    jonas = session.get(Volunteer, pair.volunteer_id)
    jonas.phone = "+46702229999"
    session.add(jonas)
    session.commit()
    rows = {r[5]: r for r in shown(logged_in)}
    for m in messages(session, kind="reminder_volunteer"):
        assert rows[m.body][2] == "Jonas Berg 070-222 00 00"


SENT = ("delivered", "completed")
FAILED = ("failed",)


@pytest.mark.parametrize(("show", "keep", "newest_first"), [
    ("planerade", lambda m: m.status == "pending", False),  # what comes next, first
    ("skickade", lambda m: m.status in SENT, True),
    ("misslyckade", lambda m: m.status in FAILED, True),
    ("alla", lambda m: True, True),
    ("något-annat", lambda m: True, True),
])
def test_show_planned_sent_or_failed(logged_in, session, pair, show, keep, newest_first):
    rows = shown(logged_in, {"visa": show})
    expected = stored(session, keep, newest_first)
    assert bodies(rows) == expected and expected
    text = page(logged_in.get("/meddelanden/", query_string={"visa": show}))
    chosen = show if show != "något-annat" else "alla"
    assert f'<option value="{chosen}" selected>' in text
    assert count(len(expected)) in text
    # The warning about failures leads to them; it is not repeated once there.
    assert ("1 meddelande kom inte fram" in text) == (show != "misslyckade")


@pytest.mark.parametrize(("channel", "keep"), [
    ("voice", lambda m: m.channel == "voice"),
    ("sms", lambda m: m.channel == "sms"),
    ("fax", lambda m: True),
])
def test_sms_or_calls(logged_in, session, pair, channel, keep):
    assert bodies(shown(logged_in, {"kanal": channel})) == stored(session, keep)
    assert bodies(shown(logged_in, {"kanal": channel, "visa": "skickade"})) == stored(
        session, lambda m: keep(m) and m.status in SENT)


@pytest.mark.parametrize("q", ["070-222 00 00", "+46 70 222 00 00", "0046702220000",
                               "702220000", " 0702220000 "])
def test_a_number_is_found_however_it_is_written(logged_in, session, pair, q):
    rows = shown(logged_in, {"q": q})
    assert bodies(rows) == stored(session, lambda m: m.recipient == "+46702220000")
    text = page(logged_in.get("/meddelanden/", query_string={"q": q}))
    assert f'name="q" value="{q.strip()}"' in text


@pytest.mark.parametrize("q", ["%", "_", "Greta", "0709999999"])
def test_a_search_for_no_number_finds_nothing(logged_in, pair, q):
    assert shown(logged_in, {"q": q}) == []
    text = page(logged_in.get("/meddelanden/", query_string={"q": q}))
    assert "Inga meddelanden att visa." in text


def test_a_pairs_messages_and_no_one_elses(app, logged_in, session, pair):
    greta, jonas = pair.senior_id, pair.volunteer_id
    bo = make_volunteer(session, "Bo", phone="+46702220001")
    ingrid = make_senior(session, "Ingrid", phone="+46701110001", status="matched")
    make_pair(session, ingrid, session.get(Volunteer, jonas))
    session.add_all([  # Greta's earlier phone friend, and Jonas's other senior
        Message(channel="sms", recipient="+46701110000", kind="pair_senior_sms",
                body="Hej Greta! Bo ringer dig.", status="delivered", senior_id=greta,
                volunteer_id=bo.id, due_at=at("2026-01-05 10:00")),
        Message(channel="sms", recipient="+46701110001", kind="pair_senior_sms",
                body="Hej Ingrid! Jonas ringer dig.", status="delivered",
                senior_id=ingrid.id, volunteer_id=jonas, due_at=at("2026-11-25 10:00"))])
    session.commit()
    assert f'href="/meddelanden/?par={pair.id}"' in page(logged_in.get(f"/par/{pair.id}"))
    text = page(logged_in.get(f"/meddelanden/?par={pair.id}"))
    assert "Visar meddelanden till ett par." in text
    assert f'href="/par/{pair.id}">Visa paret</a>' in text
    assert f'<input type="hidden" name="par" value="{pair.id}">' in text
    others = {"Hej Greta! Bo ringer dig.", "Hej Ingrid! Jonas ringer dig."}
    assert others <= set(bodies(shown(logged_in)))
    listed = bodies(shown(logged_in, {"par": pair.id}))
    assert listed == stored(session, lambda m: (m.senior_id, m.volunteer_id) == (greta, jonas))
    assert not others & set(listed)
    assert bodies(shown(logged_in, {"par": pair.id, "q": "0701110000", "visa": "skickade"})) == [
        "Hej Greta! I dag ringer Jonas."]


def test_only_admins_are_offered_the_texts(client, coordinator, admin, pair):
    client.login(coordinator)
    assert 'href="/meddelanden/texter/"' not in page(client.get("/meddelanden/"))
    client.login(admin)
    assert '<a href="/meddelanden/texter/">Ändra texterna</a>' in page(client.get("/meddelanden/"))


def test_pages_of_fifty_keep_the_filters(logged_in, session, pair):
    start = at("2026-10-01 10:00")
    session.add_all([Message(channel="sms", recipient=f"+4670333{n:04d}", kind="pair_volunteer",
                             body=f"Meddelande {n}", status="delivered",
                             due_at=start + timedelta(minutes=n)) for n in range(60)])
    session.commit()
    sms = stored(session, lambda m: m.channel == "sms")
    first = page(logged_in.get("/meddelanden/?kanal=sms"))
    assert "Sida 1 av 2" in first and 'href="/meddelanden/?kanal=sms&page=2"' in first
    assert bodies(table_rows(first, "messages")) == sms[:50]
    assert bodies(shown(logged_in, {"kanal": "sms", "page": 2})) == sms[50:]
    assert bodies(shown(logged_in, {"kanal": "sms", "page": 99})) == sms[50:]  # the last page


# ---------------------------------------------------------------- the CSV export

def export(runner, path, *args):
    return runner.invoke(args=["messages", "export", "--out", str(path), *args])


def read(path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        return list(reader)


def test_the_export_has_every_message_with_its_local_instants(runner, session, pair, tmp_path):
    summer = Message(channel="sms", recipient="+46701110000", kind="application_confirmation",
                     body="Tack för din anmälan!", status="delivered", provider_id="SM02",
                     due_at=datetime(2026, 6, 15, 10, 0, tzinfo=UTC),
                     sent_at=datetime(2026, 6, 15, 10, 0, 5, tzinfo=UTC), attempts=2)
    session.add(summer)
    session.commit()
    path = tmp_path / "logg.csv"
    result = export(runner, path)
    assert result.exit_code == 0, result.output
    everything = sorted(messages(session), key=lambda m: (m.due_at, m.id))
    assert result.output.strip() == f"Skrev {len(everything)} meddelanden till {path}."
    rows = read(path)
    assert [(r["recipient"], r["kind"], r["body"]) for r in rows] == [
        (m.recipient, m.kind, m.body) for m in everything]
    # Stockholm's offset of the day: +02:00 in June, +01:00 in December.
    assert rows[0] == {"recipient": "+46701110000", "channel": "sms",
                       "scheduled_for": "2026-06-15T12:00:00+02:00",
                       "sent_at": "2026-06-15T12:00:05+02:00", "status": "delivered",
                       "body": "Tack för din anmälan!", "kind": "application_confirmation",
                       "attempts": "2", "error": "", "provider_id": "SM02"}
    failed = next(r for r in rows if r["status"] == "failed")
    assert (failed["scheduled_for"], failed["sent_at"], failed["attempts"], failed["error"],
            failed["provider_id"]) == ("2026-11-20T10:01:00+01:00", "", "3",
                                       "Numret finns inte", "")
    for row, message in zip(rows, everything, strict=True):
        assert datetime.fromisoformat(row["scheduled_for"]) == message.due_at
        assert row["status"] == message.status and row["channel"] == message.channel


def test_since_counts_from_midnight_in_stockholm(runner, session, tmp_path):
    for moment in ("2026-12-04 23:59", "2026-12-05 00:00", "2026-12-06 12:00"):
        session.add(Message(channel="sms", recipient="+46701110000", kind="pair_volunteer",
                            body=f"Planerat {moment}", due_at=at(moment)))
    session.commit()
    path = tmp_path / "sedan.csv"
    result = export(runner, path, "--since", "2026-12-05")
    assert result.exit_code == 0, result.output
    assert "Skrev 2 meddelanden" in result.output
    assert [r["body"] for r in read(path)] == ["Planerat 2026-12-05 00:00",
                                               "Planerat 2026-12-06 12:00"]


@pytest.mark.parametrize(("body", "error", "cells"), [
    ("=HYPERLINK(\"http://x.example\",\"Klicka\")", "", ("'=HYPERLINK(", "")),
    ("+46701110000 ringer", "-1 ogiltigt", ("'+46701110000", "'-1 ogiltigt")),
    ("@SUM(A1)", "\tflik", ("'@SUM", "'\tflik")),
    ("Hej Greta! =1+1 är två", "Numret finns inte", ("Hej Greta! =1+1", "Numret finns inte")),
])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(runner, session, tmp_path,
                                                              body, error, cells):
    session.add(Message(channel="sms", recipient="+46701110000", kind="pair_volunteer",
                        body=body, error=error, status="failed", due_at=NOW))
    session.commit()
    path = tmp_path / "formler.csv"
    assert export(runner, path).exit_code == 0
    row, = read(path)
    assert row["body"].startswith(cells[0]) and row["error"].startswith(cells[1])
    assert row["body"].removeprefix("'") == body and row["error"].removeprefix("'") == error


@pytest.mark.parametrize("since", ["2026-13-01", "i går", "2026-12-01T10:00", "1/12", ""])
def test_a_since_that_is_no_date_is_refused_and_the_old_file_kept(runner, pair, tmp_path,
                                                                  since):
    (tmp_path / "ut").mkdir()
    path = tmp_path / "ut" / "export.csv"
    path.write_text("förra exporten\n", encoding="utf-8")
    result = export(runner, path, "--since", since)
    assert result.exit_code == 2
    assert f"ogiltigt datum '{since}': skriv ÅÅÅÅ-MM-DD, t.ex. 2026-12-01" in result.output
    assert "--since" in result.output
    assert path.read_text(encoding="utf-8") == "förra exporten\n"
    assert list(path.parent.iterdir()) == [path]


def test_an_export_into_no_folder_says_so(runner, pair, tmp_path):
    result = export(runner, tmp_path / "saknas" / "export.csv")
    assert result.exit_code == 2
    assert f"mappen '{tmp_path / 'saknas'}' finns inte" in result.output
