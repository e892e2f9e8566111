"""Staff sign-in. Every page needs a signed-in staff member unless its endpoint is public."""

from urllib.parse import urlsplit

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, login_user, logout_user
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from .db import get_engine, get_session
from .models import StaffUser

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Logga in för att se sidan.")

# werkzeug's scrypt defaults (n=2**15); the test suite lowers the cost for speed.
PASSWORD_METHOD = "scrypt"


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


@login_manager.user_loader
def load_user(user_id: str):
    user = get_session().get(StaffUser, int(user_id))
    return user if user and user.active else None


class LoginForm(FlaskForm):
    email = EmailField(_l("E-post"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Lösenord"), validators=[DataRequired()])


@bp.route("/logga-in", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = get_session().exec(
            select(StaffUser).where(sa.func.lower(StaffUser.email) == form.email.data.lower())
        ).first()
        if user and user.active and check_password_hash(user.password_hash, form.password.data):
            login_user(user)
            return redirect(local_path(request.args.get("next")) or url_for("index"))
        form.password.errors.append(_("Fel e-post eller lösenord."))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 422


@bp.post("/logga-ut")
def logout():
    logout_user()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))


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
