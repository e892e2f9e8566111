"""Reports for the funder (vanringen/reports.py): the page for a period with its figures,
charts and their tables, the printable page, the downloads, the period chooser's errors,
sign-in, the kept (cached) figures, and no personal data anywhere.

The figures themselves are tested in test_report_figures.py; here a small programme with
hand-counted figures goes through the real compute_report to the page and the files.
"""

import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from call_support import at
from sqlmodel import select

from vanringen import create_app, reports
from vanringen.models import CallLog, Pair, ScheduledCall, Senior, Volunteer

NOW = at("2027-01-10 12:00")
PAIRED_AT = datetime(2026, 2, 1, 12, tzinfo=UTC)
JAN1 = datetime(2026, 1, 1, tzinfo=UTC)
TZ = ZoneInfo("Europe/Stockholm")
YEAR = {"fran": "2026-01-01", "till": "2026-12-31"}
SENIORS = ["Signhild", "Ingegerd", "Gunborg", "Alvina", "Elvy", "Majken", "Torsten",
           "Folke", "Valdemar", "Helmer", "Evert", "Ruth", "Dagny"]
VOLUNTEERS = ["Tindra", "Novalie", "Lovisa", "Sigrid", "Idun", "Ylva", "Melker", "Vidar",
              "Bruno", "Ture", "Kim"]
SUPPRESSED = '<abbr title="färre än 5 personer visas inte">&lt;5</abbr>'


@pytest.fixture
def app(database_url, request):
    """Fresh figures on every request unless a test asks for them to be kept (cached)."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                      "REPORT_CACHE_SECONDS": getattr(request, "param", 0)})
    yield app
    app.extensions["vanringen.engine"].dispose()


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def person_phone(kind: int, i: int) -> str:
    return f"+467{kind}11{i:05d}"


@pytest.fixture
def programme(session):
    """2026 in a small programme, counted by hand:

    11 pairs begin 1 February 12:00 UTC; senior i had waited 10·(i+1) days (median 60,
    longest 110); seniors 0–5 are women, 6–10 men, all born 1946 (80 at the end of 2026),
    all in Bromma. Volunteer i applied 1 January and was approved 7·(i+1) days later (median
    42, longest 77): 0–5 women, 6–9 men, 10 other gender, birth year unknown.
    Pair 10 ended 1 June (no_click) and its senior is waiting again; two more women wait
    since 1 March. Pair 0 had three planned calls in March (held 20 and 30 minutes, one not
    answered); pair 1 a bridged call at 23:30 local on 31 December (15 minutes) and one at
    00:30 on 1 January 2027 (not in 2026).
    """
    pairs = []
    for i in range(11):
        senior = Senior(first_name=SENIORS[i], last_name="Qvarnström",
                        phone=person_phone(0, i), gender="female" if i < 6 else "male",
                        birth_year=1946, district="Bromma",
                        status="waiting" if i == 10 else "matched",
                        created_at=PAIRED_AT - timedelta(days=10 * (i + 1)),
                        waiting_since=PAIRED_AT - timedelta(days=10 * (i + 1)))
        volunteer = Volunteer(first_name=VOLUNTEERS[i], last_name="Lindqvist-Öhrn",
                              phone=person_phone(2, i), email=f"{VOLUNTEERS[i].lower()}@exempel.se",
                              gender="female" if i < 6 else "male" if i < 10 else "other",
                              status="approved", created_at=JAN1,
                              approved_at=JAN1 + timedelta(days=7 * (i + 1)))
        session.add_all([senior, volunteer])
        session.flush()
        pair = Pair(senior_id=senior.id, volunteer_id=volunteer.id, started_at=PAIRED_AT,
                    call_times="tue 14:00", agreed_slots="tue-afternoon")
        if i == 10:
            pair.status, pair.ended_at, pair.end_reason = "ended", at("2026-06-01 14:00"), \
                "no_click"
        session.add(pair)
        pairs.append(pair)
    for i in (11, 12):
        session.add(Senior(first_name=SENIORS[i], last_name="Qvarnström",
                           phone=person_phone(0, i), gender="female", birth_year=1946,
                           district="Bromma", created_at=at("2026-03-01 11:00"),
                           waiting_since=at("2026-03-01 11:00")))
    session.flush()
    for day, outcome, minutes in (("03", "held", 20), ("10", "held", 30),
                                  ("17", "no_answer", None)):
        when = at(f"2026-03-{day} 14:00")
        call = ScheduledCall(pair_id=pairs[0].id, slot="tue 14:00", occurs_on=when.date(),
                             scheduled_at=when)
        session.add(call)
        session.flush()
        session.add(CallLog(pair_id=pairs[0].id, call_id=call.id, outcome=outcome,
                            minutes=minutes, occurred_at=when, source="sms"))
    for n, (when, minutes) in enumerate(((at("2026-12-31 23:30"), 15),
                                         (at("2027-01-01 00:30"), 40))):
        session.add(CallLog(pair_id=pairs[1].id, outcome="held", minutes=minutes,
                            occurred_at=when, source="bridge", provider_id=f"CA{n}"))
    session.commit()
    return pairs


class Tables(HTMLParser):
    """Every <table id=…> of a page: {id: {"caption": …, "head": [...], "rows": [[...]]}},
    each cell's text on one line."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables, self.current, self.cell, self.row, self.in_head = {}, None, None, [], False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id"):
            self.current = self.tables[dict(attrs)["id"]] = {"caption": "", "head": [],
                                                              "rows": []}
        elif tag == "thead":
            self.in_head = True
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th", "caption"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.current is None:
            return
        text = " ".join("".join(self.cell or []).split())
        if tag == "caption":
            self.current["caption"] = text
        elif tag in ("td", "th"):
            self.row.append(text)
        elif tag == "thead":
            self.in_head = False
        elif tag == "tr":
            if self.in_head:
                self.current["head"] = self.row
            else:
                self.current["rows"].append(self.row)
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return Tables(response.get_data(as_text=True)).tables


