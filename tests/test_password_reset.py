"""Glömt lösenordet (vanringen/password_reset.py): the same answer for every address, a
link by e-mail that works once and for PASSWORD_RESET_MINUTES, the message log without the
link, and `vanringen users reset-link`."""

import re
from datetime import timedelta

import pytest
import time_machine
from conftest import PASSWORD, Client, html_text
from sqlmodel import select

from notifications.result import SendResult
from vanringen import create_app
from vanringen.db import utcnow
from vanringen.models import AuditEvent, Message

NEW = "ett nytt långt lösen"
LINK_RE = re.compile(r"https?://[^\s]+/nytt-losenord/([A-Za-z0-9_.\-]+)")


class Recording:
    def __init__(self):
        self.sent = []

    def send_email(self, to, subject, body):
        self.sent.append((to, subject, body))
        return SendResult("recording", f"R{len(self.sent)}", "sent")

    def links(self) -> list[str]:
        return [match.group(0) for _to, _subject, body in self.sent
                for match in LINK_RE.finditer(body)]


@pytest.fixture
def outbox(app):
    recording = app.extensions["vanringen.mailer"] = Recording()
    return recording


def ask(client, email):
    return client.submit("/glomt-losenord", {"email": email})


def path_of(link: str) -> str:
    return link[link.index("/nytt-losenord/"):]


def choose(client, link, password=NEW, again=None):
    return client.submit(path_of(link), {"password": password, "again": again or password})


def without_tokens(response) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html_text(response))


def test_the_sign_in_page_links_to_the_form(client):
    assert 'href="/glomt-losenord"' in client.get("/logga-in").get_data(as_text=True)
    assert "Glömt lösenordet?" in html_text(client.get("/logga-in"))


def test_every_address_gets_the_same_answer(client, coordinator, outbox, session):
    known = ask(client, coordinator.email.upper())
    unknown = ask(client, "ingen@example.se")
    assert known.status_code == unknown.status_code == 200
    assert without_tokens(known) == without_tokens(unknown)
    assert "Om det finns ett konto för adressen" in html_text(known)
    assert [to for to, _s, _b in outbox.sent] == [coordinator.email]
    assert [m.recipient for m in session.exec(select(Message))] == [coordinator.email]


def test_an_inactive_account_gets_no_email(client, coordinator, outbox, session):
    coordinator.active = False
    session.add(coordinator)
    session.commit()
    assert ask(client, coordinator.email).status_code == 200
    assert outbox.sent == []


def test_the_message_log_never_holds_the_link(client, coordinator, outbox, session):
    ask(client, coordinator.email)
    (link,) = outbox.links()
    token = link.rsplit("/", 1)[1]
    row = session.exec(select(Message)).one()
    assert (row.channel, row.kind, row.status) == ("email", "password_reset", "sent")
    assert token not in row.body and "/nytt-losenord/" not in row.body
    assert "länken visas inte" in row.body


def test_the_link_sets_a_new_password_once(client, coordinator, outbox, session, app):
    coordinator.failed_logins, coordinator.locked_until = 4, utcnow() + timedelta(minutes=9)
    session.add(coordinator)
    session.commit()
    ask(client, coordinator.email)
    (link,) = outbox.links()
    form = client.get(path_of(link))
    assert form.status_code == 200 and "Välj nytt lösenord" in html_text(form)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert choose(client, link).headers["Location"] == "/logga-in"
    session.refresh(coordinator)
    assert coordinator.password_changed_at is not None
    assert coordinator.failed_logins == 0 and coordinator.locked_until is None
    (row,) = session.exec(select(AuditEvent).where(AuditEvent.action == "password_reset"))
    assert row.staff_id == coordinator.id
    # Used: the link no longer opens, and the new password is the one that works.
    used = client.get(path_of(link))
    assert used.status_code == 404 and "Länken fungerar inte" in html_text(used)
    assert choose(client, link, "ännu ett långt lösen").status_code == 404
    assert client.submit("/logga-in", {"email": coordinator.email,
                                       "password": PASSWORD}).status_code == 422
    client.login(coordinator, NEW)


@pytest.mark.parametrize(("password", "again", "error"), [
    ("kort", "kort", "Minst 10 tecken."),
    (NEW, NEW + "x", "Lösenorden är inte lika."),
])
def test_a_weak_or_mistyped_password_is_refused(client, coordinator, outbox, session,
                                                password, again, error):
    ask(client, coordinator.email)
    (link,) = outbox.links()
    response = choose(client, link, password, again)
    assert response.status_code == 422 and error in html_text(response)
    session.refresh(coordinator)
    assert coordinator.password_changed_at is None


def test_the_link_expires(client, coordinator, outbox, app):
    ask(client, coordinator.email)
    (link,) = outbox.links()
    minutes = app.config["PASSWORD_RESET_MINUTES"]
    with time_machine.travel(utcnow() + timedelta(minutes=minutes - 1), tick=False):
        assert client.get(path_of(link)).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=minutes + 1), tick=False):
        assert client.get(path_of(link)).status_code == 404
        assert choose(client, link).status_code == 404


def test_an_altered_link_is_refused(client, coordinator, outbox):
    ask(client, coordinator.email)
    (link,) = outbox.links()
    assert client.get(path_of(link)[:-2] + "xx").status_code == 404
    assert client.get("/nytt-losenord/inte-en-token").status_code == 404


def test_a_new_password_ends_the_sessions_signed_in_before(app, client, coordinator, outbox):
    signed_in = Client(app.test_client())
    signed_in.login(coordinator)
    assert signed_in.get("/oversikt").status_code == 200
    ask(client, coordinator.email)
    choose(client, outbox.links()[0])
    assert signed_in.get("/oversikt").status_code == 302


def test_the_link_uses_public_base_url_not_the_host_header(app, client, coordinator, outbox):
    app.config["PUBLIC_BASE_URL"] = "https://vanringen.example"
    app.config["WTF_CSRF_ENABLED"] = False  # the token's cookie is not sent to another host
    response = client.raw.post("/glomt-losenord", data={"email": coordinator.email},
                               headers={"Host": "evil.example"})
    assert response.status_code == 200
    (link,) = outbox.links()
    assert link.startswith("https://vanringen.example/nytt-losenord/")


def test_the_form_is_rate_limited(database_url, coordinator):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                      "RATELIMIT_LOGIN": "2 per minute"})
    try:
        app.extensions["vanringen.mailer"] = Recording()
        client = Client(app.test_client())
        assert [ask(client, "ingen@example.se").status_code for _ in range(2)] == [200, 200]
        assert ask(client, "ingen@example.se").status_code == 429
    finally:
        app.extensions["vanringen.engine"].dispose()


def test_cli_prints_a_working_link(runner, client, coordinator):
    result = runner.invoke(args=["users", "reset-link", coordinator.email.upper()])
    assert result.exit_code == 0, result.output
    (link,) = [match.group(0) for match in LINK_RE.finditer(result.output)]
    assert link.startswith("http://127.0.0.1:5000/nytt-losenord/")
    assert choose(client, link).status_code == 302
    client.login(coordinator, NEW)


def test_cli_refuses_an_unknown_address(runner):
    result = runner.invoke(args=["users", "reset-link", "ingen@example.se"])
    assert result.exit_code != 0 and "Inget aktivt konto" in result.output
