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
from .planner import Planner

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    planned_calls: int = 0
    planned_pairs: int = 0
    outcomes: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        sent = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        return (f"Planerade {self.planned_calls} samtal för {self.planned_pairs} par; "
                f"meddelanden: {sent or 'inga att skicka'}.")


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


def tick(app: Flask, *, now: datetime | None = None, sender=None) -> TickResult:
    """One planning and dispatch pass as of `now`; commits as it goes."""
    now = now or utcnow()
    with app.app_context(), Session(get_engine(app), expire_on_commit=False) as session:
        result = plan_step(app, session=session, now=now)
        result.outcomes = send_step(app, session=session, now=now, sender=sender)
    return result


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
    """Kör en planering och ett utskick, sedan avsluta."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    now = parse_now(now_text, tz) if now_text else None
    click.echo(str(tick(current_app._get_current_object(), now=now)))


def build_scheduler(app: Flask):
    """APScheduler with one job: a tick every DISPATCH_INTERVAL_SECONDS, starting now."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    interval = app.config["DISPATCH_INTERVAL_SECONDS"]
    scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])

    def job():
        result = tick(app)
        if result.planned_calls or result.outcomes:
            log.info("%s", result)
            click.echo(str(result))

    # One pass at a time; a pass missed while the last one ran is not made up twice.
    scheduler.add_job(job, IntervalTrigger(seconds=interval), id="tick", max_instances=1,
                      coalesce=True, misfire_grace_time=interval,
                      next_run_time=datetime.now(ZoneInfo(app.config["TIMEZONE"])))
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
