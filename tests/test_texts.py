"""Message texts (vanringen.texts): shipped wording, admins' wording, placeholders, language."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications import VOICES, is_gsm7, segments
from vanringen import texts
from vanringen.models import MessageTemplate

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Stockholm
# Long but real values: the longest a reminder can get in practice.
LONG = {"senior": "Margareta", "volontär": "Sebastian", "telefon": "070-111 00 00",
        "slots": "tue 14:00;fri 10:30",
        "call_at": datetime(2026, 12, 9, 9, 30, tzinfo=UTC).isoformat()}


def filled(key, language, now=NOW, **params):
    channel = texts.shipped()[key]["channel"]
    return texts.render(texts.Texts({}).body(key, language),
                        texts.values({**LONG, **params}, language=language, channel=channel,
                                     now=now, tz=TZ), channel)


@pytest.mark.parametrize("key", list(texts.shipped()))
def test_every_shipped_text_is_valid_and_says_who_and_how(key):
    entry = texts.shipped()[key]
    assert entry["channel"] in ("sms", "voice") and entry["label"]
    assert entry["for"] in ("senior", "volunteer", "staff", "anyone")
    for language in texts.languages_of(key):
        assert texts.check(key, entry[language]) == [], (key, language)
        body = filled(key, language)
        assert "{" not in body and "}" not in body
        if entry["channel"] == "sms":
            # One SMS part even with long names, two call times and a date far off.
            assert segments(body) == (1, "GSM-7"), (key, language, len(body), body)
        else:
            assert language in VOICES


def test_seniors_texts_exist_in_finnish_and_english_too():
    for key, entry in texts.shipped().items():
        if entry["for"] == "senior":
            assert texts.languages_of(key) == ["sv", "fi", "en"], key


@pytest.mark.parametrize(("now", "language", "channel", "expected"), [
    (NOW, "sv", "sms", "Hej Margareta! Onsdag 9 december kl. 10.30 ringer Sebastian från "
                       "Vänringen. Hälsningar Vänringen"),
    (datetime(2026, 12, 8, 18, tzinfo=UTC), "sv", "sms",
     "Hej Margareta! I morgon kl. 10.30 ringer Sebastian från Vänringen. Hälsningar Vänringen"),
    (datetime(2026, 12, 9, 8, tzinfo=UTC), "fi", "sms",
     "Hei Margareta! Tänään klo 10.30 sinulle soittaa Sebastian Vänringenistä. "
     "Terveisin Vänringen"),
    (datetime(2026, 12, 9, 8, tzinfo=UTC), "en", "sms",
     "Hello Margareta! Sebastian from Vänringen will call you today at 10:30. "
     "Best wishes, Vänringen"),
])
def test_the_call_time_is_said_relative_to_when_the_message_goes(now, language, channel,
                                                                  expected):
    assert filled("reminder_senior_sms", language, now=now) == expected


def test_a_voice_says_the_time_as_a_person_would():
    spoken = filled("reminder_senior_voice", "sv", now=datetime(2026, 12, 9, 7, tzinfo=UTC),
                    call_at=datetime(2026, 12, 9, 13, tzinfo=UTC).isoformat())
    assert spoken == "Hej Margareta! Det här är Vänringen. I dag klockan 14 ringer din " \
                     "telefonvän Sebastian."


def test_weekly_call_times_in_three_languages():
    assert texts.weekly("tue 14:00;fri 10:30", "sv") == \
        "tisdagar kl. 14.00 och fredagar kl. 10.30"
    assert texts.weekly("tue 14:00", "fi") == "tiistaisin klo 14.00"
    assert texts.weekly("tue 14:00;fri 10:30", "en") == "on Tuesdays at 14:00 and Fridays at 10:30"


def test_names_outside_gsm7_keep_an_sms_to_one_part():
    body = filled("reminder_volunteer", "sv", senior="Łucja Ćosić")
    assert "Lucja Cosic" in body and is_gsm7(body)


def test_a_text_an_admin_wrote_in_another_alphabet_is_left_alone():
    arabic = "مرحبا {senior}"
    assert texts.render(arabic, {"senior": "Łucja"}, "sms") == "مرحبا Łucja"


@pytest.mark.parametrize(("body", "error"), [
    ("", "tom"), ("Hej {volontar}", "okänd platshållare {volontar}"),
    ("Hej {", "saknar sin motsvarighet"), ("Hej {senior!r}", "utan tillägg"),
    ("Hej {senior.__class__}", "okänd platshållare"), ("Hej {senior:>99}", "utan tillägg"),
])
def test_an_admins_text_is_checked(body, error):
    assert error in " ".join(texts.check("reminder_volunteer", body))


def test_capitalised_time_placeholders_are_allowed():
    assert texts.check("reminder_volunteer", "{När} ringer du {senior}.") == []
    assert texts.check("application_confirmation", "{När}?") != []


def test_an_admins_wording_wins_and_falls_back_per_language(session):
    session.add(MessageTemplate(key="reminder_senior_sms", language="sv", body="Ny {senior}"))
    session.commit()
    wording = texts.Texts.load(session=session)
    assert wording.body("reminder_senior_sms", "sv") == "Ny {senior}"
    assert wording.body("reminder_senior_sms", "fi").startswith("Hei {senior}")
    assert wording.body("reminder_volunteer", "fi") is None


@pytest.mark.parametrize(("key", "spoken", "expected"), [
    ("reminder_senior_sms", ["fi", "sv"], "fi"),
    ("reminder_senior_sms", ["ar", "en"], "en"),
    ("reminder_senior_sms", ["so"], "sv"),
    ("reminder_volunteer", ["fi"], "sv"),      # volunteers' texts are Swedish only
    ("reminder_senior_voice", ["en"], "en"),
])
def test_a_person_gets_the_first_of_their_languages_that_is_written(key, spoken, expected):
    assert texts.Texts({}).language_for(key, spoken) == expected


def test_an_admins_text_in_a_language_twilio_cannot_speak_is_not_used_for_calls():
    wording = texts.Texts({("reminder_senior_voice", "so"): "Salaan {senior}",
                           ("reminder_senior_sms", "so"): "Salaan {senior}"})
    assert "so" not in VOICES
    assert wording.language_for("reminder_senior_voice", ["so"]) == "sv"
    assert wording.language_for("reminder_senior_sms", ["so"]) == "so"


def test_a_placeholder_a_newer_version_no_longer_fills_is_left_empty():
    assert texts.render("Hej {gammal}!", {}, "sms") == "Hej !"


def test_dates_far_ahead_name_the_day():
    later = NOW - timedelta(days=30)
    assert texts.when(NOW, later, TZ, "sv") == "tisdag 1 december kl. 09.00"
