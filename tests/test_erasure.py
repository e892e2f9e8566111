"""Erasing a senior or a volunteer (vanringen/erasure.py) without HTTP: what ends, what is
cancelled, what is scrubbed and what the funder's report still counts.

`seed_everything()` and `traces()` are shared with test_erasure_views.py: one senior and one
volunteer written into every table that can hold something about them.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select
from test_matches import make_senior, make_volunteer, stockholm_today
from test_recordings import Spy
from test_report_figures import AFTER, SENIORS, VOLUNTEERS, programme, report

from notifications import PermanentError
from vanringen import audit, matches
from vanringen.cache import get_cache
from vanringen.db import utcnow
from vanringen.erasure import erase_senior, erase_volunteer
from vanringen.erasure_views import withdraw_consent
from vanringen.models import (
    AuditEvent,
    CallLog,
    Consent,
    InboundMessage,
    IntakeRequest,
    MatchProposal,
    MatchRun,
    Message,
    Pair,
    PairPause,
    PersonEvent,
    Rejection,
    ScheduledCall,
    Senior,
    SmsOptOut,
    Task,
    Volunteer,
)
from vanringen.people import record_event
from vanringen.seniors import SENIOR_CONSENT_TEXT
from vanringen.tasks import open_task

SENIOR = {"first_name": "Gunborg", "last_name": "Qvarnström", "phone": "+46701234567",
          "external_id": "SEN-88231"}
VOLUNTEER = {"first_name": "Holger", "last_name": "Östervall", "phone": "+46739876543",
             "email": "holger.ostervall@exempel.se", "external_id": "VOL-55190"}
RECORDING_SID = "RE" + "4f" * 16


def traces(person: dict) -> list[str]:
    """Every way the person could still be found: name parts, number (E.164, 07x and as
    shown on the pages), e-mail and the old register's id."""
    digits = person["phone"].removeprefix("+46")
    found = [person["first_name"], person["last_name"], person["phone"], f"0{digits}",
             f"0{digits[:2]}-{digits[2:5]} {digits[5:7]} {digits[7:]}", person["external_id"]]
    return found + ([person["email"]] if person.get("email") else [])


# The outbox, keeping which recordings it was asked to delete (or failing to).
SpySender = Spy


