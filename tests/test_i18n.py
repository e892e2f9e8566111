"""Swedish by default, English on request: the language switch, the catalogue, local times.

The catalogue tests fail as soon as a text is added to the code or a template without an
English translation; `make translations` then lists it in the .po file for translating.
"""

import gettext
import html
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string

from vanringen import ROOT
from vanringen.volunteer_forms import VOLUNTEER_CONSENT_TEXT

CATALOGUE = ROOT / "vanringen" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
COMPILED = CATALOGUE.with_suffix(".mo")

SV_NAV = ["Översikt", "Att göra", "Inkorg", "Seniorer", "Ny senior", "Volontärer", "Matchning",
          "Rapporter", "Meddelanden", "Importera"]
EN_NAV = ["Overview", "To do", "Inbox", "Seniors", "New senior", "Volunteers", "Matching",
          "Reports", "Messages", "Import"]


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def lang(text: str) -> str:
    return re.search(r'<html lang="([^"]*)"', text).group(1)


def heading(text: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S).group(1)).strip()


def nav(text: str) -> list[str]:
    """The menu's links as shown; "Att göra" has the open tasks' count in a <span>, if any."""
    menu = re.search(r'<nav aria-label="[^"]*">(.*?)</nav>', text, re.S).group(1)
    return [" ".join(re.sub(r"<[^>]+>", "", t).split())
            for t in re.findall(r"<a [^>]*>(.*?)</a>", menu, re.S)]


def labels(text: str) -> list[str]:
    text = re.sub(r'<span class="req"[^>]*>\*</span>', "", text)
    return [re.sub(r"<[^>]+>", "", label).strip()
            for label in re.findall(r"<(?:label|legend)[^>]*>(.*?)</(?:label|legend)>",
                                    text, re.S)]


def errors(text: str) -> list[str]:
    return re.findall(r'<p class="error"[^>]*>([^<]*)</p>', text)


def switch(client, code: str, next_path: str = "/logga-in", form_path: str = "/logga-in"):
    """What the header's language button does: a POST with the CSRF token and the page."""
    return client.submit(f"/sprak/{code}", {"next": next_path}, form_path=form_path)


def session_locale(client):
    with client.raw.session_transaction() as stored:
        return stored.get("locale")


# ---------------------------------------------------------------- default: Swedish

def test_anonymous_pages_are_swedish_by_default(client):
    login = page(client.get("/logga-in"))
    assert lang(login) == "sv"
    assert heading(login) == "Logga in"
    assert {"E-post", "Lösenord"} <= set(labels(login))
    assert "Hoppa till innehållet" in login
    # The button offers the other language, named in that language.
    assert re.search(r'<button class="link" type="submit" lang="en">English</button>', login)

    apply = page(client.get("/bli-telefonvan"))
    assert lang(apply) == "sv"
    assert heading(apply) == "Bli telefonvän"
    assert {"Förnamn", "Mobilnummer", "Födelseår", "Kön"} <= set(labels(apply))
    assert "måndag" in apply and "förmiddag" in apply
    assert session_locale(client) is None


@pytest.mark.parametrize(("path", "title"), [("/oversikt", "Översikt"),
                                              ("/seniorer/", "Seniorer")])
def test_staff_pages_are_swedish_by_default(logged_in, path, title):
    text = page(logged_in.get(path))
    assert lang(text) == "sv"
    assert nav(text) == SV_NAV
    assert heading(text) == title
    assert "Logga ut" in text


# ---------------------------------------------------------------- English on request

