"""The report's exports (vanringen/report_export.py) and `vanringen report`: JSON, long CSV
and Excel of the figures counted in test_report_figures.py, with Swedish labels, "<5" for
hidden counts, and nothing personal in any of them."""

import csv
import io
import json
import zipfile

import pytest
import time_machine
from openpyxl import load_workbook
from test_report_figures import (
    AFTER,
    LAST_NAME,
    SENIORS,
    VOLUNTEERS,
    email,
    programme,
    report,
)

from vanringen.report_export import (
    CSV_HEADER,
    ROWS_HEADER,
    report_csv,
    report_json,
    report_rows,
    report_xlsx,
)

SHEETS = ["Sammanfattning", "Seniorer", "Volontärer", "Samtal per vecka", "Väntelista",
          "Avslutade par"]


@pytest.fixture
def seeded(session):
    return programme(session)


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


def sheet_rows(book, name) -> list[tuple]:
    return list(book[name].iter_rows(values_only=True))


def test_json_keeps_every_figure_with_null_for_hidden(session, seeded):
    figures = report(session, min_group=5)
    found = json.loads(report_json(figures))
    assert found == figures
    assert found["seniors"]["gender"]["female"]["participants"] is None
    assert '"participants": null' in report_json(figures)
    assert list(found["seniors"]) == ["gender", "district", "referral_source", "language",
                                      "age_band"]


def test_long_rows(session, seeded):
    rows = report_rows(report(session, min_group=5))
    assert rows[0] == ROWS_HEADER
    assert rows[1:4] == [("period", "", "", "", "from", "2026-01-01"),
                         ("period", "", "", "", "to", "2026-12-31"),
                         ("period", "", "", "", "min_group", 5)]
    assert ("totals", "", "", "", "calls_held", 7) in rows
    assert ("totals", "", "", "", "seniors_reached", "<5") in rows
    # A hidden time is empty: "<5" would read as "under 5 days".
    assert ("totals", "", "", "", "senior_wait_days_median", "") in rows
    assert ("ended_reasons", "pairs", "end_reason", "passed_away", "ended_pairs", "<5") in rows
    assert ("breakdown", "seniors", "gender", "female", "participants", "<5") in rows
    assert ("breakdown", "seniors", "gender", "other", "participants", 0) in rows
    assert ("breakdown", "volunteers", "age_band", "unknown", "approved", 0) in rows
    assert ("calls_per_week", "calls", "week", "2026-W13", "held", 1) in rows
    assert ("calls_per_week", "calls", "week", "2026-W13", "start", "2026-03-23") in rows
    assert ("waiting_over_time", "seniors", "date", "2026-12-31", "waiting", "<5") in rows
    # 3 period + 15 totals + 5 reasons + seniors (4+12+7+4+5 groups) and volunteers
    # (4+3+5 groups) with 5 measures each + 53 weeks x 4 + 53 points
    assert len(rows) == 1 + 3 + 15 + 5 + (32 + 12) * 5 + 53 * 4 + 53


def test_csv_has_swedish_names_beside_the_codes(session, seeded):
    text = report_csv(report(session))
    rows = csv_rows(text)
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == len(report_rows(report(session))) - 1
    by_key = {(r["avsnitt"], r["population"], r["indelning"], r["grupp"], r["mått"]): r
              for r in rows}
    female = by_key[("breakdown", "seniors", "gender", "female", "participants")]
    assert (female["värde"], female["grupp_text"], female["mått_text"]) == \
        ("2", "Kvinna", "Deltagare (i par under perioden)")
    finnish = by_key[("breakdown", "volunteers", "language", "fi", "approved")]
    assert (finnish["värde"], finnish["grupp_text"]) == ("1", "finska")
    band = by_key[("breakdown", "seniors", "age_band", "90-", "waiting")]
    assert (band["värde"], band["grupp_text"]) == ("1", "90– år")
    reason = by_key[("ended_reasons", "pairs", "end_reason", "passed_away", "ended_pairs")]
    assert reason["grupp_text"] == "Seniorn har avlidit"
    held = by_key[("totals", "", "", "", "calls_held")]
    assert (held["värde"], held["mått_text"]) == ("7", "Genomförda samtal")
    median = by_key[("totals", "", "", "", "call_minutes_median")]
    assert median["värde"] == "27.5"