def seed_everything(session, staff_id: int | None = None) -> tuple[Senior, Volunteer, Pair]:
    """Gunborg and her phone friend Holger in every table; Elsa's and Lisa's notes mention
    them. Needs a request context (pairing plans calls and writes messages)."""
    s_phone, v_phone = SENIOR["phone"], VOLUNTEER["phone"]
    senior = make_senior(session, SENIOR["first_name"], last_name=SENIOR["last_name"],
                         phone=s_phone, external_id=SENIOR["external_id"], birth_year=1941,
                         district="Bromma", days_waiting=60,
                         notes="Gunborg Qvarnström hör dåligt; ring 070-123 45 67 länge.")
    volunteer = make_volunteer(session, VOLUNTEER["first_name"],
                               last_name=VOLUNTEER["last_name"], phone=v_phone,
                               email=VOLUNTEER["email"], external_id=VOLUNTEER["external_id"],
                               motivation="Jag heter Holger och vill ringa någon.",
                               birth_year=1985)
    elsa = make_senior(session, "Elsa", last_name="Nyberg", phone="+46701112233",
                       notes="Granne med Gunborg Qvarnström (0701234567). Hennes telefonvän "
                             "Holger Östervall, holger.ostervall@exempel.se, ringer också.")
    lisa = make_volunteer(session, "Lisa", last_name="Ek", phone="+46702223344",
                          motivation="Tipsad av Holger Östervall (073-987 65 43 eller 0739876543).")
    today = stockholm_today()
    session.add_all([
        Consent(senior_id=senior.id, method="verbal", text_version="senior-v1",
                text=SENIOR_CONSENT_TEXT, given_on=today - timedelta(days=60),
                recorded_by_id=staff_id, recorded_by_name="Karin Koordinator"),
        Consent(volunteer_id=volunteer.id, method="web", text_version="volunteer-v1",
                text="Jag samtycker.", given_on=today - timedelta(days=90))])
    record_event("created", session=session, senior=senior, actor=staff_id,
                 detail="Gunborg Qvarnström, +46701234567, id SEN-88231")
    record_event("created", session=session, volunteer=volunteer, actor=staff_id,
                 detail="Holger Östervall, holger.ostervall@exempel.se, VOL-55190")
    record_event("updated", session=session, senior=elsa, actor=staff_id,
                 detail="Ringde om Gunborg Qvarnström och Holger Östervall (+46739876543)")
    run = MatchRun(seniors=2, volunteers=2, proposed=1)
    session.add(run)
    session.flush()
    session.add_all([
        MatchProposal(run_id=run.id, senior_id=senior.id, volunteer_id=volunteer.id,
                      explanation="Gunborg och Holger delar trädgård.", status="approved"),
        MatchProposal(run_id=run.id, senior_id=elsa.id, volunteer_id=volunteer.id, rank=1,
                      explanation="Elsa och Holger talar svenska.", status="superseded"),
        Rejection(senior_id=senior.id, volunteer_id=lisa.id,
                  reason="Gunborg vill inte prata med Lisa."),
        Rejection(senior_id=elsa.id, volunteer_id=volunteer.id,
                  reason="Holger Östervall bor granne med Elsa.")])
    session.commit()
    pair, messages = matches.create_pair(
        senior, volunteer, ["tue-afternoon"], session=session, today=today, valid_days=365,
        actor=staff_id, confirmed=True, explanation="Gunborg och Holger: rosor och odling.")
    pair.warnings = "Holger bor nära Gunborg."
    for message in messages:
        message.status, message.sent_at, message.provider_id = "delivered", utcnow(), "SM01"
    session.flush()
    future = session.exec(select(ScheduledCall).where(ScheduledCall.pair_id == pair.id)
                          .order_by(ScheduledCall.scheduled_at)).all()
    future[0].note = "Gunborg vill bli uppringd 14:15."
    past_at = utcnow() - timedelta(days=7)
    past = ScheduledCall(pair_id=pair.id, slot="tue 14:00", occurs_on=past_at.date(),
                         scheduled_at=past_at, note="Holger ringde Gunborg.")
    session.add(past)
    session.flush()
    log = CallLog(pair_id=pair.id, call_id=past.id, outcome="held", minutes=25,
                  occurred_at=past_at, source="sms", reported_by_volunteer_id=volunteer.id,
                  note="Gunborg Qvarnström berättade om rosorna.",
                  concern="Gunborg verkar ensam, ring henne på 0701234567.")
    inbound = InboundMessage(provider_id="SMin01", from_number=s_phone, body="Hej det är "
                             "Gunborg, ring mig!", senior_id=senior.id)
    stranger = InboundMessage(provider_id="SMin02", from_number=s_phone, body="STOPP Gunborg",
                              kind="opt_out")
    session.add_all([
        log, inbound, stranger,
        InboundMessage(provider_id="SMin03", from_number=v_phone, volunteer_id=volunteer.id,
                       body="Holger här: samtalet med Gunborg gick bra."),
        Message(channel="sms", recipient=s_phone, kind="reminder_senior_sms",
                body="Hej Gunborg! I dag ringer Holger.", status="failed",
                error=f"The 'To' number {s_phone} is not a valid phone number.",
                senior_id=senior.id, volunteer_id=volunteer.id, params='{"senior": "Gunborg"}'),
        Message(channel="sms", recipient="+46700000001", kind="concern_on_duty",
                body="Vänringen: Holger är orolig för Gunborg. Se Att göra.",
                params='{"senior": "Gunborg", "volontär": "Holger"}', status="delivered"),
        Message(channel="sms", recipient=s_phone, kind="opt_out_confirmation",
                body="Du får inga fler SMS från Vänringen.", status="replied"),
        Message(channel="sms", recipient=v_phone, kind="application_confirmation",
                body="Tack Holger Östervall för din ansökan!", status="delivered",
                volunteer_id=volunteer.id),
        PairPause(pair_id=pair.id, starts_on=today + timedelta(days=30),
                  resumes_on=today + timedelta(days=40), reason="Gunborg på sjukhus."),
        IntakeRequest(call_sid="CA" + "11" * 16, from_number=s_phone, choice="friend",
                      recording_sid=RECORDING_SID, recording_seconds=31,
                      recording_url=f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}"
                                    f"/Recordings/{RECORDING_SID}",
                      transcription="Hej, jag heter Gunborg Qvarnström och vill ha en vän.",
                      note="Ringde tillbaka Gunborg på 070-123 45 67."),
        SmsOptOut(phone=s_phone, keyword="STOPP"),
        SmsOptOut(phone=v_phone, keyword="STOPP")])
    session.flush()
    open_task("inbound_sms", "SMS från Gunborg Qvarnström", session=session,
              detail="Hej det är Gunborg, ring mig!", dedup_key=f"inbound_sms:{s_phone}",
              senior_id=senior.id, inbound_id=inbound.id)
    open_task("concern", "Oro för Gunborg Qvarnström", session=session,
              detail="Holger: Gunborg verkar ensam.", senior_id=senior.id,
              volunteer_id=volunteer.id, pair_id=pair.id, call_log_id=log.id)
    open_task("opted_out", "0701234567 har svarat STOPP", session=session,
              detail="SMS från +46701234567: STOPP Gunborg", dedup_key=f"opted_out:{s_phone}",
              inbound_id=stranger.id)
    open_task("delivery_failed", "Holger Östervall (volontären) kom inte fram",
              session=session, detail=f"SMS till {v_phone}: failed",
              dedup_key=f"delivery_failed:{v_phone}", volunteer_id=volunteer.id)
    done = open_task("no_call", "Elsa Nyberg: inga samtal", session=session,
                     detail="Fråga Holger Östervall om Gunborg Qvarnström", senior_id=elsa.id)
    done.status, done.closing_note = "done", "Ringde henne på 070-123 45 67."
    audit.record("view", session=session, senior_id=senior.id, actor_id=staff_id)
    audit.record("view", session=session, volunteer_id=volunteer.id, actor_id=staff_id)
    session.commit()
    return senior, volunteer, pair


