"""The people pages in a real browser, driven the way their users drive them.

A volunteer applies on a phone; a coordinator registers a senior during a phone call and
takes a volunteer through screening on a laptop. Run alone with `pytest -m browser`.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from browser_support import (
    PHONE,
    assert_accessible,
    described_by,
    facts,
    horizontal_overflow,
    login,
    table_rows,
)
from sqlmodel import select

from vanringen.models import Consent, Message, PersonEvent, Senior, Volunteer

pytestmark = pytest.mark.browser

FORM_ERRORS = "Formuläret innehåller fel"


def stockholm_today() -> date:
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def phone_page(new_page):
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True)


def submit(page, button: str):
    """Click a submit button and wait for the page the server answers with."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    return navigation.value


def stored(session, model) -> list:
    session.expire_all()  # the live server wrote through its own connection
    return list(session.exec(select(model)).all())


def error_summary(page) -> list[str]:
    summary = page.get_by_role("alert").filter(
        has=page.get_by_role("heading", name=FORM_ERRORS))
    return [text.strip() for text in summary.get_by_role("link").all_inner_texts()]


# ---------------------------------------------------------------- volunteer application

def fill_application(page, *, mobile="070-123 45 67", email="lena.ek@example.se",
                     consent=True):
    page.get_by_label("Förnamn").fill("Lena")
    page.get_by_label("Efternamn").fill("Ek")
    page.get_by_label("Mobilnummer").fill(mobile)
    page.get_by_label("E-post").fill(email)
    page.get_by_label("Födelseår").fill("1980")
    page.get_by_role("group", name="Kön").get_by_label("Kvinna", exact=True).check()
    languages = page.get_by_role("group", name="Språk du kan prata")
    assert languages.get_by_label("svenska", exact=True).is_checked()  # the default
    languages.get_by_label("finska", exact=True).check()
    page.get_by_label("Andra språk").fill("et")
    for slot in ("måndag kväll", "onsdag eftermiddag", "lördag förmiddag"):
        page.get_by_label(slot, exact=True).check()
    page.get_by_role("group", name="Hur många seniorer").get_by_label("Två").check()
    page.get_by_label("Intressen").fill("Trädgård, jazz och långpromenader")
    page.get_by_label("Varför vill du bli telefonvän?").fill("Jag vill göra nytta.")
    if consent:
        page.get_by_label("Jag har läst texten ovan och samtycker").check()


def test_volunteer_applies_on_a_phone(new_page, live_server, session):
    page = phone_page(new_page)
    page.goto(live_server("/bli-telefonvan"))
    assert page.get_by_role("heading", level=1).inner_text() == "Bli telefonvän"
    assert_accessible(page)

    fill_application(page)
    response = submit(page, "Skicka ansökan")

    assert response.ok, response.status
    assert page.url == live_server("/bli-telefonvan/tack")
    assert page.get_by_role("heading", level=1).inner_text() == "Tack för din ansökan!"
    assert horizontal_overflow(page) <= 0
    assert_accessible(page)

    volunteer, = stored(session, Volunteer)
    assert (volunteer.first_name, volunteer.last_name) == ("Lena", "Ek")
    assert volunteer.phone == "+46701234567"
    assert volunteer.email == "lena.ek@example.se"
    assert (volunteer.birth_year, volunteer.gender, volunteer.capacity) == (1980, "female", 2)
    assert volunteer.languages == "sv;fi;et"
    assert volunteer.availability == "mon-evening;wed-afternoon;sat-morning"
    assert volunteer.interests == "Trädgård, jazz och långpromenader"
    assert volunteer.motivation == "Jag vill göra nytta."
    assert volunteer.status == "applied"
    consent, = stored(session, Consent)
    assert (consent.volunteer_id, consent.method) == (volunteer.id, "web")
    assert consent.given_on == stockholm_today()
    message, = stored(session, Message)
    assert (message.recipient, message.kind) == ("+46701234567", "application_confirmation")
    assert message.volunteer_id == volunteer.id
    assert message.status == "recorded"  # handed to the outbox sender


