"""A coordinator starts the day on the dashboard, follows a volunteer's concern to its pair,
then opens Rapporter, picks this year and downloads the report for the funder as Excel.
Real headless Chromium, the app on a real port, every page checked with axe.

Run alone with `pytest -m browser tests/test_browser_dashboard.py`.
"""

from datetime import UTC, datetime

import openpyxl
import pytest
from browser_support import PHONE, assert_accessible, horizontal_overflow, login
from call_support import TZ, paired

from vanringen.models import CallLog, Task

pytestmark = pytest.mark.browser

SENIORS = ["Greta", "Astrid", "Märta", "Elsa", "Signe", "Gunnel"]
VOLUNTEERS = ["Jonas", "Erik", "Olle", "Nils", "Sven", "Lars"]


@pytest.fixture
def this_year(session):
    """Six pairs begun at the first instant of this (local) year, so they belong to it
    whatever day the test runs; one held call of 25 minutes; a concern about Greta.
    The seniors are women and the volunteers men (call_support's people)."""
    year = datetime.now(TZ).year
    began = datetime(year, 1, 1, tzinfo=TZ).astimezone(UTC)
    pairs = [paired(session, senior=senior, volunteer=volunteer, n=n, started=began)
             for n, (senior, volunteer) in enumerate(zip(SENIORS, VOLUNTEERS, strict=True))]
    session.add(CallLog(pair_id=pairs[0].id, outcome="held", minutes=25, occurred_at=began,
                        source="sms"))
    session.add(Task(kind="concern", urgent=True, title="Oro för Greta Lind",
                     detail="Jonas Berg: Greta lät trött.", pair_id=pairs[0].id,
                     senior_id=pairs[0].senior_id, volunteer_id=pairs[0].volunteer_id))
    session.commit()
    return year, pairs


def test_coordinator_follows_a_task_to_its_pair_and_downloads_the_yearly_report(
        page, new_page, live_server, coordinator, this_year, tmp_path):
    year, pairs = this_year
    login(page, live_server.url, coordinator)
    assert page.url == live_server("/oversikt")
    assert_accessible(page)

    with page.expect_navigation():
        page.get_by_role("link", name="Oro för Greta Lind", exact=True).click()
    assert page.url == live_server(f"/par/{pairs[0].id}")
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Telefonvänner: Greta Lind och Jonas Berg"
    assert_accessible(page)

    with page.expect_navigation():
        page.get_by_role("navigation", name="Huvudmeny").get_by_role(
            "link", name="Rapporter").click()
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name=f"I år ({year})").click()
    assert page.url == live_server(f"/rapporter/?fran={year}-01-01&till={year}-12-31")
    assert page.get_by_role("heading", level=2, name="Könsfördelning bland deltagarna") \
        .is_visible()
    seniors = page.get_by_role("table", name="Seniorer per kön")
    assert seniors.get_by_role("row", name="Kvinna").get_by_role("cell").first.inner_text() \
        == "6"
    assert_accessible(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="Ladda ner Excel (.xlsx)").click()
    download = info.value
    assert download.suggested_filename == f"vanringen-rapport-{year}-01-01--{year}-12-31.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = openpyxl.load_workbook(saved)
    summary = {code: value for _label, value, code in
               book["Sammanfattning"].iter_rows(min_row=2, values_only=True) if code}
    assert (summary["active_pairs"], summary["new_pairs"], summary["ended_pairs"],
            summary["calls_held"], summary["call_minutes_total"]) == (6, 6, 0, 1, 25)
    assert summary["seniors_reached"] == "<5"
    genders = {(sheet, row[2]): row[3] for sheet in ("Seniorer", "Volontärer")
               for row in book[sheet].iter_rows(min_row=2, values_only=True)
               if row[0] == "Kön"}
    assert genders == {("Seniorer", "female"): 6, ("Seniorer", "male"): 0,
                       ("Seniorer", "other"): 0, ("Seniorer", "unknown"): 0,
                       ("Volontärer", "female"): 0, ("Volontärer", "male"): 6,
                       ("Volontärer", "other"): 0, ("Volontärer", "unknown"): 0}

    with page.expect_navigation():
        page.get_by_role("link", name="Utskriftsvänlig version (spara som PDF)").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Vänringen: rapport")
    assert_accessible(page)

    # A period that ends before it begins is explained next to the field.
    page.goto(live_server("/rapporter/"))
    page.get_by_label("Från och med").fill(f"{year}-12-31")
    page.get_by_label("Till och med").fill(f"{year}-01-01")
    with page.expect_navigation():
        page.get_by_role("button", name="Visa rapporten").click()
    assert "Till och med: slutdatumet ligger före startdatumet" in \
        page.get_by_role("alert").inner_text()
    assert_accessible(page)

    # On a phone the wide tables scroll inside themselves, never the page.
    phone = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, live_server.url, coordinator)
    phone.goto(live_server(f"/rapporter/?fran={year}-01-01&till={year}-12-31"))
    assert horizontal_overflow(phone) == 0
    assert_accessible(phone)
