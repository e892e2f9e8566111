"""The Matchning pages, the pair pages and `vanringen match`, through HTTP and the CLI."""

import csv
import html
import re

import pytest
from sqlmodel import select
from test_matches import (
    fresh,
    make_pair,
    make_senior,
    make_volunteer,
    seed_taxonomy,
)

from vanringen.models import (
    MatchProposal,
    MatchRun,
    Message,
    Pair,
    PersonEvent,
    Rejection,
    Senior,
)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def seeded(session):
    seed_taxonomy(session)


def run_matching(client):
    response = client.submit("/matchning/kor", form_path="/matchning/")
    assert response.status_code == 302
    return response


def pending(session, senior, rank=0):
    session.rollback()
    return session.exec(select(MatchProposal).where(
        MatchProposal.senior_id == senior.id, MatchProposal.rank == rank,
        MatchProposal.status == "pending")).one()


def test_every_matching_page_needs_sign_in(client, session):
    senior = make_senior(session)
    pair = make_pair(session, senior, make_volunteer(session))
    for path in ("/matchning/", f"/matchning/senior/{senior.id}/valj", f"/par/{pair.id}",
                 "/matchning/intressen/", "/matchning/intressen/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/logga-in" in response.headers["Location"], path
    for path in ("/matchning/kor", "/matchning/forslag/1/godkann", "/matchning/forslag/1/avvisa",
                 f"/par/{pair.id}/avsluta", f"/matchning/senior/{senior.id}/valj",
                 "/matchning/intressen/ny", "/matchning/intressen/1/ta-bort"):
        # With a valid CSRF token, so that it is the sign-in check that refuses.
        response = client.submit(path, {}, form_path="/logga-in")
        assert response.status_code == 302, path
        assert "/logga-in" in response.headers["Location"], path
    assert fresh(session, MatchRun) == [] and len(fresh(session, Pair)) == 1


def test_nav_leads_to_matching_and_the_page_explains_itself(logged_in):
    page = text(logged_in.get("/oversikt"))
    assert re.search(r'<a href="/matchning/">Matchning</a>', page)
    page = text(logged_in.get("/matchning/"))
    assert "<h1>Matchning</h1>" in page
    assert "Ingen matchning har körts ännu" in page
    assert 'href="/matchning/intressen/"' in page
    assert "Föreslå matchningar" in page


def test_run_then_review_proposal_with_score_explanation_and_alternatives(
        logged_in, session, seeded, coordinator):
    greta = make_senior(session, "Greta", days_waiting=40)
    karl = make_senior(session, "Karl", languages="fi", phone="+46701110001", days_waiting=10)
    jonas = make_volunteer(session, "Jonas")
    make_volunteer(session, "Lena", phone="+46702220001", gender="female",
                   interests="stickning och korsord")
    response = run_matching(logged_in)
    assert response.headers["Location"] == "/matchning/"

    run, = fresh(session, MatchRun)
    assert (run.by_id, run.seniors, run.volunteers, run.proposed, run.unmatched) == (
        coordinator.id, 2, 2, 1, 1)
    page = text(logged_in.get("/matchning/"))
    assert "Förslag klara: 1 av 2 väntande seniorer fick ett förslag" in page
    proposal = pending(session, greta)
    assert proposal.volunteer_id == jonas.id
    block = re.search(rf'<section class="proposal" aria-labelledby="senior-{greta.id}">(.*?)'
                      r"</section>", page, re.S).group(1)
    assert "Jonas Berg" in block and proposal.explanation in block
    assert re.search(r"gemensamma intressen \d+\s?%", block)
    assert "Lena Berg" in block  # the alternative, with a way to choose her instead
    assert f"/matchning/senior/{greta.id}/valj?volunteer_id=" in block
    assert 'value="tue-afternoon"' in block  # the one shared time, offered for approval
    assert 'value="thu-morning"' not in block
    # Longest waiting first; Karl speaks Finnish only and is listed with why.
    assert page.index("Greta Lind") < page.index("Karl Lind")
    karl_block = page[page.index(f'aria-labelledby="senior-{karl.id}"'):]
    assert "Ingen möjlig volontär." in karl_block
    assert "Ingen av de 2 volontärerna med ledig plats passar:" in karl_block
    assert "<li>Inget gemensamt språk: 2 volontärer</li>" in karl_block
    only_unmatched = text(logged_in.get("/matchning/?visa=utan"))
    assert "Karl Lind" in only_unmatched and "Greta Lind" not in only_unmatched


def test_who_lost_out_to_a_longer_wait_and_the_page_in_english(logged_in, session, seeded):
    make_senior(session, "Greta", days_waiting=60)
    nora = make_senior(session, "Nora", days_waiting=5, phone="+46701110001")
    make_volunteer(session, "Jonas", capacity=1)
    run_matching(logged_in)
    page = text(logged_in.get("/matchning/?visa=utan"))
    block = re.search(rf'aria-labelledby="senior-{nora.id}">(.*?)</section>', page,
                      re.S).group(1)
    assert "1 volontär med ledig plats passar nu" in block

    logged_in.submit("/sprak/en", {"next": "/matchning/"}, form_path="/matchning/")
    page = text(logged_in.get("/matchning/"))
    assert "<h1>Matching</h1>" in page and "Propose matches" in page
    assert "1 volunteer with a free place fits now" in page
    assert "Approve Jonas" in page and "Call times they agree on" in page
    assert "Tuesday afternoon" in page and 'value="14:00"' in page


def test_approve_from_the_page(logged_in, session, seeded, coordinator):
    greta = make_senior(session, "Greta", reminder_channel="sms")
    jonas = make_volunteer(session, "Jonas", capacity=2)
    run_matching(logged_in)
    proposal = pending(session, greta)
    url = f"/matchning/forslag/{proposal.id}/godkann"

    refused = logged_in.submit(url, {}, form_path="/matchning/")
    assert refused.status_code == 422
    assert "Välj minst en samtalstid." in text(refused)
    assert fresh(session, Pair) == []

    too_early = logged_in.submit(url, {"slots": ["tue-afternoon"],
                                       "time-tue-afternoon": "10:00"}, form_path="/matchning/")
    assert too_early.status_code == 422
    assert "Tiden för tisdag eftermiddag: 10:00 ligger utanför 12:00–17:00." in text(too_early)
    assert fresh(session, Pair) == []

    response = logged_in.submit(url, {"slots": ["tue-afternoon"],
                                      "time-tue-afternoon": "15:30"}, form_path="/matchning/")
    assert response.status_code == 302
    pair, = fresh(session, Pair)
    assert (pair.senior_id, pair.volunteer_id, pair.agreed_slots, pair.call_times) == (
        greta.id, jonas.id, "tue-afternoon", "tue 15:30")
    assert session.get(Senior, greta.id).status == "matched"
    messages = {m.kind: m for m in session.exec(select(Message)).all()}
    assert messages["pair_volunteer"].status == "recorded"  # handed to the outbox sender
    assert messages["pair_senior_sms"].status == "recorded"
    assert "tisdagar kl. 15.30" in messages["pair_volunteer"].body
    page = text(logged_in.get("/matchning/"))
    assert "Greta Lind och Jonas Berg är nu telefonvänner." in page
    assert "Ingen senior väntar just nu." in page

    volunteer_page = text(logged_in.get(f"/volontarer/{jonas.id}"))
    assert "Lediga platser: 1 av 2." in volunteer_page
    assert f'href="/seniorer/{greta.id}"' in volunteer_page
    assert "Fick en senior att ringa" in volunteer_page  # the history entry, labelled
    senior_page = text(logged_in.get(f"/seniorer/{greta.id}"))
    assert "Matchad" in senior_page and f'href="/volontarer/{jonas.id}"' in senior_page
    assert "tisdag eftermiddag" in senior_page

    again = logged_in.submit(url, {"slots": ["tue-afternoon"]}, form_path="/matchning/")
    assert again.status_code == 302
    assert "Förslaget är redan hanterat." in text(logged_in.get("/matchning/"))
    assert len(fresh(session, Pair)) == 1


def test_reject_needs_a_reason_and_sticks(logged_in, session, seeded):
    greta = make_senior(session)
    jonas = make_volunteer(session)
    run_matching(logged_in)
    proposal = pending(session, greta)
    url = f"/matchning/forslag/{proposal.id}/avvisa"

    refused = logged_in.submit(url, {"reason": "  "}, form_path="/matchning/")
    assert refused.status_code == 422
    page = text(refused)
    assert re.search(rf'<textarea id="p{proposal.id}-reason"[^>]*aria-invalid="true"', page)
    assert "Ange varför förslaget avvisas." in page
    assert fresh(session, Rejection) == []

    logged_in.submit(url, {"reason": "Har bråkat förut"}, form_path="/matchning/")
    rejection, = fresh(session, Rejection)
    assert (rejection.senior_id, rejection.volunteer_id) == (greta.id, jonas.id)
    assert session.get(Senior, greta.id).status == "waiting"
    page = text(logged_in.get("/matchning/"))
    assert "föreslås aldrig mer" in page and "Förslaget avvisades." in page

    run_matching(logged_in)
    session.rollback()
    assert session.exec(select(MatchProposal).where(
        MatchProposal.status == "pending")).all() == []
    assert "Matchningsförslag avvisat" in text(logged_in.get(f"/seniorer/{greta.id}"))


def test_pick_by_hand_shows_warnings_that_must_be_confirmed(logged_in, session, seeded):
    karl = make_senior(session, "Karl", gender="male", languages="fi",
                       preferred_gender="female", availability="sun-morning")
    jonas = make_volunteer(session, "Jonas")
    make_volunteer(session, "Dan", status="trained", phone="+46702220009")
    url = f"/matchning/senior/{karl.id}/valj"

    page = text(logged_in.get(url))
    assert re.search(rf'<option value="{jonas.id}">Jonas Berg', page)
    assert "Dan Berg" not in page  # not approved: not offered
    page = text(logged_in.get(f"{url}?volunteer_id={jonas.id}"))
    warnings = re.search(r'<div class="flash flash-warning" id="warnings">(.*?)</div>', page,
                         re.S).group(1)
    assert len(re.findall("<li>", warnings)) >= 3
    assert "Jag har läst varningarna" in page

    refused = logged_in.submit(url, {"volunteer_id": jonas.id, "slots": ["sun-morning"]},
                               form_path=url)
    assert refused.status_code == 422
    assert re.search(r'id="confirm"[^>]*aria-invalid="true"', text(refused))
    assert fresh(session, Pair) == []

    response = logged_in.submit(url, {"volunteer_id": jonas.id, "slots": ["sun-morning"],
                                      "confirm": "y"}, form_path=url)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/seniorer/{karl.id}"
    pair, = fresh(session, Pair)
    assert pair.volunteer_id == jonas.id and pair.warnings and pair.explanation
    assert session.get(Senior, karl.id).status == "matched"
    page = text(logged_in.get(url))
    assert "väntar inte på en telefonvän just nu" in page


def test_end_pair_from_the_senior_page_and_carry_the_handover(logged_in, session, seeded):
    greta = make_senior(session, "Greta", days_waiting=300)
    since = greta.waiting_since
    jonas = make_volunteer(session, "Jonas")
    pair = make_pair(session, greta, jonas, agreed_slots="tue-afternoon")
    make_senior(session, "Nora", days_waiting=2, phone="+46701110001")
    make_volunteer(session, "Lena", phone="+46702220001", gender="female")
    page = text(logged_in.get(f"/seniorer/{greta.id}"))
    assert f'action="/par/{pair.id}/avsluta"' in page
    assert "Seniorn har en telefonvän. Status ändras via matchningen." in page

    refused = logged_in.submit(f"/par/{pair.id}/avsluta", {"reason": "", "next": "/x"},
                               form_path=f"/seniorer/{greta.id}")
    assert refused.status_code == 422
    assert "Välj varför telefonvänskapet avslutas." in text(refused)

    note = "Tycker om att prata om sina rosor. Ring hellre efter lunch."
    response = logged_in.submit(f"/par/{pair.id}/avsluta", {
        "reason": "volunteer_stopped", "comment": "", "handover_note": note,
        "next": f"/seniorer/{greta.id}"}, form_path=f"/seniorer/{greta.id}")
    assert response.headers["Location"] == f"/seniorer/{greta.id}"
    greta = fresh(session, Senior, Senior.id == greta.id)[0]
    assert greta.status == "waiting" and greta.waiting_since == since
    page = text(logged_in.get(f"/seniorer/{greta.id}"))
    assert "väntar igen, med sin tidigare plats i kön" in page
    assert note in page and "Volontären har slutat" in page
    assert "Telefonvänskap avslutat" in text(logged_in.get(f"/volontarer/{jonas.id}"))
    assert session.exec(select(PersonEvent).where(PersonEvent.volunteer_id == jonas.id)).one()

    run_matching(logged_in)
    page = text(logged_in.get("/matchning/"))
    block = re.search(rf'aria-labelledby="senior-{greta.id}">(.*?)</section>', page,
                      re.S).group(1)
    assert "Överlämning från Jonas Berg" in block and note in block
    assert "Lena Berg" in block  # Jonas, who stopped, is not proposed again
    assert page.index("Greta Lind") < page.index("Nora Lind")  # her old place in the queue


def test_pair_page_from_the_volunteer_page(logged_in, session):
    greta = make_senior(session)
    jonas = make_volunteer(session, capacity=2)
    pair = make_pair(session, greta, jonas)
    page = text(logged_in.get(f"/volontarer/{jonas.id}"))
    assert "Lediga platser: 1 av 2." in page
    link = re.search(rf'href="(/par/{pair.id}\?next=[^"]+)"', page).group(1)
    pair_page = text(logged_in.get(html.unescape(link)))
    assert "Telefonvänner: Greta Lind och Jonas Berg" in pair_page
    response = logged_in.submit(f"/par/{pair.id}/avsluta", {
        "reason": "other", "comment": "Flyttar utomlands", "handover_note": "",
        "next": f"/volontarer/{jonas.id}"}, form_path=f"/par/{pair.id}")
    assert response.headers["Location"] == f"/volontarer/{jonas.id}"
    assert "Lediga platser: 2 av 2." in text(logged_in.get(f"/volontarer/{jonas.id}"))
    # An outside address in next is ignored.
    other = make_pair(session, make_senior(session, "Ulla", phone="+46701110009"), jonas)
    response = logged_in.submit(f"/par/{other.id}/avsluta", {
        "reason": "no_click", "next": "//evil.example/"}, form_path=f"/par/{other.id}")
    assert response.headers["Location"].startswith("/seniorer/")


# ---------------------------------------------------------------- command line

def test_match_command_writes_the_csv_and_stores_the_run(runner, session, seeded, tmp_path):
    greta = make_senior(session, "Greta", external_id="S-1", days_waiting=30)
    make_senior(session, "Nils", gender="male", phone="+46701110001", days_waiting=20,
                interests="fotboll")
    make_senior(session, "Karl", languages="fi", phone="+46701110002")
    jonas = make_volunteer(session, "Jonas", external_id="V-9")
    make_volunteer(session, "Lena", phone="+46702220001", gender="female",
                   interests="fotboll, Hammarby", availability="tue-afternoon")
    out = tmp_path / "forslag.csv"

    result = runner.invoke(args=["match", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Matchning klar: 2 av 3 väntande seniorer fick ett förslag (2 volontärer med " \
           "lediga platser); 1 utan förslag." in result.output
    assert str(out) in result.output

    run, = fresh(session, MatchRun)
    assert run.by_id is None and run.proposed == 2
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "senior_external_id,volunteer_external_id,score,explanation"
    rows = list(csv.reader(lines[1:]))
    proposals = {p.senior_id: p for p in session.exec(select(MatchProposal).where(
        MatchProposal.rank == 0, MatchProposal.status == "pending")).all()}
    by_senior = {row[0]: row for row in rows}
    assert set(by_senior) == {"S-1", ""}  # Nils has no external id
    greta_row = by_senior["S-1"]
    assert greta_row[1] == ("V-9" if proposals[greta.id].volunteer_id == jonas.id else "")
    assert greta_row[2] == f"{proposals[greta.id].score:.3f}"
    assert greta_row[3] == proposals[greta.id].explanation
    assert len(rows) == 2


def test_match_command_without_anyone_waiting(runner, session, seeded):
    result = runner.invoke(args=["match"])
    assert result.exit_code == 0, result.output
    assert "Matchning klar: 0 av 0 väntande seniorer" in result.output
    assert len(fresh(session, MatchRun)) == 1