def test_bad_application_shows_swedish_errors_and_stores_nothing(new_page, live_server,
                                                                  session):
    page = phone_page(new_page)
    page.goto(live_server("/bli-telefonvan"))
    fill_application(page, mobile="123", email="", consent=False)
    response = submit(page, "Skicka ansökan")

    assert response.status == 422
    assert page.url == live_server("/bli-telefonvan")
    assert error_summary(page) == [
        "Mobilnummer: Ange ett giltigt mobilnummer, t.ex. 070-123 45 67.",
        "E-post: Ange e-postadress.",
        "Jag har läst texten ovan och samtycker till att Vänringen sparar mina uppgifter.: "
        "Kryssa i samtycket för att kunna skicka ansökan.",
    ]
    mobile = page.get_by_label("Mobilnummer")
    assert mobile.get_attribute("aria-invalid") == "true"
    assert described_by(mobile) == "Ange ett giltigt mobilnummer, t.ex. 070-123 45 67."
    assert mobile.input_value() == "123"  # as typed, to be corrected
    assert described_by(page.get_by_label("E-post")) == "Ange e-postadress."
    consent = page.get_by_label("Jag har läst texten ovan och samtycker")
    assert not consent.is_checked()
    assert described_by(consent) == "Kryssa i samtycket för att kunna skicka ansökan."
    # What was right is kept, so the applicant fixes three things, not twelve.
    assert page.get_by_label("Förnamn").input_value() == "Lena"
    assert page.get_by_label("lördag förmiddag", exact=True).is_checked()
    assert page.get_by_role("group", name="Hur många seniorer").get_by_label("Två").is_checked()
    assert horizontal_overflow(page) <= 0
    assert_accessible(page)

    for model in (Volunteer, Consent, PersonEvent, Message):
        assert stored(session, model) == [], model.__name__


# ---------------------------------------------------------------- senior intake

def fill_intake(page, *, first_name="Greta"):
    page.get_by_label("Förnamn").fill(first_name)
    page.get_by_label("Efternamn").fill("Lindqvist")
    page.get_by_label("Telefonnummer").fill("08-123 456 78")
    page.get_by_label("Födelseår").fill("1938")
    page.get_by_role("group", name="Kön").get_by_label("Kvinna", exact=True).check()
    page.get_by_label("Stadsdel").select_option(label="Södermalm")
    languages = page.get_by_role("group", name="Språk", exact=True)
    languages.get_by_label("finska", exact=True).check()
    page.get_by_label("Intressen, i egna ord").fill("Melodikrysset och sina barnbarn")
    for slot in ("tisdag förmiddag", "torsdag förmiddag"):
        page.get_by_label(slot, exact=True).check()
    page.get_by_role("group", name="Önskar telefonvän som är") \
        .get_by_label("Kvinna", exact=True).check()
    page.get_by_label("Hur fick seniorn höra om oss?").select_option(label="Vårdcentral")
    page.get_by_label("Anteckningar").fill("Hör dåligt, låt det ringa länge.")
    page.get_by_label("Seniorn har muntligt samtyckt till texten ovan").check()