def every_value(session) -> list[tuple[str, str, str]]:
    """Every value of every row of every table: (table, column, value as text)."""
    from sqlmodel import SQLModel

    found = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(table.select()):
            found += [(table.name, column, str(value))
                      for column, value in row._mapping.items()]
    return found


def assert_gone(session, person: dict) -> None:
    left = [(trace, table, column, value) for table, column, value in every_value(session)
            for trace in traces(person) if trace.casefold() in value.casefold()]
    assert left == [], f"still stored: {left}"


@pytest.fixture
def ctx(app, session):
    with app.test_request_context():
        yield


@pytest.fixture
def seeded(ctx, session, coordinator):
    return seed_everything(session, coordinator.id)


def fresh(session, model, row_id):
    session.expire_all()
    return session.get(model, row_id)


def test_the_seed_holds_every_trace(session, seeded):
    """The scrub tests below can only fail if the traces were really there."""
    text = "\n".join(value for _t, _c, value in every_value(session)).casefold()
    for trace in traces(SENIOR) + traces(VOLUNTEER):
        assert trace.casefold() in text, trace


def test_erasing_a_senior_ends_the_pair_and_scrubs_everything(session, seeded, coordinator):
    senior, volunteer, pair = seeded
    spy = SpySender()
    get_cache().set("dashboard", "Gunborg")
    assert get_cache().get("dashboard") == "Gunborg"
    now = utcnow()
    result = erase_senior(senior, session=session, reason="request", now=now, sender=spy,
                          actor_id=coordinator.id)
    session.commit()
    assert result.done and result.pairs_ended == 1 and result.recordings_deleted == 1
    assert result.calls_cancelled >= 2 and result.messages_cancelled >= 2
    assert spy.deleted == [RECORDING_SID]
    assert get_cache().get("dashboard") is None
    assert_gone(session, SENIOR)

    senior = fresh(session, Senior, senior.id)
    assert (senior.first_name, senior.last_name, senior.phone, senior.external_id) == \
        ("Raderad", "", "", None)
    assert senior.erased_at == now and senior.status == "ended"
    assert (senior.gender, senior.birth_year, senior.district) == ("female", 1941, "Bromma")
    pair = session.get(Pair, pair.id)
    assert (pair.status, pair.end_reason, pair.ended_at) == ("ended", "other", now)
    assert not session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id == pair.id, ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at > now)).all()
    assert not session.exec(select(Message).where(
        Message.senior_id == senior.id, Message.status.in_(("pending", "claimed")))).all()
    # The volunteer is whole and free for someone else.
    volunteer = session.get(Volunteer, volunteer.id)
    assert volunteer.full_name == "Holger Östervall" and volunteer.erased_at is None
    assert matches.free_capacity(volunteer, session=session) == 1
    assert session.exec(select(SmsOptOut.phone)).all() == [VOLUNTEER["phone"]]
    intake = session.exec(select(IntakeRequest)).one()
    assert intake.recording_deleted_at == now and intake.from_number == ""
    # Consents stay as proof; the erasure is in the log without a name.
    assert len(session.exec(select(Consent).where(Consent.senior_id == senior.id)).all()) == 1
    erase = session.exec(select(AuditEvent).where(AuditEvent.action == "erase")).one()
    assert (erase.senior_id, erase.actor_id, erase.detail) == \
        (senior.id, coordinator.id, "request")


