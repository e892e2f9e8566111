"""The message texts editor (vanringen/text_admin.py, Meddelanden → Texter): admins only;
placeholders checked, a preview with example names, SMS length and alphabet, reset."""

import html
import re

import pytest
import time_machine
from call_support import Recorder, at, dispatcher, messages, paired, planner
from sqlmodel import select

from vanringen import texts
from vanringen.dispatch import dispatch_due
from vanringen.models import MessageTemplate
from vanringen.text_admin import example_link

NOW = at("2026-12-01 08:00")  # the preview's call is "i morgon" at this time
INDEX = "/meddelanden/texter/"
VOLUNTEER = f"{INDEX}reminder_volunteer/sv"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def as_admin(client, admin):
    client.login(admin)
    return client


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def stored(session) -> dict[tuple[str, str], str]:
    session.expire_all()
    return {(t.key, t.language): t.body for t in session.exec(select(MessageTemplate))}


def save(client, path, body):
    return client.submit(path, {"body": body, "action": "save"})


def preview(text: str) -> str | None:
    found = re.search(r'<blockquote class="preview">(.*?)</blockquote>', text, re.S)
    return found and found.group(1)


def textarea(text: str) -> str:
    return re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', text, re.S).group(1)


# ---------------------------------------------------------------- who

@pytest.mark.parametrize("path", [INDEX, VOLUNTEER, f"{INDEX}reminder_senior_sms/fi"])
def test_only_admins_see_the_texts(client, coordinator, path):
    response = client.get(path)
    assert response.status_code == 302 and "/logga-in" in response.headers["Location"]
    client.login(coordinator)
    assert client.get(path).status_code == 403


def test_a_coordinator_cannot_change_a_text(client, coordinator, session):
    client.login(coordinator)
    for action in ("save", "reset"):
        response = client.submit(VOLUNTEER, {"body": "Ring {senior}!", "action": action},
                                 form_path="/oversikt")
        assert response.status_code == 403
    assert stored(session) == {}


def test_without_the_csrf_token_nothing_is_saved(as_admin, session):
    response = as_admin.raw.post(VOLUNTEER, data={"body": "Ring {senior}!", "action": "save"})
    assert response.status_code == 400
    assert stored(session) == {}


@pytest.mark.parametrize("path", [
    f"{INDEX}finns_inte/sv",
    f"{INDEX}reminder_volunteer/fi",     # volunteers get Swedish
    f"{INDEX}reminder_senior_voice/so",  # Twilio has no Somali voice
    f"{INDEX}reminder_senior_sms/xx",    # no such language
])
def test_a_text_or_language_there_is_not_is_not_found(as_admin, session, path):
    assert as_admin.get(path).status_code == 404
    assert as_admin.submit(path, {"body": "Hej", "action": "save"},
                           form_path=INDEX).status_code == 404
    assert stored(session) == {}


# ---------------------------------------------------------------- the list

def test_every_text_is_listed_with_its_languages(as_admin, session):
    text = page(as_admin.get(INDEX))
    for key, entry in texts.shipped().items():
        assert f"<th scope=\"row\">{entry['label']}</th>" in text
        assert f'href="{INDEX}{key}/sv">svenska</a>' in text
    assert f'href="{INDEX}reminder_senior_sms/fi">finska</a>' in text
    # A language may be added for seniors: any for SMS, those Twilio speaks for calls.
    assert f'href="{INDEX}reminder_senior_sms/so">somaliska</a>' in text
    assert f'href="{INDEX}reminder_senior_voice/so"' not in text
    assert f'href="{INDEX}reminder_senior_voice/de">tyska</a>' in text
    assert f'href="{INDEX}reminder_volunteer/fi"' not in text
    assert "ändrad</span>" not in text
    save(as_admin, VOLUNTEER, "Ring {senior} {när}.")
    assert f'href="{VOLUNTEER}">svenska</a> <span class="badge">ändrad</span>' in page(
        as_admin.get(INDEX))
    assert '<a href="/meddelanden/">Tillbaka till meddelandena</a>' in page(as_admin.get(INDEX))


# ---------------------------------------------------------------- editing