def test_coordinator_registers_a_senior_on_the_phone(page, live_server, coordinator, session):
    session.add(Senior(first_name="Sven", last_name="Berg", phone="+46855512345",
                       gender="male", district="Bromma", reminder_channel="voice"))
    session.commit()
    login(page, live_server.url, coordinator)
    page.goto(live_server("/seniorer/ny"))
    assert page.get_by_role("heading", level=1).inner_text() == "Ny senior"
    assert page.get_by_label("Samtycket togs emot av").input_value() == coordinator.name
    assert page.get_by_label("Datum för samtycket").input_value() == \
        stockholm_today().isoformat()
    assert_accessible(page)

    # First try: the name is forgotten and reminders are left at SMS, for a landline.
    fill_intake(page, first_name="")
    response = submit(page, "Registrera senior")
    assert response.status == 422
    sms_error = "Ett fast telefonnummer kan inte ta emot SMS. Välj röstsamtal i stället."
    assert error_summary(page) == ["Förnamn: Ange förnamn.", f"Påminnelser via: {sms_error}"]
    first_name = page.get_by_label("Förnamn")
    assert first_name.get_attribute("aria-invalid") == "true"
    assert described_by(first_name) == "Ange förnamn."
    assert described_by(page.get_by_role("group", name="Påminnelser via")) == sms_error
    assert page.get_by_label("Telefonnummer").input_value() == "08-123 456 78"
    assert page.get_by_label("tisdag förmiddag", exact=True).is_checked()
    assert_accessible(page)
    assert len(stored(session, Senior)) == 1

    page.get_by_label("Förnamn").fill("Greta")
    page.get_by_role("group", name="Påminnelser via").get_by_label("Röstsamtal").check()
    response = submit(page, "Registrera senior")

    assert response.ok, response.status
    senior = next(s for s in stored(session, Senior) if s.first_name == "Greta")
    assert page.url == live_server(f"/seniorer/{senior.id}")
    assert page.get_by_role("status").first.inner_text() == \
        "Greta Lindqvist är registrerad och väntar på en telefonvän."
    assert page.get_by_role("heading", level=1).inner_text() == "Greta Lindqvist"
    assert page.locator("main .badge").first.inner_text() == "Väntar"
    shown = facts(page.locator("dl.facts"))
    assert shown["Telefonnummer"] == "08-123 456 78"
    assert shown["Påminnelser via"] == "Röstsamtal"
    assert shown["Stadsdel"] == "Södermalm"
    assert shown["Hur fick seniorn höra om oss?"] == "Vårdcentral"
    assert shown["Språk"] == "svenska, finska"
    assert shown["Önskade samtalstider"] == "tisdag förmiddag, torsdag förmiddag"
    assert shown["Önskar telefonvän som är"] == "Kvinna"
    consent_row, = table_rows(page.get_by_role("table").first)
    assert consent_row[1:4] == ["Muntligt per telefon", "senior-v1", coordinator.name]
    assert_accessible(page)

    assert (senior.phone, senior.status, senior.reminder_channel) == \
        ("+46812345678", "waiting", "voice")
    assert senior.languages == "sv;fi" and senior.availability == "tue-morning;thu-morning"
    consent, = stored(session, Consent)
    assert (consent.senior_id, consent.method, consent.recorded_by_id) == \
        (senior.id, "verbal", coordinator.id)

    # Later the senior calls back; the coordinator finds her by name, then by number.
    for query in ("lindqvist", "08-123 456 78"):
        page.goto(live_server("/seniorer/"))
        page.get_by_label("Sök namn, telefon eller id").fill(query)
        submit(page, "Visa")
        assert page.get_by_role("status").inner_text() == "1 senior", query
        names = [row[0] for row in table_rows(page.get_by_role("table"))]
        assert names == ["Greta Lindqvist"], query
    with page.expect_navigation():
        page.get_by_role("link", name="Greta Lindqvist").click()
    assert page.url == live_server(f"/seniorer/{senior.id}")


# ---------------------------------------------------------------- volunteer screening

def save_step(page, step: str, **fields):
    form = page.get_by_role("form", name=step, exact=True)
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    with page.expect_navigation():
        form.get_by_role("button", name="Spara").click()
    assert page.get_by_role("status").first.inner_text() == f"Sparat: {step}."


