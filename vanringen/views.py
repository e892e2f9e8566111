"""The coordinator's start page."""

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, Flask, render_template
from sqlmodel import select

from .db import get_session, utcnow
from .messaging import FAILED
from .models import Message, ScheduledCall, Senior, Volunteer
from .people import local_today

# Older failures have been followed up (or are in the task list); the card shows the news.
RECENT_FAILURES = timedelta(days=7)

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
    calls_today = session.exec(select(sa.func.count()).where(
        ScheduledCall.occurs_on == local_today(), ScheduledCall.status == "planned")).one()
    failures = session.exec(select(sa.func.count()).where(
        Message.status.in_(FAILED), Message.updated_at >= utcnow() - RECENT_FAILURES)).one()
    return render_template("home.html", seniors=seniors, volunteers=volunteers, longest=longest,
                           calls_today=calls_today, failures=failures)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
