"""`vanringen import pairs FILE` and the upload page's pair choice (vanringen/pair_import.py)."""

import io

import pytest
import time_machine
from call_support import TZ, at, local
from sqlmodel import select
from test_matches import make_senior, make_volunteer

from vanringen.models import Message, Pair, PersonEvent, ScheduledCall, Senior

HEADER = "senior_external_id,volunteer_external_id,slots,start_date\n"
MONDAY = "2026-12-07 10:00"  # the import runs on a Monday morning


@pytest.fixture
def clock():
    with time_machine.travel(at(MONDAY), tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(session, clock):
    """Two waiting seniors and two approved volunteers, as a previous import left them."""
    seniors = [make_senior(session, name, external_id=f"S-{i}", phone=f"+4670111000{i}")
               for i, name in enumerate(("Greta", "Ingrid"), start=1)]
    volunteers = [make_volunteer(session, name, external_id=f"V-{i}",
                                 phone=f"+4670222000{i}")
                  for i, name in enumerate(("Jonas", "Amira"), start=1)]
    return seniors, volunteers


def write(tmp_path, *rows, header=HEADER, name="par.csv"):
    path = tmp_path / name
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return str(path)


def pairs_of(session):
    return session.exec(select(Pair).order_by(Pair.id)).all()


def test_imports_pairs_and_plans_their_calls(runner, session, people, tmp_path):
    path = write(tmp_path, 'S-1,V-1,"tue 14:00;fri 10:30",2024-03-01',
                 "S-2,V-2,Torsdag kl 9.30,2025-11-20")
    result = runner.invoke(args=["import", "pairs", path])
    assert result.exit_code == 0, result.output
    assert "Importerade par: 2 nya, 0 uppdaterade, 0 oförändrade." in result.output
    session.expire_all()
    greta_pair, ingrid_pair = pairs_of(session)
    assert greta_pair.status == "active" and greta_pair.call_times == "tue 14:00;fri 10:30"
    assert greta_pair.agreed_slots == "tue-afternoon;fri-morning"
    assert greta_pair.started_at.astimezone(TZ).date().isoformat() == "2024-03-01"
    assert ingrid_pair.call_times == "thu 09:30"
    assert {s.status for s in session.exec(select(Senior))} == {"matched"}

    calls = session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id == greta_pair.id).order_by(ScheduledCall.scheduled_at)).all()
    assert [local(c.scheduled_at) for c in calls[:3]] == [
        "2026-12-08 14:00", "2026-12-11 10:30", "2026-12-15 14:00"]
    reminders = session.exec(select(Message).where(Message.call_id == calls[0].id)).all()
    assert sorted(local(m.due_at) for m in reminders) == ["2026-12-08 09:00",
                                                          "2026-12-08 13:00"]
    # The pairs already know each other: no introduction messages.
    assert not session.exec(select(Message).where(Message.call_id.is_(None))).all()
    history = session.exec(select(PersonEvent).where(
        PersonEvent.senior_id == greta_pair.senior_id)).all()
    assert any("Importerad telefonvän: Jonas Berg" in e.detail and e.to_status == "matched"
               for e in history)


def test_same_file_again_changes_nothing_and_new_times_replan(runner, session, people,
                                                              tmp_path, clock):
    path = write(tmp_path, "S-1,V-1,tue 14:00,2024-03-01")
    assert runner.invoke(args=["import", "pairs", path]).exit_code == 0
    again = runner.invoke(args=["import", "pairs", path])
    assert "0 nya, 0 uppdaterade, 1 oförändrade" in again.output
    assert len(session.exec(select(ScheduledCall)).all()) == 2

    moved = write(tmp_path, "S-1,V-1,wed 15:00,2024-03-01", name="nya-tider.csv")
    result = runner.invoke(args=["import", "pairs", moved])
    assert "0 nya, 1 uppdaterade, 0 oförändrade" in result.output
    session.expire_all()
    (pair,) = pairs_of(session)
    assert pair.call_times == "wed 15:00"
    calls = session.exec(select(ScheduledCall).order_by(ScheduledCall.scheduled_at)).all()
    planned = [local(c.scheduled_at) for c in calls if c.status == "planned"]
    assert planned == ["2026-12-09 15:00", "2026-12-16 15:00"]
    old = [c for c in calls if c.slot == "tue 14:00"]
    assert old and {c.status for c in old} == {"cancelled"}
    old_reminders = session.exec(select(Message).where(
        Message.call_id.in_([c.id for c in old]))).all()
    assert old_reminders and {m.status for m in old_reminders} == {"cancelled"}