def test_coordinator_takes_a_volunteer_from_applied_to_approved(page, live_server,
                                                                coordinator, session):
    volunteer = Volunteer(first_name="Vera", last_name="Wikström", phone="+46701234567",
                          email="vera@example.se", gender="female", birth_year=1975,
                          availability="mon-evening", status="applied")
    session.add(volunteer)
    session.flush()
    session.add(PersonEvent(volunteer_id=volunteer.id, action="created", to_status="applied"))
    session.commit()
    today = stockholm_today()
    record_day = today - timedelta(days=10)

    login(page, live_server.url, coordinator)
    page.goto(live_server("/volontarer/"))
    assert_accessible(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Vera Wikström").click()
    assert page.url == live_server(f"/volontarer/{volunteer.id}")
    heading = page.get_by_role("heading", level=1)
    assert heading.locator(".badge").inner_text() == "Ansökt"
    assert facts(page.locator("dl.facts").first)["Mobil"] == "070-123 45 67"
    assert_accessible(page)

    save_step(page, "Intervjuad", Anteckning="Trevligt samtal")
    assert heading.locator(".badge").inner_text() == "Intervjuad"
    save_step(page, "Utdrag ur belastningsregistret kontrollerat",
              **{"Utdragets datum": record_day.isoformat()})
    assert heading.locator(".badge").inner_text() == "Utdrag kontrollerat"
    save_step(page, "Utbildad", **{"Kursens namn": "Grundkurs telefonvän"})
    assert heading.locator(".badge").inner_text() == "Utbildad"
    save_step(page, "Godkänn")

    assert heading.locator(".badge").inner_text() == "Godkänd"
    assert page.get_by_text("Godkänd och kan matchas med en senior.").is_visible()
    assert page.get_by_role("form", name="Godkänn", exact=True).count() == 0
    screening = facts(page.locator("dl.facts").nth(1))
    assert screening["Intervjuad"] == format_date(today, "medium", locale="sv")
    assert screening["Utbildad"] == \
        f"{format_date(today, 'medium', locale='sv')}, Grundkurs telefonvän"
    assert screening["Utdrag ur belastningsregistret"].startswith(
        f"kontrollerat {format_date(record_day, 'medium', locale='sv')}")
    history = [row[1:] for row in table_rows(page.get_by_role("table"))]
    by = coordinator.name
    assert history == [
        ["Status ändrad", "Utbildad → Godkänd", by, ""],
        ["Status ändrad", "Utdrag kontrollerat → Utbildad", by,
         f"Utbildning {today.isoformat()}: Grundkurs telefonvän"],
        ["Status ändrad", "Intervjuad → Utdrag kontrollerat", by,
         f"Utdrag {record_day.isoformat()}"],
        ["Status ändrad", "Ansökt → Intervjuad", by,
         f"Intervju {today.isoformat()}. Trevligt samtal"],
        ["Ansökan mottagen", "Ansökt", "Sökanden (webben)", ""],
    ]
    assert_accessible(page)

    session.expire_all()
    approved = session.get(Volunteer, volunteer.id)
    assert approved.status == "approved" and approved.approved_at is not None
    assert (approved.interviewed_on, approved.police_record_checked_on, approved.trained_on) \
        == (today, record_day, today)


# ---------------------------------------------------------------- lists on a phone

@pytest.mark.parametrize("path", ["/volontarer/", "/seniorer/"])
def test_lists_need_no_sideways_scrolling_on_a_phone(new_page, live_server, coordinator,
                                                     session, path):
    # Long values, so the tables are wider than a phone and must scroll inside their wrapper.
    session.add(Volunteer(first_name="Anna-Karin", last_name="Johansson-Lindqvist",
                          phone="+46701234567", gender="female", languages="sv;fi;ar;en",
                          email="anna-karin.johansson-lindqvist@exempelforeningen.se"))
    session.add(Senior(first_name="Karl-Erik", last_name="Andersson-Holmström",
                       phone="+46812345678", gender="male", district="Hägersten-Älvsjö",
                       languages="sv;fi;ar;en", reminder_channel="voice"))
    session.commit()
    page = phone_page(new_page)
    login(page, live_server.url, coordinator)
    response = page.goto(live_server(path))

    assert response.ok, response.status
    assert page.get_by_role("table").is_visible()
    assert horizontal_overflow(page) <= 0, f"{path} scrolls sideways on a phone"
    # The table is wider than the phone; it scrolls inside its wrapper, not the page.
    wrap = page.locator(".table-wrap")
    scroll_width, client_width, right = wrap.evaluate(
        "el => [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().right]")
    assert scroll_width > client_width
    assert right <= PHONE["width"]
