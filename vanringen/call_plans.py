"""A pair's call plan on the pair page: weekly times, pauses, and single calls moved or
skipped. Each change replans the pair's future calls and reminders in the same
transaction. The functions raise PlanError (Swedish, naming the field) and never commit;
the views commit.
"""

from datetime import date, datetime, timedelta

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import Session, select

from .db import get_session, utcnow
from .followup import resolve_for_pair
from .models import Message, Pair, PairPause, ScheduledCall, Senior, Volunteer
from .people import local_today, record_event
from .planner import Planner, active_pause
from .schedule import (
    DAY_PART_HOURS,
    MAX_SLOTS,
    WEEKDAYS,
    Slot,
    check_call_time,
    format_slots,
    local_instant,
    parse_time,
)
from .texts import weekly

bp = Blueprint("call_plans", __name__, url_prefix="/par")
MAX_PAUSE_DAYS = 366


class PlanError(ValueError):
    def __init__(self, message: str, field: str = "form"):
        super().__init__(message)
        self.field = field


def _events(pair: Pair, detail: str, *, session: Session, actor: int | None) -> None:
    for person in (session.get(Senior, pair.senior_id), session.get(Volunteer, pair.volunteer_id)):
        key = "senior" if isinstance(person, Senior) else "volunteer"
        record_event("call_plan", session=session, actor=actor, detail=detail, **{key: person})


def _active(pair: Pair) -> None:
    if pair.status != "active":
        raise PlanError(_("Telefonvänskapet är avslutat."))


def set_call_times(pair: Pair, slots: list[Slot], *, session: Session, now: datetime,
                   actor: int | None) -> None:
    _active(pair)
    if not 1 <= len(slots) <= MAX_SLOTS or len(set(slots)) != len(slots):
        raise PlanError(_("Ange en eller två olika samtalstider i veckan."), "slot-0")
    pair.call_times = format_slots(slots)
    session.add(pair)
    times = weekly(pair.call_times, "sv")
    _events(pair, f"Samtalstider: {times}", session=session, actor=actor)
    Planner.from_app(current_app, session=session).replan(
        pair, now=now, note=f"Samtalstiderna ändrades till {times}")


def add_pause(pair: Pair, starts_on: date, resumes_on: date, reason: str, *,
              session: Session, now: datetime, today: date, actor: int | None) -> PairPause:
    _active(pair)
    if starts_on < today:
        raise PlanError(_("En paus kan inte börja före i dag."), "starts_on")
    if resumes_on <= starts_on:
        raise PlanError(_("Samtalen ska börja igen efter pausens första dag."), "resumes_on")
    # A difference, not starts_on + a year: that overflows for dates late in year 9999.
    if (resumes_on - starts_on).days > MAX_PAUSE_DAYS:
        raise PlanError(_("En paus kan vara högst ett år. Avsluta telefonvänskapet om det "
                          "behövs en längre paus."), "resumes_on")
    for other in session.exec(select(PairPause).where(PairPause.pair_id == pair.id,
                                                      PairPause.resumes_on > today)):
        if starts_on < other.resumes_on and other.starts_on < resumes_on:
            raise PlanError(_("Paret har redan en paus %(start)s–%(end)s som överlappar.",
                              start=other.starts_on.isoformat(),
                              end=other.resumes_on.isoformat()), "starts_on")
    reason = reason.strip()
    pause = PairPause(pair_id=pair.id, starts_on=starts_on, resumes_on=resumes_on,
                      reason=reason, created_by_id=actor)
    session.add(pause)
    session.flush()
    what = f"Paus {starts_on.isoformat()} – samtalen börjar igen {resumes_on.isoformat()}"
    what += f": {reason}" if reason else ""
    _events(pair, what, session=session, actor=actor)
    Planner.from_app(current_app, session=session).replan(pair, now=now, note=what)
    resolve_for_pair(pair, session=session, now=now)  # a pause from today ends follow-up
    return pause


def end_pause(pause: PairPause, *, session: Session, now: datetime, today: date,
              actor: int | None) -> None:
    """Calls start again today; a pause that has not begun is removed."""
    pair = session.get(Pair, pause.pair_id)
    _active(pair)
    if pause.resumes_on <= today:
        raise PlanError(_("Pausen är redan slut."))
    if pause.starts_on > today:
        session.delete(pause)
        detail = f"Planerad paus från {pause.starts_on.isoformat()} borttagen"
    else:
        pause.resumes_on = today
        session.add(pause)
        detail = f"Pausen avslutades {today.isoformat()}: samtalen börjar igen"
    session.flush()
    _events(pair, detail, session=session, actor=actor)
    Planner.from_app(current_app, session=session).replan(pair, now=now, note=detail)