def text_of(response) -> str:
    """The page as a person reads it: no-break spaces (in "1 465", "55 %") as spaces."""
    return response.get_data(as_text=True).replace("\xa0", " ")


def as_dict(table) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table["rows"]}


def report_page(client, **args):
    return client.get("/rapporter/", query_string=args or YEAR)


# ---------------------------------------------------------------- who

@pytest.mark.parametrize("path", ["/rapporter/", "/rapporter/utskrift",
                                  "/rapporter/ladda-ner.csv", "/rapporter/ladda-ner.xlsx",
                                  "/rapporter/ladda-ner.json"])
def test_reports_need_sign_in(client, path):
    response = client.get(path, query_string=YEAR)
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]


def test_the_menu_leads_to_the_reports(logged_in):
    text = logged_in.get("/oversikt").get_data(as_text=True)
    assert '<a href="/rapporter/">Rapporter</a>' in text


# ---------------------------------------------------------------- the page

def test_the_figures_of_a_year(logged_in, programme):
    found = tables(report_page(logged_in))
    assert as_dict(found["table-totals"]) == {
        "Aktiva par": ["11"], "Nya par": ["11"], "Avslutade par": ["1"],
        "Planerade samtal": ["3"], "Genomförda samtal": ["3"], "Uteblivna samtal": ["1"],
        "Samtalsminuter totalt": ["65"], "Samtalslängd, median (minuter)": ["20"],
        "Seniorer som fått minst ett samtal": ["<5"],
        "Volontärer som ringt minst ett samtal": ["<5"],
        "Seniorer som väntar vid periodens slut": ["<5"],
        "Väntetid för seniorer som fick en telefonvän, median (dagar)": ["60"],
        "Väntetid för seniorer som fick en telefonvän, längst (dagar)": ["110"],
        "Tid från ansökan till godkännande, median (dagar)": ["42"],
        "Tid från ansökan till godkännande, längst (dagar)": ["77"],
    }
    assert as_dict(found["table-ended"]) == {
        "Seniorn har flyttat till ett boende": ["0"], "Seniorn har avlidit": ["0"],
        "Volontären har slutat": ["0"], "Det klickade inte": ["<5"], "Annat": ["0"]}


