"""The message log: every SMS and call, planned or sent, with its delivery status; and
`vanringen messages export` for the same rows as CSV."""

import os
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, render_template, request
from flask.cli import AppGroup
from sqlmodel import Session, select

from . import csvsafe, messaging, texts
from .db import get_engine, get_session
from .models import Message, Pair, Senior, Volunteer
from .people import paginate, phone_digits

bp = Blueprint("message_log", __name__, url_prefix="/meddelanden")
SHOW = ("alla", "planerade", "skickade", "misslyckade")
EXPORT_COLUMNS = ["recipient", "channel", "scheduled_for", "sent_at", "status", "body", "kind",
                  "attempts", "error", "provider_id"]

def filtered(query, show: str):
    if show == "planerade":
        return query.where(Message.status.in_(("pending", "claimed")))
    if show == "skickade":
        return query.where(Message.sent_at.is_not(None))
    if show == "misslyckade":
        return query.where(Message.status.in_(messaging.FAILED))
    return query


@bp.get("/")
def index():
    session = get_session()
    show = request.args.get("visa", "alla")
    show = show if show in SHOW else "alla"
    channel = request.args.get("kanal", "")
    q = request.args.get("q", "").strip()
    pair_id = request.args.get("par", type=int)
    query = filtered(select(Message), show)
    if channel in messaging.CHANNEL_LABELS:
        query = query.where(Message.channel == channel)
    if q:
        digits = phone_digits(q, current_app.config["PHONE_REGION"])
        query = query.where(Message.recipient.contains(digits or q, autoescape=True))
    pair = session.get(Pair, pair_id) if pair_id else None
    if pair is not None:
        # Reminders and the pair's own messages carry both people.
        query = query.where(Message.senior_id == pair.senior_id,
                            Message.volunteer_id == pair.volunteer_id)
    # What is planned reads soonest first; what happened, newest first.
    order = Message.due_at.asc() if show == "planerade" else Message.due_at.desc()
    rows, total, page, pages = paginate(query.order_by(order, Message.id.desc()),
                                        session=session,
                                        page=request.args.get("page", 1, type=int))
    seniors = _names(Senior, {m.senior_id for m in rows}, session)
    volunteers = _names(Volunteer, {m.volunteer_id for m in rows}, session)
    failed = session.exec(select(sa.func.count()).select_from(
        filtered(select(Message.id), "misslyckade").subquery())).one()
    args = {k: v for k, v in {"visa": show if show != "alla" else "", "kanal": channel,
                              "q": q, "par": pair.id if pair else ""}.items() if v}
    return render_template("messages/index.html", rows=rows, total=total, page=page,
                           pages=pages, show=show, channel=channel, q=q, pair=pair,
                           seniors=seniors, volunteers=volunteers, failed=failed, args=args)


def _names(model, ids, session: Session) -> dict:
    ids = {i for i in ids if i}
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(ids)))} \
        if ids else {}


def recipient_of(message: Message, seniors: dict, volunteers: dict):
    """The person a message went to (a reminder row names both people of the pair)."""
    senior, volunteer = seniors.get(message.senior_id), volunteers.get(message.volunteer_id)
    # The text says whom it is for: a person's number may have changed since it was sent.
    meant_for = texts.audience(message.kind)
    if meant_for == "volunteer":
        return volunteer
    if meant_for == "senior":
        return senior
    if volunteer is not None and (senior is None or volunteer.phone == message.recipient):
        return volunteer
    return senior


# ---------------------------------------------------------------- export

def export_rows(*, session: Session, since: date | None, tz: ZoneInfo):
    query = select(Message).order_by(Message.due_at, Message.id)
    if since is not None:
        query = query.where(Message.due_at >= datetime.combine(since, time(0), tzinfo=tz))
    for message in session.exec(query.execution_options(yield_per=1000)):
        yield [message.recipient, message.channel,
               message.due_at.astimezone(tz).isoformat(timespec="seconds"),
               message.sent_at.astimezone(tz).isoformat(timespec="seconds")
               if message.sent_at else "",
               message.status, message.body, message.kind, message.attempts,
               message.error, message.provider_id or ""]


messages_cli = AppGroup("messages", help="Meddelandeloggen.")


def _date_option(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"ogiltigt datum '{value}': skriv ÅÅÅÅ-MM-DD, "
                                 "t.ex. 2026-12-01") from None


@messages_cli.command("export")
@click.option("--since", callback=_date_option, metavar="ÅÅÅÅ-MM-DD",
              help="Bara meddelanden planerade från och med detta datum.")
@click.option("--out", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="CSV-filen att skriva.")
def export_command(since, out):
    """Skriv meddelandeloggen till en CSV-fil (tider i ISO 8601 med tidszon)."""
    if not out.parent.is_dir():
        raise click.BadParameter(f"mappen '{out.parent}' finns inte", param_hint="'--out'")
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    # Written beside the target, then moved over it: an export that fails half-way, or is
    # refused, leaves an earlier file as it was. mkstemp makes it readable by its owner only,
    # as suits a file of phone numbers and what was said to them.
    fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            # Every cell neutralised: bodies and errors are partly user-written.
            writer = csvsafe.writer(fh, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            with Session(get_engine()) as session:
                for row in export_rows(session=session, since=since, tz=tz):
                    writer.writerow(row)
                    count += 1
        os.replace(partial, out)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    click.echo(f"Skrev {count} meddelanden till {out}.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(messages_cli)
    app.jinja_env.globals["recipient_of"] = recipient_of
    app.jinja_env.filters.update(
        message_status=lambda code: str(messaging.STATUS_LABELS.get(code, code)),
        channel_label=lambda code: str(messaging.CHANNEL_LABELS.get(code, code)),
        message_kind=lambda code: str(messaging.KIND_LABELS.get(code, code)))