def _planned(call: ScheduledCall, now: datetime, *, session: Session) -> None:
    # First, so a page left open on a pair since ended gives the real reason.
    _active(session.get(Pair, call.pair_id))
    if call.status != "planned":
        raise PlanError(_("Samtalet är redan inställt eller flyttat bort."))
    if call.scheduled_at <= now:
        raise PlanError(_("Samtalet har redan börjat."))


def move_call(call: ScheduledCall, new_at: datetime, *, session: Session, now: datetime,
              actor: int | None) -> None:
    _planned(call, now, session=session)
    if new_at <= now:
        raise PlanError(_("Välj en tid som inte har passerat."), "new_date")
    planner = Planner.from_app(current_app, session=session)
    pause = active_pause(planner.pauses([call.pair_id])[call.pair_id],
                         planner.rules.local(new_at).date())
    if pause is not None:
        raise PlanError(_("Paret har paus då (till %(end)s).", end=pause.resumes_on.isoformat()),
                        "new_date")
    taken = session.exec(select(ScheduledCall.id).where(
        ScheduledCall.pair_id == call.pair_id, ScheduledCall.id != call.id,
        ScheduledCall.status == "planned", ScheduledCall.scheduled_at == new_at)).first()
    if taken is not None:
        raise PlanError(_("Paret har redan ett samtal då."), "new_date")
    before = planner.rules.local(call.scheduled_at)
    planner.move(call, new_at, now=now, actor=actor)
    pair = session.get(Pair, call.pair_id)
    _events(pair, f"Samtalet {before:%Y-%m-%d %H.%M} flyttat till "
            f"{planner.rules.local(new_at):%Y-%m-%d %H.%M}", session=session, actor=actor)


def skip_call(call: ScheduledCall, reason: str, *, session: Session, now: datetime,
              actor: int | None, tell_volunteer: bool = False) -> Message | None:
    """The call will not happen; the volunteer is texted at once if asked (they may be
    the one who told the coordinator)."""
    _planned(call, now, session=session)
    reason = reason.strip()
    if not reason:
        raise PlanError(_("Skriv varför samtalet inte blir av."), "reason")
    planner = Planner.from_app(current_app, session=session)
    planner.cancel(call, status="skipped", note=reason, now=now, actor=actor)
    pair = session.get(Pair, call.pair_id)
    _events(pair, f"Samtalet {planner.rules.local(call.scheduled_at):%Y-%m-%d %H.%M} "
            f"blir inte av: {reason}", session=session, actor=actor)
    return planner.tell_volunteer(call, "call_skipped_volunteer", now=now) \
        if tell_volunteer else None


# ---------------------------------------------------------------- what the pair page shows

def plan_of(pair: Pair) -> dict:
    """The plan as the pair page shows it: times, pauses, the coming calls and reminders."""
    session = get_session()
    now, today = utcnow(), local_today()
    pauses = list(session.exec(select(PairPause).where(
        PairPause.pair_id == pair.id, PairPause.resumes_on > today)
        .order_by(PairPause.starts_on)))
    calls = list(session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id == pair.id, ScheduledCall.scheduled_at > now - timedelta(days=7))
        .order_by(ScheduledCall.scheduled_at)))
    reminders = {}
    for message in session.exec(select(Message).where(
            Message.call_id.in_([c.id for c in calls])).order_by(Message.due_at)):
        reminders.setdefault(message.call_id, []).append(message)
    return {"slots": pair.call_time_list, "pauses": pauses, "calls": calls, "now": now,
            "paused_now": active_pause(pauses, today), "reminders": reminders,
            "today": today, "weekdays": WEEKDAYS}


# ---------------------------------------------------------------- views

def _pair(pair_id: int) -> Pair:
    pair = get_session().get(Pair, pair_id)
    if pair is None:
        abort(404)
    return pair


def _call(pair: Pair, call_id: int) -> ScheduledCall:
    call = get_session().get(ScheduledCall, call_id)
    if call is None or call.pair_id != pair.id:
        abort(404)
    return call