def test_gender_comes_first_for_seniors_and_volunteers_apart(logged_in, programme):
    response = report_page(logged_in)
    text = text_of(response)
    found = tables(response)
    assert list(found)[:2] == ["table-gender-seniors", "table-gender-volunteers"]
    assert "Könsfördelning bland deltagarna" in text
    assert "för seniorer och volontärer var för sig" in text
    seniors = found["table-gender-seniors"]
    assert seniors["head"] == ["Kön", "Deltagare (i par under perioden)",
                               "Nådda (minst ett samtal)",
                               "Väntar vid periodens slut", "Genomförda samtal",
                               "Samtalsminuter", "Andel av deltagarna"]
    assert as_dict(seniors) == {
        "Kvinna": ["6", "<5", "<5", "3", "65", "55 %"],
        "Man": ["5", "0", "<5", "0", "0", "45 %"],
        "Annat": ["0", "0", "0", "0", "0", "0 %"],
        "Okänt": ["0", "0", "0", "0", "0", "0 %"]}
    # Four men and one volunteer of another gender are too few to show, with all they did.
    assert as_dict(found["table-gender-volunteers"]) == {
        "Kvinna": ["6", "<5", "6", "3", "65", "100 %"],
        "Man": ["<5", "<5", "<5", "<5", "<5", "–"],
        "Annat": ["<5", "<5", "<5", "<5", "<5", "–"],
        "Okänt": ["0", "0", "0", "0", "0", "0 %"]}
    assert SUPPRESSED in text
    assert "färre än 5 personer visas inte" in text.split('id="gender-heading"')[0]


def test_the_other_breakdowns(logged_in, programme):
    found = tables(report_page(logged_in))
    assert as_dict(found["table-seniors-district"])["Bromma"] == ["11", "<5", "<5", "3", "65"]
    assert as_dict(found["table-seniors-district"])["Farsta"] == ["0"] * 5
    assert as_dict(found["table-seniors-referral_source"])["Själv"] == [
        "11", "<5", "<5", "3", "65"]
    assert as_dict(found["table-seniors-language"]) == {"svenska": ["11", "<5", "<5", "3",
                                                                    "65"]}
    ages = as_dict(found["table-seniors-age_band"])
    assert ages["80–89 år"] == ["11", "<5", "<5", "3", "65"]
    assert list(ages) == ["–69 år", "70–79 år", "80–89 år", "90– år", "Okänt"]
    assert as_dict(found["table-volunteers-age_band"])["Okänt"] == [
        "11", "<5", "11", "3", "65"]
    assert found["table-volunteers-language"]["head"] == [
        "Språk", "Deltagare (i par under perioden)", "Aktiva (minst ett samtal)",
        "Godkända under perioden", "Genomförda samtal", "Samtalsminuter"]


def test_the_charts_and_their_tables(logged_in, programme):
    response = report_page(logged_in)
    text = text_of(response)
    for chart in ("chart-gender-seniors", "chart-gender-volunteers", "chart-calls",
                  "chart-waiting"):
        assert (f'role="img" aria-labelledby="{chart}-title {chart}-desc"') in text
        assert re.search(rf'<title id="{chart}-title">[^<]+</title>', text)
        assert re.search(rf'<desc id="{chart}-desc">[^<]+</desc>', text)
    assert "Kvinna 55 % (6), Man 45 % (5), Annat 0 % (0), Okänt 0 % (0)." in text
    found = tables(response)
    weeks = as_dict(found["table-calls"])
    assert len(weeks) == 53
    assert found["table-calls"]["head"] == ["Vecka", "Veckan börjar", "Planerade",
                                            "Genomförda", "Uteblivna"]
    assert weeks["2026-W01"] == ["2025-12-29", "0", "0", "0"]
    assert weeks["2026-W10"] == ["2026-03-02", "1", "1", "0"]
    assert weeks["2026-W11"] == ["2026-03-09", "1", "1", "0"]
    assert weeks["2026-W12"] == ["2026-03-16", "1", "0", "1"]
    # 23:30 on New Year's Eve is 2026's; half an hour after midnight is not.
    assert weeks["2026-W53"] == ["2026-12-28", "0", "1", "0"]
    waiting = as_dict(found["table-waiting"])
    assert waiting["2026-01-04"] == ["9"]
    assert waiting["2026-01-25"] == ["11"]
    assert waiting["2026-02-22"] == ["0"]
    assert waiting["2026-03-01"] == ["<5"]
    assert waiting["2026-12-31"] == ["<5"]
    # Three bars a week: planned, held, missed.
    assert text.count('class="bar bar-held"') == 53