def test_others_keep_their_words_with_the_name_replaced(session, seeded):
    senior = seeded[0]
    elsa = session.exec(select(Senior).where(Senior.first_name == "Elsa")).one()
    erase_senior(senior, session=session, reason="request", now=utcnow(), sender=SpySender())
    session.commit()
    elsa = fresh(session, Senior, elsa.id)
    assert elsa.notes == ("Granne med [raderad] ([raderad]). Hennes telefonvän Holger "
                          "Östervall, holger.ostervall@exempel.se, ringer också.")
    event = session.exec(select(PersonEvent).where(PersonEvent.senior_id == elsa.id)).one()
    assert event.detail == "Ringde om [raderad] och Holger Östervall (+46739876543)"
    closed = session.exec(select(Task).where(Task.senior_id == elsa.id)).one()
    assert (closed.detail, closed.closing_note) == (
        "Fråga Holger Östervall om [raderad]", "Ringde henne på [raderad].")
    # Her own tasks are kept with a title that names no one, and their keys let go.
    tasks = session.exec(select(Task).where(Task.senior_id == senior.id)
                         .order_by(Task.id)).all()
    assert [(t.title, t.detail, t.dedup_key) for t in tasks] == [
        ("SMS till Vänringen", "", None), ("Oro för en senior", "", None)]
    on_duty = session.exec(select(Message).where(Message.kind == "concern_on_duty")).one()
    assert (on_duty.body, on_duty.params) == (
        "Vänringen: Holger är orolig för [raderad]. Se Att göra.",
        '{"senior": "[raderad]", "volontär": "Holger"}')
    # What Holger wrote while they were paired names her by first name: that goes too.
    assert session.exec(select(InboundMessage.body).where(
        InboundMessage.volunteer_id.is_not(None))).one() == \
        "Holger här: samtalet med [raderad] gick bra."
    assert session.exec(select(Rejection.reason).order_by(Rejection.id)).all() == [
        "", "Holger Östervall bor granne med Elsa.", ""]


