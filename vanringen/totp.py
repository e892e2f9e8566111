"""Tvåstegsverifiering: a six-digit code from an authenticator app (TOTP, RFC 6238) after the
password. Each staff member turns it on for their own account under Konto; an admin can
remove it for someone who lost their phone (staff_admin.py).

The new secret waits in the session until a code made from it is typed back: a secret saved
before that could lock its owner out for good if the app never got it.
"""

import hmac

import pyotp
import segno
import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, url_for
from flask import session as web_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session
from wtforms import StringField
from wtforms.validators import DataRequired

from . import audit
from .db import get_session, utcnow
from .models import StaffUser

bp = Blueprint("totp", __name__, url_prefix="/konto/tvastegsverifiering")
ISSUER = "Vänringen"
NEW_SECRET = "totp_new"


def matching_step(secret: str, code: str, *, after: int = 0) -> int | None:
    """The time step whose code this is: the current one, or the one just before or after
    (a phone's clock may be off), and later than `after`. None when it is none of them."""
    code = "".join((code or "").split())  # apps show "123 456"
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    generator = pyotp.TOTP(secret)
    current = generator.timecode(utcnow())
    for step in (current - 1, current, current + 1):
        if step > after and hmac.compare_digest(generator.generate_otp(step), code):
            return step
    return None


def verify(secret: str, code: str) -> bool:
    return matching_step(secret, code) is not None


def claim_step(user: StaffUser, step: int, *, session: Session) -> bool:
    """Mark `step` used for signing in; False when it (or a later one) already was, also
    by a request racing this one."""
    claimed = session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id, StaffUser.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)).rowcount == 1
    if claimed:
        set_committed_value(user, "totp_last_step", step)
    return claimed


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG: no script, no style attribute (the CSP forbids both), and a
    white background so it scans on a dark screen too."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, light="#fff", svgclass="qr",
                                                lineclass=None, title=_("QR-kod"))
    return Markup(svg)


def spaced(secret: str) -> str:
    """Groups of four, as the apps ask for it when typed by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


class CodeForm(FlaskForm):
    code = StringField(_l("Kod från appen"), validators=[DataRequired()],
                       render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"})


def _me(session: Session) -> StaffUser:
    return session.get(StaffUser, current_user.id)


def _new_secret() -> str:
    secret = web_session.get(NEW_SECRET)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = web_session[NEW_SECRET] = pyotp.random_base32()
    return secret


@bp.route("/", methods=["GET", "POST"])
def index():
    session = get_session()
    me = _me(session)
    form = CodeForm()
    if me.totp_secret:
        return render_template("auth/totp.html", me=me, form=form)
    secret = _new_secret()
    if form.validate_on_submit():
        if verify(secret, form.code.data):
            me.totp_secret = secret
            session.add(me)
            audit.record("totp_on", session=session, staff_id=me.id)
            session.commit()
            web_session.pop(NEW_SECRET, None)
            flash(_("Tvåstegsverifiering är på. Nästa gång du loggar in frågar vi efter "
                    "en kod från appen."), "success")
            return redirect(url_for(".index"))
        form.code.errors.append(_("Fel kod. Skriv de sex siffror som appen visar just nu."))
    uri = pyotp.TOTP(secret).provisioning_uri(name=me.email, issuer_name=ISSUER)
    return render_template("auth/totp.html", me=me, form=form, secret=spaced(secret),
                           qr=qr_svg(uri)), 422 if form.errors else 200


@bp.post("/stang-av")
def disable():
    session = get_session()
    me = _me(session)
    if not me.totp_secret:
        return redirect(url_for(".index"))
    form = CodeForm()
    if current_app.config["REQUIRE_TOTP_FOR_ADMINS"] and me.is_admin:
        flash(_("Administratörer måste ha tvåstegsverifiering."), "error")
        return redirect(url_for(".index"))
    if form.validate_on_submit():
        if verify(me.totp_secret, form.code.data):
            me.totp_secret = ""
            session.add(me)
            audit.record("totp_off", session=session, staff_id=me.id)
            session.commit()
            flash(_("Tvåstegsverifiering är avstängd."), "success")
            return redirect(url_for(".index"))
        form.code.errors.append(_("Fel kod. Skriv de sex siffror som appen visar just nu."))
    return render_template("auth/totp.html", me=me, form=form), 422


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
