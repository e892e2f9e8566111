"""The coordinators' side of the call log (vanringen.call_reports): the log on the pair
page, logging or correcting a past call there, and revoking a volunteer's personal links."""

import pytest
import time_machine
from call_support import at, calls_of, paired, planner
from conftest import html_text
from sqlmodel import select

from vanringen import volunteer_links
from vanringen.call_log import record_outcome
from vanringen.models import CallLog, Pair, PersonEvent, Volunteer

NOW = at("2026-12-08 15:00")  # Tuesday; calls on 1 and 8 December have been


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def pair(app, session):
    pair = paired(session, call_times="tue 14:00")
    with app.test_request_context():
        planner(app, session).plan([pair], now=at("2026-11-30 08:00"))
        planner(app, session).plan([pair], now=NOW)
        session.commit()
    return pair


def logs(session) -> list[CallLog]:
    session.expire_all()
    return list(session.exec(select(CallLog).order_by(CallLog.occurred_at)))


def page_of(client, pair) -> str:
    return html_text(client.get(f"/par/{pair.id}"))


def test_the_pair_page_lists_the_call_log(app, logged_in, session, pair):
    first, second = calls_of(session, pair)[:2]
    with app.test_request_context():
        record_outcome(pair, first, "held", session=session, now=NOW, source="sms", minutes=25)
        record_outcome(pair, second, "no_answer", session=session, now=NOW, source="link",
                       note="Ringde två gånger", concern="Hon svarar aldrig längre")
        session.commit()
    text = page_of(logged_in, pair)
    assert '<h2 id="log-heading">Samtalslogg</h2>' in text
    rows = text.split('<table aria-labelledby="log-heading" class="call-log">')[1]
    assert rows.index("tis 8 dec. 2026 14:00") < rows.index("tis 1 dec. 2026 14:00")
    assert "<td>Samtalet blev av</td>\n      <td>25</td>\n      <td>SMS-svar</td>" in rows
    assert '<tr class="concern">' in rows
    assert '<strong class="badge badge-warn">Oro</strong> Hon svarar aldrig längre<br>' \
           'Ringde två gånger' in rows
    assert "Volontärens sida" in rows


