"""Staff sign-in. Every page needs a signed-in staff member unless its endpoint is public.

Guessing is slowed three ways: the rate limit per address (security.py), a lock on the
account after LOGIN_MAX_FAILURES wrong passwords or codes in a row, and the optional second
factor (totp.py). A session ends after SESSION_IDLE_MINUTES without a request, and every
session made before a password change stops working: the session carries a fingerprint of
the password hash, checked whenever the user is loaded.
"""

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask.cli import AppGroup
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from . import audit, totp
from .db import get_engine, get_session, utcnow
from .models import StaffUser

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Logga in för att se sidan.")

# werkzeug's scrypt defaults (n=2**15); the test suite lowers the cost for speed.
PASSWORD_METHOD = "scrypt"
# Session keys: the password fingerprint, the last request's time, a half-done sign-in.
FINGERPRINT, SEEN, PENDING = "pw", "seen", "sign_in_pending"
# What survives signing in and out: the visitor's choice of language, nothing else.
KEEP_ON_SIGN_IN = ("locale",)
# The code step must follow the password soon; an abandoned half sign-in is worth nothing.
CODE_STEP_MINUTES = 5
# Pages an admin without a second factor may still open when REQUIRE_TOTP_FOR_ADMINS is on.
ENROL_ENDPOINTS = {"totp.index", "auth.logout", "static", "i18n.set_locale", "health"}


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None.

    Browsers and werkzeug drop tabs and newlines and read a backslash as a slash, so
    "/\t/evil.example" would become "//evil.example": any such character disqualifies.
    """
    if not target or not target.startswith("/"):
        return None
    if any(ch <= " " or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


_dummy_hashes: dict[str, str] = {}


def _check_password(user: StaffUser | None, password: str) -> bool:
    """Hash even for an unknown e-mail, so the answer's timing does not tell which exist."""
    if user is None:
        if PASSWORD_METHOD not in _dummy_hashes:
            _dummy_hashes[PASSWORD_METHOD] = hash_password("not-a-real-password")
        check_password_hash(_dummy_hashes[PASSWORD_METHOD], password)
        return False
    return check_password_hash(user.password_hash, password)


def fingerprint(user: StaffUser) -> str:
    """Changes whenever the password does; keyed, so the cookie says nothing about the hash."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


@login_manager.user_loader
def load_user(user_id: str):
    user = get_session().get(StaffUser, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(web_session.get(FINGERPRINT, ""), fingerprint(user)):
        return None  # signed in before the password was changed
    return user


def find_user(email: str, *, session: Session) -> StaffUser | None:
    return session.exec(
        select(StaffUser).where(sa.func.lower(StaffUser.email) == email.strip().lower())
    ).first()


def is_locked(user: StaffUser) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def locked_message(user: StaffUser) -> str:
    return _("Kontot är låst efter för många misslyckade inloggningar. "
             "Försök igen efter %(time)s.", time=format_datetime(user.locked_until, "short"))


def register_failure(user: StaffUser, *, session: Session, detail: str) -> bool:
    """Count a wrong password or code; True when this one locked the account.

    Counted in the database (UPDATE … + 1), so guesses sent in parallel are all counted."""
    config = current_app.config
    count = session.execute(
        sa.update(StaffUser).where(StaffUser.id == user.id)
        .values(failed_logins=StaffUser.failed_logins + 1)
        .returning(StaffUser.failed_logins)
        .execution_options(synchronize_session=False)).scalar_one()
    set_committed_value(user, "failed_logins", count)
    audit.record("sign_in_failed", session=session, staff_id=user.id, detail=detail)
    if count < config["LOGIN_MAX_FAILURES"]:
        return False
    # The count starts again: after the lock, another full round of tries.
    user.failed_logins = 0
    user.locked_until = utcnow() + timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    session.add(user)
    audit.record("locked", session=session, staff_id=user.id, detail="failed_logins")
    return True


def _restart_session() -> None:
    keep = {key: web_session[key] for key in KEEP_ON_SIGN_IN if key in web_session}
    web_session.clear()
    web_session.update(keep)


def complete_sign_in(user: StaffUser, *, session: Session, next_path: str | None):
    _restart_session()  # a session id planted before sign-in is worth nothing after
    login_user(user)
    web_session.permanent = True
    web_session[FINGERPRINT] = fingerprint(user)
    web_session[SEEN] = int(utcnow().timestamp())
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, utcnow()
    session.add(user)
    audit.record("sign_in", session=session, staff_id=user.id, actor_id=user.id)
    session.commit()
    if user.is_admin and not user.totp_secret:
        flash(_("Vi rekommenderar att du slår på tvåstegsverifiering för ditt konto: "
                "du är administratör."), "warning")
    return redirect(local_path(next_path) or url_for("index"))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-post"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Lösenord"), validators=[DataRequired()])


@bp.route("/logga-in", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = find_user(form.email.data, session=session)
        error = _("Fel e-post eller lösenord.")
        if user is None or not user.active:
            _check_password(None, form.password.data)
            # The typed address of an unknown account is not kept: it may be a password.
            audit.record("sign_in_failed", session=session,
                         staff_id=user.id if user else None)
        elif is_locked(user):
            audit.record("sign_in_failed", session=session, staff_id=user.id, detail="locked")
            error = locked_message(user)
        elif not _check_password(user, form.password.data):
            if register_failure(user, session=session, detail="password"):
                error = locked_message(user)
        elif user.totp_secret:
            web_session[PENDING] = {"id": user.id, "pw": fingerprint(user),
                                    "at": int(utcnow().timestamp()),
                                    "next": local_path(request.args.get("next"))}
            return redirect(url_for(".login_code"))
        else:
            return complete_sign_in(user, session=session,
                                    next_path=request.args.get("next"))
        session.commit()
        form.password.errors.append(error)
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


def _pending_user(session: Session) -> StaffUser | None:
    pending = web_session.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("id"), int):
        return None
    if int(utcnow().timestamp()) - pending.get("at", 0) > CODE_STEP_MINUTES * 60:
        return None
    user = session.get(StaffUser, pending.get("id"))
    if user is None or not user.active or not user.totp_secret:
        return None
    if not hmac.compare_digest(pending.get("pw", ""), fingerprint(user)):
        return None
    return user


@bp.route("/logga-in/kod", methods=["GET", "POST"])
def login_code():
    """The second step: the six digits from the staff member's authenticator app."""
    session = get_session()
    user = _pending_user(session)
    if user is None:
        web_session.pop(PENDING, None)
        flash(_("Logga in med e-post och lösenord först."), "info")
        return redirect(url_for(".login"))
    form = totp.CodeForm()
    if form.validate_on_submit():
        if is_locked(user):
            audit.record("sign_in_failed", session=session, staff_id=user.id, detail="locked")
            session.commit()
            web_session.pop(PENDING, None)
            flash(locked_message(user), "error")
            return redirect(url_for(".login"))
        step = totp.matching_step(user.totp_secret, form.code.data,
                                  after=user.totp_last_step)
        if step is not None and totp.claim_step(user, step, session=session):
            next_path = web_session.pop(PENDING, {}).get("next")
            return complete_sign_in(user, session=session, next_path=next_path)
        locked = register_failure(user, session=session, detail="totp")
        session.commit()
        if locked:
            web_session.pop(PENDING, None)
            flash(locked_message(user), "error")
            return redirect(url_for(".login"))
        form.code.errors.append(_("Fel kod. Skriv de sex siffror som appen visar just nu."))
    return render_template("auth/code.html", form=form), 422 if form.errors else 200