def test_an_empty_period_shows_zeros_and_empty_charts(logged_in):
    response = report_page(logged_in, fran="2026-05-01", till="2026-05-31")
    found = tables(response)
    assert as_dict(found["table-totals"])["Aktiva par"] == ["0"]
    assert as_dict(found["table-totals"])[
        "Väntetid för seniorer som fick en telefonvän, median (dagar)"] == ["–"]
    assert len(found["table-calls"]["rows"]) == 5
    text = text_of(response)
    assert text.count('<p class="chart-empty">Inga deltagare under perioden.</p>') == 2
    assert '<p class="chart-empty">Inga samtal under perioden.</p>' in text
    assert 'role="img"' not in text


def test_the_smallest_group_shown_is_a_setting(app, logged_in, programme):
    app.config["REPORT_MIN_GROUP"] = 20
    response = report_page(logged_in)
    text = text_of(response)
    assert as_dict(tables(response)["table-gender-seniors"])["Kvinna"] == ["<20"] * 5 + ["–"]
    assert '<abbr title="färre än 20 personer visas inte">&lt;20</abbr>' in text
    assert text.count("Färre än 20 deltagare i varje grupp: fördelningen visas inte.") == 2
    assert 'id="chart-gender-seniors-title"' not in text


def test_numbers_are_written_the_swedish_way(logged_in, session, programme):
    session.add_all(CallLog(pair_id=programme[2].id, outcome="held", minutes=700,
                            occurred_at=at("2026-04-01 10:00") + timedelta(hours=n),
                            source="coordinator") for n in range(2))
    session.commit()
    totals = as_dict(tables(report_page(logged_in))["table-totals"])
    assert totals["Samtalsminuter totalt"] == ["1 465"]
    assert totals["Samtalslängd, median (minuter)"] == ["30"]


def test_in_english_the_numbers_and_months_follow(logged_in, programme):
    logged_in.submit("/sprak/en", {"next": "/rapporter/"}, form_path="/rapporter/")
    response = report_page(logged_in)
    text = text_of(response)
    women = tables(response)["table-gender-seniors"]["rows"][0]
    assert women[1] == "6" and women[-1] == "55%"
    assert ">February 2026</a>" in text
    assert '<html lang="en">' in text


# ---------------------------------------------------------------- choosing the period

def test_the_default_is_this_year_until_today(logged_in):
    text = text_of(report_page(logged_in, fran="", till=""))
    assert 'name="fran" value="2027-01-01"' in text and 'name="till" value="2027-01-10"' in text
    assert "Rapport för 1 jan. 2027 – 10 jan. 2027" in text


@pytest.mark.parametrize(("args", "fran", "till"), [
    ({"period": "year"}, "2027-01-01", "2027-12-31"),
    ({"period": "quarter", "fran": "2026-05-10"}, "2026-04-01", "2026-06-30"),
    ({"period": "quarter", "fran": "2026-11-30"}, "2026-10-01", "2026-12-31"),
    ({"period": "month", "fran": "2026-12-24"}, "2026-12-01", "2026-12-31"),
    ({"period": "month", "fran": "2026-02-03"}, "2026-02-01", "2026-02-28"),
])
def test_a_year_quarter_or_month_around_a_day(logged_in, args, fran, till):
    text = text_of(report_page(logged_in, **args))
    assert f'name="fran" value="{fran}"' in text and f'name="till" value="{till}"' in text


