"""The clock process (`clock:` in the Procfile): plans calls and sends what is due.

`vanringen scheduler` runs APScheduler in its own process, never inside web workers;
`vanringen scheduler tick [--now ISO-8601]` runs one pass and exits. Each pass plans the
pairs whose plan ends before the horizon, then sends every due message. Any number of
clock processes may run: both steps claim their work with conditional UPDATEs.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import Session

from .db import get_engine, utcnow
from .dispatch import Dispatcher, dispatch_due
from .followup import Counts, followup_step
from .planner import Planner

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    planned_calls: int = 0
    planned_pairs: int = 0
    outcomes: Counter = field(default_factory=Counter)
    followup: Counts = field(default_factory=Counts)

    def __str__(self) -> str:
        sent = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        return (f"Planerade {self.planned_calls} samtal för {self.planned_pairs} par; "
                f"meddelanden: {sent or 'inga att skicka'}; {self.followup}.")


def plan_step(app: Flask, *, session: Session, now: datetime) -> TickResult:
    result = TickResult()
    planner = Planner.from_app(app, session=session)
    while pairs := planner.claim_due_pairs(now=now):
        result.planned_pairs += len(pairs)
        result.planned_calls += len(planner.plan(pairs, now=now))
        session.commit()
    return result


def send_step(app: Flask, *, session: Session, now: datetime, sender=None) -> Counter:
    dispatcher = Dispatcher.from_app(app, session=session, sender=sender)
    # A pass that cannot finish before the next one is due stops; the next continues.
    budget = timedelta(seconds=max(app.config["DISPATCH_INTERVAL_SECONDS"] * 5, 30))
    return dispatch_due(dispatcher, now=now, deadline=datetime.now(now.tzinfo) + budget)


def tick(app: Flask, *, now: datetime | None = None, sender=None,
         followup: bool = True) -> TickResult:
    """One planning, follow-up and dispatch pass as of `now`; commits as it goes."""
    now = now or utcnow()
    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as session:
        result = plan_step(app, session=session, now=now)
        if followup:
            result.followup = followup_step(app, session=session, now=now)
        result.outcomes = send_step(app, session=session, now=now, sender=sender)
    return result


def followup_tick(app: Flask, *, now: datetime | None = None):
    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as session:
        return followup_step(app, session=session, now=now or utcnow())


def parse_now(text: str, tz: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("skriv en tidpunkt i ISO 8601, t.ex. 2027-03-28T12:00+02:00",
                                 param_hint="--now") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(ZoneInfo("UTC"))


@click.group("scheduler", cls=AppGroup, invoke_without_command=True)
@click.pass_context
@with_appcontext
def scheduler_cli(ctx):
    """Påminnelser: utan underkommando går klockan tills den stoppas (Procfile: clock)."""
    if ctx.invoked_subcommand is None:
        run_forever(current_app._get_current_object())


@scheduler_cli.command("tick")
@click.option("--now", "now_text", help="Kör som om klockan vore detta (ISO 8601).")
def tick_command(now_text):
    """Kör en planering, uppföljning och ett utskick, sedan avsluta."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    now = parse_now(now_text, tz) if now_text else None
    click.echo(str(tick(current_app._get_current_object(), now=now)))


def build_scheduler(app: Flask):
    """APScheduler with two jobs, both starting now: planning and sending every
    DISPATCH_INTERVAL_SECONDS, follow-up every FOLLOWUP_INTERVAL_MINUTES. Follow-up rules
    count days and scan every pair, so running them with each send would only cost time.
    A third, retention, runs daily at RETENTION_TIME (vanringen/retention.py)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    interval = app.config["DISPATCH_INTERVAL_SECONDS"]
    scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])

    def job():
        result = tick(app, followup=False)
        if result.planned_calls or result.outcomes:
            log.info("%s", result)
            click.echo(str(result))

    def followup_job():
        counts = followup_tick(app)
        if counts.opened or counts.closed:
            log.info("%s", counts)
            click.echo(f"{counts}.")

    # One pass at a time; a pass missed while the last one ran is not made up twice.
    start = datetime.now(ZoneInfo(app.config["TIMEZONE"]))
    scheduler.add_job(job, IntervalTrigger(seconds=interval), id="tick", max_instances=1,
                      coalesce=True, misfire_grace_time=interval, next_run_time=start)
    every = app.config["FOLLOWUP_INTERVAL_MINUTES"] * 60
    scheduler.add_job(followup_job, IntervalTrigger(seconds=every), id="followup",
                      max_instances=1, coalesce=True, misfire_grace_time=every,
                      next_run_time=start)
    from .retention import schedule  # the nightly retention; it imports this module

    schedule(scheduler, app)
    return scheduler


def run_forever(app: Flask) -> None:
    scheduler = build_scheduler(app)
    click.echo(f"Vänringens klocka går: planerar och skickar var "
               f"{app.config['DISPATCH_INTERVAL_SECONDS']}:e sekund (Ctrl+C stoppar).")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def init_app(app: Flask) -> None:
    app.cli.add_command(scheduler_cli)