def test_erasing_a_volunteer_sends_the_senior_back_to_the_queue(session, seeded):
    senior, volunteer, pair = seeded
    waiting_since = senior.waiting_since
    now = utcnow()
    result = erase_volunteer(volunteer, session=session, reason="request", now=now,
                             sender=SpySender())
    session.commit()
    assert result.pairs_ended == 1 and result.recordings_deleted == 0
    assert_gone(session, VOLUNTEER)
    volunteer = fresh(session, Volunteer, volunteer.id)
    assert (volunteer.first_name, volunteer.email, volunteer.status, volunteer.link_version) \
        == ("Raderad", None, "withdrawn", 1)
    senior = session.get(Senior, senior.id)
    assert senior.full_name == "Gunborg Qvarnström"
    assert (senior.status, senior.waiting_since) == ("waiting", waiting_since)
    assert session.get(Pair, pair.id).end_reason == "volunteer_stopped"
    assert session.exec(select(SmsOptOut.phone)).all() == [SENIOR["phone"]]
    assert session.exec(select(IntakeRequest)).one().recording_deleted_at is None


def test_erasing_twice_does_nothing_more(session, seeded):
    senior = seeded[0]
    erase_senior(senior, session=session, reason="request", now=utcnow(), sender=SpySender())
    session.commit()
    before = every_value(session)
    spy = SpySender()
    again = erase_senior(fresh(session, Senior, senior.id), session=session, reason="retention",
                         now=utcnow(), sender=spy)
    session.commit()
    assert not again.done and spy.deleted == []
    assert every_value(session) == before


def test_a_number_shared_with_someone_stays_theirs(ctx, session):
    """A couple on one landline: erasing one keeps the other's opt-out and texts."""
    one = make_senior(session, "Gösta", last_name="Holm", phone="+4681234567")
    two = make_senior(session, "Gun", last_name="Holm", phone="+4681234567")
    session.add_all([SmsOptOut(phone="+4681234567"),
                     InboundMessage(provider_id="SMx", from_number="+4681234567",
                                    body="Ring 08-123 45 67", senior_id=two.id)])
    session.commit()
    erase_senior(one, session=session, reason="request", now=utcnow(), sender=SpySender())
    session.commit()
    assert session.exec(select(SmsOptOut.phone)).all() == ["+4681234567"]
    assert session.exec(select(InboundMessage.body)).one() == "Ring 08-123 45 67"
    assert fresh(session, Senior, two.id).phone == "+4681234567"


def test_a_name_alone_is_not_searched_for(ctx, session):
    """Without a last name the first name is all there is: someone else's Greta stays."""
    greta = make_senior(session, "Greta", last_name="", phone="+46701110001")
    other = make_senior(session, "Greta", last_name="Lind", notes="Greta gillar rosor.",
                        phone="+46701110002")
    erase_senior(greta, session=session, reason="request", now=utcnow(), sender=SpySender())
    session.commit()
    assert fresh(session, Senior, other.id).notes == "Greta gillar rosor."


def test_withdrawal_marks_the_consents_then_erases(session, seeded, coordinator):
    senior, volunteer, pair = seeded
    now = utcnow()
    result = withdraw_consent(volunteer, session=session, method="sms", withdrawn_at=now,
                              now=now, sender=SpySender(), actor_id=coordinator.id)
    session.commit()
    assert result.done and result.pairs_ended == 1
    consent = session.exec(select(Consent).where(Consent.volunteer_id == volunteer.id)).one()
    assert (consent.withdrawn_at, consent.withdrawn_method, consent.withdrawn_by_id) == \
        (now, "sms", coordinator.id)
    actions = session.exec(select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.volunteer_id == volunteer.id, AuditEvent.action != "view")
        .order_by(AuditEvent.id)).all()
    assert actions == [("consent_withdrawn", "method=sms consents=1"),
                       ("erase", "consent_withdrawn")]
    assert_gone(session, VOLUNTEER)