def test_english_for_an_anonymous_visitor(client):
    response = switch(client, "en", next_path="/bli-telefonvan")
    assert response.status_code == 302
    assert response.headers["Location"] == "/bli-telefonvan"
    assert session_locale(client) == "en"

    login = page(client.get("/logga-in"))
    assert lang(login) == "en"
    assert heading(login) == "Log in"
    assert {"Email", "Password"} <= set(labels(login))
    assert "Skip to content" in login and "Hoppa till innehållet" not in login
    assert re.search(r'<button class="link" type="submit" lang="sv">Svenska</button>', login)

    apply = page(client.get("/bli-telefonvan"))
    assert lang(apply) == "en"
    assert heading(apply) == "Become a phone friend"
    assert {"First name", "Last name", "Mobile number", "Email", "Year of birth", "Gender",
            "How many seniors would you like to call?"} <= set(labels(apply))
    assert "Monday" in apply and "morning" in apply and "måndag" not in apply
    # What the applicant agrees to is stored verbatim, so it stays Swedish and says so.
    assert re.search(r'<div class="consent-text" id="consent-text" lang="sv">\s*<p>'
                     + re.escape(VOLUNTEER_CONSENT_TEXT), apply)


EMPTY_APPLICATION_ERRORS = {
    "sv": ["Ange förnamn.", "Ange efternamn.", "Ange mobilnummer.", "Ange e-postadress.",
           "Ange födelseår.", "Välj kön.", "Välj minst en tid.",
           "Kryssa i samtycket för att kunna skicka ansökan."],
    "en": ["Enter the first name.", "Enter the last name.", "Enter the mobile number.",
           "Enter the email address.", "Enter the year of birth.", "Choose a gender.",
           "Choose at least one time slot.",
           "Tick the consent box to be able to send the application."],
}


@pytest.mark.parametrize(("code", "summary", "first_label"), [
    ("sv", "Formuläret innehåller fel", "Förnamn"),
    ("en", "There is a problem with the form", "First name"),
])
def test_an_empty_application_is_refused_in_the_chosen_language(client, code, summary,
                                                                  first_label):
    switch(client, code, next_path="/bli-telefonvan")
    response = client.submit("/bli-telefonvan", {})
    assert response.status_code == 422
    text = page(response)
    assert lang(text) == code
    assert summary in text
    shown = errors(text)
    assert set(EMPTY_APPLICATION_ERRORS[code]) <= set(shown)
    assert not set(EMPTY_APPLICATION_ERRORS["en" if code == "sv" else "sv"]) & set(shown)
    # The summary names each field in the same language as its message.
    assert f"{first_label}: {EMPTY_APPLICATION_ERRORS[code][0]}" in text


@pytest.mark.parametrize(("code", "required", "email"), [
    ("sv", "Det här fältet är obligatoriskt.", "Felaktig epost-adress."),
    ("en", "This field is required.", "Invalid email address."),
])
def test_wtforms_own_messages_follow_the_locale(client, code, required, email):
    switch(client, code)
    empty = page(client.submit("/logga-in", {"email": "", "password": ""}))
    assert errors(empty) == [required, required]
    malformed = page(client.submit("/logga-in", {"email": "inte-en-adress", "password": "x"}))
    assert email in errors(malformed)


@pytest.mark.parametrize(("path", "title", "also"), [
    ("/oversikt", "Overview", ["Waiting lists",
                               "seniors waiting for a phone friend",
                               "No senior is waiting at the moment."]),
    ("/seniorer/", "Seniors", ["Register new senior", "Search name, phone or ID", "District",
                               ">Waiting</option>", "0 seniors"]),
])
def test_staff_pages_in_english(logged_in, path, title, also):
    response = switch(logged_in, "en", next_path=path, form_path="/oversikt")
    assert response.headers["Location"] == path
    text = page(logged_in.get(path))
    assert lang(text) == "en"
    assert nav(text) == EN_NAV
    assert heading(text) == title
    assert "Log out" in text
    for words in also:
        assert words in text
    assert "Seniorer" not in text and "Logga ut" not in text


def test_plural_forms(logged_in, session):
    from vanringen.models import Senior

    session.add(Senior(first_name="Greta", last_name="Ek", phone="+4681234567",
                       gender="female", languages="sv"))
    session.commit()
    assert "1 senior<" in page(logged_in.get("/seniorer/"))
    switch(logged_in, "en", form_path="/oversikt")
    assert "1 senior<" in page(logged_in.get("/seniorer/"))
    session.add(Senior(first_name="Karl", last_name="Ek", phone="+4681234568",
                       gender="male", languages="sv"))
    session.commit()
    assert "2 seniors<" in page(logged_in.get("/seniorer/"))
    switch(logged_in, "sv", form_path="/oversikt")
    assert "2 seniorer<" in page(logged_in.get("/seniorer/"))


