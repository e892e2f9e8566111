from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from conftest import PASSWORD, Client, html_text
from sqlmodel import select

from vanringen import create_app
from vanringen.auth import hash_password
from vanringen.db import utcnow
from vanringen.models import AuditEvent, StaffUser


def test_login_page_is_swedish(client):
    page = client.get("/logga-in").get_data(as_text=True)
    assert "Logga in" in page and 'lang="sv"' in page


def test_login_and_logout(client, coordinator):
    client.login(coordinator)
    assert client.get("/oversikt").status_code == 200
    client.submit("/logga-ut", form_path="/oversikt")
    assert client.get("/oversikt").status_code == 302


def test_wrong_password_is_refused_in_swedish(client, coordinator):
    response = client.submit("/logga-in", {"email": coordinator.email, "password": "fel"})
    assert response.status_code == 422
    assert "Fel e-post eller lösenord" in response.get_data(as_text=True)
    assert client.get("/oversikt").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "/%09/evil.example", "/%5Cevil.example",
                                    "https://evil.example/", "javascript:alert(1)"])
def test_login_rejects_foreign_next(client, coordinator, target):
    response = client.submit(f"/logga-in?next={target}",
                             {"email": coordinator.email, "password": "rätt-hemligt-lösen"},
                             form_path="/logga-in")
    assert response.headers["Location"] == "/"


def test_login_follows_local_next(client, coordinator):
    response = client.submit("/logga-in?next=/seniorer/%3Fstatus%3Dwaiting",
                             {"email": coordinator.email, "password": "rätt-hemligt-lösen"},
                             form_path="/logga-in")
    assert response.headers["Location"] == "/seniorer/?status=waiting"


def test_post_without_csrf_token_is_rejected(client, coordinator):
    response = client.raw.post("/logga-in", data={"email": coordinator.email,
                                                  "password": "rätt-hemligt-lösen"})
    assert response.status_code == 400
    assert client.get("/oversikt").status_code == 302


def test_every_non_public_route_needs_login(app, client):
    public = {"auth.login", "auth.login_code", "static", "i18n.set_locale", "health"}
    checked = 0
    for rule in app.url_map.iter_rules():
        # Twilio's webhooks are signed instead (tests/test_twilio_hooks.py), and so is a
        # volunteer's link to their page (tests/test_volunteer_page.py) and a password-reset
        # link (tests/test_password_reset.py).
        if rule.endpoint in public or rule.endpoint.startswith(("public.", "twilio.",
                                                                "volunteer_page.",
                                                                "password_reset.")):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "x")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            # A POST without a CSRF token may be refused (400) before login is even checked;
            # either way nothing is served to an anonymous visitor.
            assert response.status_code in (302, 401, 400), (method, url, response.status_code)
            if method == "GET":
                assert response.status_code in (302, 401), url
                assert "/logga-in" in response.headers.get("Location", "/logga-in")
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("flag", ["--admin", "--coordinator"])
def test_users_create_command(runner, session, flag):
    result = runner.invoke(args=["users", "create", flag, "Ny@Example.se", "--password",
                                 "ett-långt-lösen"])
    assert result.exit_code == 0, result.output
    user = session.exec(select(StaffUser)).one()
    assert user.email == "ny@example.se"
    assert user.role == flag.strip("-")
    assert user.password_hash.startswith("scrypt:")


def test_users_create_refuses_short_password_and_duplicates(runner):
    assert runner.invoke(args=["users", "create", "a@b.se", "--password", "kort"]).exit_code != 0
    ok = runner.invoke(args=["users", "create", "a@b.se", "--password", "ett-långt-lösen"])
    assert ok.exit_code == 0
    again = runner.invoke(args=["users", "create", "a@b.se", "--password", "ett-långt-lösen"])
    assert again.exit_code != 0 and "redan" in again.output


# ---------------------------------------------------------------- lockout, sessions, audit

def sign_in(client, user_or_email, password):
    email = getattr(user_or_email, "email", user_or_email)
    return client.submit("/logga-in", {"email": email, "password": password})


def actions(session, *names) -> list[AuditEvent]:
    session.expire_all()
    return session.exec(select(AuditEvent).where(AuditEvent.action.in_(names))
                        .order_by(AuditEvent.id)).all()


def test_unknown_email_and_wrong_password_get_the_same_answer(client, coordinator, session):
    unknown = sign_in(client, "ingen@example.se", "fel-lösen-123")
    wrong = sign_in(client, coordinator, "fel-lösen-123")
    assert unknown.status_code == wrong.status_code == 422
    assert "Fel e-post eller lösenord" in html_text(unknown)
    assert "Fel e-post eller lösenord" in html_text(wrong)
    rows = actions(session, "sign_in_failed")
    assert [row.staff_id for row in rows] == [None, coordinator.id]
    # The typed address of an unknown account is kept nowhere in the log.
    assert all("ingen@" not in f"{row.detail}{row.endpoint}" for row in rows)


