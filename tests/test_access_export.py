"""What a registerutdrag holds (vanringen/access_export.py): every table that can hold data
about a person, each section filled from a seeded person, and nothing of anyone else
beyond a first name."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel
from test_matches import make_pair, make_senior, make_volunteer

from vanringen.access_export import (
    EXCLUDED_TABLES,
    SECTIONS,
    TABLE_SECTIONS,
    collect_senior,
    collect_volunteer,
    redactor,
)
from vanringen.models import (
    AuditEvent,
    CallLog,
    Consent,
    InboundMessage,
    IntakeRequest,
    MatchProposal,
    MatchRun,
    Message,
    PairPause,
    PersonEvent,
    Rejection,
    ScheduledCall,
    Senior,
    SmsOptOut,
    Task,
)

TZ = ZoneInfo("Europe/Stockholm")
HOSTILE = '<script>alert("x")</script>'


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


@dataclass
class World:
    senior: object
    volunteer: object
    other_senior: object
    pair: object
    other_pair: object
    staff: object


def seed(session, staff) -> World:
    """Gunhild and her phone friend Ragnar in every table; Ragnar's other senior Britta,
    and a volunteer Sven whom Gunhild turned down, as the people who must not leak."""
    gunhild = make_senior(session, "Gunhild", last_name="Ödmark", phone="+46701234567",
                          external_id="S-0042", status="matched",
                          notes=f"Tycker om Ragnar Tvärsten. {HOSTILE}")
    ragnar = make_volunteer(session, "Ragnar", last_name="Tvärsten", phone="+46709876543",
                            email="ragnar.tvarsten@example.se", external_id="V-0007",
                            capacity=2, motivation="Vill göra nytta")
    britta = make_senior(session, "Britta", last_name="Klöverhage", phone="+46705550001",
                         status="matched", notes="Brittas hemliga anteckning")
    sven = make_volunteer(session, "Sven", last_name="Ekholmsson", phone="+46708880000",
                          email="sven@example.se")
    pair = make_pair(session, gunhild, ragnar, call_times="tue 14:00",
                     explanation="Båda gillar trädgård", handover_note="Hör lite dåligt",
                     started_at=at("2026-10-01 10:00"), approved_by_id=staff.id)
    other = make_pair(session, britta, ragnar, call_times="thu 10:00",
                      started_at=at("2026-10-02 10:00"))
    call = ScheduledCall(pair_id=pair.id, slot="tue 14:00", occurs_on=date(2026, 11, 3),
                         scheduled_at=at("2026-11-03 14:00"), note="Flyttad för tandläkaren")
    session.add(call)
    session.flush()
    session.add_all([
        Consent(senior_id=gunhild.id, method="verbal", text_version="senior-v1",
                text="Gunhilds samtyckestext", given_on=date(2026, 9, 30),
                recorded_by_id=staff.id, recorded_by_name="Karin Koordinator"),
        Consent(volunteer_id=ragnar.id, method="web", text_version="volunteer-v1",
                text="Ragnars samtyckestext", given_on=date(2026, 9, 1)),
        PersonEvent(senior_id=gunhild.id, actor_id=staff.id, action="created",
                    to_status="waiting", detail="Registrerad i telefon",
                    at=at("2026-09-30 09:00")),
        PersonEvent(senior_id=gunhild.id, actor_id=staff.id, action="paired",
                    from_status="waiting", to_status="matched",
                    detail=f"Telefonvän: Ragnar Tvärsten (volontär #{ragnar.id}), tis 14:00",
                    at=at("2026-10-01 10:00")),
        PersonEvent(volunteer_id=ragnar.id, actor_id=staff.id, action="paired",
                    detail=f"Telefonvän till Gunhild Ödmark (senior #{gunhild.id})",
                    at=at("2026-10-01 10:00")),
        PersonEvent(volunteer_id=ragnar.id, actor_id=staff.id, action="paired",
                    detail=f"Telefonvän till Britta Klöverhage (senior #{britta.id})",
                    at=at("2026-10-02 10:00")),
        PersonEvent(senior_id=britta.id, actor_id=staff.id, action="updated",
                    detail="Brittas händelse"),
        PairPause(pair_id=pair.id, starts_on=date(2026, 12, 20), resumes_on=date(2027, 1, 5),
                  reason="Gunhild hälsar på sin syster", created_by_id=staff.id),
        CallLog(pair_id=pair.id, call_id=call.id, outcome="held", minutes=35,
                occurred_at=at("2026-11-03 14:05"), source="sms",
                note="Pratade om trädgården", concern="Låter trött",
                reported_by_volunteer_id=ragnar.id),
        CallLog(pair_id=other.id, outcome="held", minutes=20,
                occurred_at=at("2026-11-05 10:00"), source="sms",
                note="Britta pratade om barnbarnen", reported_by_volunteer_id=ragnar.id),
        Message(channel="sms", recipient=gunhild.phone, kind="reminder_senior_sms",
                body="Hej Gunhild! I dag ringer Ragnar.", status="delivered",
                senior_id=gunhild.id, volunteer_id=ragnar.id, call_id=call.id,
                due_at=at("2026-11-03 09:00"), sent_at=at("2026-11-03 09:00")),
        Message(channel="sms", recipient=ragnar.phone, kind="reminder_volunteer",
                body="Hej Ragnar! Ring Gunhild Ödmark på 070-123 45 67 kl. 14.",
                status="delivered", senior_id=gunhild.id, volunteer_id=ragnar.id,
                due_at=at("2026-11-03 09:00"), sent_at=at("2026-11-03 09:00")),
        Message(channel="sms", recipient=ragnar.phone, kind="pair_volunteer",
                body="Din nya telefonvän: Britta Klöverhage, 0705550001.", status="sent",
                senior_id=britta.id, volunteer_id=ragnar.id, due_at=at("2026-10-02 10:00")),
        Message(channel="sms", recipient=britta.phone, kind="reminder_senior_sms",
                body="Hej Britta! Brittas påminnelse.", status="sent", senior_id=britta.id,
                volunteer_id=ragnar.id, due_at=at("2026-11-05 09:00")),
        Message(channel="sms", recipient=gunhild.phone, kind="opt_out_confirmation",
                body="Du får inga fler SMS från Vänringen.", status="sent",
                due_at=at("2026-11-20 12:00")),
        InboundMessage(provider_id="SMin1", from_number=gunhild.phone,
                       body="Tack för samtalet!", senior_id=gunhild.id,
                       received_at=at("2026-11-03 15:00")),
        InboundMessage(provider_id="SMin2", from_number=ragnar.phone, body="JA 35",
                       volunteer_id=ragnar.id, received_at=at("2026-11-03 14:50")),
        InboundMessage(provider_id="SMin3", from_number=britta.phone, body="Brittas SMS",
                       senior_id=britta.id),
        Task(kind="concern", urgent=True, title="Oro för Gunhild Ödmark",
             detail="Ragnar Tvärsten (070-987 65 43) tycker att hon låter trött",
             senior_id=gunhild.id, volunteer_id=ragnar.id, pair_id=pair.id,
             status="done", closed_at=at("2026-11-04 10:00"), closed_by_id=staff.id,
             closing_note="Ringde Gunhild, allt väl"),
        Task(kind="inbound_sms", title="SMS från Britta", detail="Brittas uppgift",
             senior_id=britta.id),
        IntakeRequest(call_sid="CA-intake-1", from_number=gunhild.phone, choice="friend",
                      recording_sid="RE-1", recording_url="https://api.twilio.com/rec/RE-1",
                      recording_seconds=42, transcription="Jag vill ha någon att prata med",
                      senior_id=gunhild.id, status="done", handled_by_id=staff.id,
                      handled_at=at("2026-09-30 09:00"), created_at=at("2026-09-29 17:00")),
        IntakeRequest(call_sid="CA-intake-2", from_number="+46700000999",
                      transcription="Någon annans inspelning"),
        SmsOptOut(phone=gunhild.phone, keyword="STOPP", at=at("2026-11-20 12:00")),
        Rejection(senior_id=gunhild.id, volunteer_id=sven.id, by_id=staff.id,
                  reason="Sven Ekholmsson pratade för fort", at=at("2026-09-30 12:00")),
        AuditEvent(action="view", actor_id=staff.id, endpoint="seniors.detail",
                   senior_id=gunhild.id, at=at("2026-10-05 09:00")),
        AuditEvent(action="view", actor_id=staff.id, endpoint="pairs.detail",
                   pair_id=pair.id, at=at("2026-10-06 09:00")),
        AuditEvent(action="view", actor_volunteer_id=ragnar.id, endpoint="volunteer_page.page",
                   volunteer_id=ragnar.id, pair_id=pair.id, at=at("2026-10-07 09:00")),
        AuditEvent(action="change", actor_id=staff.id, endpoint="seniors.edit",
                   senior_id=britta.id, at=at("2026-10-08 09:00")),
    ])
    run = MatchRun(by_id=staff.id, started_at=at("2026-09-30 11:00"), seniors=2, volunteers=2)
    session.add(run)
    session.flush()
    session.add_all([
        MatchProposal(run_id=run.id, senior_id=gunhild.id, volunteer_id=ragnar.id, rank=0,
                      score=0.82, explanation="Trädgård och samma eftermiddagar",
                      status="approved", decided_by_id=staff.id,
                      decided_at=at("2026-10-01 10:00")),
        MatchProposal(run_id=run.id, senior_id=britta.id, volunteer_id=ragnar.id, rank=0,
                      score=0.7, explanation="Brittas förslag", status="approved"),
    ])
    session.commit()
    return World(gunhild, ragnar, britta, pair, other, staff)


@pytest.fixture
def world(session, coordinator):
    return seed(session, coordinator)


def text_of(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def phone_forms(e164: str) -> list[str]:
    national = "0" + e164[3:]
    return [e164, national, f"{national[:3]}-{national[3:6]} {national[6:8]} {national[8:]}"]


# ---------------------------------------------------------------- every table is covered

LINK_COLUMNS = {"senior_id", "volunteer_id", "pair_id", "phone", "from_number", "recipient",
                "actor_volunteer_id"}


def test_every_table_is_either_exported_or_deliberately_left_out():
    tables = {table.name for table in SQLModel.metadata.sorted_tables}
    assert set(TABLE_SECTIONS) | set(EXCLUDED_TABLES) == tables
    assert not set(TABLE_SECTIONS) & set(EXCLUDED_TABLES)
    assert set(TABLE_SECTIONS.values()) <= set(SECTIONS)


def test_every_table_that_can_name_a_person_is_exported():
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "staff_user":
            continue  # the staff, not the people the programme serves
        if LINK_COLUMNS & set(table.columns.keys()):
            assert table.name in TABLE_SECTIONS, table.name


# ---------------------------------------------------------------- the senior

def test_a_senior_export_holds_every_section(app, session, world):
    with app.app_context():
        data = collect_senior(world.senior, session=session)
    assert json.loads(json.dumps(data)) == data
    assert data["programme"]["name"] == "Vänringen"
    assert data["subject"] == {"kind": "senior", "id": world.senior.id}
    assert datetime.fromisoformat(data["generated_at"]).utcoffset() is not None
    for section in SECTIONS:
        assert data[section], section

    profile = data["profile"]
    assert (profile["first_name"], profile["last_name"], profile["phone"],
            profile["external_id"]) == ("Gunhild", "Ödmark", "+46701234567", "S-0042")
    assert HOSTILE in profile["notes"]
    assert datetime.fromisoformat(profile["created_at"]).utcoffset() is not None

    assert [c["text"] for c in data["consents"]] == ["Gunhilds samtyckestext"]
    assert data["consents"][0]["recorded_by_name"] == "Karin Koordinator"
    assert [e["action"] for e in data["history"]] == ["created", "paired"]
    assert {e["by"] for e in data["history"]} == {"Karin Koordinator"}
    [pair] = data["pairs"]
    assert pair["volunteer_first_name"] == "Ragnar"
    assert (pair["id"], pair["call_times"], pair["handover_note"], pair["approved_by"]) == \
        (world.pair.id, "tue 14:00", "Hör lite dåligt", "Karin Koordinator")
    assert [p["reason"] for p in data["pair_pauses"]] == ["Gunhild hälsar på sin syster"]
    [call] = data["scheduled_calls"]
    assert call["note"] == "Flyttad för tandläkaren"
    assert call["scheduled_at"] == "2026-11-03T14:00:00+01:00"
    [log] = data["call_logs"]
    assert (log["note"], log["concern"], log["minutes"], log["reported_by"]) == \
        ("Pratade om trädgården", "Låter trött", 35, "Ragnar")
    assert [(m["kind"], m["body"]) for m in data["messages_sent"]] == [
        ("reminder_senior_sms", "Hej Gunhild! I dag ringer Ragnar."),
        ("opt_out_confirmation", "Du får inga fler SMS från Vänringen.")]
    assert data["messages_sent"][0]["sent_at"] == "2026-11-03T09:00:00+01:00"
    assert data["messages_sent"][0]["status"] == "delivered"
    assert [m["body"] for m in data["messages_received"]] == ["Tack för samtalet!"]
    [task] = data["tasks"]
    assert (task["title"], task["status"], task["closing_note"], task["closed_by"]) == \
        ("Oro för Gunhild Ödmark", "done", "Ringde Gunhild, allt väl", "Karin Koordinator")
    [intake] = data["intake_calls"]
    assert intake["transcription"] == "Jag vill ha någon att prata med"
    assert intake["recording_exists"] is True and intake["recording_seconds"] == 42
    [proposal] = data["match_proposals"]
    assert (proposal["volunteer_first_name"], proposal["explanation"], proposal["status"]) == \
        ("Ragnar", "Trädgård och samma eftermiddagar", "approved")
    assert proposal["proposed_at"] == "2026-09-30T11:00:00+02:00"
    [rejection] = data["rejections"]
    assert rejection["volunteer_first_name"] == "Sven"
    assert [o["keyword"] for o in data["sms_opt_out"]] == ["STOPP"]
    assert [(a["endpoint"], a["by_kind"], a["by"]) for a in data["access_log"]] == [
        ("seniors.detail", "staff", "Karin Koordinator"),
        ("pairs.detail", "staff", "Karin Koordinator"),
        ("volunteer_page.page", "volunteer", "Ragnar")]


def test_a_senior_export_names_others_by_first_name_only(app, session, world):
    with app.app_context():
        text = text_of(collect_senior(world.senior, session=session))
    assert "Ragnar" in text
    ragnar, britta = world.volunteer, world.other_senior
    for secret in ["Tvärsten", ragnar.email, "V-0007", *phone_forms(ragnar.phone),
                   "Britta", "Klöverhage", *phone_forms(britta.phone), "Brittas",
                   "barnbarnen", "Ekholmsson", "sven@example.se", "Vill göra nytta",
                   "Ragnars samtyckestext", "Någon annans inspelning"]:
        assert secret not in text, secret
    # The senior's own words about the volunteer keep the first name.
    assert "Tycker om Ragnar […]" in text
    assert "Sven […] pratade för fort" in text


def test_the_volunteers_reminder_about_the_senior_is_not_the_seniors(app, session, world):
    with app.app_context():
        data = collect_senior(world.senior, session=session)
    assert all(m["recipient"] == world.senior.phone for m in data["messages_sent"])


def test_an_export_of_someone_with_nothing_stored_has_empty_sections(app, session):
    lone = make_senior(session, "Ensam", phone="+46701119999")
    with app.app_context():
        data = collect_senior(lone, session=session)
    assert data["profile"]["first_name"] == "Ensam"
    assert all(data[section] == [] for section in SECTIONS[1:])


# ---------------------------------------------------------------- the volunteer

def test_a_volunteer_export_holds_their_pairs_and_messages(app, session, world):
    with app.app_context():
        data = collect_volunteer(world.volunteer, session=session)
    assert data["subject"] == {"kind": "volunteer", "id": world.volunteer.id}
    profile = data["profile"]
    assert (profile["email"], profile["motivation"], profile["external_id"]) == \
        ("ragnar.tvarsten@example.se", "Vill göra nytta", "V-0007")
    assert [c["text"] for c in data["consents"]] == ["Ragnars samtyckestext"]
    assert {p["senior_first_name"] for p in data["pairs"]} == {"Gunhild", "Britta"}
    assert all("handover_note" not in p for p in data["pairs"])
    assert {log["note"] for log in data["call_logs"]} == \
        {"Pratade om trädgården", "Britta pratade om barnbarnen"}
    assert {m["kind"] for m in data["messages_sent"]} == {"reminder_volunteer",
                                                          "pair_volunteer"}
    assert [m["body"] for m in data["messages_received"]] == ["JA 35"]
    assert [t["title"] for t in data["tasks"]] == ["Oro för Gunhild […]"]
    assert {p["senior_first_name"] for p in data["match_proposals"]} == {"Gunhild", "Britta"}
    assert ("volunteer_page.page", "volunteer", "Ragnar") in [
        (a["endpoint"], a["by_kind"], a["by"]) for a in data["access_log"]]
    assert data["intake_calls"] == [] and data["rejections"] == []


def test_a_volunteer_export_keeps_the_seniors_numbers_and_last_names_out(app, session, world):
    with app.app_context():
        text = text_of(collect_volunteer(world.volunteer, session=session))
    assert "Gunhild" in text and "Britta" in text
    for senior in (world.senior, world.other_senior):
        for secret in [senior.last_name, *phone_forms(senior.phone), senior.notes]:
            assert secret not in text, secret
    for secret in ["S-0042", "Hör lite dåligt", "Tack för samtalet", "Gunhilds samtyckestext",
                   "Jag vill ha någon att prata med"]:
        assert secret not in text, secret


# ---------------------------------------------------------------- the redactor

@pytest.mark.parametrize("written", [
    "+46709876543", "0709876543", "070-987 65 43", "070 987 65 43", "+46 70 987 65 43",
    "0046709876543", "070-9876543"])
def test_every_written_form_of_a_number_is_redacted(written):
    other = Senior(first_name="Ragnar", last_name="Tvärsten", phone="+46709876543",
                   gender="male")
    assert redactor([other])(f"Ring {written} nu") == "Ring […] nu"


def test_a_last_name_is_redacted_as_a_word_only():
    other = Senior(first_name="Ola", last_name="Berg", phone="+46709876543", gender="male")
    redact = redactor([other])
    assert redact("Ola Berg bor på Bergsgatan") == "Ola […] bor på Bergsgatan"
    # A shared last name is the person's own too: it stays.
    assert redactor([other], own_last_name="Berg")("Ola Berg") == "Ola Berg"


def test_longer_numbers_that_contain_a_number_are_left_alone():
    other = Senior(first_name="Ola", last_name="", phone="+46709876543", gender="male")
    assert redactor([other])("Ordernr 07098765431") == "Ordernr 07098765431"


def test_iso_times_carry_the_time_zone(app, session, world):
    with app.app_context():
        data = collect_senior(world.senior, session=session, tz=ZoneInfo("UTC"))
    stamps = re.findall(r'"(\d{4}-\d\d-\d\dT[^"]+)"', text_of(data))
    assert stamps and all(datetime.fromisoformat(s).utcoffset() is not None for s in stamps)
    assert data["scheduled_calls"][0]["scheduled_at"] == "2026-11-03T13:00:00+00:00"