def test_any_bad_row_imports_nothing_and_names_row_and_column(runner, session, people,
                                                               tmp_path):
    (greta, ingrid), (jonas, amira) = people
    amira.status = "trained"
    session.add(amira)
    for row in range(4, 12):
        make_senior(session, f"Senior{row}", external_id=f"S-{row}", phone=f"+467011100{row}")
    make_volunteer(session, "Kim", external_id="V-3", phone="+46702220003", capacity=2)
    path = write(tmp_path,
                 "S-1,V-1,tue 14:00,2024-03-01",          # row 2: fine on its own
                 "S-99,V-1,tue 14:00,2024-03-01",         # 3: unknown senior
                 "S-4,V-7,tue 14:00,2024-03-01",          # 4: unknown volunteer
                 "S-5,V-3,tue 25:00,2024-03-01",          # 5: bad time
                 'S-6,V-3,"mon 10:00;tue 10:00;wed 10:00",2024-03-01',  # 6: three slots
                 "S-7,V-3,tue 06:00,1/3/2024",            # 7: too early, bad date; V-3 full
                 "S-8,V-4,tue 14:00,2026-12-08",          # 8: not started yet; no V-4
                 "S-1,V-1,fri 10:00,2024-03-01",          # 9: senior twice
                 "S-10,V-2,tue 14:00,2024-03-01",         # 10: volunteer not approved
                 "S-11,,,")                               # 11: empty values
    result = runner.invoke(args=["import", "pairs", path])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[:-1] == [
        "rad 3, kolumn senior_external_id: ingen senior med external_id 'S-99' – importera "
        "senioren först",
        "rad 4, kolumn volunteer_external_id: ingen volontär med external_id 'V-7' – importera "
        "volontären först",
        "rad 5, kolumn slots: ogiltig tid '25:00' (skriv t.ex. 14:00)",
        "rad 6, kolumn slots: högst 2 samtalstider i veckan",
        "rad 7, kolumn volunteer_external_id: volontären har plats för 2 telefonvän(ner) och "
        "skulle få 3",
        "rad 7, kolumn slots: samtal kan planeras mellan 07:00 och 22:00, inte 06:00",
        "rad 7, kolumn start_date: ogiltigt datum '1/3/2024' (skriv ÅÅÅÅ-MM-DD, t.ex. "
        "2024-03-01)",
        "rad 8, kolumn volunteer_external_id: ingen volontär med external_id 'V-4' – "
        "importera volontären först",
        "rad 8, kolumn start_date: startdatumet 2026-12-08 ligger i framtiden – importera "
        "bara par som redan har börjat ringa",
        "rad 9, kolumn senior_external_id: seniorn 'S-1' finns redan på rad 2",
        "rad 10, kolumn volunteer_external_id: volontären är inte godkänd eller utdraget ur "
        "belastningsregistret gäller inte längre",
        "rad 11, kolumn volunteer_external_id: värde saknas",
        "rad 11, kolumn slots: minst en samtalstid krävs (t.ex. tue 14:00)",
        "rad 11, kolumn start_date: värde saknas"]
    assert errors[-1].startswith("Inget importerades: 14 fel i ")
    session.expire_all()
    assert pairs_of(session) == []
    assert session.exec(select(ScheduledCall)).all() == []
    assert session.exec(select(Message)).all() == []
    assert {s.status for s in session.exec(select(Senior))} == {"waiting"}


