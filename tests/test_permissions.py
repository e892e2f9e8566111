"""Who may open what (vanringen/permissions.py): every route in the app, with every method
it takes, as a stranger, a volunteer holding their signed link, a coordinator and an admin.

The tables below are this test's own decision for every endpoint: a new route fails here,
by name, until someone decides who may open it.
"""

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from call_support import paired
from conftest import PASSWORD
from sqlmodel import SQLModel
from twilio.request_validator import RequestValidator

from vanringen import permissions, texts, volunteer_links
from vanringen.auth import create_user
from vanringen.db import utcnow
from vanringen.models import (
    IntakeRequest,
    InterestCategory,
    MatchProposal,
    MatchRun,
    Message,
    PairPause,
    ScheduledCall,
    Task,
    Volunteer,
)

PUBLIC = {
    "auth.login", "auth.login_code", "health", "i18n.set_locale", "static",
    "password_reset.new_password", "password_reset.request_link",
    "public.apply", "public.thanks",
    "twilio.bridge_choice", "twilio.bridge_done", "twilio.inbound_call", "twilio.inbound_sms",
    "twilio.intake_choice", "twilio.intake_recorded", "twilio.intake_recording",
    "twilio.intake_transcription", "twilio.status", "twilio.voice_answer",
    "twilio.voice_message",
    "volunteer_page.page", "volunteer_page.report_call",
}
ADMIN = {
    "audit_log.index", "audit_log.download",
    "staff_admin.edit", "staff_admin.index", "staff_admin.new", "staff_admin.remove_totp",
    "staff_admin.send_link", "staff_admin.unlock",
    "text_admin.edit", "text_admin.index",
}
COORDINATOR = {
    "index", "auth.logout",
    "access.senior_json", "access.senior_page", "access.volunteer_json", "access.volunteer_page",
    "erasure.erase_senior_page", "erasure.erase_volunteer_page",
    "erasure.withdraw_senior_page", "erasure.withdraw_volunteer_page",
    "call_plans.edit_times", "call_plans.move", "call_plans.pause", "call_plans.resume",
    "call_plans.skip", "call_reports.log_call", "call_reports.revoke_links",
    "imports.upload", "intake.done", "intake.index", "intake.recording",
    "message_log.index", "on_duty.index", "on_duty.leave", "pairs.detail", "pairs.end",
    "proposals.approve_proposal", "proposals.choose", "proposals.index",
    "proposals.reject_proposal", "proposals.run",
    "reports.download", "reports.index", "reports.printable", "reports.recompute",
    "seniors.detail", "seniors.edit", "seniors.index", "seniors.new", "seniors.set_status",
    "tasks.close", "tasks.index", "totp.disable", "totp.index",
    "taxonomy.create", "taxonomy.delete", "taxonomy.edit", "taxonomy.index",
    "views.home",
    "volunteers.detail", "volunteers.edit", "volunteers.index", "volunteers.transition",
}
EXPECTED = {**{e: "public" for e in PUBLIC}, **{e: "admin" for e in ADMIN},
            **{e: "coordinator" for e in COORDINATOR}}
METHODS = ("GET", "POST")
VISITORS = ("anonymous", "volunteer", "coordinator", "admin")