def test_csv_hides_small_groups_and_neutralises_formulas(session, seeded):
    figures = report(session, min_group=5)
    # A language code from a badly imported file is data, never a formula.
    figures["seniors"]["language"]["=HYPERLINK(\"http://x\")"] = \
        dict.fromkeys(("participants", "reached", "waiting", "calls_held", "call_minutes"), 0)
    text = report_csv(figures)
    rows = csv_rows(text)
    female = next(r for r in rows if (r["indelning"], r["grupp"], r["mått"]) ==
                  ("gender", "female", "participants") and r["population"] == "seniors")
    assert female["värde"] == "<5"
    codes = {r["grupp"] for r in rows if r["indelning"] == "language"}
    assert "'=HYPERLINK(\"http://x\")" in codes
    assert not any(cell.startswith("=") for row in rows for cell in row.values())


def test_xlsx_has_a_sheet_per_table(session, seeded):
    book = workbook(report_xlsx(report(session, min_group=5)))
    assert book.sheetnames == SHEETS
    for name in SHEETS:
        assert all(cell.font.b for cell in book[name][1]), name
    summary = {row[2]: row[1] for row in sheet_rows(book, "Sammanfattning")[1:]}
    assert summary["calls_held"] == 7 and isinstance(summary["calls_held"], int)
    assert summary["call_minutes_median"] == 27.5
    assert summary["seniors_reached"] == "<5"
    assert summary["senior_wait_days_median"] is None  # hidden time: an empty cell
    assert summary["from"].date().isoformat() == "2026-01-01"
    assert sheet_rows(book, "Sammanfattning")[0] == ("Mått", "Värde", "Kod")
    seniors = sheet_rows(book, "Seniorer")
    assert seniors[0] == ("Indelning", "Grupp", "Kod", "Deltagare (i par under perioden)",
                          "Nådda (minst ett samtal)", "Väntar vid periodens slut",
                          "Genomförda samtal", "Samtalsminuter")
    assert ("Kön", "Kvinna", "female", "<5", "<5", "<5", "<5", "<5") in seniors
    assert ("Kön", "Annat", "other", 0, 0, "<5", 0, 0) in seniors
    assert ("Språk", "arabiska", "ar", 0, 0, "<5", 0, 0) in seniors
    volunteers = sheet_rows(book, "Volontärer")
    assert volunteers[0][3:] == ("Deltagare (i par under perioden)",
                                 "Aktiva (minst ett samtal)", "Godkända under perioden",
                                 "Genomförda samtal", "Samtalsminuter")
    assert len(volunteers) == 1 + 4 + 3 + 5
    weeks = sheet_rows(book, "Samtal per vecka")
    assert weeks[0] == ("Vecka", "Veckan börjar", "Planerade samtal", "Genomförda samtal",
                        "Uteblivna samtal")
    assert weeks[13][0] == "2026-W13" and weeks[13][2:] == (1, 1, 0)
    assert weeks[13][1].date().isoformat() == "2026-03-23"
    waiting = sheet_rows(book, "Väntelista")
    assert len(waiting) == 1 + 53 and waiting[-1][1] == "<5"
    reasons = sheet_rows(book, "Avslutade par")
    assert reasons[1:] == [("Seniorn har flyttat till ett boende", "moved_to_care", 0),
                           ("Seniorn har avlidit", "passed_away", "<5"),
                           ("Volontären har slutat", "volunteer_stopped", "<5"),
                           ("Det klickade inte", "no_click", 0), ("Annat", "other", 0)]


