"""The coordinator's volunteer pages: list, detail, edit, and the screening workflow."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from vanringen.models import Consent, PersonEvent, Volunteer
from vanringen.volunteers import (
    TRANSITIONS,
    allowed_transitions,
    apply_transition,
    extract_state,
    is_matchable,
)

VALID_DAYS = 365


def today():
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def add_volunteer(session, **kw) -> Volunteer:
    n = len(session.exec(select(Volunteer)).all()) + 1
    values = {"first_name": f"Volontär{n}", "last_name": "Testsson",
              "phone": f"+467012{n:05d}", "email": f"v{n}@example.se", "gender": "female",
              "languages": "sv", "availability": "mon-evening", "birth_year": 1980}
    values.update(kw)
    volunteer = Volunteer(**values)
    session.add(volunteer)
    session.commit()
    return volunteer


def reload(session, volunteer) -> Volunteer:
    session.expire_all()
    return session.get(Volunteer, volunteer.id)


def events(session, volunteer) -> list[PersonEvent]:
    session.expire_all()
    return session.exec(select(PersonEvent).where(PersonEvent.volunteer_id == volunteer.id)
                        .order_by(PersonEvent.id)).all()


def listed(client, **args) -> list[str]:
    response = client.get("/volontarer/", query_string=args)
    assert response.status_code == 200
    return re.findall(r'<a href="/volontarer/\d+">([^<]+)</a>', response.get_data(as_text=True))


def act(client, volunteer, action, **data):
    path = f"/volontarer/{volunteer.id}"
    return client.submit(f"{path}/status/{action}", data, form_path=path, follow_redirects=True)


# --- the rules, without a request -------------------------------------------------------

def test_transition_table():
    assert allowed_transitions("applied") == ["interview", "decline", "withdraw"]
    assert allowed_transitions("interviewed") == ["record_check", "decline", "withdraw"]
    assert allowed_transitions("record_checked") == ["train", "renew_record", "decline",
                                                     "withdraw"]
    assert allowed_transitions("trained") == ["approve", "renew_record", "decline", "withdraw"]
    assert allowed_transitions("approved") == ["renew_record", "decline", "withdraw"]
    assert allowed_transitions("declined") == ["reopen"]
    assert allowed_transitions("withdrawn") == ["reopen"]
    assert set(TRANSITIONS) == {"interview", "record_check", "train", "approve",
                                "renew_record", "decline", "withdraw", "reopen"}


def test_extract_state_and_matchable():
    day = today()
    assert extract_state(None, day, VALID_DAYS) == "missing"
    assert extract_state(day - timedelta(days=VALID_DAYS), day, VALID_DAYS) == "valid"
    assert extract_state(day - timedelta(days=VALID_DAYS + 1), day, VALID_DAYS) == "expired"
    fresh = Volunteer(status="approved", police_record_checked_on=day)
    assert is_matchable(fresh, day, VALID_DAYS)
    assert not is_matchable(fresh, day + timedelta(days=VALID_DAYS + 1), VALID_DAYS)
    assert not is_matchable(Volunteer(status="trained", police_record_checked_on=day), day,
                            VALID_DAYS)
    assert not is_matchable(Volunteer(status="approved"), day, VALID_DAYS)


def test_apply_transition_refuses_without_changing(app, session):
    volunteer = add_volunteer(session)
    with app.test_request_context():
        with pytest.raises(ValueError, match="Godkänn.*Ansökt"):
            apply_transition(volunteer, "approve", {}, session=session, today=today(),
                             valid_days=VALID_DAYS)
        with pytest.raises(ValueError, match="Okänd åtgärd"):
            apply_transition(volunteer, "promote", {}, session=session, today=today(),
                             valid_days=VALID_DAYS)
        with pytest.raises(ValueError, match="framtiden"):
            apply_transition(volunteer, "interview",
                             {"date": (today() + timedelta(days=1)).isoformat()},
                             session=session, today=today(), valid_days=VALID_DAYS)
        with pytest.raises(ValueError, match="ÅÅÅÅ-MM-DD"):
            apply_transition(volunteer, "interview", {"date": "igår"}, session=session,
                             today=today(), valid_days=VALID_DAYS)
        assert volunteer.status == "applied" and volunteer.interviewed_on is None
        event = apply_transition(volunteer, "interview", {"date": today().isoformat()},
                                 session=session, today=today(), valid_days=VALID_DAYS)
    assert volunteer.status == "interviewed" and volunteer.interviewed_on == today()
    assert (event.from_status, event.to_status, event.action) == ("applied", "interviewed",
                                                                  "status")


# --- the list ---------------------------------------------------------------------------

def test_search_by_name_email_phone_and_external_id(logged_in, session):
    add_volunteer(session, first_name="Åsa", last_name="Öberg", phone="+46701234567",
                  email="asa@example.se", external_id="V-0042")
    add_volunteer(session, first_name="Bertil", last_name="Berg", phone="+46739876543",
                  email="bertil@example.se")
    assert listed(logged_in, q="åsa") == ["Åsa Öberg"]
    assert listed(logged_in, q="ÅSA ÖBERG") == ["Åsa Öberg"]
    assert sorted(listed(logged_in, q="berg")) == ["Bertil Berg", "Åsa Öberg"]
    assert listed(logged_in, q="TIL ber") == ["Bertil Berg"]
    assert listed(logged_in, q="BERTIL@EXAMPLE") == ["Bertil Berg"]
    assert listed(logged_in, q="070-123 45 67") == ["Åsa Öberg"]
    assert listed(logged_in, q="+46 70 123 45 67") == ["Åsa Öberg"]
    assert listed(logged_in, q="987 65") == ["Bertil Berg"]
    assert listed(logged_in, q="v-0042") == ["Åsa Öberg"]
    assert listed(logged_in, q="50%") == []


def test_filters_status_language_since_and_renewal(logged_in, session):
    day = today()
    old = day - timedelta(days=VALID_DAYS + 10)
    add_volunteer(session, first_name="Ny", last_name="Sökande", languages="sv;es")
    add_volunteer(session, first_name="Sam", last_name="Same", languages="se",
                  status="approved", police_record_checked_on=old,
                  created_at=datetime(2020, 1, 1, tzinfo=UTC))
    add_volunteer(session, first_name="Färsk", last_name="Utdrag", languages="fi;sv",
                  status="approved", police_record_checked_on=day)
    add_volunteer(session, first_name="Slutat", last_name="Nu", status="withdrawn",
                  police_record_checked_on=old)

    assert sorted(listed(logged_in, status="approved")) == ["Färsk Utdrag", "Sam Same"]
    assert sorted(listed(logged_in, language="sv")) == ["Färsk Utdrag", "Ny Sökande",
                                                         "Slutat Nu"]
    assert listed(logged_in, language="se") == ["Sam Same"]  # not "sv;es"
    assert listed(logged_in, renew="y") == ["Sam Same"]  # not the one who has left
    assert "Sam Same" not in listed(logged_in, since="2021-01-01")
    assert "Sam Same" in listed(logged_in, since="2019-12-31")
    assert listed(logged_in, status="approved", language="fi") == ["Färsk Utdrag"]
    page = logged_in.get("/volontarer/", query_string={"renew": "y"}).get_data(as_text=True)
    assert "Behöver förnyas" in page


def test_bad_filter_value_is_ignored(logged_in, session):
    add_volunteer(session, first_name="Kvar", last_name="Här")
    assert listed(logged_in, since="inte-ett-datum") == ["Kvar Här"]


def test_pagination_50_per_page(logged_in, session):
    for n in range(55):
        session.add(Volunteer(first_name=f"P{n:02d}", last_name="Sida", phone=f"+4670999{n:04d}",
                              gender="male", created_at=datetime(2024, 1, 1, tzinfo=UTC)
                              + timedelta(minutes=n)))
    session.commit()
    first = listed(logged_in)
    assert len(first) == 50 and first[0] == "P54 Sida"  # newest first
    second = listed(logged_in, page=2)
    assert second == [f"P{n:02d} Sida" for n in range(4, -1, -1)]
    page = logged_in.get("/volontarer/").get_data(as_text=True)
    assert "Sida 1 av 2" in page and "page=2" in page
    assert listed(logged_in, page=99) == second


# --- detail and workflow ----------------------------------------------------------------

def test_detail_shows_profile_consent_and_history(logged_in, session, coordinator):
    volunteer = add_volunteer(session, first_name="Greta", last_name="Gran", capacity=2,
                              languages="sv;fi", availability="tue-evening",
                              interests="Schack")
    session.add(Consent(volunteer_id=volunteer.id, method="web", text_version="volunteer-v1",
                        text="Samtyckestext", given_on=today()))
    session.add(PersonEvent(volunteer_id=volunteer.id, action="created", to_status="applied"))
    session.commit()
    page = logged_in.get(f"/volontarer/{volunteer.id}").get_data(as_text=True)
    for text in ("Greta Gran", "070-120 00 01", "svenska, finska", "tisdag kväll", "Schack",
                 "Webbformulär", "volunteer-v1", "Samtyckestext", "Ansökan mottagen",
                 "Sökanden (webben)", "Saknas"):
        assert text in page, text
    assert logged_in.get("/volontarer/9999").status_code == 404


def test_whole_workflow_through_the_web(logged_in, session, coordinator):
    volunteer = add_volunteer(session)
    day = today()
    steps = [
        ("interview", {"date": day.isoformat(), "note": "Trevlig"}, "interviewed"),
        ("record_check", {"date": (day - timedelta(days=3)).isoformat()}, "record_checked"),
        ("train", {"date": day.isoformat(), "course": "Grundkurs vår"}, "trained"),
        ("approve", {}, "approved"),
    ]
    previous = "applied"
    for action, data, status in steps:
        response = act(logged_in, volunteer, action, **data)
        assert response.status_code == 200
        assert "Sparat" in response.get_data(as_text=True)
        assert reload(session, volunteer).status == status
        last = events(session, volunteer)[-1]
        assert (last.from_status, last.to_status) == (previous, status)
        assert last.actor_id == coordinator.id
        previous = status
    volunteer = reload(session, volunteer)
    assert volunteer.interviewed_on == day
    assert volunteer.police_record_checked_on == day - timedelta(days=3)
    assert (volunteer.trained_on, volunteer.training_course) == (day, "Grundkurs vår")
    assert volunteer.approved_at is not None
    assert is_matchable(volunteer, day, VALID_DAYS)

    page = logged_in.get(f"/volontarer/{volunteer.id}").get_data(as_text=True)
    history = page.split("Historik")[1]
    for text in ("Ansökt → Intervjuad", "Intervjuad → Utdrag kontrollerat",
                 "Utdrag kontrollerat → Utbildad", "Utbildad → Godkänd", "Trevlig",
                 "Grundkurs vår", "Karin Koordinator"):
        assert text in history, text
    # Newest first.
    assert history.index("Utbildad → Godkänd") < history.index("Ansökt → Intervjuad")
    assert "Godkänd och kan matchas" in page


@pytest.mark.parametrize("status, action", [
    ("applied", "approve"), ("applied", "train"), ("interviewed", "approve"),
    ("record_checked", "interview"), ("approved", "interview"), ("declined", "approve"),
    ("withdrawn", "decline"), ("applied", "reopen"), ("applied", "renew_record"),
    ("trained", "fly"),
])
def test_invalid_transitions_are_refused(logged_in, session, status, action):
    volunteer = add_volunteer(session, status=status, police_record_checked_on=today())
    response = act(logged_in, volunteer, action, date=today().isoformat(), reason="x",
                   course="Kurs")
    page = response.get_data(as_text=True)
    assert "flash-error" in page
    assert ("går inte att göra" in page) or ("Okänd åtgärd" in page)
    assert reload(session, volunteer).status == status
    assert events(session, volunteer) == []


@pytest.mark.parametrize("data, message", [
    ({}, "Ange datum för utdraget som ett datum"),
    ({"date": (today() + timedelta(days=1)).isoformat()}, "kan inte ligga i framtiden"),
    ({"date": (today() - timedelta(days=VALID_DAYS + 1)).isoformat()}, "är för gammalt"),
])
def test_record_check_date_is_checked(logged_in, session, data, message):
    volunteer = add_volunteer(session, status="interviewed")
    page = act(logged_in, volunteer, "record_check", **data).get_data(as_text=True)
    assert message in page
    assert reload(session, volunteer).status == "interviewed"
    assert reload(session, volunteer).police_record_checked_on is None


def test_training_needs_a_course_name(logged_in, session):
    volunteer = add_volunteer(session, status="record_checked", police_record_checked_on=today())
    page = act(logged_in, volunteer, "train", date=today().isoformat()).get_data(as_text=True)
    assert "Ange kursens namn" in page
    assert reload(session, volunteer).status == "record_checked"


def test_approval_needs_a_valid_extract_and_a_new_one_helps(logged_in, session):
    expired = today() - timedelta(days=VALID_DAYS + 1)
    volunteer = add_volunteer(session, status="trained", police_record_checked_on=expired)
    detail = logged_in.get(f"/volontarer/{volunteer.id}").get_data(as_text=True)
    assert "Utdraget har gått ut" in detail and "badge-warn" in detail

    page = act(logged_in, volunteer, "approve").get_data(as_text=True)
    assert "Kan inte godkänna" in page and "har gått ut" in page
    assert reload(session, volunteer).status == "trained"

    older = (expired - timedelta(days=1)).isoformat()
    assert "för gammalt" in act(logged_in, volunteer, "renew_record",
                                date=older).get_data(as_text=True)
    act(logged_in, volunteer, "renew_record", date=today().isoformat())
    volunteer = reload(session, volunteer)
    assert volunteer.police_record_checked_on == today() and volunteer.status == "trained"
    renewed = events(session, volunteer)[-1]
    assert renewed.action == "police_record"
    assert (renewed.from_status, renewed.to_status) == ("trained", "trained")
    assert expired.isoformat() in renewed.detail

    act(logged_in, volunteer, "approve")
    assert reload(session, volunteer).status == "approved"


def test_approval_refused_without_any_extract(logged_in, session):
    volunteer = add_volunteer(session, status="trained")
    page = act(logged_in, volunteer, "approve").get_data(as_text=True)
    assert "utdrag ur belastningsregistret saknas" in page
    assert reload(session, volunteer).status == "trained"


def test_renewal_for_an_approved_volunteer(logged_in, session):
    earlier = today() - timedelta(days=30)
    volunteer = add_volunteer(session, status="approved", police_record_checked_on=earlier)
    page = act(logged_in, volunteer, "renew_record",
               date=(earlier - timedelta(days=1)).isoformat()).get_data(as_text=True)
    assert "kan inte vara äldre än det förra" in page
    act(logged_in, volunteer, "renew_record", date=today().isoformat())
    volunteer = reload(session, volunteer)
    assert volunteer.police_record_checked_on == today() and volunteer.status == "approved"


@pytest.mark.parametrize("action, status", [("decline", "declined"),
                                            ("withdraw", "withdrawn")])
def test_decline_and_withdraw_need_a_reason(logged_in, session, action, status):
    volunteer = add_volunteer(session, status="interviewed")
    page = act(logged_in, volunteer, action, reason="   ").get_data(as_text=True)
    assert "Ange en anledning" in page
    assert reload(session, volunteer).status == "interviewed"

    act(logged_in, volunteer, action, reason="Flyttar till Malmö")
    volunteer = reload(session, volunteer)
    assert volunteer.status == status and volunteer.status_reason == "Flyttar till Malmö"
    event = events(session, volunteer)[-1]
    assert (event.from_status, event.to_status, event.detail) == ("interviewed", status,
                                                                  "Flyttar till Malmö")
    page = logged_in.get(f"/volontarer/{volunteer.id}").get_data(as_text=True)
    assert "Flyttar till Malmö" in page and "Öppna igen" in page


def test_reopen(logged_in, session):
    volunteer = add_volunteer(session, status="declined", status_reason="Inte nu")
    act(logged_in, volunteer, "reopen", note="Hörde av sig igen")
    volunteer = reload(session, volunteer)
    assert volunteer.status == "applied" and volunteer.status_reason == ""
    event = events(session, volunteer)[-1]
    assert (event.from_status, event.to_status) == ("declined", "applied")
    assert event.detail == "Hörde av sig igen"


# --- edit -------------------------------------------------------------------------------

def edit_data(volunteer, **overrides):
    data = {"first_name": volunteer.first_name, "last_name": volunteer.last_name,
            "mobile": volunteer.phone, "email": volunteer.email,
            "birth_year": str(volunteer.birth_year), "gender": volunteer.gender,
            "languages": volunteer.language_list, "other_languages": "",
            "availability": volunteer.slot_list, "capacity": str(volunteer.capacity),
            "interests": volunteer.interests, "motivation": volunteer.motivation}
    data.update(overrides)
    return data


def test_edit_records_changed_field_names(logged_in, session):
    volunteer = add_volunteer(session, languages="sv;et")
    path = f"/volontarer/{volunteer.id}/andra"
    form = logged_in.get(path).get_data(as_text=True)
    assert 'value="Volontär1"' in form and 'value="et"' in form  # et is typed, not ticked

    response = logged_in.submit(path, edit_data(volunteer, languages=["sv"],
                                                other_languages="et", capacity="2",
                                                mobile="073-555 12 34",
                                                availability=["sun-morning"]))
    assert response.status_code == 302
    volunteer = reload(session, volunteer)
    assert volunteer.capacity == 2 and volunteer.phone == "+46735551234"
    assert volunteer.languages == "sv;et" and volunteer.availability == "sun-morning"
    event = events(session, volunteer)[-1]
    assert event.action == "updated"
    assert event.detail == "phone, availability, capacity"

    page = logged_in.get(f"/volontarer/{volunteer.id}").get_data(as_text=True)
    assert "Uppgifter ändrade" in page and "Mobilnummer, När kan du ringa?, Antal seniorer" in page

    unchanged = logged_in.submit(path, edit_data(volunteer, languages=["sv"],
                                                 other_languages="et"))
    assert unchanged.status_code == 302
    assert len(events(session, volunteer)) == 1


def test_edit_refuses_bad_values_and_anothers_email(logged_in, session):
    other = add_volunteer(session, email="taken@example.se")
    volunteer = add_volunteer(session)
    path = f"/volontarer/{volunteer.id}/andra"
    bad = logged_in.submit(path, edit_data(volunteer, first_name="", mobile="08-123 456 78"))
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Ange förnamn" in page and "Ange ett giltigt mobilnummer" in page
    taken = logged_in.submit(path, edit_data(volunteer, email="TAKEN@example.se"))
    assert taken.status_code == 422
    assert f"{other.full_name} har redan den här e-postadressen" in taken.get_data(as_text=True)
    assert reload(session, volunteer).email == volunteer.email
    assert events(session, volunteer) == []


def test_edit_allows_what_old_registers_lack(logged_in, session):
    volunteer = add_volunteer(session, last_name="", email=None, external_id="GAMMAL-7")
    path = f"/volontarer/{volunteer.id}/andra"
    response = logged_in.submit(path, edit_data(volunteer, email="", last_name="",
                                                interests="Fiske"))
    assert response.status_code == 302
    volunteer = reload(session, volunteer)
    assert volunteer.email is None and volunteer.interests == "Fiske"
    assert events(session, volunteer)[-1].detail == "interests"


@pytest.mark.parametrize("action", ["decline", "withdraw"])
def test_a_volunteer_with_active_pairs_cannot_be_stopped(logged_in, session, action):
    from test_matches import make_pair, make_senior

    volunteer = add_volunteer(session, status="approved", police_record_checked_on=today(),
                              capacity=2)
    pair = make_pair(session, make_senior(session), volunteer)
    page = act(logged_in, volunteer, action, reason="Flyttar").get_data(as_text=True)
    assert "Volontären har 1 aktivt par. Avsluta paret först" in page
    assert reload(session, volunteer).status == "approved"

    pair.status = "ended"
    session.add(pair)
    session.commit()
    act(logged_in, volunteer, action, reason="Flyttar")
    assert reload(session, volunteer).status in ("declined", "withdrawn")
