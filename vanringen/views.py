"""The coordinator's start page: what needs doing today, the waiting lists and the week's
calls (the figures come from vanringen/dashboard.py).

Tasks, intake requests, extracts and the longest-waiting seniors are read on every request:
a coordinator must see a new concern at once. The aggregates over whole tables
(dashboard.counted_figures) cost more than all the rest of the page, so they are kept
COUNTED_SECONDS in the app's cache (vanringen/cache.py: shared by the web workers, so one of
them counts for all) and the page says when they were counted."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, render_template
from sqlmodel import select

from . import dashboard, intake
from .cache import get_cache
from .db import get_session, utcnow
from .messaging import FAILED
from .models import Message
from .people import local_today

# Older failures have been followed up (or are in the task list); the card shows the news.
RECENT_FAILURES = timedelta(days=7)
COUNTED_SECONDS = 60

bp = Blueprint("views", __name__)


def counted_figures(*, now: datetime, today: date) -> dashboard.CountedFigures:
    """This day's counted figures, at most COUNTED_SECONDS old; the key holds the local date
    because the day's and the week's edges move at midnight."""
    cache = get_cache()
    key = f"dashboard:{today.isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = dashboard.counted_figures(session=get_session(), now=now, today=today,
                                            tz=ZoneInfo(current_app.config["TIMEZONE"]))
        cache.set(key, figures, timeout=COUNTED_SECONDS)
    count, found = figures.free
    return replace(figures, free=(count, dashboard.with_names(found, session=get_session())))


@bp.get("/oversikt")
def home():
    session = get_session()
    config, now, today = current_app.config, utcnow(), local_today()
    failures = session.exec(select(sa.func.count()).where(
        Message.status.in_(FAILED), Message.updated_at >= now - RECENT_FAILURES)).one()
    groups = dashboard.open_tasks(session=session)
    shown = [task for group in groups.values() for task in group.tasks]
    return render_template(
        "home.html", counted=counted_figures(now=now, today=today), failures=failures,
        groups=groups, task_total=sum(group.count for group in groups.values()),
        message_pairs=dashboard.pairs_of_messages(shown, session=session),
        intake=dashboard.open_intake(session=session), intake_choices=intake.CHOICES,
        extracts=dashboard.expiring_extracts(
            session=session, today=today, valid_days=config["POLICE_RECORD_VALID_DAYS"],
            warn_days=config["POLICE_RECORD_WARN_DAYS"]),
        longest=dashboard.longest_waiting(session=session))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
