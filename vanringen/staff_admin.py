"""Personal: the admins' page for staff accounts (admin only, by permissions.py).

A new account gets no password from the admin: it gets the password-reset link as its
invitation, so no one but the new colleague ever knows the password. Every change is
audited as "staff_change" with the names of the fields changed. An admin cannot take away
their own admin role or deactivate themselves, so the last admin can never lock everyone out.
"""

import secrets

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from . import audit, password_reset
from .auth import create_user, find_user
from .db import get_session, utcnow
from .fields import PhoneField
from .models import StaffUser
from .phones import display_phone

bp = Blueprint("staff_admin", __name__, url_prefix="/admin/personal")
ROLE_LABELS = {"coordinator": _l("Samordnare"), "admin": _l("Administratör")}
EDITABLE = ("name", "role", "phone", "active")


class StaffForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[
        DataRequired(_l("Fyll i namnet.")), Length(max=120)])
    role = SelectField(_l("Roll"), choices=[SelectChoice(k, v) for k, v in ROLE_LABELS.items()],
                       default="coordinator")
    phone = PhoneField(_l("Mobilnummer"), mobile=True)
    active = BooleanField(_l("Aktivt konto (kan logga in)"), default=True)


class NewStaffForm(StaffForm):
    email = EmailField(_l("E-post"), validators=[
        DataRequired(_l("Fyll i e-postadressen.")),
        Email(_l("Skriv en e-postadress, t.ex. namn@example.se.")), Length(max=254)])


def _get(staff_id: int, session: Session) -> StaffUser:
    user = session.get(StaffUser, staff_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
def index():
    session = get_session()
    staff = session.exec(select(StaffUser).order_by(
        sa.desc(StaffUser.active), sa.func.lower(StaffUser.name), StaffUser.id)).all()
    return render_template("staff/index.html", staff=staff, now=utcnow())


@bp.route("/ny", methods=["GET", "POST"])
def new():
    session = get_session()
    form = NewStaffForm()
    del form.active  # a new account is active: it is sent its invitation now
    if form.validate_on_submit():
        if find_user(form.email.data, session=session):
            form.email.errors.append(_("Det finns redan ett konto med den e-postadressen."))
        else:
            # A random password nobody knows: the invitation link sets the real one.
            user = create_user(form.email.data, secrets.token_urlsafe(32),
                               role=form.role.data, name=form.name.data.strip(),
                               session=session)
            user.phone = form.phone.data or ""
            session.flush()  # the link names the account's id
            audit.record("staff_change", session=session, staff_id=user.id,
                         detail="created: email,name,role,phone")
            message = password_reset.send_link(user, session=session, invitation=True)
            session.commit()
            if message.status == "failed":
                flash(_("Kontot är skapat, men inbjudan kunde inte skickas. Skicka den igen "
                        "från kontots sida."), "error")
            else:
                flash(_("Kontot är skapat. En inbjudan med en länk för att välja lösenord "
                        "har skickats till %(email)s.", email=user.email), "success")
            return redirect(url_for(".index"))
    return render_template("staff/form.html", form=form, user=None), \
        422 if form.errors else 200


@bp.route("/<int:staff_id>", methods=["GET", "POST"])
def edit(staff_id: int):
    session = get_session()
    user = _get(staff_id, session)
    form = StaffForm(data={"name": user.name, "role": user.role,
                           "phone": display_phone(user.phone), "active": user.active})
    if form.validate_on_submit():
        values = {"name": form.name.data.strip(), "role": form.role.data,
                  "phone": form.phone.data or "", "active": form.active.data}
        if user.id == current_user.id:
            # Refused here rather than in permissions: the page is open to every admin,
            # but no admin may leave the programme without one.
            if user.is_admin and values["role"] != "admin":
                form.role.errors.append(_("Du kan inte ta bort din egen administratörsroll."))
            if not values["active"]:
                form.active.errors.append(_("Du kan inte stänga av ditt eget konto."))
        if not form.errors:
            changed = [name for name in EDITABLE if getattr(user, name) != values[name]]
            if changed:
                for name in changed:
                    setattr(user, name, values[name])
                if "active" in changed and not user.active:
                    user.on_duty = False  # a closed account gets no concern SMS
                session.add(user)
                audit.record("staff_change", session=session, staff_id=user.id,
                             detail=",".join(changed))
                session.commit()
                flash(_("Ändringarna är sparade."), "success")
            else:
                flash(_("Inget ändrades."), "info")
            return redirect(url_for(".index"))
    return render_template("staff/form.html", form=form, user=user, now=utcnow()), \
        422 if form.errors else 200


@bp.post("/<int:staff_id>/las-upp")
def unlock(staff_id: int):
    session = get_session()
    user = _get(staff_id, session)
    if FlaskForm().validate_on_submit():
        user.failed_logins, user.locked_until = 0, None
        session.add(user)
        audit.record("staff_change", session=session, staff_id=user.id,
                     detail="failed_logins,locked_until")
        session.commit()
        flash(_("Kontot är upplåst."), "success")
    return redirect(url_for(".edit", staff_id=user.id))


@bp.post("/<int:staff_id>/ta-bort-tvastegsverifiering")
def remove_totp(staff_id: int):
    session = get_session()
    user = _get(staff_id, session)
    if FlaskForm().validate_on_submit() and user.totp_secret:
        user.totp_secret = ""
        session.add(user)
        audit.record("staff_change", session=session, staff_id=user.id, detail="totp_secret")
        session.commit()
        flash(_("Tvåstegsverifieringen är borttagen. Personen loggar in med bara lösenordet "
                "tills hen slår på den igen."), "success")
    return redirect(url_for(".edit", staff_id=user.id))


@bp.post("/<int:staff_id>/skicka-lank")
def send_link(staff_id: int):
    """Again, for an invitation that expired or never arrived."""
    session = get_session()
    user = _get(staff_id, session)
    if FlaskForm().validate_on_submit() and user.active:
        message = password_reset.send_link(user, session=session,
                                           invitation=user.last_login_at is None)
        session.commit()
        if message.status == "failed":
            flash(_("E-postmeddelandet kunde inte skickas."), "error")
        else:
            flash(_("En länk för att välja lösenord har skickats till %(email)s.",
                    email=user.email), "success")
    return redirect(url_for(".edit", staff_id=user.id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["staff_role"] = lambda code: str(ROLE_LABELS.get(code, code))