def test_a_provider_refusing_the_deletion_stops_the_erasure(session, seeded):
    senior = seeded[0]
    with pytest.raises(PermanentError):
        erase_senior(senior, session=session, reason="request", now=utcnow(),
                     sender=SpySender(fail=PermanentError("nej", code="20003")))
    session.rollback()
    assert fresh(session, Senior, senior.id).full_name == "Gunborg Qvarnström"


def test_unknown_reason_is_refused(session, seeded):
    with pytest.raises(ValueError, match="reason"):
        erase_senior(seeded[0], session=session, reason="tired", now=utcnow(),
                     sender=SpySender())


# ---------------------------------------------------------------- the report's figures

LATER = AFTER + timedelta(days=20)


def test_report_figures_are_the_same_after_erasing_everyone(app, session):
    """The whole programme of test_report_figures erased (pairs still active are ended
    after the year): every figure of the year is as before."""
    p = programme(session)
    before, suppressed = report(session), report(session, min_group=5)
    with app.test_request_context(), time_machine.travel(LATER, tick=False):
        for name in SENIORS:
            erase_senior(p.seniors[name], session=session, reason="request", now=LATER,
                         sender=SpySender())
        for name in VOLUNTEERS:
            erase_volunteer(p.volunteers[name], session=session, reason="request", now=LATER,
                            sender=SpySender())
        session.commit()
    assert session.exec(select(Senior.first_name).distinct()).all() == ["Raderad"]
    assert session.exec(select(Volunteer.first_name).distinct()).all() == ["Raderad"]
    assert report(session) == before
    assert report(session, min_group=5) == suppressed


def test_retention_of_someone_long_gone_changes_no_figure_up_to_today(app, session):
    """A senior whose pair ended long ago, erased by the retention job today: the report
    for the whole time until now is the same, the waiting list included."""
    now = utcnow()
    with app.test_request_context():
        senior = make_senior(session, "Maj", last_name="Ström", status="ended",
                             phone="+46705550001")
        volunteer = make_volunteer(session, "Olle", last_name="Ström", phone="+46705550002",
                                   status="withdrawn")
        started = datetime(2023, 3, 1, 10, tzinfo=UTC)
        pair = Pair(senior_id=senior.id, volunteer_id=volunteer.id, status="ended",
                    started_at=started, ended_at=started + timedelta(days=200),
                    end_reason="moved_to_care", call_times="tue 14:00")
        session.add(pair)
        session.add(PersonEvent(senior_id=senior.id, action="status", from_status="waiting",
                                to_status="ended", at=started + timedelta(days=200)))
        session.commit()
        period = (date(2023, 1, 1), now.date())
        before = report(session, *period, now=now)
        erase_senior(senior, session=session, reason="retention", now=now, sender=SpySender())
        erase_volunteer(volunteer, session=session, reason="retention", now=now,
                        sender=SpySender())
        session.commit()
    assert report(session, *period, now=now) == before
    assert before["totals"]["ended_pairs"] == 1


def test_any_spelling_of_the_name_and_number_is_found(ctx, session):
    gunborg = make_senior(session, "Gunborg", last_name="Qvarnström", phone="+46701234567",
                          external_id="S_1%")
    other = make_senior(session, "Elsa", last_name="Nyberg", phone="+46701112233",
                        notes="GUNBORG QVARNSTRÖM, gunborg  qvarnström, +46 70-123 45 67, "
                              "0046701234567, id S_1% (inte S_10 eller 0701234568).")
    erase_senior(gunborg, session=session, reason="request", now=utcnow(), sender=SpySender())
    session.commit()
    assert fresh(session, Senior, other.id).notes == (
        "[raderad], [raderad], [raderad], [raderad], id [raderad] (inte S_10 eller 0701234568).")
