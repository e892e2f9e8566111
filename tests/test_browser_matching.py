"""Matching in a real browser: a coordinator asks for proposals, approves one, rejects one.

Run alone with `pytest -m browser tests/test_browser_matching.py`.
"""

import pytest
from browser_support import assert_accessible, facts, login, table_rows
from sqlmodel import select
from test_matches import fresh, make_senior, make_volunteer, seed_taxonomy

from vanringen.models import MatchProposal, Message, Pair, Rejection, Senior, Volunteer

pytestmark = pytest.mark.browser


def click(page, button: str, within=None):
    with page.expect_navigation() as navigation:
        (within or page).get_by_role("button", name=button, exact=True).click()
    return navigation.value


def proposed_volunteer(session, senior) -> Volunteer:
    session.rollback()
    proposal = session.exec(select(MatchProposal).where(
        MatchProposal.senior_id == senior.id, MatchProposal.rank == 0,
        MatchProposal.status == "pending")).one()
    return session.get(Volunteer, proposal.volunteer_id)


def test_coordinator_approves_one_proposal_and_rejects_another(page, live_server, session,
                                                               coordinator):
    seed_taxonomy(session)
    greta = make_senior(session, "Greta", days_waiting=90, interests="trädgård, blommor")
    karl = make_senior(session, "Karl", last_name="Ek", gender="male", phone="+46701110001",
                       days_waiting=20, interests="fotboll och Hammarby",
                       availability="wed-evening")
    make_volunteer(session, "Jonas", capacity=1, interests="odlar grönsaker, trädgård")
    make_volunteer(session, "Lena", last_name="Holm", capacity=2, gender="female",
                   phone="+46702220001", interests="fotboll, Bajen",
                   availability="tue-afternoon;wed-evening")

    login(page, live_server.url, coordinator)
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Matchning").click()
    page.wait_for_url(live_server("/matchning/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Matchning"
    assert_accessible(page)

    response = click(page, "Föreslå matchningar")
    assert response.ok
    assert page.get_by_role("status").first.inner_text().startswith(
        "Förslag klara: 2 av 2 väntande seniorer fick ett förslag")
    assert_accessible(page)

    # Approve Greta's proposal, agreeing on Tuesday afternoons at half past two.
    for_greta = proposed_volunteer(session, greta)
    greta_block = page.get_by_role("region", name="Greta Lind")
    assert for_greta.full_name in greta_block.inner_text()
    assert "gemensamma intressen" in greta_block.inner_text()
    slots = greta_block.get_by_role("group", name="Samtalstider de kommer överens om")
    # Each day part has a tick box and a clock time; the time's label names the part too.
    slots.get_by_role("checkbox", name="tisdag eftermiddag", exact=True).check()
    clock = slots.get_by_label("klockan (tisdag eftermiddag)", exact=True)
    assert clock.input_value() == "14:00"  # the afternoon's usual hour
    clock.fill("14:30")
    click(page, "Godkänn", within=greta_block)
    assert page.get_by_role("status").first.inner_text().startswith(
        f"Greta Lind och {for_greta.full_name} är nu telefonvänner.")
    assert page.get_by_role("region", name="Greta Lind").count() == 0

    # Reject Karl's: a reason is required.
    for_karl = proposed_volunteer(session, karl)
    karl_block = page.get_by_role("region", name="Karl Ek")
    response = click(page, "Avvisa", within=karl_block)
    assert response.status == 422
    karl_block = page.get_by_role("region", name="Karl Ek")
    reason = karl_block.get_by_label("Varför passar de inte?")
    assert reason.get_attribute("aria-invalid") == "true"
    assert_accessible(page)
    reason.fill("De har redan träffats och det fungerade inte.")
    click(page, "Avvisa", within=karl_block)
    assert "föreslås aldrig mer för Karl Ek" in page.get_by_role("status").first.inner_text()
    assert "Förslaget avvisades." in page.get_by_role("region", name="Karl Ek").inner_text()
    assert_accessible(page)

    # In the database ...
    session.rollback()
    session.expire_all()
    pair, = fresh(session, Pair)
    assert (pair.senior_id, pair.volunteer_id, pair.agreed_slots, pair.call_times) == (
        greta.id, for_greta.id, "tue-afternoon", "tue 14:30")
    assert session.get(Senior, greta.id).status == "matched"
    assert session.get(Senior, karl.id).status == "waiting"
    rejection, = session.exec(select(Rejection)).all()
    assert (rejection.senior_id, rejection.volunteer_id) == (karl.id, for_karl.id)
    # Both are told about the pair, and the first calls' reminders are planned.
    assert {m.kind for m in session.exec(select(Message)).all()} == {
        "pair_volunteer", "pair_senior_sms", "reminder_volunteer", "reminder_senior_sms"}

    # ... and on the pages.
    page.goto(live_server(f"/seniorer/{greta.id}"))
    assert page.locator("main .badge").first.inner_text() == "Matchad"
    assert for_greta.full_name in page.get_by_role("table", name="Telefonvän").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Samtalsplan, pauser och påminnelser").click()
    assert page.url.startswith(live_server(f"/par/{pair.id}"))
    assert facts(page.locator("dl.facts").first)["Samtalstider"] == "tisdagar kl. 14.30"
    plan = page.get_by_role("region", name="Samtalsplan")
    assert "Volontären ringer tisdagar kl. 14.30." in plan.inner_text()
    calls = table_rows(plan.get_by_role("table", name="Samtal och påminnelser"))
    assert calls, "approving planned no calls"
    assert all(row[0].startswith("tisdag ") and row[0].endswith(" 14:30") for row in calls), calls
    assert {row[1] for row in calls} == {"Planerat"}
    assert_accessible(page)
    page.goto(live_server(f"/seniorer/{karl.id}"))
    assert page.locator("main .badge").first.inner_text() == "Väntar"
    page.goto(live_server(f"/volontarer/{for_greta.id}"))
    free = for_greta.capacity - 1
    assert page.get_by_text(f"Lediga platser: {free} av {for_greta.capacity}.").is_visible()
    assert facts(page.locator("dl.facts").first)["Antal seniorer"] == str(for_greta.capacity)
    assert_accessible(page)