def test_waiting_days_are_plural_aware(logged_in, session):
    from datetime import timedelta

    from vanringen.db import utcnow
    from vanringen.models import Senior

    senior = Senior(first_name="Greta", last_name="Ek", phone="+4681234567", gender="female",
                    waiting_since=utcnow() - timedelta(days=1, hours=1))
    session.add(senior)
    session.commit()
    assert ">1 dag<" in page(logged_in.get("/seniorer/"))
    assert "Har väntat 1 dag (" in page(logged_in.get(f"/seniorer/{senior.id}"))
    switch(logged_in, "en", form_path="/oversikt")
    assert ">1 day<" in page(logged_in.get("/seniorer/"))
    assert "Has been waiting 1 day (" in page(logged_in.get(f"/seniorer/{senior.id}"))


def test_language_names_follow_the_locale(logged_in, session):
    from vanringen.models import Senior

    session.add(Senior(first_name="Eila", phone="+4681234567", gender="female",
                       languages="fi;sv"))
    session.commit()
    assert "finska, svenska" in page(logged_in.get("/seniorer/"))
    switch(logged_in, "en", form_path="/oversikt")
    assert "Finnish, Swedish" in page(logged_in.get("/seniorer/"))
    assert "Finnish</label>" in page(logged_in.get("/seniorer/ny"))


def test_the_menu_counts_open_tasks_in_both_languages(logged_in, session):
    from vanringen.models import Task

    session.add(Task(kind="inbound_sms", title="SMS från +46701234567"))
    session.add(Task(kind="opted_out", title="+46701234568 vill inte ha SMS", status="done"))
    session.commit()
    shown = nav(page(logged_in.get("/oversikt")))
    assert shown == [f"{label} (1)" if label == "Att göra" else label for label in SV_NAV]
    switch(logged_in, "en", form_path="/oversikt")
    shown = nav(page(logged_in.get("/oversikt")))
    assert shown == [f"{label} (1)" if label == "To do" else label for label in EN_NAV]


def test_the_choice_survives_signing_in(client, coordinator):
    switch(client, "en")
    client.login(coordinator)
    assert nav(page(client.get("/oversikt"))) == EN_NAV


def test_switching_back_to_swedish(logged_in):
    switch(logged_in, "en", form_path="/oversikt")
    assert nav(page(logged_in.get("/oversikt"))) == EN_NAV
    response = switch(logged_in, "sv", next_path="/seniorer/", form_path="/oversikt")
    assert response.headers["Location"] == "/seniorer/"
    text = page(logged_in.get("/seniorer/"))
    assert lang(text) == "sv"
    assert nav(text) == SV_NAV
    assert session_locale(logged_in) == "sv"


def test_the_button_on_the_page_returns_to_the_same_page(logged_in):
    text = page(logged_in.get("/seniorer/?status=waiting"))
    form = re.search(r'<form method="post" action="(/sprak/en)">(.*?)</form>', text, re.S)
    assert form, "no language button on the page"
    next_path = re.search(r'name="next" value="([^"]*)"', form.group(2)).group(1)
    response = logged_in.submit(form.group(1), {"next": next_path},
                                form_path="/seniorer/?status=waiting")
    assert response.headers["Location"] == "/seniorer/?status=waiting"
    assert lang(page(logged_in.get(response.headers["Location"]))) == "en"


def test_an_unknown_language_is_ignored(client):
    response = switch(client, "xx")
    assert response.status_code == 302
    assert session_locale(client) is None
    assert lang(page(client.get("/logga-in"))) == "sv"

    switch(client, "en")
    switch(client, "xx")
    assert session_locale(client) == "en"
    assert lang(page(client.get("/logga-in"))) == "en"


def test_changing_language_needs_the_csrf_token(client):
    response = client.post("/sprak/en", data={"next": "/logga-in"})
    assert response.status_code == 400
    assert session_locale(client) is None


