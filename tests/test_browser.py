"""End-to-end checks in a real browser. Run alone with `pytest -m browser`."""

import pytest
from browser_support import PHONE, assert_accessible, horizontal_overflow, login

pytestmark = pytest.mark.browser


def lang(page) -> str:
    return page.locator("html").get_attribute("lang")


def test_login_page_is_accessible(page, live_server):
    page.goto(live_server("/logga-in"))
    assert page.get_by_role("heading", level=1).inner_text() == "Logga in"
    assert lang(page) == "sv"
    assert_accessible(page)


def test_login_errors_are_accessible(page, live_server, coordinator):
    page.goto(live_server("/logga-in"))
    page.get_by_label("E-post").fill(coordinator.email)
    page.get_by_label("Lösenord").fill("fel-lösenord")
    page.get_by_role("button", name="Logga in").click()
    error = page.get_by_text("Fel e-post eller lösenord.")
    error.wait_for()
    # The message is tied to the field, so a screen reader reads it with the field.
    password = page.get_by_label("Lösenord")
    assert password.get_attribute("aria-invalid") == "true"
    assert password.get_attribute("aria-describedby") == error.get_attribute("id")
    assert_accessible(page)


def test_coordinator_logs_in_and_sees_the_overview(page, live_server, coordinator):
    login(page, live_server.url, coordinator)
    assert page.url == live_server("/oversikt")
    assert page.get_by_role("heading", level=1).inner_text() == "Översikt"
    assert page.get_by_role("navigation", name="Huvudmeny").is_visible()
    assert coordinator.name in page.locator("header").inner_text()
    assert_accessible(page)


def test_logged_out_visitor_is_sent_to_login(page, live_server):
    page.goto(live_server("/oversikt"))
    assert page.url.startswith(live_server("/logga-in"))


def test_language_switch_to_english_and_back(page, live_server, coordinator):
    login(page, live_server.url, coordinator)
    assert lang(page) == "sv"
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert lang(page) == "en"
    assert page.url.startswith(live_server("/oversikt"))
    # The choice is kept for the next page too, not just the one redirected to.
    page.goto(live_server("/oversikt"))
    assert lang(page) == "en"
    with page.expect_navigation():
        page.get_by_role("button", name="Svenska").click()
    assert lang(page) == "sv"


@pytest.mark.parametrize("path", ["/logga-in", "/bli-telefonvan"])
def test_phone_size_needs_no_sideways_scrolling(new_page, live_server, path):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    response = page.goto(live_server(path))
    assert response.ok, response.status
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    assert horizontal_overflow(page) <= 0, f"{path} scrolls sideways on a phone"