def test_an_admin_changes_a_text(as_admin, session, admin):
    shipped = texts.shipped()["reminder_volunteer"]["sv"]
    text = page(as_admin.get(VOLUNTEER))
    assert textarea(text) == shipped and "ändrad av en administratör" not in text
    response = save(as_admin, VOLUNTEER, "  Hej {volontär}!\r\n{När} ringer du {senior}, "
                                         "tel {telefon}.  ")
    assert response.status_code == 302 and response.headers["Location"] == VOLUNTEER
    body = "Hej {volontär}!\n{När} ringer du {senior}, tel {telefon}."
    assert stored(session) == {("reminder_volunteer", "sv"): body}
    row = session.exec(select(MessageTemplate)).one()
    assert row.updated_by_id == admin.id
    text = page(as_admin.get(VOLUNTEER))
    assert "Texten är sparad. Den gäller även påminnelser som redan är planerade." in text
    assert textarea(text) == body and "ändrad av en administratör" in text
    assert f"<h2>Vänringens egen text</h2>\n<blockquote>{shipped}</blockquote>" in text
    assert preview(text) == "Hej Jonas!\nI morgon kl. 08.00 ringer du Greta, tel 08-123 456 78."


def test_a_change_reaches_the_reminders_already_planned(app, as_admin, session):
    pair = paired(session, call_times="tue 14:00")
    with app.app_context():
        planner(app, session).plan([pair], now=NOW)
        session.commit()
    assert save(as_admin, VOLUNTEER, "{volontär}: ring {senior} {när}.").status_code == 302
    sender = Recorder()
    with app.app_context():
        dispatch_due(dispatcher(app, session, sender), now=at("2026-12-01 13:00"))
    assert ("sms", "+46702220000", "Jonas: ring Greta i dag kl. 14.00.") in [
        s[:3] for s in sender.sent]
    assert messages(session, kind="reminder_volunteer")[0].body == \
        "Jonas: ring Greta i dag kl. 14.00."


KNOWN = "{volontär}, {senior}, {telefon}, {när}, {dag}, {datum}, {tid}, {länk}"


@pytest.mark.parametrize(("path", "body", "error"), [
    (VOLUNTEER, "Hej {volontar}!",
     f"okänd platshållare {{volontar}} (den här texten kan använda: {KNOWN})"),
    (VOLUNTEER, "{Senior} och {x}",
     f"okänd platshållare {{Senior}}, {{x}} (den här texten kan använda: {KNOWN})"),
    (f"{INDEX}voice_menu/sv", "Tryck 1, {senior}.",
     "okänd platshållare {senior} (den här texten kan använda: inga)"),
    (VOLUNTEER, "Hej {volontär", "en { eller } saknar sin motsvarighet"),
    (VOLUNTEER, "Hej {volontär!r}", "skriv platshållare utan tillägg, t.ex. {senior}"),
    (VOLUNTEER, "Hej {volontär:>30}", "skriv platshållare utan tillägg, t.ex. {senior}"),
    (VOLUNTEER, " \r\n ", "texten får inte vara tom"),
])
def test_a_text_that_cannot_be_filled_in_is_refused(as_admin, session, path, body, error):
    save(as_admin, VOLUNTEER, "Ring {senior}.")
    before = stored(session)
    response = save(as_admin, path, body)
    assert response.status_code == 422
    text = page(response)
    assert f'<li><a href="#body">Text: {error}</a></li>' in text
    assert f'<p class="error" id="body-error">{error}</p>' in text
    assert 'aria-describedby="body-hint body-error" aria-invalid="true"' in text
    assert textarea(text) == body.strip()  # as typed, to correct
    assert preview(text) is None
    assert stored(session) == before


# ---------------------------------------------------------------- preview and length

@pytest.mark.parametrize(("path", "shown", "parts"), [
    # The volunteer's personal link makes the reminder two SMS parts.
    (VOLUNTEER, "Hej Jonas! I morgon kl. 08.00 ringer du Greta, tel 08-123 456 78. Svara sedan "
                "JA och minuter (JA 25) eller NEJ. Din sida: {länk}", 2),
    (f"{INDEX}reminder_senior_sms/fi", "Hei Greta! Huomenna klo 08.00 sinulle soittaa Jonas "
                                       "Vänringenistä. Terveisin Vänringen", 1),
    (f"{INDEX}reminder_senior_voice/sv", "Hej Greta! Det här är Vänringen. I morgon klockan 8 "
                                         "ringer din telefonvän Jonas.", 0),
    (f"{INDEX}pair_volunteer/sv", "Hej Jonas! Din telefonvän i Vänringen: Greta, tel 08-123 456 "
                                  "78. Du ringer tisdagar kl. 14.00 och fredagar kl. 10.30. "
                                  "Tack för att du är med! /Vänringen", 1),
])
def test_the_preview_fills_in_example_names_and_a_call_tomorrow(app, as_admin, path, shown,
                                                                parts):
    with app.test_request_context():
        link = example_link()
    shown = shown.replace("{länk}", link)
    text = page(as_admin.get(path))
    assert preview(text) == shown
    assert "Med exempelnamn och ett samtal i morgon." in text
    if "voice" in path:
        assert "SMS-del" not in text  # a call has no SMS parts
    else:
        count = "1 SMS-del" if parts == 1 else f"{parts} SMS-delar"
        assert f"<p>{len(shown)} tecken, {count} (GSM-7).</p>" in text
        assert ("Texten blir mer än ett SMS" in text) == (parts > 1)
        assert "utanför SMS-alfabetet" not in text


