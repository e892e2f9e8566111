"""A volunteer reports a call with a concern on their phone, through the personal link in
their reminder SMS; a coordinator then sees the urgent task and resolves it. Real headless
Chromium, the app on a real port, every page checked with axe.

Run alone with `pytest -m browser tests/test_browser_reports.py`.
"""

from datetime import UTC, datetime, timedelta

import pytest
from browser_support import PHONE, assert_accessible, horizontal_overflow, login
from call_support import TZ, paired
from sqlmodel import select

from vanringen import volunteer_links
from vanringen.models import CallLog, Message, ScheduledCall, Task, Volunteer

pytestmark = pytest.mark.browser

CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def call_two_hours_ago(session):
    """A pair with a call that began two hours ago (the plan only makes future calls, so
    the past one is written here; at any hour of the day the test runs)."""
    began = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    local = began.astimezone(TZ)
    slot = f"{CODES[local.weekday()]} 14:00"
    pair = paired(session, call_times=slot, started=began - timedelta(days=30))
    call = ScheduledCall(pair_id=pair.id, slot=slot, occurs_on=local.date(), scheduled_at=began)
    session.add(call)
    session.commit()
    return pair, call


@pytest.mark.parametrize("masked", [False, True])
def test_volunteer_logs_a_call_with_a_concern_and_a_coordinator_resolves_it(
        new_page, live_server, app, session, coordinator, masked):
    app.config.update(MASKED_CALLS=masked, TWILIO_PHONE_NUMBER="+46766861004")
    coordinator.on_duty, coordinator.phone = True, "+46705550000"
    session.add(coordinator)
    session.commit()
    pair, call = call_two_hours_ago(session)
    token = volunteer_links.token_for(session.get(Volunteer, pair.volunteer_id),
                                      config=app.config)

    # The volunteer, on a phone.
    phone = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    response = phone.goto(live_server(f"/v/{token}"))
    assert response.ok
    assert phone.get_by_role("heading", level=1).inner_text() == "Hej Jonas!"
    ring = phone.get_by_role("link", name="Ring Greta")
    assert ring.get_attribute("href") == ("tel:+46766861004" if masked else "tel:+46701110000")
    body = phone.locator("body").inner_text()
    assert ("070-111 00 00" in body) is not masked and "Lind" not in body
    assert horizontal_overflow(phone) == 0
    assert_accessible(phone)
    # Thumb-sized: every button, choice and link to ring at least 44 px high.
    for target in (ring, phone.get_by_role("button", name="Spara"),
                   phone.locator("label.choice").first):
        assert target.bounding_box()["height"] >= 44

    report = phone.get_by_role("article")
    report.get_by_label("Samtalet blev av").check()
    report.get_by_label("Hur många minuter pratade ni?").fill("25")
    report.get_by_label("Jag är orolig för min telefonvän").check()
    # Ticked without saying why: the page asks for it, nothing is logged.
    with phone.expect_navigation():
        report.get_by_role("button", name="Spara").click()
    assert phone.get_by_role("alert").inner_text() == "Skriv vad du är orolig för."
    assert_accessible(phone)
    report = phone.get_by_role("article")
    assert report.get_by_label("Jag är orolig för min telefonvän").is_checked()
    report.get_by_label("Vad är du orolig för?").fill("Greta lät förvirrad och hade inte ätit.")
    with phone.expect_navigation():
        report.get_by_role("button", name="Spara").click()
    assert phone.get_by_role("status").inner_text() == \
        "Tack! Samtalet är noterat, och en samordnare har fått veta att du är orolig."
    assert "Samtalet blev av, 25 minuter" in phone.get_by_role("article").inner_text()
    assert horizontal_overflow(phone) == 0
    assert_accessible(phone)

    session.expire_all()
    entry = session.exec(select(CallLog)).one()
    assert (entry.call_id, entry.minutes, entry.source) == (call.id, 25, "link")
    on_duty = session.exec(select(Message).where(Message.kind == "concern_on_duty")).one()
    assert on_duty.recipient == "+46705550000" and on_duty.status == "recorded"

    # The coordinator, on a laptop.
    desk = new_page()
    login(desk, live_server.url, coordinator)
    desk.goto(live_server("/att-gora/"))
    task = desk.get_by_role("region", name="Oro för Greta Lind")
    assert "Jonas Berg: Greta lät förvirrad och hade inte ätit." in task.inner_text()
    assert_accessible(desk)
    task.get_by_label("Vad gjordes? (valfritt)").fill("Ringde Greta, hemtjänsten är kontaktad.")
    with desk.expect_navigation():
        task.get_by_role("button", name="Klar").click()
    assert desk.get_by_role("status").first.inner_text() == \
        "Uppgiften är klar: Oro för Greta Lind"
    session.expire_all()
    closed = session.exec(select(Task).where(Task.kind == "concern")).one()
    assert (closed.status, closed.urgent, closed.closed_by_id) == ("done", True, coordinator.id)

    # The pair page shows the concern in the call log.
    desk.goto(live_server(f"/par/{pair.id}"))
    log = desk.get_by_role("table", name="Samtalslogg")
    assert "Greta lät förvirrad" in log.inner_text()
    assert_accessible(desk)
