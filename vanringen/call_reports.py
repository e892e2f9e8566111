"""The coordinators' side of the call log: on the pair page, every call's outcome (however
it was reported) and a form to log or correct a past call; on the volunteer page, a button
that revokes every personal link the volunteer has been given."""

from datetime import datetime, timedelta

from flask import Blueprint, Flask, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import Session, select

from . import messaging, volunteer_links
from .call_log import OUTCOMES, SOURCES, OutcomeError, record_outcome
from .db import get_session, utcnow
from .models import CallLog, Pair, ScheduledCall, Volunteer
from .people import record_event

bp = Blueprint("call_reports", __name__)
# How far back a coordinator picks a call to log from the form.
LOGGABLE_DAYS = 28
MAX_NOTE = 500


def log_rows(pair: Pair, *, session: Session, now: datetime) -> dict:
    """The pair's call log, newest first, with each entry's call; and the calls a
    coordinator may log (begun, not cancelled, in the last weeks)."""
    entries = session.exec(select(CallLog).where(CallLog.pair_id == pair.id)
                           .order_by(CallLog.occurred_at.desc(), CallLog.id.desc())).all()
    loggable = session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id == pair.id, ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at <= now,
        ScheduledCall.scheduled_at > now - timedelta(days=LOGGABLE_DAYS))
        .order_by(ScheduledCall.scheduled_at.desc())).all()
    return {"entries": entries, "loggable": loggable,
            "logged": {e.call_id for e in entries if e.call_id}}


def _minutes(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise OutcomeError(_("Skriv antal minuter med siffror, t.ex. 25."), "minutes")
    return int(text)


@bp.post("/par/<int:pair_id>/samtalslogg")
def log_call(pair_id: int):
    from .pairs import render_pair

    session = get_session()
    pair = session.get(Pair, pair_id)
    if pair is None:
        abort(404)
    now = utcnow()
    form = request.form
    try:
        call_id = form.get("call_id", type=int)
        call = session.get(ScheduledCall, call_id) if call_id else None
        if call is None or call.pair_id != pair.id:
            raise OutcomeError(_("Välj vilket samtal det gäller."), "call_id")
        if call.scheduled_at > now:
            raise OutcomeError(_("Samtalet har inte börjat än."), "call_id")
        note = form.get("note", "").strip()
        if len(note) > MAX_NOTE:
            raise OutcomeError(_("Skriv högst %(n)s tecken.", n=MAX_NOTE), "note")
        outcome = form.get("outcome", "")
        queued = record_outcome(pair, call, outcome, session=session, now=now,
                                source="coordinator", note=note, staff_id=current_user.id,
                                minutes=_minutes(form.get("minutes", ""))
                                if outcome == "held" else None)[1]
    except OutcomeError as exc:
        session.rollback()
        return render_pair(pair_id, form=form, code=422,
                           plan_error={"form": "report", "field": f"report-{exc.field}",
                                       "message": str(exc)})
    session.commit()
    messaging.send_committed(queued, session=session)
    flash(_("Samtalet är noterat."), "success")
    return redirect(url_for("pairs.detail", pair_id=pair_id, _anchor="samtalslogg"))


@bp.post("/volontarer/<int:volunteer_id>/sparra-lankar")
def revoke_links(volunteer_id: int):
    session = get_session()
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        abort(404)
    volunteer_links.revoke(volunteer, session=session)
    record_event("links_revoked", session=session, actor=current_user.id, volunteer=volunteer,
                 detail="Personliga länkar spärrade: länkar som redan skickats fungerar inte.")
    session.commit()
    flash(_("Personliga länkar för %(name)s är spärrade. Nästa påminnelse-SMS har en ny länk.",
            name=volunteer.full_name), "success")
    return redirect(url_for("volunteers.detail", volunteer_id=volunteer_id))


def init_app(app: Flask) -> None:
    from .pairs import EVENT_LABELS

    app.register_blueprint(bp)
    # The people pages' history names the events each feature writes from this one table.
    EVENT_LABELS.setdefault("links_revoked", _l("Personliga länkar spärrade"))
    app.jinja_env.globals["call_log_of"] = lambda pair: log_rows(
        pair, session=get_session(), now=utcnow())
    app.jinja_env.globals["call_outcomes"] = OUTCOMES
    app.jinja_env.filters.update(
        call_outcome=lambda code: str(OUTCOMES.get(code, code)),
        call_source=lambda code: str(SOURCES.get(code, code)))
