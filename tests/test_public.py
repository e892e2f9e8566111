"""The public volunteer application: no login, consent, confirmation SMS, duplicates."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from notifications import TemporaryError, segments
from vanringen.models import Consent, Message, PersonEvent, Volunteer
from vanringen.volunteer_forms import VOLUNTEER_CONSENT_TEXT, VOLUNTEER_CONSENT_VERSION

CONFIRMATION_SMS = ("Tack för din anmälan till Vänringen, Lena! Vi har tagit emot den och "
                    "en samordnare hör av sig till dig inom kort.")


def stockholm_today():
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def application(**overrides):
    data = {
        "first_name": "Lena", "last_name": "Ek", "mobile": "070-123 45 67",
        "email": "Lena.Ek@example.se", "birth_year": "1980", "gender": "female",
        "languages": ["sv", "fi"], "other_languages": "et",
        "interests": "Trädgård och jazz", "availability": ["mon-evening", "sat-morning"],
        "capacity": "2", "motivation": "Jag vill göra nytta.", "consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts(session):
    session.expire_all()
    return tuple(len(session.exec(select(model)).all())
                 for model in (Volunteer, Consent, PersonEvent, Message))


def test_public_pages_need_no_login(client):
    form = client.get("/bli-telefonvan")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "Bli telefonvän" in page and VOLUNTEER_CONSENT_TEXT in page
    # The consent box is there and not ticked in advance.
    consent_box = re.search(r'<input[^>]*name="consent"[^>]*>', page).group(0)
    assert 'type="checkbox"' in consent_box and "checked" not in consent_box
    assert client.get("/bli-telefonvan/tack").status_code == 200


def test_consent_text_says_what_why_who_how_long_and_how_to_withdraw():
    text = VOLUNTEER_CONSENT_TEXT
    for words in ("mobilnummer", "handlägga din ansökan", "samordnare ser", "raderas senast",
                  "återkalla", "kontakta samordnaren"):
        assert words in text
    assert VOLUNTEER_CONSENT_VERSION == "volunteer-v1"


def test_confirmation_sms_is_one_gsm7_part():
    assert segments(CONFIRMATION_SMS) == (1, "GSM-7")


def test_application_happy_path(client, session):
    response = client.submit("/bli-telefonvan", application())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/bli-telefonvan/tack")

    volunteer = session.exec(select(Volunteer)).one()
    assert (volunteer.first_name, volunteer.last_name) == ("Lena", "Ek")
    assert volunteer.phone == "+46701234567"
    assert volunteer.email == "Lena.Ek@example.se"
    assert volunteer.status == "applied"
    assert volunteer.birth_year == 1980 and volunteer.gender == "female"
    assert volunteer.languages == "sv;fi;et"
    assert volunteer.availability == "mon-evening;sat-morning"
    assert volunteer.capacity == 2
    assert volunteer.motivation == "Jag vill göra nytta."

    consent = session.exec(select(Consent)).one()
    assert consent.volunteer_id == volunteer.id
    assert consent.method == "web" and consent.text_version == "volunteer-v1"
    assert consent.text == VOLUNTEER_CONSENT_TEXT
    assert consent.given_on == stockholm_today()
    assert consent.withdrawn_at is None

    event = session.exec(select(PersonEvent)).one()
    assert (event.volunteer_id, event.action, event.actor_id) == (volunteer.id, "created", None)

    message = session.exec(select(Message)).one()
    assert message.volunteer_id == volunteer.id
    assert message.recipient == "+46701234567"
    assert message.kind == "application_confirmation" and message.channel == "sms"
    assert message.status == "recorded" and message.provider == "outbox"
    assert message.body == CONFIRMATION_SMS

    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tack för din ansökan" in thanks


REQUIRED = {
    "first_name": "Ange förnamn", "last_name": "Ange efternamn", "mobile": "Ange mobilnummer",
    "email": "Ange e-postadress", "birth_year": "Ange födelseår", "gender": "Välj kön",
    "languages": "Välj minst ett språk", "availability": "Välj minst en tid",
    "capacity": "Välj hur många seniorer", "consent": "Kryssa i samtycket",
}
LABELS = {
    "first_name": "Förnamn", "last_name": "Efternamn", "mobile": "Mobilnummer",
    "email": "E-post", "birth_year": "Födelseår", "gender": "Kön",
    "languages": "Språk du kan prata", "availability": "När kan du ringa?",
    "capacity": "Hur många seniorer vill du ringa?", "consent": "Jag har läst texten ovan",
}


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_each_required_field_is_refused_in_swedish(client, session, missing):
    response = client.submit("/bli-telefonvan", application(**{missing: None}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert REQUIRED[missing] in page
    # The error summary names the field and links to it.
    assert f'href="#{missing}">{LABELS[missing]}' in page
    assert counts(session) == (0, 0, 0, 0)


def test_everything_missing_lists_every_field(client, session):
    response = client.submit("/bli-telefonvan", {})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for message in REQUIRED.values():
        assert message in page
    assert counts(session) == (0, 0, 0, 0)


@pytest.mark.parametrize("mobile", ["08-123 456 78", "070-12", "inte ett nummer"])
def test_landline_or_bad_mobile_is_refused(client, session, mobile):
    response = client.submit("/bli-telefonvan", application(mobile=mobile))
    assert response.status_code == 422
    assert "Ange ett giltigt mobilnummer" in response.get_data(as_text=True)
    assert counts(session) == (0, 0, 0, 0)


@pytest.mark.parametrize("field, value, message", [
    ("email", "inte-en-adress", "Ange en giltig e-postadress"),
    ("birth_year", "2015", "Ange ett födelseår mellan 1900"),
    ("other_languages", "xx", "Okänd språkkod"),
])
def test_invalid_values_are_refused(client, session, field, value, message):
    response = client.submit("/bli-telefonvan", application(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(session) == (0, 0, 0, 0)


def test_without_csrf_token_nothing_is_written(client, session):
    response = client.raw.post("/bli-telefonvan", data=application())
    assert response.status_code == 400
    assert counts(session) == (0, 0, 0, 0)


@pytest.mark.parametrize("changes, matched", [
    ({"email": "LENA.EK@EXAMPLE.SE", "mobile": "073-999 88 77"}, "e-post"),
    ({"email": "annan@example.se", "mobile": "+46 70 123 45 67"}, "mobilnummer"),
    ({"email": "lena.ek@example.se", "mobile": "0046701234567"}, "e-post och mobilnummer"),
])
def test_duplicate_application_keeps_one_volunteer(client, session, changes, matched):
    assert client.submit("/bli-telefonvan", application()).status_code == 302
    again = client.submit("/bli-telefonvan",
                          application(first_name="Helena", motivation="Nytt", **changes))
    assert again.status_code == 302
    # The applicant sees the same page as anyone else: nothing about the earlier application.
    assert again.headers["Location"].endswith("/bli-telefonvan/tack")

    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.first_name == "Lena" and volunteer.motivation == "Jag vill göra nytta."
    events = session.exec(select(PersonEvent).order_by(PersonEvent.id)).all()
    assert [e.action for e in events] == ["created", "duplicate_application"]
    assert events[1].volunteer_id == volunteer.id
    assert f"med samma {matched}." in events[1].detail
    assert stockholm_today().isoformat() in events[1].detail
    assert len(session.exec(select(Message)).all()) == 1
    assert len(session.exec(select(Consent)).all()) == 1


def test_duplicate_is_shown_to_the_coordinator(client, logged_in, session):
    client.submit("/bli-telefonvan", application())
    client.submit("/bli-telefonvan", application(email="LENA.EK@example.se"))
    volunteer = session.exec(select(Volunteer)).one()
    page = logged_in.get(f"/volontarer/{volunteer.id}").get_data(as_text=True)
    assert "Ny ansökan med samma uppgifter" in page
    assert "De nya uppgifterna sparades inte" in page


@pytest.mark.parametrize("error", [TemporaryError("nätet nere"), RuntimeError("oväntat fel")])
def test_a_failing_sender_loses_neither_application_nor_message(app, client, session, error):
    class Broken:
        def send_sms(self, to, body, *, status_callback=None):
            raise error

    app.extensions["vanringen.notifier"] = Broken()
    response = client.submit("/bli-telefonvan", application())
    assert response.status_code == 302
    assert session.exec(select(Volunteer)).one().status == "applied"
    assert session.exec(select(Consent)).one()
    message = session.exec(select(Message)).one()
    # Left for the clock process to try again in a minute (the first retry's backoff).
    assert message.status == "pending" and message.body == CONFIRMATION_SMS
    assert message.attempts == 1 and message.due_at > message.created_at
    assert str(error) in message.error
