"""Tvåstegsverifiering (vanringen/totp.py and the code step in auth.py): enrolment with a
confirming code, the second step at sign-in, wrong codes counting toward the lock, turning
it off with a code, and the audit rows."""

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from conftest import PASSWORD, Client, html_text
from sqlmodel import select

from vanringen import totp
from vanringen.db import utcnow
from vanringen.models import AuditEvent

PAGE = "/konto/tvastegsverifiering/"


def shown_secret(client) -> str:
    page = html_text(client.get(PAGE))
    return re.search(r"<code>([A-Z2-7 ]+)</code>", page).group(1).replace(" ", "")


def enrol(client) -> str:
    secret = shown_secret(client)
    response = client.submit(PAGE, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, html_text(response)
    return secret


@pytest.fixture
def with_totp(session, coordinator):
    coordinator.totp_secret = pyotp.random_base32()
    session.add(coordinator)
    session.commit()
    return coordinator


def wrong_code(secret: str) -> str:
    """Six digits that are none of the codes valid now (or a step before or after)."""
    return next(code for code in ("000000", "111111", "222222", "333333")
                if not totp.verify(secret, code))


def audit_actions(session) -> list[str]:
    session.expire_all()
    return [row.action for row in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_enrolment_page_shows_secret_and_a_qr_code_without_styles(logged_in):
    response = logged_in.get(PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Tvåstegsverifiering</h1>" in page
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "style" not in svg and "<script" not in page
    assert len(shown_secret(logged_in)) == 32


def test_a_wrong_code_saves_nothing(logged_in, session, coordinator):
    secret = shown_secret(logged_in)
    response = logged_in.submit(PAGE, {"code": wrong_code(secret)})
    assert response.status_code == 422
    assert "Fel kod" in html_text(response)
    session.refresh(coordinator)
    assert coordinator.totp_secret == ""


def test_enrol_and_sign_in_with_a_code(logged_in, client, session, coordinator):
    secret = enrol(logged_in)
    session.refresh(coordinator)
    assert coordinator.totp_secret == secret
    assert "totp_on" in audit_actions(session)
    assert "Tvåstegsverifiering är på" in html_text(logged_in.get(PAGE))

    logged_in.submit("/logga-ut", form_path="/oversikt")
    response = client.submit("/logga-in?next=/seniorer/",
                             {"email": coordinator.email, "password": PASSWORD},
                             form_path="/logga-in")
    assert response.headers["Location"] == "/logga-in/kod"
    # The password alone signs no one in.
    assert client.get("/oversikt").status_code == 302
    done = client.submit("/logga-in/kod", {"code": pyotp.TOTP(secret).now()})
    assert done.headers["Location"] == "/seniorer/"
    assert client.get("/oversikt").status_code == 200


def test_code_from_the_step_before_is_accepted(client, with_totp):
    client.login(with_totp)
    earlier = pyotp.TOTP(with_totp.totp_secret).at(utcnow() - timedelta(seconds=30))
    assert client.submit("/logga-in/kod", {"code": earlier}).status_code == 302


def test_wrong_codes_count_toward_the_lock(app, client, session, with_totp):
    client.login(with_totp)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        response = client.submit("/logga-in/kod", {"code": wrong_code(with_totp.totp_secret)})
        assert response.status_code == 422 and "Fel kod" in html_text(response)
    locked = client.submit("/logga-in/kod", {"code": wrong_code(with_totp.totp_secret)})
    assert locked.headers["Location"] == "/logga-in"
    assert "Kontot är låst" in html_text(client.get("/logga-in"))
    session.refresh(with_totp)
    assert with_totp.locked_until > utcnow()
    assert audit_actions(session).count("sign_in_failed") == limit
    # Locked: the password no longer leads to the code step.
    response = client.submit("/logga-in", {"email": with_totp.email, "password": PASSWORD})
    assert response.status_code == 422


def test_a_code_that_signed_in_never_signs_in_again(app, client, session, with_totp):
    code = pyotp.TOTP(with_totp.totp_secret).now()
    client.login(with_totp)
    assert client.submit("/logga-in/kod", {"code": code}).status_code == 302
    client.submit("/logga-ut", form_path="/oversikt")
    other = Client(app.test_client())
    other.login(with_totp)
    replayed = other.submit("/logga-in/kod", {"code": code})
    assert replayed.status_code == 422 and "Fel kod" in html_text(replayed)
    assert other.get("/oversikt").status_code == 302
    # The next step's code works: the app's clock is where the phone's will be in 30 s.
    with time_machine.travel(utcnow() + timedelta(seconds=30), tick=False):
        later = pyotp.TOTP(with_totp.totp_secret).now()
        assert other.submit("/logga-in/kod", {"code": later}).status_code == 302


def test_the_code_step_needs_a_recent_password(client, with_totp):
    assert client.get("/logga-in/kod").headers["Location"] == "/logga-in"
    client.login(with_totp)
    with time_machine.travel(utcnow() + timedelta(minutes=10), tick=False):
        code = pyotp.TOTP(with_totp.totp_secret).now()
        response = client.submit("/logga-in/kod", {"code": code}, form_path="/logga-in")
        assert response.headers["Location"] == "/logga-in"
        assert client.get("/oversikt").status_code == 302


def test_turning_off_needs_a_current_code(client, session, with_totp):
    client.login(with_totp)
    client.submit("/logga-in/kod", {"code": pyotp.TOTP(with_totp.totp_secret).now()})
    refused = client.submit(PAGE + "stang-av", {"code": wrong_code(with_totp.totp_secret)},
                            form_path=PAGE)
    assert refused.status_code == 422
    session.refresh(with_totp)
    assert with_totp.totp_secret
    ok = client.submit(PAGE + "stang-av", {"code": pyotp.TOTP(with_totp.totp_secret).now()},
                       form_path=PAGE)
    assert ok.status_code == 302
    session.refresh(with_totp)
    assert with_totp.totp_secret == ""
    assert "totp_off" in audit_actions(session)


def test_required_admins_cannot_turn_it_off(app, client, session, admin):
    admin.totp_secret = pyotp.random_base32()
    session.add(admin)
    session.commit()
    app.config["REQUIRE_TOTP_FOR_ADMINS"] = True
    client.login(admin)
    client.submit("/logga-in/kod", {"code": pyotp.TOTP(admin.totp_secret).now()})
    client.submit(PAGE + "stang-av", {"code": pyotp.TOTP(admin.totp_secret).now()},
                  form_path=PAGE)
    session.refresh(admin)
    assert admin.totp_secret


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef"])
def test_verify_refuses_malformed_codes(code):
    assert not totp.verify(pyotp.random_base32(), code)


def test_verify_accepts_spaces():
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).now()
    assert totp.verify(secret, f"{code[:3]} {code[3:]}")