@bp.post("/logga-ut")
def logout():
    if current_user.is_authenticated:
        session = get_session()
        audit.record("sign_out", session=session, staff_id=current_user.id)
        session.commit()
    logout_user()
    _restart_session()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))


def check_session():
    """Before every request: end an idle session; send an admin without a second factor
    to set one up when REQUIRE_TOTP_FOR_ADMINS says so."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    config = current_app.config
    now = int(utcnow().timestamp())
    minutes = config["SESSION_IDLE_MINUTES"]
    if now - web_session.get(SEEN, 0) > minutes * 60:
        session = get_session()
        audit.record("sign_out", session=session, staff_id=current_user.id, detail="idle")
        session.commit()
        logout_user()
        _restart_session()
        flash(_("Du har loggats ut efter %(minutes)s minuter utan aktivitet.",
                minutes=minutes), "info")
        # Back to the page asked for, unless it was a form (its data is gone) or sign-in.
        next_path = request.full_path.rstrip("?") if request.method == "GET" \
            and not (request.endpoint or "").startswith("auth.") else None
        return redirect(url_for("auth.login", next=local_path(next_path)))
    web_session[SEEN] = now
    if config["REQUIRE_TOTP_FOR_ADMINS"] and current_user.is_admin \
            and not current_user.totp_secret and request.endpoint not in ENROL_ENDPOINTS:
        flash(_("Slå på tvåstegsverifiering först: det krävs för administratörer."), "warning")
        return redirect(url_for("totp.index"))
    return None


def create_user(email: str, password: str, *, role: str, name: str = "", session) -> StaffUser:
    user = StaffUser(email=email.strip().lower(), name=name, role=role,
                     password_hash=hash_password(password))
    session.add(user)
    return user


users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--admin", "role", flag_value="admin", help="Administrator (users, settings).")
@click.option("--coordinator", "role", flag_value="coordinator", default=True)
@click.option("--name", default="", help="Display name.")
@click.password_option(envvar="VANRINGEN_PASSWORD", help="Prompted for when not given.")
def create_user_command(email, role, name, password):
    """Create a staff account: vanringen users create --admin EMAIL"""
    if len(password) < 10:
        raise click.BadParameter("minst 10 tecken", param_hint="password")
    with Session(get_engine()) as session:
        if session.exec(select(StaffUser).where(StaffUser.email == email.lower())).first():
            raise click.ClickException(f"Det finns redan ett konto för {email}.")
        create_user(email, password, role=role, name=name, session=session)
        session.commit()
    click.echo(f"Skapade {role} {email}.")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
    app.before_request(check_session)