def test_ready_made_periods_of_the_chosen_year(logged_in):
    text = text_of(report_page(logged_in, fran="2025-03-01", till="2025-03-31"))
    links = set(re.findall(r'<a href="/rapporter/\?fran=([\d-]+)&amp;till=([\d-]+)">', text))
    assert {("2027-01-01", "2027-12-31"),  # this year
            ("2026-01-01", "2026-12-31"),  # last year
            ("2025-01-01", "2025-12-31"),  # the chosen year
            ("2025-10-01", "2025-12-31"),  # its fourth quarter
            ("2025-02-01", "2025-02-28")} <= links  # and its months
    assert len(links) == 3 + 4 + 12
    assert ">Kvartal 4 2025</a>" in text and ">februari 2025</a>" in text


@pytest.mark.parametrize(("args", "message"), [
    ({"fran": "2026-13-01", "till": "2026-12-31"},
     "Från och med: ogiltigt datum ”2026-13-01”: skriv ÅÅÅÅ-MM-DD, t.ex. 2026-01-31"),
    ({"fran": "2026-01-01", "till": "31/12/2026"},
     "Till och med: ogiltigt datum ”31/12/2026”: skriv ÅÅÅÅ-MM-DD, t.ex. 2026-01-31"),
    ({"fran": "2026-12-31", "till": "2026-01-01"},
     "Till och med: slutdatumet ligger före startdatumet"),
    ({"fran": "2020-01-01", "till": "2026-12-31"}, "Till och med: perioden får vara högst 5 år"),
    ({"fran": "1066-10-14", "till": "2026-12-31"},
     "Från och med: skriv ett datum mellan år 2000 och 2100"),
    ({"fran": "nej", "period": "year"},
     "Från och med: ogiltigt datum ”nej”: skriv ÅÅÅÅ-MM-DD, t.ex. 2026-01-31"),
])
def test_a_bad_period_is_explained_in_swedish(logged_in, programme, args, message):
    for path in ("/rapporter/", "/rapporter/utskrift", "/rapporter/ladda-ner.xlsx"):
        response = logged_in.get(path, query_string=args)
        text = text_of(response).replace("&#34;", '"')
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert message in text
        assert 'aria-invalid="true"' in text
        assert 'id="table-totals"' not in text


# ---------------------------------------------------------------- print and downloads

def test_the_printable_page_has_the_report_without_the_forms(logged_in, programme):
    response = logged_in.get("/rapporter/utskrift", query_string=YEAR)
    text = text_of(response)
    found = tables(response)
    assert as_dict(found["table-totals"])["Aktiva par"] == ["11"]
    assert as_dict(found["table-calls"])["2026-W53"] == ["2026-12-28", "0", "1", "0"]
    assert "<h1>Vänringen: rapport för 1 jan. 2026 – 31 dec. 2026</h1>" in text
    assert 'action="/rapporter/rakna-om"' not in text and 'name="fran"' not in text
    assert '<details class="figures" open>' in text
    assert "spara den som PDF" in text
    assert 'href="/static/reports.css"' in text


def test_the_page_links_its_downloads_and_print_version(logged_in, programme):
    text = text_of(report_page(logged_in))
    for link in ("ladda-ner.xlsx", "ladda-ner.csv", "ladda-ner.json", "utskrift"):
        assert f'href="/rapporter/{link}?fran=2026-01-01&amp;till=2026-12-31"' in text


def download(client, fmt, mimetype):
    response = client.get(f"/rapporter/ladda-ner.{fmt}", query_string=YEAR)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="vanringen-rapport-2026-01-01--2026-12-31.{fmt}"')
    return response.data


