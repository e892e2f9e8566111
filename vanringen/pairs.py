"""Pairs of a senior and their phone friend: the pair page, ending a pair, and what the
senior and volunteer pages show about pairs (as template functions, so those modules need
no change)."""

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import Session, select

from .auth import local_path
from .db import get_session
from .matches import END_REASONS, MatchError, active_pair_counts, end_pair
from .models import Pair, Senior, StaffUser, Volunteer

bp = Blueprint("pairs", __name__, url_prefix="/par")

# History entries this feature writes, for the people pages' history tables.
EVENT_LABELS = {
    "paired": _l("Fick en senior att ringa"),
    "pair_ended": _l("Telefonvänskap avslutat"),
    "proposal_rejected": _l("Matchningsförslag avvisat"),
    "call_plan": _l("Samtalsplan ändrad"),
    "sms_opt": _l("SMS-utskick på eller av"),
}


def pairs_of(*, session: Session, senior_id: int | None = None,
             volunteer_id: int | None = None) -> list[tuple[Pair, Senior, Volunteer]]:
    """Active pairs first, then the ended ones, newest first."""
    query = (select(Pair, Senior, Volunteer).join(Senior, Pair.senior_id == Senior.id)
             .join(Volunteer, Pair.volunteer_id == Volunteer.id))
    if senior_id is not None:
        query = query.where(Pair.senior_id == senior_id)
    if volunteer_id is not None:
        query = query.where(Pair.volunteer_id == volunteer_id)
    rows = session.exec(query.order_by(Pair.started_at.desc(), Pair.id.desc())).all()
    return sorted(rows, key=lambda row: row[0].status != "active")


def handover_notes(senior_ids, *, session: Session) -> dict[int, list[tuple[Pair, Volunteer]]]:
    """What earlier volunteers left for the next one, per senior, newest first."""
    ids = list(senior_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(Pair, Volunteer).join(Volunteer, Pair.volunteer_id == Volunteer.id)
        .where(Pair.senior_id.in_(ids), Pair.status == "ended", Pair.handover_note != "")
        .order_by(Pair.ended_at.desc(), Pair.id.desc())).all()
    notes: dict[int, list] = {}
    for pair, volunteer in rows:
        notes.setdefault(pair.senior_id, []).append((pair, volunteer))
    return notes


def _senior_pairs(senior_id: int):
    return pairs_of(session=get_session(), senior_id=senior_id)


def _volunteer_pairs(volunteer: Volunteer) -> dict:
    session = get_session()
    rows = pairs_of(session=session, volunteer_id=volunteer.id)
    active = active_pair_counts(session=session, volunteer_id=volunteer.id).get(volunteer.id, 0)
    return {"rows": rows, "active": active, "free": max(volunteer.capacity - active, 0)}


def _get_pair(pair_id: int) -> tuple[Pair, Senior, Volunteer]:
    session = get_session()
    pair = session.get(Pair, pair_id)
    if pair is None:
        abort(404)
    return pair, session.get(Senior, pair.senior_id), session.get(Volunteer, pair.volunteer_id)


def render_pair(pair_id: int, *, form=None, error: str | None = None, code: int = 200,
                plan_error: dict | None = None):
    """The pair page; `error` belongs to the end form, `plan_error` to a call-plan form."""
    pair, senior, volunteer = _get_pair(pair_id)
    session = get_session()
    staff = {u.id: u for u in session.exec(select(StaffUser).where(
        StaffUser.id.in_([i for i in (pair.approved_by_id, pair.ended_by_id) if i]))).all()}
    return render_template("pairs/detail.html", pair=pair, senior=senior, volunteer=volunteer,
                           staff=staff, form=form or {}, error=error,
                           plan_error=plan_error or {},
                           back=local_path(request.values.get("next"))), code


@bp.get("/<int:pair_id>")
def detail(pair_id: int):
    return render_pair(pair_id)


@bp.post("/<int:pair_id>/avsluta")
def end(pair_id: int):
    session = get_session()
    pair, senior, volunteer = _get_pair(pair_id)
    try:
        senior = end_pair(pair, request.form.get("reason", ""), request.form.get("comment", ""),
                          request.form.get("handover_note", ""), session=session,
                          actor=current_user.id)
    except MatchError as exc:
        session.rollback()
        return render_pair(pair_id, form=request.form, error=str(exc), code=422)
    session.commit()
    if senior.status == "waiting":
        flash(_("Telefonvänskapet mellan %(senior)s och %(volunteer)s är avslutat. "
                "%(senior)s väntar igen, med sin tidigare plats i kön.",
                senior=senior.full_name, volunteer=volunteer.full_name), "success")
    else:
        flash(_("Telefonvänskapet mellan %(senior)s och %(volunteer)s är avslutat.",
                senior=senior.full_name, volunteer=volunteer.full_name), "success")
    return redirect(local_path(request.form.get("next"))
                    or url_for("seniors.detail", senior_id=senior.id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(senior_pairs=_senior_pairs, volunteer_pairs=_volunteer_pairs,
                                 pair_event_labels=EVENT_LABELS, end_reasons=END_REASONS)
    app.jinja_env.filters.update(
        end_reason_label=lambda code: str(END_REASONS.get(code, code or "–")),
        percent=lambda score: format_percent(score) if score is not None else "–")