def test_a_coordinator_logs_a_past_call(logged_in, session, pair, coordinator):
    call = calls_of(session, pair)[0]
    response = logged_in.submit(f"/par/{pair.id}/samtalslogg",
                                {"call_id": call.id, "outcome": "cancelled_senior",
                                 "note": "Greta var hos tandläkaren"},
                                form_path=f"/par/{pair.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/par/{pair.id}#samtalslogg"
    entry, = logs(session)
    assert (entry.call_id, entry.outcome, entry.source, entry.reported_by_staff_id) == (
        call.id, "cancelled_senior", "coordinator", coordinator.id)
    assert entry.note == "Greta var hos tandläkaren" and entry.minutes is None
    assert "Samtalet är noterat." in page_of(logged_in, pair)


def test_a_coordinator_overrides_what_was_reported(app, logged_in, session, pair):
    call = calls_of(session, pair)[0]
    with app.test_request_context():
        record_outcome(pair, call, "no_answer", session=session, now=NOW, source="sms")
        session.commit()
    assert "(loggat)" in page_of(logged_in, pair)
    logged_in.submit(f"/par/{pair.id}/samtalslogg",
                     {"call_id": call.id, "outcome": "held", "minutes": "40"},
                     form_path=f"/par/{pair.id}")
    entry, = logs(session)
    assert (entry.outcome, entry.minutes, entry.source) == ("held", 40, "coordinator")


@pytest.mark.parametrize(("data", "field", "error"), [
    ({"outcome": "held"}, "call_id", "Välj vilket samtal det gäller."),
    ({"call": 0, "outcome": ""}, "outcome", "Välj hur det gick med samtalet."),
    ({"call": 0, "outcome": "held", "minutes": "tjugo"}, "minutes",
     "Skriv antal minuter med siffror, t.ex. 25."),
    ({"call": 0, "outcome": "held", "minutes": "301"}, "minutes",
     "Skriv hur många minuter ni pratade (1–300)."),
    ({"call": 2, "outcome": "held"}, "call_id", "Samtalet har inte börjat än."),
])
def test_a_log_that_cannot_be_saved_is_explained(logged_in, session, pair, data, field, error):
    data = dict(data)
    if "call" in data:
        data["call_id"] = calls_of(session, pair)[data.pop("call")].id
    response = logged_in.submit(f"/par/{pair.id}/samtalslogg", data,
                                form_path=f"/par/{pair.id}")
    assert response.status_code == 422
    text = html_text(response)
    assert f'<p class="error" role="alert" id="report-{field}-error">{error}</p>' in text
    assert f'aria-describedby="report-{field}-error"' in text or field == "outcome"
    assert logs(session) == []


def test_another_pairs_call_cannot_be_logged_here(app, logged_in, session, pair):
    other = paired(session, senior="Sven", volunteer="Lisa", n=1)
    with app.test_request_context():
        planner(app, session).plan([other], now=at("2026-11-30 08:00"))
        session.commit()
    response = logged_in.submit(f"/par/{pair.id}/samtalslogg",
                                {"call_id": calls_of(session, other)[0].id, "outcome": "held"},
                                form_path=f"/par/{pair.id}")
    assert response.status_code == 422 and logs(session) == []


def test_an_unknown_pair_is_not_found(logged_in, pair):
    assert logged_in.submit("/par/999/samtalslogg", {"outcome": "held"},
                            form_path=f"/par/{pair.id}").status_code == 404


def test_only_signed_in_staff_may_log(client, session, pair):
    response = client.raw.post(f"/par/{pair.id}/samtalslogg", data={"outcome": "held"})
    assert response.status_code in (302, 400)
    assert logs(session) == []


def test_revoking_a_volunteers_links(app, logged_in, session, pair, coordinator):
    volunteer = session.get(Volunteer, pair.volunteer_id)
    old = volunteer_links.token_for(volunteer, config=app.config)
    assert logged_in.get(f"/v/{old}").status_code == 200
    path = f"/volontarer/{volunteer.id}"
    assert "Spärra personliga länkar</button>" in html_text(logged_in.get(path))
    response = logged_in.submit(f"{path}/sparra-lankar", form_path=path)
    assert response.status_code == 302 and response.headers["Location"] == path
    text = html_text(logged_in.get(path))
    assert "Personliga länkar för Jonas Berg är spärrade." in text
    assert "Personliga länkar spärrade" in text  # in the history
    assert logged_in.get(f"/v/{old}").status_code == 410
    event = session.exec(select(PersonEvent).where(PersonEvent.action == "links_revoked")).one()
    assert event.actor_id == coordinator.id
    session.expire_all()
    fresh = volunteer_links.token_for(session.get(Volunteer, volunteer.id), config=app.config)
    assert logged_in.get(f"/v/{fresh}").status_code == 200


def test_revoking_needs_a_known_volunteer_and_the_csrf_token(logged_in, session, pair):
    assert logged_in.submit("/volontarer/999/sparra-lankar",
                            form_path=f"/volontarer/{pair.volunteer_id}").status_code == 404
    assert logged_in.raw.post(f"/volontarer/{pair.volunteer_id}/sparra-lankar").status_code \
        == 400
    assert session.get(Volunteer, pair.volunteer_id).link_version == 0


def test_an_ended_pairs_log_stays_readable(app, logged_in, session, pair):
    call = calls_of(session, pair)[0]
    with app.test_request_context():
        record_outcome(pair, call, "held", session=session, now=NOW, source="sms", minutes=15)
        session.commit()
    ended = session.get(Pair, pair.id)
    ended.status = "ended"
    session.add(ended)
    session.commit()
    text = page_of(logged_in, pair)
    assert "<td>Samtalet blev av</td>" in text
