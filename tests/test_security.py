"""Security headers and rate limits (vanringen/security.py): the CSP on every page, HSTS only
in production, no redirect to https from the app, and 429 after too many sign-ins,
applications or link openings, counted per app (memory) or shared (Redis)."""

import re
import secrets
from pathlib import Path

import pytest
from conftest import PASSWORD, Client, html_text, need_tool
from sqlmodel import select
from test_seniors import intake

from vanringen import create_app
from vanringen.models import Senior, Volunteer

CSP = ("default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'; media-src 'self'; img-src 'self' data:")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def make_app(database_url):
    """Apps with settings of their own, on the test's database."""
    made = []

    def make(**config):
        app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                          **config})
        made.append(app)
        return Client(app.test_client())

    yield make
    for app in made:
        app.extensions["vanringen.engine"].dispose()


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


# ---------------------------------------------------------------- headers

@pytest.mark.parametrize("path", ["/logga-in", "/bli-telefonvan", "/bli-telefonvan/tack",
                                  "/health", "/finns-inte", "/static/style.css"])
def test_every_response_has_the_headers(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers
    response.close()  # the static file's handle


def test_pages_behind_sign_in_too(logged_in):
    response = logged_in.get("/oversikt")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP


def test_the_volunteer_page_keeps_its_own_referrer_policy(client):
    response = client.get("/v/ingen-riktig-lank")
    assert response.status_code == 403
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == CSP


def test_no_template_has_inline_script_or_style():
    """The CSP forbids them: a browser would silently drop them."""
    inline = re.compile(r"<script|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
    found = [f"{path.relative_to(TEMPLATES)}: {m.group()}"
             for path in TEMPLATES.rglob("*.html")
             for m in inline.finditer(path.read_text(encoding="utf-8"))]
    assert found == []


def test_hsts_only_in_production(make_app):
    development = make_app()
    production = make_app(VANRINGEN_ENV="production")
    assert "Strict-Transport-Security" not in development.get(
        "/logga-in", base_url="https://vanringen.example").headers
    over_https = production.get("/logga-in", base_url="https://vanringen.example")
    assert over_https.headers["Strict-Transport-Security"] == \
        "max-age=31556926; includeSubDomains"
    # Behind the HTTPS proxy the app itself is reached over http.
    behind_proxy = production.get("/logga-in", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in behind_proxy.headers


def test_the_app_never_redirects_to_https_itself(make_app):
    """The proxy does; a redirect would turn Twilio's webhook POSTs into GETs."""
    production = make_app(VANRINGEN_ENV="production")
    assert production.get("/logga-in").status_code == 200
    assert production.post("/twilio/sms", data={"Body": "JA"}).status_code == 403  # signature


def test_force_https_redirects_only_what_did_not_come_over_https(make_app):
    client = make_app(VANRINGEN_ENV="production", FORCE_HTTPS=True)
    redirected = client.get("/logga-in")
    assert redirected.status_code == 302
    assert redirected.headers["Location"] == "https://localhost/logga-in"
    assert client.get("/logga-in", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    assert client.get("/logga-in", base_url="https://localhost").status_code == 200


@pytest.mark.parametrize(("env", "secure"), [("development", False), ("production", True)])
def test_session_cookie_settings_are_kept(make_app, env, secure):
    client = make_app(VANRINGEN_ENV=env)
    cookie = client.get("/logga-in").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure
    assert client.application.config["SESSION_COOKIE_SECURE"] is secure


# ---------------------------------------------------------------- rate limits

def sign_in(client, email="koordinator@example.se", password="fel-lösen", **kwargs):
    return client.submit("/logga-in", {"email": email, "password": password}, **kwargs)


def test_sign_in_is_limited(make_app):
    client = make_app(RATELIMIT_LOGIN="3 per minute")
    assert [sign_in(client).status_code for _ in range(3)] == [422, 422, 422]
    refused = sign_in(client)
    assert refused.status_code == 429
    assert "För många försök" in html_text(refused)
    assert client.get("/logga-in").status_code == 200  # the form itself is never refused
    assert sign_in(client, **from_address("10.0.0.2")).status_code == 422  # someone else


def test_the_right_password_counts_too(make_app, coordinator):
    client = make_app(RATELIMIT_LOGIN="1 per minute")
    assert sign_in(client, password=PASSWORD).status_code == 302
    assert sign_in(client, password=PASSWORD).status_code == 429


def test_in_english_when_chosen(make_app):
    client = make_app(RATELIMIT_LOGIN="1 per minute")
    client.submit("/sprak/en", {"next": "/logga-in"}, form_path="/logga-in")
    sign_in(client)
    assert "Too many attempts" in html_text(sign_in(client))


def test_applications_are_limited(make_app, session):
    client = make_app(RATELIMIT_APPLY="2 per minute")
    assert [client.submit("/bli-telefonvan", {}).status_code for _ in range(2)] == [422, 422]
    refused = client.submit("/bli-telefonvan", {})
    assert refused.status_code == 429 and "För många försök" in html_text(refused)
    assert client.get("/bli-telefonvan").status_code == 200
    assert session.exec(select(Volunteer)).all() == []


def test_link_openings_are_limited(make_app):
    client = make_app(RATELIMIT_LINK="3 per minute")
    assert [client.get("/v/gissad-lank").status_code for _ in range(3)] == [403, 403, 403]
    refused = client.get("/v/gissad-lank-2")
    assert refused.status_code == 429
    assert "Länken har öppnats många gånger" in html_text(refused)
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    assert refused.headers["Cache-Control"] == "no-store"
    assert "Huvudmeny" not in html_text(refused)  # the volunteer's layout, not the staff's


def test_twilio_is_never_limited(make_app):
    client = make_app(RATELIMIT_LOGIN="1 per minute", RATELIMIT_APPLY="1 per minute",
                      RATELIMIT_LINK="1 per minute")
    codes = {client.post("/twilio/sms", data={"Body": "JA"}).status_code for _ in range(5)}
    assert codes == {403}  # the signature check, never 429


def test_each_app_counts_for_itself(make_app):
    """Memory storage belongs to the app: one test's sign-ins never limit another's."""
    first = make_app(RATELIMIT_LOGIN="1 per minute")
    second = make_app(RATELIMIT_LOGIN="1 per minute")
    assert sign_in(first).status_code == 422
    assert sign_in(second).status_code == 422
    assert sign_in(first).status_code == 429


@pytest.mark.parametrize(("proxies", "second_code"), [(0, 429), (1, 422)])
def test_behind_a_trusted_proxy_each_client_counts_for_itself(make_app, proxies, second_code):
    client = make_app(RATELIMIT_LOGIN="1 per minute", TRUSTED_PROXIES=proxies)
    assert sign_in(client, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 422
    assert sign_in(client, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == \
        second_code


@pytest.mark.parametrize("limit", ["", "tio per minut", "10 per fortnight"])
def test_a_limit_that_cannot_be_read_stops_start_up(database_url, limit):
    with pytest.raises(RuntimeError, match="RATELIMIT_LOGIN"):
        create_app({"DATABASE_URL": database_url, "RATELIMIT_LOGIN": limit})


@pytest.fixture
def redis_server():
    import redis

    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError:
        server.close()
        need_tool(f"no Redis at {REDIS_URL} (apt-get install redis-server)")
    yield server
    server.close()


def test_with_redis_every_worker_shares_the_count(make_app, redis_server):
    # A fresh address per run: counts left in Redis by an earlier run never interfere.
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    first = make_app(REDIS_URL=REDIS_URL, RATELIMIT_LOGIN="2 per minute")
    second = make_app(REDIS_URL=REDIS_URL, RATELIMIT_LOGIN="2 per minute")
    try:
        assert sign_in(first, **from_address(address)).status_code == 422
        assert sign_in(second, **from_address(address)).status_code == 422
        assert sign_in(first, **from_address(address)).status_code == 429
        assert sign_in(second, **from_address(address)).status_code == 429
        assert any(address.encode() in key for key in redis_server.scan_iter("*vanringen*"))
    finally:
        for key in redis_server.scan_iter(f"*{address}*"):
            redis_server.delete(key)


def test_without_redis_the_limits_still_hold_in_memory(make_app):
    client = make_app(REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_LOGIN="1 per minute")
    assert sign_in(client).status_code == 422
    assert sign_in(client).status_code == 429


def test_a_nul_in_any_staff_form_or_search_is_refused_and_nothing_written(logged_in, session):
    response = logged_in.submit("/seniorer/ny", intake(first_name="Ann\x00a"))
    assert response.status_code == 400
    assert "Något blev fel i förfrågan" in response.get_data(as_text=True)
    assert session.exec(select(Senior)).all() == []
    assert logged_in.get("/seniorer/?q=a%00b").status_code == 400
    assert logged_in.get("/seniorer/?q=ab").status_code == 200