def test_every_endpoint_has_a_decided_role(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    undecided = sorted(endpoints - EXPECTED.keys())
    assert not undecided, f"no decision in this test's tables for: {undecided}"
    wrong = {e: permissions.required_role(e) for e in endpoints
             if permissions.required_role(e) != EXPECTED[e]}
    assert not wrong, f"permissions.required_role disagrees with the table: {wrong}"


def test_an_unknown_endpoint_needs_a_coordinator():
    # A blueprint nobody listed is staff-only by default, never public by accident.
    assert permissions.required_role("ny_modul.index") == "coordinator"
    assert permissions.required_role("") == "coordinator"


# ---------------------------------------------------------------- seeded objects

@pytest.fixture
def seeded(app, session):
    """One of everything a route's address can name."""
    pair = paired(session, call_times="tue 14:00")
    volunteer = session.get(Volunteer, pair.volunteer_id)
    call = ScheduledCall(pair_id=pair.id, slot="tue 14:00", occurs_on=date(2026, 12, 8),
                         scheduled_at=utcnow())
    pause = PairPause(pair_id=pair.id, starts_on=date(2026, 12, 1),
                      resumes_on=date(2026, 12, 15))
    task = Task(kind="no_call", title="Inget samtal", pair_id=pair.id,
                senior_id=pair.senior_id, volunteer_id=pair.volunteer_id)
    message = Message(channel="sms", recipient="+46701110000", kind="pair_volunteer",
                      body="Hej", due_at=utcnow(), senior_id=pair.senior_id,
                      volunteer_id=pair.volunteer_id)
    intake = IntakeRequest(call_sid="CA" + "12" * 16, senior_id=pair.senior_id)
    run = MatchRun()
    category = InterestCategory(key="provkategori", label="Provkategori", terms="prov")
    session.add_all([call, pause, task, message, intake, run, category])
    session.flush()
    proposal = MatchProposal(run_id=run.id, senior_id=pair.senior_id,
                             volunteer_id=pair.volunteer_id)
    session.add(proposal)
    session.commit()
    token = volunteer_links.token_for(volunteer, config=app.config)
    # Another account for the staff pages to act on, never the visitor's own.
    other = create_user("kollega@example.se", PASSWORD, role="coordinator", session=session)
    session.commit()
    return {
        "staff_id": other.id,
        "senior_id": pair.senior_id, "volunteer_id": pair.volunteer_id, "pair_id": pair.id,
        "call_id": call.id, "pause_id": pause.id, "task_id": task.id,
        "message_id": message.id, "intake_id": intake.id, "proposal_id": proposal.id,
        "category_id": category.id, "token": token, "key": next(iter(texts.shipped())),
        "language": "sv", "action": "withdraw", "code": "en", "fmt": "csv",
        "filename": "style.css",
    }


def routes(app, seeded):
    """(endpoint, method, path) for every rule, GETs first: a POST may end the pair."""
    found = []
    for rule in app.url_map.iter_rules():
        missing = set(rule.arguments) - seeded.keys()
        assert not missing, f"{rule.endpoint}: no seeded value for {sorted(missing)}"
        with app.test_request_context():
            path = app.url_for(rule.endpoint, **{a: seeded[a] for a in rule.arguments})
        found += [(rule.endpoint, m, path) for m in METHODS if m in rule.methods]
    return sorted(found, key=lambda r: (r[1] != "GET", r[0]))


def visitor(kind, client, request, seeded):
    if kind in ("coordinator", "admin"):
        client.login(request.getfixturevalue(kind))
    elif kind == "volunteer":
        # A volunteer has opened their page: whatever it leaves in the browser, it is no key
        # to the staff pages.
        assert client.raw.get(f"/v/{seeded['token']}").status_code == 200
    return client


def to_sign_in(response) -> bool:
    return response.status_code == 302 and \
        urlsplit(response.headers["Location"]).path == "/logga-in"


def stopped_at_the_door(response) -> bool:
    """The permission check's answer to a visitor without a staff sign-in: to sign-in, and
    back to the page afterwards (`next`). A view's own redirect to sign-in (signing out,
    the code step without a half-done sign-in) carries no `next`."""
    return to_sign_in(response) and \
        "next" in parse_qs(urlsplit(response.headers["Location"]).query)


# The second sign-in step sends a browser without a half-done sign-in back to the first.
SENDS_TO_SIGN_IN_ITSELF = {"auth.login_code"}


@pytest.mark.parametrize("kind", VISITORS)
def test_role_by_route_matrix(app, client, seeded, request, kind):
    app.config["WTF_CSRF_ENABLED"] = False  # the matrix asks who, not whether a form is valid
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a finding, reported with the rest
    client = visitor(kind, client, request, seeded)
    problems = []
    for endpoint, method, path in routes(app, seeded):
        response = client.raw.open(path, method=method)
        response.close()  # a file sent (static) is open until then
        role, code = EXPECTED[endpoint], response.status_code
        if code >= 500:
            problems.append(f"{method} {path} ({endpoint}): {code}")
        elif role == "public":
            if stopped_at_the_door(response) or (
                    to_sign_in(response) and endpoint not in SENDS_TO_SIGN_IN_ITSELF):
                problems.append(f"{method} {path}: public but sent to sign-in")
        elif kind in ("anonymous", "volunteer"):
            if not stopped_at_the_door(response):
                problems.append(f"{method} {path} ({endpoint}): {code}, not sent to sign-in")
        elif kind == "coordinator" and role == "admin":
            if code != 403:
                problems.append(f"{method} {path} ({endpoint}): {code}, admin-only")
        elif code == 403 or stopped_at_the_door(response):
            problems.append(f"{method} {path} ({endpoint}): {code} for {kind}")
        if kind in ("coordinator", "admin") and endpoint == "auth.logout":
            client.login(request.getfixturevalue(kind))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- CSRF

def table_counts(app) -> dict:
    with app.extensions["vanringen.engine"].connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in SQLModel.metadata.sorted_tables}


def test_every_form_post_without_its_token_is_refused_and_writes_nothing(app, client, admin,
                                                                         seeded):
    assert app.config["WTF_CSRF_ENABLED"]
    client.login(admin)
    before = table_counts(app)
    refused = {}
    for endpoint, method, path in routes(app, seeded):
        if method != "POST" or endpoint.startswith("twilio."):
            continue
        response = client.raw.post(path, data={"name": "x"})
        refused[endpoint] = response.status_code
    assert refused and all(code == 400 for code in refused.values()), refused
    assert table_counts(app) == before


def test_twilio_webhooks_need_a_signature_not_a_csrf_token(app, client, seeded):
    app.config["TWILIO_AUTH_TOKEN"] = "0123456789abcdef0123456789abcdef"
    params = {"MessageSid": "SM" + "ab" * 16, "MessageStatus": "delivered"}
    signature = RequestValidator(app.config["TWILIO_AUTH_TOKEN"]).compute_signature(
        "http://localhost/twilio/status", params)
    signed = client.raw.post("/twilio/status", data=params,
                             headers={"X-Twilio-Signature": signature})
    assert signed.status_code == 204  # no CSRF token, and none asked for
    unsigned = client.raw.post("/twilio/status", data=params)
    assert unsigned.status_code == 403