def test_lockout_after_max_failures_and_its_expiry(client, coordinator, session, app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        assert "Fel e-post" in html_text(sign_in(client, coordinator, "fel-lösen-123"))
    locked = sign_in(client, coordinator, "fel-lösen-123")
    assert locked.status_code == 422
    assert "Kontot är låst" in html_text(locked)
    session.refresh(coordinator)
    assert coordinator.locked_until > utcnow()
    minutes = app.config["LOGIN_LOCK_MINUTES"]
    assert coordinator.locked_until <= utcnow() + timedelta(minutes=minutes)
    # Even the right password is refused while the lock lasts, saying until when.
    refused = sign_in(client, coordinator, PASSWORD)
    assert refused.status_code == 422 and "Försök igen efter" in html_text(refused)
    local = coordinator.locked_until.astimezone(ZoneInfo("Europe/Stockholm"))
    assert local.strftime("%H:%M") in html_text(refused)
    assert client.get("/oversikt").status_code == 302
    assert len(actions(session, "locked")) == 1
    with time_machine.travel(utcnow() + timedelta(minutes=minutes, seconds=5), tick=False):
        assert sign_in(client, coordinator, PASSWORD).status_code == 302
        assert client.get("/oversikt").status_code == 200
    session.refresh(coordinator)
    assert coordinator.locked_until is None and coordinator.failed_logins == 0


def test_success_resets_the_count_and_records_the_sign_in(client, coordinator, session):
    for _ in range(3):
        sign_in(client, coordinator, "fel-lösen-123")
    session.refresh(coordinator)
    assert coordinator.failed_logins == 3
    client.login(coordinator)
    session.refresh(coordinator)
    assert coordinator.failed_logins == 0 and coordinator.last_login_at is not None
    (row,) = actions(session, "sign_in")
    assert row.staff_id == row.actor_id == coordinator.id


def test_sign_out_is_audited(logged_in, coordinator, session):
    logged_in.submit("/logga-ut", form_path="/oversikt")
    (row,) = actions(session, "sign_out")
    assert row.staff_id == coordinator.id


def test_inactive_account_cannot_sign_in(client, coordinator, session):
    coordinator.active = False
    session.add(coordinator)
    session.commit()
    response = sign_in(client, coordinator, PASSWORD)
    assert response.status_code == 422 and "Fel e-post eller lösenord" in html_text(response)


def test_session_ends_after_idle_minutes(logged_in, app, session, coordinator):
    minutes = app.config["SESSION_IDLE_MINUTES"] = 30
    start = utcnow()
    with time_machine.travel(start + timedelta(minutes=minutes - 1), tick=False):
        assert logged_in.get("/oversikt").status_code == 200
    # Each request starts the idle time again.
    with time_machine.travel(start + timedelta(minutes=2 * minutes - 2), tick=False):
        assert logged_in.get("/oversikt").status_code == 200
    with time_machine.travel(start + timedelta(minutes=3 * minutes), tick=False):
        response = logged_in.get("/seniorer/?status=waiting")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/logga-in?next=")
        page = html_text(logged_in.get(response.headers["Location"]))
        assert f"Du har loggats ut efter {minutes} minuter utan aktivitet." in page
        assert logged_in.get("/oversikt").status_code == 302
    assert [row.detail for row in actions(session, "sign_out")] == ["idle"]


def test_sign_in_starts_a_new_session_but_keeps_the_language(client, coordinator):
    client.get("/logga-in")
    with client.session_transaction() as s:
        s["planted"] = "by-someone-else"
        s["locale"] = "en"
    client.login(coordinator)
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["locale"] == "en"
        assert s.permanent


def test_a_password_change_ends_older_sessions(app, client, coordinator, session):
    client.login(coordinator)
    other = Client(app.test_client())
    other.login(coordinator)
    coordinator.password_hash = hash_password("ett-helt-nytt-lösen")
    session.add(coordinator)
    session.commit()
    assert client.get("/oversikt").status_code == 302
    assert other.get("/oversikt").status_code == 302
    client.login(coordinator, "ett-helt-nytt-lösen")
    assert client.get("/oversikt").status_code == 200


@pytest.mark.parametrize(("env", "secure"), [("development", False), ("production", True)])
def test_session_cookie_flags(database_url, coordinator, env, secure):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                      "VANRINGEN_ENV": env, "WTF_CSRF_ENABLED": False})
    try:
        response = app.test_client().post("/logga-in", data={"email": coordinator.email,
                                                              "password": PASSWORD})
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Expires=" in cookie  # permanent: renewed with every request
        assert ("Secure" in cookie) is secure
    finally:
        app.extensions["vanringen.engine"].dispose()


def test_cookie_is_renewed_on_every_request(logged_in):
    assert "Set-Cookie" in logged_in.get("/oversikt").headers


def test_admin_is_advised_to_turn_on_two_factor(client, admin, coordinator):
    response = client.login(admin)
    assert "rekommenderar att du slår på tvåstegsverifiering" in html_text(
        client.get(response.headers["Location"], follow_redirects=True))
    other = Client(client.application.test_client())
    other.login(coordinator)
    assert "tvåstegsverifiering" not in html_text(other.get("/oversikt"))


def test_admins_must_enrol_first_when_required(app, client, admin):
    app.config["REQUIRE_TOTP_FOR_ADMINS"] = True
    client.login(admin)
    response = client.get("/oversikt")
    assert response.status_code == 302
    assert response.headers["Location"] == "/konto/tvastegsverifiering/"
    assert client.get("/konto/tvastegsverifiering/").status_code == 200
