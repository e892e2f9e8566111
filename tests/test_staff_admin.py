"""Personal (vanringen/staff_admin.py): the admins' list of staff accounts, new accounts
invited by e-mail, edits, unlocking, removing a second factor; no admin can lock themselves
out; every change audited with field names only."""

import re
from datetime import timedelta

import pyotp
import pytest
from conftest import Client, html_text
from sqlmodel import select
from test_mail import Recording

from notifications.errors import PermanentError
from vanringen.db import utcnow
from vanringen.models import AuditEvent, Message, StaffUser

PAGE = "/admin/personal/"


@pytest.fixture
def outbox(app):
    recording = app.extensions["vanringen.mailer"] = Recording()
    return recording


@pytest.fixture
def as_admin(app, admin):
    client = Client(app.test_client())
    client.login(admin)
    return client


def changes(session) -> list[AuditEvent]:
    session.expire_all()
    return session.exec(select(AuditEvent).where(AuditEvent.action == "staff_change")
                        .order_by(AuditEvent.id)).all()


def edit(client, user, **values):
    data = {"name": user.name, "role": user.role, "phone": user.phone,
            **({"active": "y"} if user.active else {})}
    data.update(values)
    data = {k: v for k, v in data.items() if v is not None}
    return client.submit(f"{PAGE}{user.id}", data)


def test_coordinators_are_refused(logged_in):
    assert logged_in.get(PAGE).status_code == 403
    assert logged_in.get(PAGE + "ny").status_code == 403


def test_nav_shows_personal_to_admins_only(as_admin, logged_in):
    assert f'href="{PAGE}"' in as_admin.get("/oversikt").get_data(as_text=True)
    assert f'href="{PAGE}"' not in logged_in.get("/oversikt").get_data(as_text=True)


def test_the_list(as_admin, admin, coordinator, session):
    coordinator.totp_secret = pyotp.random_base32()
    coordinator.locked_until = utcnow() + timedelta(minutes=10)
    session.add(coordinator)
    session.commit()
    page = html_text(as_admin.get(PAGE))
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)[1:]
    texts = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    assert texts[0].startswith("Ada Admin admin@example.se Administratör Ja Avstängd")
    assert texts[1].startswith("Karin Koordinator koordinator@example.se Samordnare Ja Påslagen")
    assert "Aldrig" in texts[1] and "Aldrig" not in texts[0]


def test_a_new_account_is_invited_by_email(as_admin, outbox, session, app):
    response = as_admin.submit(PAGE + "ny", {"email": "Ny.Kollega@Example.se", "name": "Nils Ny",
                                             "role": "coordinator", "phone": "070-123 45 67"})
    assert response.status_code == 302
    user = session.exec(select(StaffUser).where(StaffUser.email == "ny.kollega@example.se")).one()
    assert (user.name, user.role, user.phone, user.active) == ("Nils Ny", "coordinator",
                                                               "+46701234567", True)
    ((to, subject, body),) = outbox.sent
    assert to == user.email and subject == "Välkommen till Vänringen"
    link = re.search(r"http\S+/nytt-losenord/\S+", body).group(0)
    message = session.exec(select(Message)).one()
    assert message.kind == "staff_invitation" and "/nytt-losenord/" not in message.body
    (row,) = changes(session)
    assert row.staff_id == user.id and "email" in row.detail
    assert "Nils" not in row.detail and "ny.kollega" not in row.detail
    # The invitation link lets the new colleague choose a password and sign in.
    newcomer = Client(app.test_client())
    path = link[link.index("/nytt-losenord/"):]
    assert newcomer.submit(path, {"password": "mitt eget lösen",
                                  "again": "mitt eget lösen"}).status_code == 302
    newcomer.login(user, "mitt eget lösen")