def test_xlsx_shows_the_figures_without_suppression(session, seeded):
    book = workbook(report_xlsx(report(session, min_group=1)))
    seniors = sheet_rows(book, "Seniorer")
    assert ("Kön", "Kvinna", "female", 2, 1, 1, 2, 70) in seniors
    assert ("Stadsdel", "Okänt", "unknown", 1, 0, 0, 0, 0) in seniors
    assert ("Remittent", "Hemtjänst", "hemtjanst", 1, 1, 2, 2, 70) in seniors
    summary = {row[2]: row[1] for row in sheet_rows(book, "Sammanfattning")[1:]}
    assert summary["senior_wait_days_longest"] == 89
    assert [row[1] for row in sheet_rows(book, "Väntelista")[1:3]] == [1, 2]


def personal_data() -> list[str]:
    """Names, last name, phone numbers (as stored and as shown) and e-mail addresses."""
    return [*SENIORS, *VOLUNTEERS, LAST_NAME, "+4670555", "070555", "070-555", "70 555",
            *(email(name) for name in VOLUNTEERS), "exempel.se"]


@pytest.mark.parametrize("min_group", [1, 5])
def test_no_export_names_anyone(session, seeded, min_group):
    figures = report(session, min_group=min_group)
    data = report_xlsx(figures)
    cells = [str(cell) for sheet in workbook(data) for row in sheet.iter_rows(values_only=True)
             for cell in row if cell is not None]
    with zipfile.ZipFile(io.BytesIO(data)) as parts:
        xml = "".join(parts.read(name).decode("utf-8") for name in parts.namelist())
    for text in (report_json(figures), report_csv(figures), "\n".join(cells), xml):
        found = [word for word in personal_data() if word in text]
        assert found == [], found


# ---------------------------------------------------------------- vanringen report

def run(runner, *args):
    return runner.invoke(args=["report", *args])


@pytest.mark.parametrize("kind", ["json", "csv", "xlsx"])
def test_the_command_writes_the_report(runner, session, seeded, tmp_path, kind):
    out = tmp_path / f"rapport.{kind}"
    with time_machine.travel(AFTER, tick=False):
        result = run(runner, "--from", "2026-01-01", "--to", "2026-12-31", "--format", kind,
                     "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Skrev rapporten för 2026-01-01–2026-12-31 till {out}."
    expected = report(session, min_group=5)  # REPORT_MIN_GROUP
    if kind == "json":
        assert json.loads(out.read_text(encoding="utf-8")) == expected
    elif kind == "csv":
        assert out.read_text(encoding="utf-8") == report_csv(expected)
    else:
        book = workbook(out.read_bytes())
        assert book.sheetnames == SHEETS
        summary = {row[2]: row[1] for row in sheet_rows(book, "Sammanfattning")[1:]}
        assert (summary["calls_held"], summary["seniors_reached"]) == (7, "<5")


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-13-01", "--to", "2026-12-31"],
     "ogiltigt datum '2026-13-01': skriv ÅÅÅÅ-MM-DD"),
    (["--from", "2026-01-01", "--to", "31/12/2026"],
     "ogiltigt datum '31/12/2026': skriv ÅÅÅÅ-MM-DD"),
    (["--from", "2026-12-31", "--to", "2026-01-01"],
     "från-datumet 2026-12-31 är efter till-datumet 2026-01-01"),
    (["--from", "2020-01-01", "--to", "2026-12-31"],
     "perioden 2020-01-01–2026-12-31 är längre än fem år"),
])
def test_the_command_refuses_bad_dates(runner, tmp_path, args, message):
    out = tmp_path / "rapport.json"
    result = run(runner, *args, "--format", "json", "--out", str(out))
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_the_command_needs_an_existing_folder(runner, tmp_path):
    result = run(runner, "--from", "2026-01-01", "--to", "2026-12-31", "--format", "csv",
                 "--out", str(tmp_path / "saknas" / "r.csv"))
    assert result.exit_code == 2
    assert f"mappen '{tmp_path / 'saknas'}' finns inte" in result.output
