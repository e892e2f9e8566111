import pytest
from sqlmodel import select

from vanringen.models import StaffUser


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
    public = {"auth.login", "static", "i18n.set_locale", "health"}
    checked = 0
    for rule in app.url_map.iter_rules():
        # Twilio's webhooks are signed instead (tests/test_twilio_hooks.py), and so is a
        # volunteer's link to their page (tests/test_volunteer_page.py).
        if rule.endpoint in public or rule.endpoint.startswith(("public.", "twilio.",
                                                                "volunteer_page.")):
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