def test_excel_download(logged_in, programme):
    data = download(logged_in, "xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Sammanfattning", "Seniorer", "Volontärer", "Samtal per vecka",
                               "Väntelista", "Avslutade par"]
    summary = {code: value for _label, value, code in
               book["Sammanfattning"].iter_rows(min_row=2, values_only=True) if code}
    assert summary["from"].date() == date(2026, 1, 1)
    assert (summary["active_pairs"], summary["calls_held"], summary["call_minutes_total"],
            summary["senior_wait_days_median"]) == (11, 3, 65, 60)
    assert summary["seniors_reached"] == "<5"
    volunteers = {(row[0], row[2]): row[3:] for row in
                  book["Volontärer"].iter_rows(min_row=2, values_only=True)}
    assert volunteers["Kön", "female"] == (6, "<5", 6, 3, 65)
    assert volunteers["Kön", "male"] == ("<5",) * 5
    weeks = {row[0]: row[2:] for row in
             book["Samtal per vecka"].iter_rows(min_row=2, values_only=True)}
    assert weeks["2026-W12"] == (1, 0, 1) and weeks["2026-W53"] == (0, 1, 0)


def test_csv_and_json_downloads(logged_in, programme):
    text = download(logged_in, "csv", "text/csv").decode("utf-8")
    lines = text.splitlines()
    assert lines[0].split(",")[:6] == ["avsnitt", "population", "indelning", "grupp", "mått",
                                       "värde"]
    assert "totals,,,,active_pairs,11,,Aktiva par" in lines
    assert "breakdown,volunteers,gender,male,participants,<5,Man,Deltagare (i par under " \
           "perioden)" in lines
    report = json.loads(download(logged_in, "json", "application/json"))
    assert report["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert report["totals"]["active_pairs"] == 11
    assert report["totals"]["call_minutes_total"] == 65
    assert report["seniors"]["gender"]["female"]["participants"] == 6
    assert report["volunteers"]["gender"]["male"]["participants"] is None


def test_no_name_phone_or_email_anywhere(logged_in, session, programme):
    people = list(session.exec(select(Senior))) + list(session.exec(select(Volunteer)))
    assert len(people) == 24
    secrets = {p.first_name for p in people} | {p.last_name for p in people}
    secrets |= {p.phone for p in people} | {p.phone.replace("+46", "0") for p in people}
    secrets |= {p.email for p in people if getattr(p, "email", None)}
    for path in ("/rapporter/", "/rapporter/utskrift", "/rapporter/ladda-ner.csv",
                 "/rapporter/ladda-ner.json"):
        text = logged_in.get(path, query_string=YEAR).get_data(as_text=True)
        flat = re.sub(r"[\s\-]", "", text)
        assert not [s for s in secrets if s in text or s.replace(" ", "") in flat], path
    xlsx = logged_in.get("/rapporter/ladda-ner.xlsx", query_string=YEAR).data
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        text = "".join(archive.read(name).decode("utf-8") for name in archive.namelist()
                       if name.endswith(".xml"))
    assert "Bromma" in text  # the file was read
    assert not [s for s in secrets if s in text]


# ---------------------------------------------------------------- kept figures

@pytest.mark.parametrize("app", [600], indirect=True)
def test_figures_are_kept_until_computed_anew(logged_in, session, programme, clock):
    def active_pairs():
        response = report_page(logged_in)
        return (as_dict(tables(response)["table-totals"])["Aktiva par"],
                re.search(r"Siffrorna räknades fram ([^<]+)\.", response.get_data(
                    as_text=True)).group(1))

    assert active_pairs() == (["11"], "2027-01-10 12:00")
    senior = Senior(first_name="Ny", phone="+46701234567", gender="female")
    volunteer = Volunteer(first_name="Ny", phone="+46702345678", gender="male")
    session.add_all([senior, volunteer])
    session.flush()
    session.add(Pair(senior_id=senior.id, volunteer_id=volunteer.id,
                     started_at=at("2026-07-01 10:00")))
    session.commit()
    clock.shift(timedelta(minutes=5))
    assert active_pairs() == (["11"], "2027-01-10 12:00")
    # Another period is computed on its own.
    other = report_page(logged_in, fran="2026-01-01", till="2026-12-30")
    assert as_dict(tables(other)["table-totals"])["Aktiva par"] == ["12"]
    # The downloads give the figures the page shows.
    data = json.loads(logged_in.get("/rapporter/ladda-ner.json", query_string=YEAR).data)
    assert data["totals"]["active_pairs"] == 11

    response = logged_in.submit("/rapporter/rakna-om", YEAR,
                                form_path="/rapporter/?fran=2026-01-01&till=2026-12-31")
    assert response.status_code == 302
    assert response.headers["Location"] == "/rapporter/?fran=2026-01-01&till=2026-12-31"
    assert active_pairs() == (["12"], "2027-01-10 12:05")


def test_computing_anew_needs_the_csrf_token(logged_in, programme):
    assert logged_in.raw.post("/rapporter/rakna-om", data=YEAR).status_code == 400


def test_computing_anew_a_bad_period_is_explained(logged_in):
    response = logged_in.submit("/rapporter/rakna-om", {"fran": "2026-12-31",
                                                        "till": "2026-01-01"},
                                form_path="/rapporter/")
    assert response.status_code == 400
    assert "slutdatumet ligger före startdatumet" in text_of(response)


@pytest.mark.parametrize("app", [600], indirect=True)
def test_the_drawn_report_is_kept_per_language_and_version(logged_in, programme):
    def women(response):
        return tables(response)["table-gender-seniors"]["rows"][0]

    assert women(report_page(logged_in))[-1] == "55 %"
    assert '<details class="figures" open>' not in text_of(report_page(logged_in))
    printable = logged_in.get("/rapporter/utskrift", query_string=YEAR)
    assert '<details class="figures" open>' in text_of(printable)
    logged_in.submit("/sprak/en", {"next": "/rapporter/"}, form_path="/rapporter/")
    assert women(report_page(logged_in))[-1] == "55%"


@pytest.mark.parametrize("app", [600], indirect=True)
def test_a_worker_waits_for_the_figures_another_is_computing(app, logged_in, session,
                                                             programme, monkeypatch):
    cache = app.extensions["vanringen.cache"]
    key = "2026-01-01:2026-12-31:5"
    with app.app_context():
        cache.set(f"{key}:computing", True)
    theirs = {"report": reports.compute_report(date(2026, 1, 1), date(2026, 12, 31),
                                               session=session, tz=TZ),
              "computed_at": at("2027-01-10 11:58")}
    waits = []

    def the_other_keeps_them(seconds):
        waits.append(seconds)
        if len(waits) == 2:
            cache.set(key, theirs)
            cache.delete(f"{key}:computing")

    monkeypatch.setattr(reports.time, "sleep", the_other_keeps_them)
    monkeypatch.setattr(reports, "compute_report", None)  # this worker must not compute
    text = text_of(report_page(logged_in))
    assert "Siffrorna räknades fram 2027-01-10 11:58." in text
    assert len(waits) == 2


@pytest.mark.parametrize("app", [600], indirect=True)
def test_a_worker_computes_when_the_other_stopped_without_figures(app, logged_in, programme,
                                                                  monkeypatch):
    cache = app.extensions["vanringen.cache"]
    key = "2026-01-01:2026-12-31:5"
    with app.app_context():
        cache.set(f"{key}:computing", True)
    monkeypatch.setattr(reports.time, "sleep", lambda seconds: cache.delete(f"{key}:computing"))
    response = report_page(logged_in)
    assert as_dict(tables(response)["table-totals"])["Aktiva par"] == ["11"]
    assert "Siffrorna räknades fram 2027-01-10 12:00." in text_of(response)
    with app.app_context():
        assert cache.get(key)["report"]["totals"]["active_pairs"] == 11
        assert cache.get(f"{key}:computing") is None


def make_app(database_url, **settings):
    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test"} | settings)


def test_the_web_workers_of_a_machine_share_the_figures(database_url, tmp_path, session,
                                                        programme):
    workers = [make_app(database_url, REPORT_CACHE_DIR=str(tmp_path)) for _ in range(2)]
    with workers[0].test_request_context():
        first = reports.cached_report(date(2026, 1, 1), date(2026, 12, 31))
    with workers[1].test_request_context():
        kept = reports.cached_report(date(2026, 1, 1), date(2026, 12, 31))
    assert kept == first and kept["report"]["totals"]["active_pairs"] == 11
    for worker in workers:
        worker.extensions["vanringen.engine"].dispose()
