"""Glömt lösenordet: a link by e-mail to choose a new password.

The link is signed (itsdangerous, under SECRET_KEY) and carries the account's id and a
fingerprint of its current password hash: it works for PASSWORD_RESET_MINUTES and only
once, because choosing a password changes the hash. The request form answers the same
whether or not the address has an account, so it cannot be used to learn who works here.
New staff get the same link as their invitation (staff_admin.py).
"""

import click
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from . import audit, mail
from .auth import find_user, fingerprint, hash_password, users_cli
from .db import get_session, utcnow
from .models import StaffUser

bp = Blueprint("password_reset", __name__)
SALT = "password-reset"
PATH = "/nytt-losenord/"
# Where links point when PUBLIC_BASE_URL is not set and there is no request: `make run`.
LOCAL_BASE = "http://127.0.0.1:5000"
MIN_LENGTH = 10


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(user: StaffUser) -> str:
    return _serializer().dumps({"id": user.id, "pw": fingerprint(user)})


def link_for(user: StaffUser) -> str:
    # PUBLIC_BASE_URL before the request's own address: a forged Host header must not
    # make the e-mail point to someone else's site, carrying the token there.
    base = current_app.config["PUBLIC_BASE_URL"]
    if not base:
        base = request.host_url.rstrip("/") if has_request_context() else LOCAL_BASE
    return f"{base}{PATH}{token_for(user)}"


def user_for_token(token: str, *, session: Session) -> StaffUser | None:
    """The account the link is for, or None: expired, altered, used, or account closed."""
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        return None
    user = session.get(StaffUser, payload["id"])
    if user is None or not user.active or payload.get("pw") != fingerprint(user):
        return None
    return user


def _email_body(intro: str, link: str) -> str:
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    return "\n\n".join([
        intro,
        _("Välj ett lösenord här (länken fungerar i %(minutes)s minuter och bara en gång):",
          minutes=minutes),
        link,
        _("Har du inte bett om det här kan du strunta i meddelandet: ditt lösenord ändras "
          "inte."),
        "Vänringen"])


def send_link(user: StaffUser, *, session: Session, invitation: bool = False):
    """E-mail the link; the Message row shows the text with the link taken out."""
    if invitation:
        subject = _("Välkommen till Vänringen")
        intro = _("Välkommen till Vänringen! Ett konto har skapats åt dig med den här "
                  "e-postadressen.")
        kind = "staff_invitation"
    else:
        subject = _("Nytt lösenord till Vänringen")
        intro = _("Någon, förhoppningsvis du, har bett om ett nytt lösenord till Vänringen.")
        kind = "password_reset"
    return mail.send_email(
        user.email, subject, _email_body(intro, link_for(user)),
        logged_body=_email_body(intro, _("[länken visas inte i loggen]")), kind=kind,
        session=session)


class RequestForm(FlaskForm):
    email = EmailField(_l("E-post"), validators=[
        DataRequired(_l("Fyll i din e-postadress.")),
        Email(_l("Skriv en e-postadress, t.ex. namn@example.se."))])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("Nytt lösenord"), validators=[
        DataRequired(_l("Välj ett lösenord.")),
        Length(min=MIN_LENGTH, max=200, message=_l("Minst 10 tecken."))],
        render_kw={"autocomplete": "new-password"})
    again = PasswordField(_l("Samma lösenord igen"), validators=[
        DataRequired(_l("Skriv lösenordet en gång till.")),
        EqualTo("password", _l("Lösenorden är inte lika."))],
        render_kw={"autocomplete": "new-password"})


@bp.route("/glomt-losenord", methods=["GET", "POST"])
def request_link():
    form = RequestForm()
    if form.validate_on_submit():
        session = get_session()
        user = find_user(form.email.data, session=session)
        if user is not None and user.active:
            send_link(user, session=session)
            session.commit()
        return render_template("auth/reset_sent.html")
    return render_template("auth/reset_request.html", form=form), 422 if form.errors else 200


@bp.route(f"{PATH}<token>", methods=["GET", "POST"])
def new_password(token: str):
    session = get_session()
    user = user_for_token(token, session=session)
    if user is None:
        response = current_app.make_response(
            (render_template("auth/reset_invalid.html"), 404))
    else:
        form = NewPasswordForm()
        if form.validate_on_submit():
            user.password_hash = hash_password(form.password.data)
            user.password_changed_at = utcnow()
            user.failed_logins, user.locked_until = 0, None
            session.add(user)
            audit.record("password_reset", session=session, staff_id=user.id)
            session.commit()
            flash(_("Ditt lösenord är bytt. Logga in med det nya."), "success")
            return redirect(url_for("auth.login"))
        response = current_app.make_response(
            (render_template("auth/reset_form.html", form=form, user=user),
             422 if form.errors else 200))
    # The address is the key: it must not leave in a Referer to any other page.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@users_cli.command("reset-link")
@click.argument("email")
@with_appcontext
def reset_link_command(email):
    """Print a link to choose a new password (for installations without e-mail)."""
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_BASE_URL"]
                                          or LOCAL_BASE):
        session = get_session()
        user = find_user(email, session=session)
        if user is None or not user.active:
            raise click.ClickException(f"Inget aktivt konto för {email}.")
        minutes = current_app.config["PASSWORD_RESET_MINUTES"]
        click.echo(link_for(user))
        click.echo(f"Länken fungerar i {minutes} minuter och bara en gång.", err=True)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