def test_a_failed_invitation_is_said(as_admin, app, session):
    app.extensions["vanringen.mailer"] = Recording(PermanentError("SMTP 550", code=550))
    response = as_admin.submit(PAGE + "ny", {"email": "ny@example.se", "name": "Ny",
                                             "role": "coordinator"}, follow_redirects=True)
    assert "inbjudan kunde inte skickas" in html_text(response)
    assert session.exec(select(Message)).one().status == "failed"


def test_an_existing_address_is_refused(as_admin, coordinator, outbox):
    response = as_admin.submit(PAGE + "ny", {"email": coordinator.email.upper(), "name": "X",
                                             "role": "coordinator"})
    assert response.status_code == 422
    assert "Det finns redan ett konto" in html_text(response)
    assert outbox.sent == []


def test_edit_records_the_changed_fields(as_admin, coordinator, session):
    response = edit(as_admin, coordinator, role="admin", name="Karin K", active=None)
    assert response.status_code == 302
    session.refresh(coordinator)
    assert (coordinator.role, coordinator.name, coordinator.active) == ("admin", "Karin K",
                                                                        False)
    (row,) = changes(session)
    assert row.staff_id == coordinator.id
    assert set(row.detail.split(",")) == {"name", "role", "active"}


def test_an_unchanged_form_records_nothing(as_admin, coordinator, session):
    assert edit(as_admin, coordinator).status_code == 302
    assert changes(session) == []


def test_a_deactivated_account_is_signed_out(app, as_admin, coordinator):
    signed_in = Client(app.test_client())
    signed_in.login(coordinator)
    edit(as_admin, coordinator, active=None)
    assert signed_in.get("/oversikt").status_code == 302


@pytest.mark.parametrize(("values", "error"), [
    ({"role": "coordinator"}, "Du kan inte ta bort din egen administratörsroll."),
    ({"active": None}, "Du kan inte stänga av ditt eget konto."),
])
def test_an_admin_cannot_lock_themselves_out(as_admin, admin, session, values, error):
    response = edit(as_admin, admin, **values)
    assert response.status_code == 422 and error in html_text(response)
    session.refresh(admin)
    assert admin.role == "admin" and admin.active
    assert changes(session) == []


def test_unlock(as_admin, coordinator, session):
    coordinator.failed_logins, coordinator.locked_until = 3, utcnow() + timedelta(minutes=10)
    session.add(coordinator)
    session.commit()
    assert "Lås upp" in html_text(as_admin.get(f"{PAGE}{coordinator.id}"))
    as_admin.submit(f"{PAGE}{coordinator.id}/las-upp", form_path=f"{PAGE}{coordinator.id}")
    session.refresh(coordinator)
    assert coordinator.locked_until is None and coordinator.failed_logins == 0
    assert changes(session)[0].detail == "failed_logins,locked_until"


def test_remove_second_factor(as_admin, coordinator, session):
    coordinator.totp_secret = pyotp.random_base32()
    session.add(coordinator)
    session.commit()
    as_admin.submit(f"{PAGE}{coordinator.id}/ta-bort-tvastegsverifiering",
                    form_path=f"{PAGE}{coordinator.id}")
    session.refresh(coordinator)
    assert coordinator.totp_secret == ""
    assert changes(session)[0].detail == "totp_secret"


def test_send_a_new_link(as_admin, coordinator, outbox, session):
    as_admin.submit(f"{PAGE}{coordinator.id}/skicka-lank", form_path=f"{PAGE}{coordinator.id}")
    ((to, _subject, body),) = outbox.sent
    assert to == coordinator.email and "/nytt-losenord/" in body


def test_posts_need_the_csrf_token(as_admin, coordinator, session):
    coordinator.totp_secret = "X" * 32
    session.add(coordinator)
    session.commit()
    as_admin.raw.post(f"{PAGE}{coordinator.id}/ta-bort-tvastegsverifiering")
    session.refresh(coordinator)
    assert coordinator.totp_secret == "X" * 32


def test_unknown_account_is_404(as_admin):
    assert as_admin.get(f"{PAGE}9999").status_code == 404
