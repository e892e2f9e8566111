"""Swedish by default; English on request, remembered in the session."""

from flask import Blueprint, Flask, redirect, request, session, url_for
from flask_babel import Babel, format_date, format_datetime, get_locale

from .auth import local_path

LOCALES = ("sv", "en")

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    return session.get("locale") if session.get("locale") in LOCALES else "sv"


@bp.post("/sprak/<code>")
def set_locale(code: str):
    if code in LOCALES:
        session["locale"] = code
    # Only local paths: an open redirect on a public page would help phishing.
    return redirect(local_path(request.form.get("next")) or url_for("index"))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["datetime"] = lambda v, fmt="short": format_datetime(v, fmt) if v else ""
    app.jinja_env.filters["date"] = lambda v, fmt="medium": format_date(v, fmt) if v else ""