def test_refuses_a_second_friend_and_a_full_volunteer(runner, session, people, tmp_path):
    first = write(tmp_path, "S-1,V-1,tue 14:00,2024-03-01", name="forsta.csv")
    assert runner.invoke(args=["import", "pairs", first]).exit_code == 0
    path = write(tmp_path, "S-1,V-2,tue 14:00,2024-03-01", "S-2,V-1,wed 14:00,2024-03-01")
    result = runner.invoke(args=["import", "pairs", path])
    assert result.exit_code == 1
    assert ("rad 2, kolumn senior_external_id: seniorn har redan en aktiv telefonvän "
            "(volontär 'V-1')") in result.stderr
    assert ("rad 3, kolumn volunteer_external_id: volontären har plats för 1 telefonvän(ner) "
            "och skulle få 2") in result.stderr
    assert len(pairs_of(session)) == 1


def test_dry_run_checks_without_saving(runner, session, people, tmp_path):
    path = write(tmp_path, "S-1,V-1,tue 14:00,2024-03-01")
    result = runner.invoke(args=["import", "pairs", "--dry-run", path])
    assert result.exit_code == 0, result.output
    assert "Filen är korrekt: 1 nya, 0 uppdaterade, 0 oförändrade – inga ändringar sparades." \
        in result.output
    assert pairs_of(session) == [] and session.exec(select(Message)).all() == []


def test_a_seniors_file_is_recognised(runner, session, tmp_path):
    from test_csvimport import make_csv
    path = tmp_path / "seniorer.csv"
    path.write_text(make_csv("seniors", [{}]))
    result = runner.invoke(args=["import", "pairs", str(path)])
    assert result.exit_code == 1
    assert "rad 1: fel kolumner i rubrikraden – kolumner saknas: senior_external_id" \
        in result.stderr
    assert "(filen ser ut att innehålla seniorer)" in result.stderr


def upload(client, text, dry_run=False):
    form = {"kind": "pairs", "file": (io.BytesIO(text.encode()), "par.csv")}
    if dry_run:
        form["dry_run"] = "y"
    return client.submit("/import/", form, content_type="multipart/form-data")


def test_upload_page_imports_pairs(logged_in, session, people, coordinator):
    page = logged_in.get("/import/").get_data(as_text=True)
    assert "Befintliga par" in page and "senior_external_id,volunteer_external_id" in page

    bad = upload(logged_in, HEADER + "S-1,V-1,tisdag 14:00,2024-03-01\nS-2,V-9,tue 14,2024\n")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Filen importerades inte" in text and "ingen volontär med external_id" in text
    assert pairs_of(session) == []

    checked = upload(logged_in, HEADER + "S-1,V-1,tisdag 14:00,2024-03-01\n", dry_run=True)
    assert checked.status_code == 200 and "Filen är korrekt" in checked.get_data(as_text=True)
    assert pairs_of(session) == []

    done = upload(logged_in, HEADER + "S-1,V-1,tisdag 14:00,2024-03-01\n")
    assert done.status_code == 302
    page = logged_in.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 nya och 0 uppdaterade par, 0 oförändrade." in page
    (pair,) = pairs_of(session)
    assert pair.approved_by_id == coordinator.id and pair.call_times == "tue 14:00"


def test_only_a_waiting_senior_gets_a_friend(runner, session, people, tmp_path):
    (greta, _ingrid), _volunteers = people
    greta.status = "paused"
    session.add(greta)
    session.commit()
    path = write(tmp_path, "S-1,V-1,tue 14:00,2024-03-01")
    result = runner.invoke(args=["import", "pairs", path])
    assert result.exit_code == 1
    assert ("rad 2, kolumn senior_external_id: seniorn kan inte få en telefonvän (status "
            "pausad; bara väntande seniorer kan paras)") in result.stderr
