"""The coordinator's start page."""

import sqlalchemy as sa
from flask import Blueprint, Flask, render_template
from sqlmodel import select

from .db import get_session
from .models import Senior, Volunteer

bp = Blueprint("views", __name__)


@bp.get("/oversikt")
def home():
    session = get_session()
    seniors = dict(session.exec(
        select(Senior.status, sa.func.count()).group_by(Senior.status)).all())
    volunteers = dict(session.exec(
        select(Volunteer.status, sa.func.count()).group_by(Volunteer.status)).all())
    longest = session.exec(
        select(Senior).where(Senior.status == "waiting")
        .order_by(Senior.waiting_since).limit(5)).all()
    return render_template("home.html", seniors=seniors, volunteers=volunteers, longest=longest)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