def _date(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        raise PlanError(_("Ange ett datum, t.ex. %(example)s.",
                          example=local_today().isoformat()), name) from None


def _sentence(exc: ValueError) -> str:
    # schedule's messages also end up inside CSV error lines, hence lower case there.
    message = str(exc)
    return f"{message[0].upper()}{message[1:]}."


def _time(name: str):
    text = request.form.get(name, "").strip()
    if not text:
        raise PlanError(_("Fyll i klockslag."), name)
    try:
        return check_call_time(parse_time(text))
    except ValueError as exc:
        raise PlanError(_sentence(exc), name) from None


def _slots_from_form() -> list[Slot]:
    slots = []
    for i in range(MAX_SLOTS):
        day, clock = request.form.get(f"day-{i}", ""), request.form.get(f"time-{i}", "").strip()
        if not day and not clock:
            continue
        if day not in WEEKDAYS:
            raise PlanError(_("Välj veckodag."), f"slot-{i}")
        if not clock:
            raise PlanError(_("Fyll i klockslag."), f"slot-{i}")
        try:
            slots.append(Slot(WEEKDAYS.index(day), check_call_time(parse_time(clock))))
        except ValueError as exc:
            raise PlanError(_sentence(exc), f"slot-{i}") from None
    return slots


def _act(pair_id: int, action, done: str):
    """Run `action` in this request's transaction: commit and tell, or show the error."""
    from .pairs import render_pair

    session = get_session()
    pair = _pair(pair_id)
    try:
        action(pair, session)
    except PlanError as exc:
        session.rollback()
        # The call, so that the page opens that call's row with the error at its field.
        return render_pair(pair_id, plan_error={"field": exc.field, "message": str(exc),
                                                "form": request.form.get("form", ""),
                                                "call_id": request.view_args.get("call_id")},
                           form=request.form, code=422)
    session.commit()
    flash(done, "success")
    return redirect(url_for("pairs.detail", pair_id=pair_id, _anchor="samtalsplan"))


@bp.post("/<int:pair_id>/samtalstider")
def edit_times(pair_id: int):
    def action(pair, session):
        set_call_times(pair, _slots_from_form(), session=session, now=utcnow(),
                       actor=current_user.id)
    return _act(pair_id, action, _("Samtalstiderna är ändrade och påminnelserna planerade om."))


@bp.post("/<int:pair_id>/paus")
def pause(pair_id: int):
    def action(pair, session):
        add_pause(pair, _date("starts_on"), _date("resumes_on"), request.form.get("reason", ""),
                  session=session, now=utcnow(), today=local_today(), actor=current_user.id)
    return _act(pair_id, action, _("Paret är pausat. Inga påminnelser skickas under pausen."))


@bp.post("/<int:pair_id>/paus/<int:pause_id>/avsluta")
def resume(pair_id: int, pause_id: int):
    def action(pair, session):
        pause = session.get(PairPause, pause_id)
        if pause is None or pause.pair_id != pair.id:
            abort(404)
        end_pause(pause, session=session, now=utcnow(), today=local_today(),
                  actor=current_user.id)
    return _act(pair_id, action, _("Pausen är avslutad och samtalen planerade igen."))


@bp.post("/<int:pair_id>/samtal/<int:call_id>/flytta")
def move(pair_id: int, call_id: int):
    def action(pair, session):
        call = _call(pair, call_id)
        new_at = local_instant(_date("new_date"), _time("new_time"),
                               Planner.from_app(current_app, session=session).rules.tz)
        move_call(call, new_at, session=session, now=utcnow(), actor=current_user.id)
    return _act(pair_id, action, _("Samtalet är flyttat och påminnelserna planerade om."))


@bp.post("/<int:pair_id>/samtal/<int:call_id>/hoppa-over")
def skip(pair_id: int, call_id: int):
    told = request.form.get("tell_volunteer") == "y"

    def action(pair, session):
        skip_call(_call(pair, call_id), request.form.get("reason", ""), session=session,
                  now=utcnow(), actor=current_user.id, tell_volunteer=told)
    return _act(pair_id, action, _("Samtalet blir inte av; dess påminnelser skickas inte, och "
                                   "volontären får ett SMS om det.") if told else
                _("Samtalet blir inte av; dess påminnelser skickas inte."))


CALL_STATUSES = {"planned": _l("Planerat"), "skipped": _l("Blir inte av"),
                 "cancelled": _l("Inställt")}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(call_plan=plan_of, day_part_hours=DAY_PART_HOURS)
    app.jinja_env.filters.update(
        call_status=lambda code: str(CALL_STATUSES.get(code, code)),
        call_times=lambda codes: weekly(codes, str(get_locale() or "sv")) if codes else "")