def test_the_example_link_is_as_long_as_a_real_one_and_opens_nothing(app, client, session):
    from test_matches import make_volunteer

    from vanringen.volunteer_links import link_for

    app.config["PUBLIC_BASE_URL"] = "https://vanringen.example.se"
    volunteer = make_volunteer(session, "Jonas")
    with app.test_request_context():
        example, real = example_link(), link_for(volunteer, config=app.config)
    assert example.startswith("https://vanringen.example.se/v/")
    assert abs(len(example) - len(real)) <= 6  # the id's digits
    assert client.get(example.removeprefix("https://vanringen.example.se")).status_code == 403


def test_a_text_longer_than_one_sms_is_counted_and_warned_about(as_admin):
    body = "Hej {volontär}! " + "Glöm inte att ringa. " * 8
    save(as_admin, VOLUNTEER, body)
    text = page(as_admin.get(VOLUNTEER))
    shown = preview(text)
    assert shown == body.strip().replace("{volontär}", "Jonas") and 160 < len(shown) <= 306
    assert f"<p>{len(shown)} tecken, 2 SMS-delar (GSM-7).</p>" in text
    assert "Texten blir mer än ett SMS. Med långa namn kan den bli ännu längre." in text


def test_characters_outside_gsm7_are_warned_about(as_admin, session):
    body = "Hej {volontär} – ”ring {senior}”"  # a dash and quotes from a word processor
    assert save(as_admin, VOLUNTEER, body).status_code == 302  # allowed, but it costs
    text = page(as_admin.get(VOLUNTEER))
    assert preview(text) == "Hej Jonas – ”ring Greta”"
    assert "<p>24 tecken, 1 SMS-del (UCS-2).</p>" in text
    assert "Texten har tecken utanför SMS-alfabetet GSM-7" in text
    assert "Då ryms bara 70 tecken per SMS-del." in text


# ---------------------------------------------------------------- back to the shipped text

def test_reset_brings_back_vanringens_own_text(as_admin, session):
    save(as_admin, VOLUNTEER, "Ring {senior}.")
    assert '<button type="submit" name="action" value="reset">Återställ Vänringens text' \
        in page(as_admin.get(VOLUNTEER))
    response = as_admin.submit(VOLUNTEER, {"action": "reset", "body": "ignoreras"})
    assert response.status_code == 302 and response.headers["Location"] == INDEX
    assert "Texten är återställd till Vänringens egen." in page(as_admin.get(INDEX))
    assert stored(session) == {}
    text = page(as_admin.get(VOLUNTEER))
    assert textarea(text) == texts.shipped()["reminder_volunteer"]["sv"]
    assert 'value="reset"' not in text and "ändrad av en administratör" not in text


def test_a_text_in_a_new_language_is_added_and_removed(as_admin, session):
    arabic = f"{INDEX}reminder_senior_sms/ar"
    text = page(as_admin.get(arabic))
    assert textarea(text) == "" and preview(text) is None and 'value="reset"' not in text
    assert save(as_admin, arabic, "مرحبا {senior}! {volontär} {när}").status_code == 302
    assert stored(session) == {("reminder_senior_sms", "ar"): "مرحبا {senior}! {volontär} {när}"}
    text = page(as_admin.get(arabic))
    assert preview(text) == "مرحبا Greta! Jonas i morgon kl. 08.00"  # left in its alphabet
    assert "(UCS-2)" in text and "Vänringens egen text" not in text
    assert f'href="{arabic}">arabiska</a> <span class="badge">ändrad</span>' in page(
        as_admin.get(INDEX))
    as_admin.submit(arabic, {"action": "reset"})
    assert "Texten är borttagen; Vänringen använder svenska i stället." in page(
        as_admin.get(INDEX))
    assert stored(session) == {}


def test_saving_vanringens_own_words_is_no_change(as_admin, session):
    shipped = texts.shipped()["reminder_volunteer"]["sv"]
    assert save(as_admin, VOLUNTEER, shipped).status_code == 302  # Spara, nothing changed
    assert stored(session) == {}
    save(as_admin, VOLUNTEER, "Ring {senior}.")
    save(as_admin, VOLUNTEER, f"{shipped}\r\n")  # written back by hand: the same as a reset
    assert stored(session) == {}
    text = page(as_admin.get(VOLUNTEER))
    assert "ändrad av en administratör" not in text and 'value="reset"' not in text
