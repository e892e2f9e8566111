from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from conftest import html_text
from sqlmodel import select

from vanringen.db import utcnow
from vanringen.models import Consent, PersonEvent, Senior
from vanringen.seniors import SENIOR_CONSENT_TEXT, SENIOR_CONSENT_VERSION

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def today():
    return datetime.now(STOCKHOLM).date()


def intake(**changes):
    data = {
        "first_name": "Greta", "last_name": "Lind", "phone": "070-123 45 67",
        "birth_year": "1938", "gender": "female", "languages": ["sv", "fi"],
        "other_languages": "et", "interests": "Trädgård och allsång",
        "availability": ["mon-morning", "wed-afternoon"], "preferred_gender": "female",
        "district": "Farsta", "referral_source": "hemtjanst", "reminder_channel": "sms",
        "notes": "Hör dåligt, låt det ringa länge", "consent": "y",
        "consent_date": today().isoformat(), "consent_by": "Karin Koordinator",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def rows(session, model, *where):
    # End the test session's read transaction and forget loaded objects, so it sees what
    # the app committed.
    session.rollback()
    session.expire_all()
    return session.exec(select(model).where(*where)).all()


def make_senior(session, **kw):
    values = {"first_name": "Test", "last_name": "Person", "phone": "+46812345600",
              "gender": "female", "languages": "sv", "district": "Bromma",
              "status": "waiting", "waiting_since": utcnow()}
    values.update(kw)
    senior = Senior(**values)
    session.add(senior)
    session.commit()
    return senior


def nothing_written(session):
    return not rows(session, Senior) and not rows(session, Consent) \
        and not rows(session, PersonEvent)


# ---------------------------------------------------------------- intake

def test_intake_page_shows_consent_text_and_defaults(logged_in):
    page = html_text(logged_in.get("/seniorer/ny"))
    assert SENIOR_CONSENT_TEXT in page
    assert SENIOR_CONSENT_VERSION in page
    assert 'value="Karin Koordinator"' in page
    assert f'value="{today().isoformat()}"' in page
    assert 'name="availability" value="mon-morning"' in page


def test_intake_happy_path(logged_in, session, coordinator):
    response = logged_in.submit("/seniorer/ny", intake())
    assert response.status_code == 302, html_text(response)
    [senior] = rows(session, Senior)
    assert response.headers["Location"].endswith(f"/seniorer/{senior.id}")
    assert senior.phone == "+46701234567"
    assert senior.status == "waiting"
    assert utcnow() - senior.waiting_since < timedelta(minutes=1)
    assert senior.languages == "sv;fi;et"
    assert senior.availability == "mon-morning;wed-afternoon"
    assert (senior.birth_year, senior.district, senior.referral_source) == (1938, "Farsta",
                                                                           "hemtjanst")
    [consent] = rows(session, Consent)
    assert consent.senior_id == senior.id
    assert consent.method == "verbal"
    assert consent.text == SENIOR_CONSENT_TEXT and consent.text_version == "senior-v1"
    assert consent.given_on == today()
    assert consent.recorded_by_id == coordinator.id
    assert consent.recorded_by_name == "Karin Koordinator"
    [event] = rows(session, PersonEvent)
    assert (event.action, event.senior_id, event.actor_id, event.to_status) == (
        "created", senior.id, coordinator.id, "waiting")
    page = html_text(logged_in.get(response.headers["Location"]))
    assert "Greta Lind är registrerad" in page


@pytest.mark.parametrize("written, e164", [
    ("08-123 456 78", "+46812345678"),
    ("070-123 45 67", "+46701234567"),
    ("+46 70 123 45 67", "+46701234567"),
    ("0046 70 123 45 67", "+46701234567"),
])
def test_intake_accepts_phone_as_people_write_it(logged_in, session, written, e164):
    response = logged_in.submit("/seniorer/ny", intake(phone=written, reminder_channel="voice"))
    assert response.status_code == 302, html_text(response)
    assert [s.phone for s in rows(session, Senior)] == [e164]


def test_bad_phone_is_refused_in_swedish_and_nothing_written(logged_in, session):
    response = logged_in.submit("/seniorer/ny", intake(phone="12345"))
    assert response.status_code == 422
    page = html_text(response)
    assert "Telefonnummer: Ange ett giltigt telefonnummer" in page
    # What was typed stays, so the coordinator only fixes the number.
    assert 'value="Greta"' in page and 'value="12345"' in page
    assert nothing_written(session)


def test_missing_required_fields_are_named(logged_in, session):
    data = intake(first_name="  ", district="", phone="", consent=None, consent_by="")
    response = logged_in.submit("/seniorer/ny", data)
    assert response.status_code == 422
    page = html_text(response)
    for message in ("Förnamn: Ange förnamn.", "Stadsdel: Välj stadsdel.",
                    "Telefonnummer: Ange telefonnummer.",
                    "Bekräfta att seniorn har samtyckt muntligt.",
                    "Ange vem som tog emot samtycket."):
        assert message in page
    assert nothing_written(session)


def test_last_name_and_birth_year_may_be_left_out(logged_in, session):
    response = logged_in.submit("/seniorer/ny", intake(last_name="", birth_year="",
                                                       availability=None))
    assert response.status_code == 302, html_text(response)
    [senior] = rows(session, Senior)
    assert (senior.last_name, senior.birth_year, senior.availability) == ("", None, "")


def test_too_young_and_future_consent_are_refused(logged_in, session):
    response = logged_in.submit("/seniorer/ny", intake(
        birth_year=str(today().year - 10),
        consent_date=(today() + timedelta(days=1)).isoformat()))
    assert response.status_code == 422
    page = html_text(response)
    assert "Födelseår: Ange ett födelseår mellan 1900" in page
    assert "Datum för samtycket: Datumet kan inte ligga i framtiden." in page
    assert nothing_written(session)


def test_sms_to_landline_is_refused(logged_in, session):
    response = logged_in.submit("/seniorer/ny", intake(phone="08-123 456 78",
                                                       reminder_channel="sms"))
    assert response.status_code == 422
    assert "Påminnelser via: Ett fast telefonnummer kan inte ta emot SMS. " \
           "Välj röstsamtal i stället." in html_text(response)
    assert nothing_written(session)
    response = logged_in.submit("/seniorer/ny", intake(phone="08-123 456 78",
                                                       reminder_channel="voice"))
    assert response.status_code == 302
    assert rows(session, Senior)[0].reminder_channel == "voice"


def test_duplicate_phone_needs_confirmation(logged_in, session):
    first = make_senior(session, first_name="Gustav", last_name="Lind", phone="+46812345678")
    data = intake(first_name="Greta", phone="08-123 456 78", reminder_channel="voice")
    response = logged_in.submit("/seniorer/ny", data)
    assert response.status_code == 422
    page = html_text(response)
    assert f'href="/seniorer/{first.id}">Gustav Lind</a>' in page
    assert "Registrera ändå" in page
    assert len(rows(session, Senior)) == 1 and not rows(session, Consent)

    response = logged_in.submit("/seniorer/ny", dict(data, confirm_duplicate="y"))
    assert response.status_code == 302, html_text(response)
    seniors = rows(session, Senior)
    assert sorted(s.first_name for s in seniors) == ["Greta", "Gustav"]
    [event] = rows(session, PersonEvent, PersonEvent.action == "created")
    assert f"#{first.id}" in event.detail


# ---------------------------------------------------------------- edit

def test_edit_is_prefilled_and_records_changed_field_names(logged_in, session):
    logged_in.submit("/seniorer/ny", intake())
    senior = rows(session, Senior)[0]
    page = html_text(logged_in.get(f"/seniorer/{senior.id}/andra"))
    assert 'value="Greta"' in page and 'value="070-123 45 67"' in page
    assert 'value="et"' in page  # a language without a tick box is kept as typed text
    assert "Samtycke" not in page

    response = logged_in.submit(f"/seniorer/{senior.id}/andra", intake(
        district="Södermalm", notes="Ring efter lunch", consent=None))
    assert response.status_code == 302, html_text(response)
    senior = rows(session, Senior)[0]
    assert (senior.district, senior.notes) == ("Södermalm", "Ring efter lunch")
    [event] = rows(session, PersonEvent, PersonEvent.action == "updated")
    assert event.detail == "district, notes"
    assert "lunch" not in event.detail
    assert len(rows(session, Consent)) == 1

    # Saving without changes writes no event.
    logged_in.submit(f"/seniorer/{senior.id}/andra", intake(district="Södermalm",
                                                            notes="Ring efter lunch"))
    assert len(rows(session, PersonEvent, PersonEvent.action == "updated")) == 1


def test_edit_validates_like_intake(logged_in, session):
    senior = make_senior(session, first_name="Ella")
    response = logged_in.submit(f"/seniorer/{senior.id}/andra",
                                intake(first_name="", phone="08-123 456 78"))
    assert response.status_code == 422
    page = html_text(response)
    assert "Ange förnamn." in page and "Ett fast telefonnummer kan inte ta emot SMS" in page
    assert rows(session, Senior)[0].first_name == "Ella"
    assert not rows(session, PersonEvent)


def test_edit_to_another_seniors_number_needs_confirmation(logged_in, session):
    make_senior(session, first_name="Olle", phone="+46701234567")
    senior = make_senior(session, first_name="Ella", phone="+46812345600")
    response = logged_in.submit(f"/seniorer/{senior.id}/andra", intake(first_name="Ella"))
    assert response.status_code == 422
    assert "Spara ändå" in html_text(response)
    response = logged_in.submit(f"/seniorer/{senior.id}/andra",
                                intake(first_name="Ella", confirm_duplicate="y"))
    assert response.status_code == 302
    assert {s.phone for s in rows(session, Senior)} == {"+46701234567"}


# ---------------------------------------------------------------- list

@pytest.fixture
def people(session):
    now = utcnow()
    return {
        "asa": make_senior(session, first_name="Åsa", last_name="Öberg", phone="+46701234567",
                           external_id="GAMMAL-17", languages="sv;fi", district="Farsta",
                           waiting_since=now - timedelta(days=30)),
        "bertil": make_senior(session, first_name="Bertil", last_name="Ek",
                              phone="+46812345678", languages="sv;fil", district="Bromma",
                              waiting_since=now - timedelta(days=10)),
        "cecilia": make_senior(session, first_name="Cecilia", last_name="Berg",
                               phone="+46702222222", languages="fi", district="Farsta",
                               waiting_since=now - timedelta(days=5)),
        "david": make_senior(session, first_name="David", last_name="Al", phone="+46703333333",
                             status="matched", district="Bromma",
                             waiting_since=now - timedelta(days=90)),
        "eva": make_senior(session, first_name="Eva", last_name="Paus", phone="+46704444444",
                           status="paused", district="Järva",
                           waiting_since=now - timedelta(days=60)),
    }


def listed(client, query=""):
    page = html_text(client.get(f"/seniorer/?{query}"))
    body = page.split("<tbody>", 1)[1] if "<tbody>" in page else ""
    names = ["Åsa Öberg", "Bertil Ek", "Cecilia Berg", "David Al", "Eva Paus"]
    return sorted((n for n in names if n in body), key=body.index)


def test_list_waiting_longest_first_with_days(logged_in, people):
    assert listed(logged_in) == ["Åsa Öberg", "Bertil Ek", "Cecilia Berg", "David Al", "Eva Paus"]
    page = html_text(logged_in.get("/seniorer/"))
    assert "30 dagar" in page and "10 dagar" in page
    assert "90 dagar" not in page  # matched: no longer waiting


@pytest.mark.parametrize("q, expected", [
    ("åsa", ["Åsa Öberg"]),
    ("ÖBERG", ["Åsa Öberg"]),
    ("åsa öberg", ["Åsa Öberg"]),
    ("070-123 45 67", ["Åsa Öberg"]),
    ("+46 70 123 45 67", ["Åsa Öberg"]),
    ("0046701234567", ["Åsa Öberg"]),
    ("08-123 456 78", ["Bertil Ek"]),
    ("070", ["Åsa Öberg", "Cecilia Berg", "David Al", "Eva Paus"]),
    ("gammal-17", ["Åsa Öberg"]),
    ("berg", ["Åsa Öberg", "Cecilia Berg"]),
    ("100%", []),
])
def test_list_search(logged_in, people, q, expected):
    assert listed(logged_in, urlencode({"q": q})) == expected


def test_list_filters(logged_in, people):
    assert listed(logged_in, "language=fi") == ["Åsa Öberg", "Cecilia Berg"]
    assert listed(logged_in, "district=Bromma") == ["Bertil Ek", "David Al"]
    assert listed(logged_in, "status=paused") == ["Eva Paus"]
    before = (today() - timedelta(days=20)).isoformat()
    assert listed(logged_in, f"waiting_before={before}") == ["Åsa Öberg"]
    assert listed(logged_in, "language=fi&district=Farsta&status=waiting") == [
        "Åsa Öberg", "Cecilia Berg"]
    page = html_text(logged_in.get("/seniorer/?language=fil"))
    assert '<option selected value="fil">' in page  # a code in use is offered


def test_list_pagination_keeps_filters(logged_in, session):
    start = utcnow() - timedelta(days=100)
    for i in range(51):
        make_senior(session, first_name="Person", last_name=f"{i:02d}",
                    phone=f"+467011111{i:02d}", waiting_since=start + timedelta(hours=i))
    first = html_text(logged_in.get("/seniorer/?status=waiting"))
    assert "Sida 1 av 2" in first
    assert first.count('<th scope="row">') == 50
    assert "Person 00" in first and "Person 50" not in first
    assert "status=waiting&amp;page=2" in first
    second = html_text(logged_in.get("/seniorer/?status=waiting&page=2"))
    assert second.count('<th scope="row">') == 1 and "Person 50" in second
    assert "Sida 2 av 2" in second
    # A page number past the end shows the last page rather than nothing.
    assert "Person 50" in html_text(logged_in.get("/seniorer/?status=waiting&page=9"))


# ---------------------------------------------------------------- detail and status

def test_detail_shows_fields_consent_and_history_newest_first(logged_in, session):
    logged_in.submit("/seniorer/ny", intake())
    senior = rows(session, Senior)[0]
    logged_in.submit(f"/seniorer/{senior.id}/andra", intake(district="Södermalm"))
    logged_in.submit(f"/seniorer/{senior.id}/status", {"status": "paused",
                                                        "reason": "Sjukhusvistelse"},
                     form_path=f"/seniorer/{senior.id}")
    page = html_text(logged_in.get(f"/seniorer/{senior.id}"))
    for text in ("070-123 45 67", "svenska, finska, estniska", "måndag förmiddag",
                 "Hör dåligt", "Hemtjänst", "Södermalm", "Muntligt per telefon", "senior-v1",
                 "Karin Koordinator", "Sjukhusvistelse"):
        assert text in page, text
    history = page.split("Historik", 1)[1]
    assert history.index("Status ändrad") < history.index("Uppgifter ändrade") \
        < history.index("Registrerad")
    assert "Stadsdel" in history  # changed fields are shown by their labels
    assert f'href="/seniorer/{senior.id}/andra"' in page


def status(client, senior, new, reason=""):
    return client.submit(f"/seniorer/{senior.id}/status", {"status": new, "reason": reason},
                         form_path=f"/seniorer/{senior.id}")


def test_status_changes_need_reasons_and_keep_waiting_since_after_pause(logged_in, session):
    since = utcnow() - timedelta(days=40)
    senior = make_senior(session, waiting_since=since)
    page = html_text(logged_in.get(f"/seniorer/{senior.id}"))
    assert 'value="paused"' in page and 'value="matched"' not in page

    response = status(logged_in, senior, "paused")
    assert response.status_code == 422
    assert "Ange en anledning för att pausa eller avsluta." in html_text(response)
    assert rows(session, Senior)[0].status == "waiting" and not rows(session, PersonEvent)

    assert status(logged_in, senior, "paused", "Sjukhusvistelse").status_code == 302
    senior = rows(session, Senior)[0]
    assert senior.status == "paused" and senior.waiting_since == since
    [event] = rows(session, PersonEvent)
    assert (event.action, event.from_status, event.to_status, event.detail) == (
        "status", "waiting", "paused", "Sjukhusvistelse")

    assert status(logged_in, senior, "waiting").status_code == 302
    senior = rows(session, Senior)[0]
    assert senior.status == "waiting" and senior.waiting_since == since

    response = status(logged_in, senior, "waiting")
    assert response.status_code == 422
    assert "Seniorn har redan status Väntar." in html_text(response)


def test_ended_then_waiting_starts_a_new_wait(logged_in, session):
    since = utcnow() - timedelta(days=40)
    senior = make_senior(session, waiting_since=since)
    assert status(logged_in, senior, "ended", "").status_code == 422
    assert status(logged_in, senior, "ended", "Flyttat till Göteborg").status_code == 302
    assert rows(session, Senior)[0].status == "ended"

    response = status(logged_in, senior, "paused", "Försök")
    assert response.status_code == 422
    assert "Status kan inte ändras från Avslutad till Pausad." in html_text(response)

    assert status(logged_in, senior, "waiting").status_code == 302
    senior = rows(session, Senior)[0]
    assert senior.status == "waiting"
    assert utcnow() - senior.waiting_since < timedelta(minutes=1)


def test_paused_without_known_wait_starts_a_new_wait(logged_in, session):
    # e.g. imported as paused: nothing says the senior was waiting before.
    senior = make_senior(session, status="paused", waiting_since=utcnow() - timedelta(days=99))
    assert status(logged_in, senior, "waiting").status_code == 302
    assert utcnow() - rows(session, Senior)[0].waiting_since < timedelta(minutes=1)


def test_matched_status_is_not_changed_by_hand(logged_in, session):
    senior = make_senior(session, status="matched")
    page = html_text(logged_in.get(f"/seniorer/{senior.id}"))
    assert 'name="status"' not in page
    response = status(logged_in, senior, "ended", "Avliden")
    assert response.status_code == 422
    assert "Status ändras via matchningen" in html_text(response)
    assert rows(session, Senior)[0].status == "matched"
    response = status(logged_in, senior, "matched", "x")
    assert response.status_code == 422 and rows(session, Senior)[0].status == "matched"


def test_unknown_senior_is_404(logged_in):
    assert logged_in.get("/seniorer/9999").status_code == 404
    assert logged_in.get("/seniorer/9999/andra").status_code == 404
    response = logged_in.submit("/seniorer/9999/status", {"status": "paused", "reason": "x"},
                                form_path="/seniorer/ny")
    assert response.status_code == 404