@pytest.mark.parametrize("target", [
    "//evil.example", "//evil.example/logga-in", "https://evil.example/", "evil.example",
    "javascript:alert(1)", "",
])
def test_next_never_leads_off_site(client, target):
    response = switch(client, "en", next_path=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    # The redirect is refused, the language is still switched.
    assert session_locale(client) == "en"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "/\\/evil.example"])
def test_next_with_hidden_characters_never_leads_off_site(client, target):
    # Browsers and werkzeug drop tabs and newlines and read "\\" as "/".
    response = switch(client, "en", next_path=target)
    assert response.headers["Location"] == "/"


# ---------------------------------------------------------------- dates in Stockholm time

def render(app, template: str, **values) -> str:
    with app.test_request_context("/"):
        return render_template_string(template, **values)


def test_datetime_filter_shows_stockholm_time_across_the_spring_clock_change(app):
    # Summer time starts 2026-03-29 at 01:00 UTC: 02:00 CET becomes 03:00 CEST.
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    after = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    shown = render(app, "{{ before|datetime }}|{{ after|datetime }}", before=before, after=after)
    assert shown == "2026-03-29 01:30|2026-03-29 03:30"


def test_date_filter_uses_the_stockholm_date(app):
    late_evening = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 on the 29th in Stockholm
    assert render(app, "{{ d|date }}", d=late_evening) == "29 mars 2026"


def test_empty_dates_render_as_nothing(app):
    assert render(app, "[{{ none|datetime }}][{{ none|date }}]", none=None) == "[][]"


# ---------------------------------------------------------------- the catalogue

def read_catalogue(path=None):
    with open(path or CATALOGUE, "rb") as f:
        return read_po(f, locale="en")


def test_catalogue_is_fully_translated_and_nothing_is_fuzzy():
    catalogue = read_catalogue()
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 100
    untranslated = [m.id for m in messages
                    if not (all(m.string) if m.pluralizable else m.string)]
    assert not untranslated, f"untranslated in {CATALOGUE.name}: {untranslated}"
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not fuzzy, f"fuzzy (check and remove the flag) in {CATALOGUE.name}: {fuzzy}"
    assert not catalogue.fuzzy
    # Placeholders like %(days)s must survive translation, or the page raises KeyError.
    problems = [(m.id, [str(e) for e in errs]) for m, errs in catalogue.check()]
    assert not problems, problems


def test_every_text_in_the_source_is_in_the_catalogue(tmp_path):
    """Extract as `make translations` does; a text added without a translation fails here."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(template), "."],
        cwd=ROOT, check=True, capture_output=True)
    extracted = read_catalogue(template)
    catalogue = read_catalogue()
    wanted = [m for m in extracted if m.id]
    assert len(wanted) > 100
    missing = [m.id for m in wanted if m.id not in catalogue]
    assert not missing, (
        f"{len(missing)} text(s) missing from {CATALOGUE}; run "
        "`make translations`, translate them, and run it again to compile:\n"
        + "\n".join(map(str, missing)))
    plural_mismatch = [m.id for m in wanted
                       if m.pluralizable != catalogue[m.id].pluralizable]
    assert not plural_mismatch, plural_mismatch
    # The extraction saw templates, module-level lazy texts, gettext calls and plurals.
    for text in ("Översikt", "Väntar", "Fel e-post eller lösenord.", "%(num)s senior"):
        assert extracted.get(text) is not None, text


def test_compiled_catalogue_matches_the_po_file():
    with open(COMPILED, "rb") as f:
        compiled = gettext.GNUTranslations(f)
    stale = []
    for m in read_catalogue():
        if not m.id:
            continue
        if m.pluralizable:
            got = (compiled.ngettext(m.id[0], m.id[1], 1), compiled.ngettext(m.id[0], m.id[1], 2))
            want = tuple(m.string)
        else:
            got, want = compiled.gettext(m.id), m.string
        if got != want:
            stale.append(m.id)
    assert not stale, f"{COMPILED.name} is out of date (run `make translations`): {stale}"
