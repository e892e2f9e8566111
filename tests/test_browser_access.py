"""The registerutdrag in a real browser: reached from the senior's page, accessible,
readable on a phone, printed without the menus, and downloaded as JSON.
Run alone with `pytest -m browser`."""

import json

import pytest
from browser_support import PHONE, assert_accessible, facts, login
from test_access_export import seed

pytestmark = pytest.mark.browser


@pytest.fixture
def world(session, coordinator):
    return seed(session, coordinator)


def open_export(page, live_server, coordinator, world):
    login(page, live_server.url, coordinator)
    page.goto(live_server(f"/seniorer/{world.senior.id}"))
    with page.expect_navigation():
        page.get_by_role("link", name="Registerutdrag (art. 15)").click()


def test_a_coordinator_opens_and_prints_the_extract(page, live_server, coordinator, world):
    open_export(page, live_server, coordinator, world)
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Registerutdrag för Gunhild Ödmark"
    profile = facts(page.locator("dl.facts").first)
    assert (profile["Förnamn"], profile["Efternamn"]) == ("Gunhild", "Ödmark")
    assert page.get_by_role("heading", name="Samtalsrapporter (1)").is_visible()
    assert_accessible(page)

    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    assert not page.get_by_role("navigation").is_visible()
    assert not page.locator(".print-hint").is_visible()
    assert page.get_by_role("heading", name="Samtalsrapporter (1)").is_visible()


def test_the_extract_fits_a_phone(new_page, live_server, coordinator, world):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    open_export(page, live_server, coordinator, world)
    # The extract itself: wide tables scroll inside their own box. (The shared header's
    # account links overflow a 375 px window on every staff page, so horizontal_overflow
    # of the whole page would test the header, not this page.)
    extract = page.locator(".access-export")
    assert extract.evaluate("e => e.scrollWidth - e.clientWidth") == 0
    assert extract.evaluate("e => e.getBoundingClientRect().right") <= PHONE["width"]
    assert_accessible(page)


def test_the_json_file_downloads(page, live_server, coordinator, world, tmp_path):
    open_export(page, live_server, coordinator, world)
    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner som JSON-fil").click()
    assert download.value.suggested_filename.startswith(
        f"registerutdrag-senior-{world.senior.id}-")
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    assert json.loads(target.read_text(encoding="utf-8"))["profile"]["last_name"] == "Ödmark"
