"""The matching service (vanringen.matches) on the test database, without HTTP.

The helpers at the top (make_senior, make_volunteer, seed_taxonomy, ...) are shared with
test_proposals.py and test_browser_matching.py.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from matching import Taxonomy
from notifications import segments
from vanringen import matches
from vanringen.cli import upgrade
from vanringen.db import make_engine, utcnow
from vanringen.matches import MatchError, NeedsConfirmation
from vanringen.models import (
    InterestCategory,
    MatchProposal,
    Message,
    Pair,
    PersonEvent,
    Rejection,
    ScheduledCall,
    Senior,
    Volunteer,
)

VALID_DAYS = 365


def stockholm_today():
    return datetime.now(ZoneInfo("Europe/Stockholm")).date()


def seed_taxonomy(session) -> None:
    """The shipped categories (the migration seeds them; PostgreSQL tests truncate them)."""
    if session.exec(select(InterestCategory)).first() is None:
        for n, (key, entry) in enumerate(Taxonomy.default().to_mapping().items()):
            session.add(InterestCategory(key=key, label=entry["label"],
                                         terms="\n".join(entry["terms"]), sort_order=n))
        session.commit()


def make_senior(session, first_name="Greta", *, days_waiting=30, **kw) -> Senior:
    values = {"last_name": "Lind", "phone": "+46701110000", "gender": "female",
              "languages": "sv", "interests": "trädgård och blommor",
              "availability": "tue-afternoon;thu-morning", "preferred_gender": "any",
              "reminder_channel": "sms", "status": "waiting",
              "waiting_since": utcnow() - timedelta(days=days_waiting)} | kw
    senior = Senior(first_name=first_name, **values)
    session.add(senior)
    session.commit()
    return senior


def make_volunteer(session, first_name="Jonas", *, record_age_days=10, **kw) -> Volunteer:
    values = {"last_name": "Berg", "phone": "+46702220000", "gender": "male",
              "languages": "sv", "interests": "trädgård, odling",
              "availability": "tue-afternoon;wed-evening", "capacity": 1, "status": "approved",
              "police_record_checked_on": stockholm_today() - timedelta(days=record_age_days)
              } | kw
    volunteer = Volunteer(first_name=first_name, **values)
    session.add(volunteer)
    session.commit()
    return volunteer


def make_pair(session, senior, volunteer, status="active", **kw) -> Pair:
    kw.setdefault("agreed_slots", "tue-afternoon")
    kw.setdefault("call_times", "tue 14:00")
    pair = Pair(senior_id=senior.id, volunteer_id=volunteer.id, status=status, **kw)
    if status == "active":
        senior.status = "matched"
        session.add(senior)
    session.add(pair)
    session.commit()
    return pair


def fresh(session, model, *where):
    session.rollback()
    session.expire_all()
    return session.exec(select(model).where(*where)).all()


@pytest.fixture
def ctx(app, session):
    seed_taxonomy(session)
    with app.test_request_context():
        yield


def run(session, by_id=None):
    result = matches.run_matching(session=session, today=stockholm_today(),
                                  valid_days=VALID_DAYS, by_id=by_id)
    session.commit()
    return result


def pending(session, senior, rank=0) -> MatchProposal:
    return session.exec(select(MatchProposal).where(
        MatchProposal.senior_id == senior.id, MatchProposal.rank == rank,
        MatchProposal.status == "pending")).one()


# ---------------------------------------------------------------- records

def test_records_count_active_pairs_and_leave_out_who_cannot_be_matched(ctx, session):
    greta = make_senior(session, "Greta", days_waiting=40)
    make_senior(session, "Paula", status="paused")
    busy = make_volunteer(session, "Anna", capacity=2, phone="+46702220001")
    full = make_volunteer(session, "Bo", capacity=1, phone="+46702220002")
    make_volunteer(session, "Cilla", record_age_days=VALID_DAYS + 1,
                   phone="+46702220003")
    make_volunteer(session, "Dan", status="trained", phone="+46702220004")
    make_volunteer(session, "Eva", police_record_checked_on=None, phone="+46702220005")
    make_pair(session, make_senior(session, "Ulla", phone="+46701110001"), busy)
    make_pair(session, make_senior(session, "Vera", phone="+46701110002"), full)
    make_pair(session, make_senior(session, "Åsa", phone="+46701110003", status="waiting"),
              full, status="ended")  # an ended pair takes no place
    session.add(Rejection(senior_id=greta.id, volunteer_id=busy.id, reason="Bor grannar"))
    session.commit()

    records = matches.build_records(session=session, today=stockholm_today(),
                                    valid_days=VALID_DAYS)

    assert {v.id: v.free_capacity for v in records.volunteers} == {busy.id: 1}
    anna, = records.volunteers
    assert (anna.languages, anna.slots, anna.status, anna.first_name) == (
        frozenset({"sv"}), frozenset({"tue-afternoon", "wed-evening"}), "approved", "Anna")
    assert [s.first_name for s in records.seniors] == ["Greta", "Åsa"]  # waiting only
    first = records.seniors[0]
    assert first.waiting_since == pytest.approx(greta.waiting_since.timestamp())
    assert first.slots == frozenset({"tue-afternoon", "thu-morning"})
    assert (first.gender, first.preferred_gender) == ("female", "any")
    assert records.rejected == [(greta.id, busy.id)]
    assert matches.free_capacity(full, session=session) == 0
    assert matches.free_capacity(busy, session=session) == 1


def test_taxonomy_comes_from_the_rows(ctx, session):
    assert matches.parse_terms(" Hammarby\nfotboll; allsvenskan \n\nfotboll") == [
        "Hammarby", "fotboll", "allsvenskan"]
    for row in session.exec(select(InterestCategory)).all():
        session.delete(row)
    session.add(InterestCategory(key="bandy", label="Bandy", terms="Bollnäs\nisbana"))
    session.commit()
    taxonomy = matches.load_taxonomy(session=session)
    assert list(taxonomy.categorize("Jag följer Bollnäs")) == ["bandy"]
    assert taxonomy.label("bandy") == "Bandy"


def test_fresh_database_gets_the_shipped_taxonomy(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    from sqlmodel import Session

    with Session(engine) as s:
        rows = s.exec(select(InterestCategory).order_by(InterestCategory.sort_order)).all()
        stored = {r.key: {"label": r.label, "terms": matches.parse_terms(r.terms)} for r in rows}
    engine.dispose()
    shipped = Taxonomy.default().to_mapping()
    assert list(stored) == list(shipped)
    # Each term once: the editor keeps a term only once, and repeating one changes nothing.
    assert stored == {k: {"label": v["label"], "terms": list(dict.fromkeys(v["terms"]))}
                      for k, v in shipped.items()}


# ---------------------------------------------------------------- a run

def test_run_stores_proposals_and_supersedes_the_last_ones(ctx, session, coordinator):
    greta = make_senior(session, "Greta", days_waiting=50)
    karl = make_senior(session, "Karl", gender="male", languages="fi", phone="+46701110001")
    jonas = make_volunteer(session, "Jonas")
    make_volunteer(session, "Lena", phone="+46702220001", gender="female",
                   interests="stickning")
    run_, records, proposals = run(session, by_id=coordinator.id)

    assert (run_.by_id, run_.seniors, run_.volunteers, run_.proposed, run_.unmatched) == (
        coordinator.id, 2, 2, 1, 1)
    proposal = pending(session, greta)
    assert proposal.volunteer_id == jonas.id  # shares the garden with Greta
    assert proposal.run_id == run_.id and 0 < proposal.score <= 1 and proposal.explanation
    alternative = pending(session, greta, rank=1)
    assert alternative.volunteer_id != jonas.id
    unmatched, = session.exec(select(MatchProposal).where(
        MatchProposal.senior_id == karl.id)).all()  # nobody speaks Finnish
    assert (unmatched.status, unmatched.volunteer_id) == ("unmatched", None)
    assert [p.senior_id for p in proposals] == [greta.id]

    second, _records, _proposals = run(session)
    assert second.by_id is None
    statuses = {(p.run_id, p.rank): p.status for p in fresh(
        session, MatchProposal, MatchProposal.senior_id == greta.id)}
    assert statuses == {(run_.id, 0): "superseded", (run_.id, 1): "superseded",
                        (second.id, 0): "pending", (second.id, 1): "pending"}


def test_a_run_with_nobody_to_propose(ctx, session):
    greta = make_senior(session)
    make_volunteer(session, status="trained")
    run_, _records, proposals = run(session)
    assert (run_.seniors, run_.volunteers, run_.proposed, run_.unmatched) == (1, 0, 0, 1)
    unmatched, = fresh(session, MatchProposal)
    assert (unmatched.senior_id, unmatched.status) == (greta.id, "unmatched")


def test_rejected_pair_is_never_proposed_again(ctx, session, coordinator):
    greta = make_senior(session)
    jonas = make_volunteer(session, "Jonas")
    run(session)
    proposal = pending(session, greta)
    assert proposal.volunteer_id == jonas.id
    with pytest.raises(MatchError, match="Ange varför"):
        matches.reject(proposal, "  ", session=session, actor=coordinator.id)
    matches.reject(proposal, "Har träffats förut", session=session, actor=coordinator.id)
    session.commit()

    rejection, = fresh(session, Rejection)
    assert (rejection.senior_id, rejection.volunteer_id, rejection.reason, rejection.by_id) == (
        greta.id, jonas.id, "Har träffats förut", coordinator.id)
    assert session.get(MatchProposal, proposal.id).status == "rejected"
    assert session.get(Senior, greta.id).status == "waiting"
    event = session.exec(select(PersonEvent).where(PersonEvent.senior_id == greta.id)).one()
    assert event.action == "proposal_rejected" and "Har träffats förut" in event.detail

    again, _r, proposals = run(session)
    assert proposals == [] and again.unmatched == 1
    with pytest.raises(MatchError, match="redan hanterat"):
        matches.reject(session.get(MatchProposal, proposal.id), "igen", session=session,
                       actor=coordinator.id)


# ---------------------------------------------------------------- approving

def approve(session, proposal, slots, actor, times=None):
    pair, messages = matches.approve(proposal, slots, session=session,
                                     today=stockholm_today(), valid_days=VALID_DAYS,
                                     actor=actor, times=times)
    session.commit()
    return pair, messages


@pytest.mark.parametrize("channel", ["sms", "voice", "none"])
def test_approve_pairs_them_and_tells_both(ctx, session, coordinator, channel):
    phone = "+4681234567" if channel != "sms" else "+46701110000"
    greta = make_senior(session, "Greta", reminder_channel=channel, phone=phone)
    jonas = make_volunteer(session, "Jonas", capacity=2)
    run(session)
    proposal = pending(session, greta)
    with pytest.raises(MatchError, match="samtalstid"):
        matches.approve(proposal, ["sun-evening"], session=session, today=stockholm_today(),
                        valid_days=VALID_DAYS, actor=coordinator.id)
    session.rollback()
    pair, messages = approve(session, proposal, ["tue-afternoon"], coordinator.id)

    pair = session.get(Pair, pair.id)
    assert (pair.senior_id, pair.volunteer_id, pair.status) == (greta.id, jonas.id, "active")
    assert pair.agreed_slots == "tue-afternoon" and pair.approved_by_id == coordinator.id
    assert pair.score == proposal.score and pair.explanation == proposal.explanation
    assert session.get(Senior, greta.id).status == "matched"
    assert session.get(MatchProposal, proposal.id).status == "approved"
    assert {p.status for p in session.exec(select(MatchProposal).where(
        MatchProposal.senior_id == greta.id, MatchProposal.rank > 0)).all()} <= {"superseded"}
    assert matches.free_capacity(jonas, session=session) == 1

    senior_event = session.exec(select(PersonEvent).where(
        PersonEvent.senior_id == greta.id)).one()
    assert (senior_event.from_status, senior_event.to_status) == ("waiting", "matched")
    assert "Jonas Berg" in senior_event.detail and senior_event.actor_id == coordinator.id
    volunteer_event = session.exec(select(PersonEvent).where(
        PersonEvent.volunteer_id == jonas.id)).one()
    assert volunteer_event.action == "paired" and "Greta Lind" in volunteer_event.detail

    assert pair.call_times == "tue 14:00"  # the afternoon's usual hour
    stored = {m.kind: m for m in session.exec(select(Message).where(
        Message.kind.startswith("pair_"))).all()}
    to_volunteer = stored["pair_volunteer"]
    assert (to_volunteer.channel, to_volunteer.recipient) == ("sms", "+46702220000")
    assert "Greta" in to_volunteer.body and "tisdagar kl. 14.00" in to_volunteer.body
    shown_phone = "08-123 45 67" if channel != "sms" else "070-111 00 00"
    assert shown_phone in to_volunteer.body and "Lind" not in to_volunteer.body
    assert segments(to_volunteer.body) == (1, "GSM-7")
    assert [m.kind for m in messages][0] == "pair_volunteer"
    # The calls are planned at once, each Tuesday with the volunteer's reminder.
    calls = session.exec(select(ScheduledCall).where(ScheduledCall.pair_id == pair.id)).all()
    assert len(calls) >= 2 and {c.slot for c in calls} == {"tue 14:00"}
    assert {c.scheduled_at.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%a %H:%M")
            for c in calls} == {"Tue 14:00"}
    reminders = session.exec(select(Message).where(Message.call_id.in_([c.id for c in calls])))
    assert {m.kind for m in reminders} == {"reminder_volunteer"} | (
        {f"reminder_senior_{channel}"} if channel != "none" else set())
    if channel == "none":
        assert set(stored) == {"pair_volunteer"}
        return
    to_senior = stored[f"pair_senior_{channel}"]
    assert (to_senior.channel, to_senior.recipient, to_senior.status) == (channel, phone,
                                                                          "pending")
    assert "Jonas" in to_senior.body and "Berg" not in to_senior.body
    assert ("tisdagar klockan 14" if channel == "voice" else "tisdagar kl. 14.00") \
        in to_senior.body
    # Both are sent after the commit, the senior's by SMS or by a voice call.
    assert [m.channel for m in messages] == ["sms", channel]


def test_approval_takes_the_agreed_clock_times(ctx, session, coordinator):
    greta = make_senior(session, "Greta", availability="tue-afternoon;thu-morning")
    make_volunteer(session, "Jonas", availability="tue-afternoon;thu-morning")
    run(session)
    proposal = pending(session, greta)
    for slots, times, error in [
            (["tue-afternoon"], {"tue-afternoon": "09:00"}, "utanför 12:00–17:00"),
            (["tue-afternoon"], {"tue-afternoon": "fem"}, "ogiltig tid"),
            (["sun-evening"], {}, "samtalstid")]:
        with pytest.raises(MatchError, match=error):
            approve(session, proposal, slots, coordinator.id, times)
        session.rollback()
    pair, _messages = approve(session, proposal, ["thu-morning", "tue-afternoon"],
                              coordinator.id, {"tue-afternoon": "15:30", "thu-morning": ""})
    assert pair.call_times == "tue 15:30;thu 10:00"


def test_at_most_two_call_times_a_week(ctx, session, coordinator):
    greta = make_senior(session, "Greta", availability="mon-morning;tue-afternoon;thu-morning")
    make_volunteer(session, "Jonas", availability="mon-morning;tue-afternoon;thu-morning")
    run(session)
    with pytest.raises(MatchError, match="högst två"):
        approve(session, pending(session, greta), ["mon-morning", "tue-afternoon",
                                                    "thu-morning"], coordinator.id)


def test_approval_rechecks_what_another_coordinator_did_meanwhile(ctx, session, coordinator):
    greta = make_senior(session, "Greta", days_waiting=60)
    karl = make_senior(session, "Karl", phone="+46701110001", interests="trädgård")
    jonas = make_volunteer(session, "Jonas", capacity=1)
    lena = make_volunteer(session, "Lena", phone="+46702220001", gender="female", capacity=1,
                          interests="schack")
    run(session)
    first = session.exec(select(MatchProposal).where(
        MatchProposal.volunteer_id == jonas.id, MatchProposal.rank == 0)).one()
    chosen = session.get(Senior, first.senior_id)
    other = karl if chosen.id == greta.id else greta
    alternative = pending(session, chosen, rank=1)
    assert alternative.volunteer_id == lena.id

    approve(session, first, ["tue-afternoon"], coordinator.id)
    # Pages loaded before that approval: Jonas has no place left for the other senior ...
    with pytest.raises(MatchError, match="inga lediga platser"):
        matches.create_pair(other, jonas, ["tue-afternoon"], session=session,
                            today=stockholm_today(), valid_days=VALID_DAYS, actor=None)
    session.rollback()
    # ... and the chosen senior's alternative is settled: they have a phone friend now.
    with pytest.raises(MatchError, match="redan hanterat"):
        approve(session, alternative, ["tue-afternoon"], coordinator.id)
    session.rollback()
    with pytest.raises(MatchError, match="väntar inte längre"):
        matches.create_pair(chosen, lena, ["tue-afternoon"], session=session,
                            today=stockholm_today(), valid_days=VALID_DAYS, actor=None,
                            confirmed=True)
    session.rollback()
    assert [(p.senior_id, p.volunteer_id) for p in fresh(session, Pair)] == [
        (chosen.id, jonas.id)]


def test_expired_extract_at_approval_time_is_refused(ctx, session, coordinator):
    greta = make_senior(session)
    jonas = make_volunteer(session)
    run(session)
    jonas.police_record_checked_on = stockholm_today() - timedelta(days=VALID_DAYS + 1)
    session.add(jonas)
    session.commit()
    with pytest.raises(MatchError, match="utdraget"):
        approve(session, pending(session, greta), ["tue-afternoon"], coordinator.id)


def test_picking_by_hand_needs_the_warnings_confirmed(ctx, session, coordinator):
    karl = make_senior(session, "Karl", gender="male", languages="fi",
                       preferred_gender="female", availability="sun-morning")
    jonas = make_volunteer(session, "Jonas")
    warnings = matches.violations(karl, jonas, session=session)
    assert len(warnings) >= 3  # language, gender, time
    with pytest.raises(NeedsConfirmation) as caught:
        matches.create_pair(karl, jonas, ["sun-morning"], session=session,
                            today=stockholm_today(), valid_days=VALID_DAYS, actor=coordinator.id)
    assert caught.value.warnings == warnings
    session.rollback()
    assert fresh(session, Pair) == []
    # No shared time: the senior's own wishes are offered instead.
    assert matches.slot_choices(karl, jonas) == ["sun-morning"]
    pair, _messages = matches.create_pair(
        karl, jonas, ["sun-morning"], session=session, today=stockholm_today(),
        valid_days=VALID_DAYS, actor=coordinator.id, confirmed=True)
    session.commit()
    pair = session.get(Pair, pair.id)
    assert pair.warnings.splitlines() == warnings and pair.score is None
    event = session.exec(select(PersonEvent).where(PersonEvent.senior_id == karl.id)).one()
    assert "Bekräftade varningar" in event.detail


# ---------------------------------------------------------------- ending

def test_ending_a_pair_puts_the_senior_back_in_the_queue_where_they_were(ctx, session,
                                                                        coordinator):
    greta = make_senior(session, "Greta", days_waiting=200)
    since = greta.waiting_since
    jonas = make_volunteer(session)
    pair = make_pair(session, greta, jonas)
    newer = make_senior(session, "Nora", days_waiting=3, phone="+46701110001")

    with pytest.raises(MatchError, match="Välj varför"):
        matches.end_pair(pair, "", "", "", session=session, actor=coordinator.id)
    with pytest.raises(MatchError, match="Beskriv"):
        matches.end_pair(pair, "other", " ", "", session=session, actor=coordinator.id)
    session.rollback()
    matches.end_pair(pair, "no_click", "", "Gillar att prata om sina rosor.", session=session,
                     actor=coordinator.id)
    session.commit()

    pair = session.get(Pair, pair.id)
    assert (pair.status, pair.end_reason, pair.ended_by_id) == ("ended", "no_click",
                                                                coordinator.id)
    assert pair.ended_at is not None and pair.handover_note == "Gillar att prata om sina rosor."
    greta = session.get(Senior, greta.id)
    assert greta.status == "waiting" and greta.waiting_since == since
    queue = [s.id for s in matches.waiting_seniors(session=session)]
    assert queue == [greta.id, newer.id]
    events = session.exec(select(PersonEvent).order_by(PersonEvent.id)).all()
    assert [(e.senior_id, e.volunteer_id, e.action) for e in events] == [
        (greta.id, None, "status"), (None, jonas.id, "pair_ended")]
    assert "Det klickade inte" in events[0].detail
    assert fresh(session, Rejection)[0].volunteer_id == jonas.id
    from vanringen.pairs import handover_notes

    (noted_pair, noted_volunteer), = handover_notes([greta.id], session=session)[greta.id]
    assert noted_pair.id == pair.id and noted_volunteer.id == jonas.id
    with pytest.raises(MatchError, match="redan avslutat"):
        matches.end_pair(pair, "other", "x", "", session=session, actor=None)


def test_a_senior_who_passed_away_does_not_wait_again(ctx, session):
    greta = make_senior(session)
    pair = make_pair(session, greta, make_volunteer(session))
    matches.end_pair(pair, "passed_away", "", "", session=session, actor=None)
    session.commit()
    assert session.get(Senior, greta.id).status == "ended"
