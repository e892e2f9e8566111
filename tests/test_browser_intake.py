"""The intake inbox in a real browser: a coordinator finds a call to the intake line under
Inkorg, the recording reaches the browser through the app (from a local stand-in for
Twilio that wants the account's credentials), and "Registrera senior" opens the senior form
with the caller's number; saving it empties the inbox.

Run alone with `pytest -m browser tests/test_browser_intake.py`.
"""

import pytest
from browser_support import assert_accessible, login
from test_browser_people import stored, submit
from test_intake import MP3, request_row, twilio  # noqa: F401  (twilio is a fixture)

from vanringen.db import utcnow
from vanringen.models import IntakeRequest, Senior

pytestmark = pytest.mark.browser


def test_a_coordinator_listens_and_registers_the_caller(page, live_server, session,
                                                        coordinator, twilio):  # noqa: F811
    request_row(session, "CA1", when=utcnow(), seconds=42,
                recording=f"{twilio.url}/Recordings/RE1",
                text="Hej, jag heter Ingrid och bor i Farsta.")
    login(page, live_server.url, coordinator)
    inbox = page.get_by_role("navigation", name="Huvudmeny").get_by_role("link",
                                                                        name="Inkorg (1)")
    with page.expect_navigation():
        inbox.click()
    section = page.get_by_role("region", name="Vill ha en telefonvän: 073-333 44 44")
    assert "Hej, jag heter Ingrid och bor i Farsta." in section.inner_text()
    audio = section.get_by_label("Inspelning från 073-333 44 44")
    source = audio.get_attribute("src")
    assert source.startswith("/inkorg/") and "127.0.0.1" not in (source or "")
    fetched = page.evaluate("""async (src) => {
        const response = await fetch(src);
        const bytes = new Uint8Array(await response.arrayBuffer());
        return [response.status, response.headers.get("content-type"), bytes.length];
    }""", source)
    assert fetched == [200, "audio/mpeg", len(MP3)]
    assert len(twilio.requests) == 1  # the browser's one fetch, through the app
    assert_accessible(page)

    with page.expect_navigation():
        section.get_by_role("link", name="Registrera senior").click()
    assert page.get_by_label("Telefonnummer").input_value() == "073-333 44 44"
    page.get_by_label("Förnamn").fill("Ingrid")
    page.get_by_role("group", name="Kön").get_by_label("Kvinna", exact=True).check()
    page.get_by_label("Stadsdel").select_option(label="Farsta")
    page.get_by_label("Får ringa Vänringens nummer och kopplas till sin telefonvän").check()
    page.get_by_label("Seniorn har muntligt samtyckt till texten ovan").check()
    assert submit(page, "Registrera senior").status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "Ingrid"
    (senior,) = stored(session, Senior)
    assert (senior.phone, senior.call_in) == ("+46733334444", True)
    (intake,) = stored(session, IntakeRequest)
    assert (intake.status, intake.senior_id) == ("done", senior.id)

    page.goto(live_server("/inkorg/"))
    assert page.get_by_text("Inga samtal att ringa upp just nu.").is_visible()
    assert page.get_by_role("navigation", name="Huvudmeny").get_by_role(
        "link", name="Inkorg", exact=True).is_visible()
