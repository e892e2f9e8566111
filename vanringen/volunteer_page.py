"""The volunteer's own page, reached by the personal signed link in their reminder SMS: no
password, only that volunteer's calls. They see their seniors by first name, the coming
calls and the recent ones, and report a call in a few taps, with a short note and, when
they are worried, a concern that reaches a coordinator at once.

Never shows a senior's last name or address, and in masked mode (MASKED_CALLS) not their
phone either: the programme's number, which puts the volunteer through.
"""

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from . import messaging, volunteer_links
from .call_log import OutcomeError, record_outcome
from .db import get_session, utcnow
from .models import CallLog, Pair, ScheduledCall, Senior, Volunteer

bp = Blueprint("volunteer_page", __name__, url_prefix="/v")

# What a volunteer can say about a call, in their words ("moved" is the plan's business).
CHOICES = {
    "held": _l("Samtalet blev av"),
    "no_answer": _l("Inget svar"),
    "cancelled_senior": _l("Min telefonvän ställde in"),
    "cancelled_volunteer": _l("Jag ställde in"),
}
RECENT_DAYS = 28
COMING_DAYS = 14
MAX_NOTE = 500
MAX_CONCERN = 2000
LINK_ERRORS = {
    "expired": (410, _l("Länken har gått ut"),
                _l("Av säkerhetsskäl gäller länken bara en tid. Du får en ny länk i nästa "
                   "påminnelse-SMS, eller be din samordnare om en.")),
    "revoked": (410, _l("Länken gäller inte längre"),
                _l("Den här länken har stängts av. Kontakta din samordnare om du behöver "
                   "en ny.")),
    "invalid": (403, _l("Länken fungerar inte"),
                _l("Kontrollera att hela länken från SMS:et kom med. Hjälper inte det, "
                   "kontakta din samordnare.")),
}
TOO_MANY = (_l("För många försök"),
            _l("Länken har öppnats många gånger på kort tid. Vänta en minut och försök igen."))


class ReportError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def _private(response, code: int = 200):
    """The link is the key to the page: never sent on to another site, nor cached."""
    response = make_response(response, code)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _volunteer(token: str) -> Volunteer:
    try:
        return volunteer_links.volunteer_from(token, config=current_app.config,
                                              session=get_session())
    except volunteer_links.LinkError as exc:
        code, title, text = LINK_ERRORS[exc.reason]
        abort(_private(render_template("volunteer/link_error.html", title=title, text=text),
                       code))


def overview(volunteer: Volunteer, *, session: Session, now: datetime) -> dict:
    """What the page shows: per active pair the senior (first name, the number to ring),
    and the pair's coming and recent calls with what was logged."""
    pairs = session.exec(select(Pair, Senior).join(Senior, Pair.senior_id == Senior.id).where(
        Pair.volunteer_id == volunteer.id, Pair.status == "active")
        .order_by(Pair.started_at)).all()
    seniors = {pair.id: senior for pair, senior in pairs}
    config = current_app.config
    masked = config["MASKED_CALLS"]
    calls = list(session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id.in_(list(seniors)),
        ScheduledCall.scheduled_at > now - timedelta(days=RECENT_DAYS),
        ScheduledCall.scheduled_at < now + timedelta(days=COMING_DAYS))
        .order_by(ScheduledCall.scheduled_at)))
    logs = {entry.call_id: entry for entry in session.exec(select(CallLog).where(
        CallLog.call_id.in_([c.id for c in calls])))}
    return {
        "seniors": [{"name": senior.first_name,
                     "number": volunteer_links.number_to_ring(senior.phone, config=config),
                     "tel": config["TWILIO_PHONE_NUMBER"] if masked else senior.phone}
                    for _pair, senior in pairs],
        "masked": masked,
        "coming": [(c, seniors[c.pair_id].first_name) for c in calls
                   if c.scheduled_at > now and c.status == "planned"],
        "recent": [(c, seniors[c.pair_id].first_name, logs.get(c.id))
                   for c in reversed(calls)
                   if c.scheduled_at <= now and c.status in ("planned", "skipped")],
    }


def _page(token: str, volunteer: Volunteer, *, error: ReportError | None = None,
          call_id: int | None = None, form=None, code: int = 200):
    shown = overview(volunteer, session=get_session(), now=utcnow())
    # A call with no form on the page (not begun yet): the error goes above the list.
    listed = any(call.id == call_id and call.status == "planned"
                 for call, _name, _entry in shown["recent"])
    return _private(render_template(
        "volunteer/page.html", token=token, volunteer=volunteer, choices=CHOICES,
        error=error, error_call=call_id if listed else None, form=form or {}, **shown), code)


@bp.get("/<token>")
def page(token: str):
    return _page(token, _volunteer(token))


def _minutes(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ReportError(_("Skriv antal minuter med siffror, t.ex. 25."), "minutes")
    return int(text)


def report(volunteer: Volunteer, call: ScheduledCall, form, *, session: Session,
           now: datetime) -> list:
    """Log the volunteer's report of `call`; returns the messages to send after commit."""
    outcome = form.get("outcome", "")
    if outcome not in CHOICES:
        raise ReportError(_("Välj hur det gick med samtalet."), "outcome")
    if call.scheduled_at > now:
        raise ReportError(_("Samtalet har inte börjat än."), "outcome")
    if call.status != "planned":
        raise ReportError(_("Samtalet var inställt."), "outcome")
    minutes = _minutes(form.get("minutes", "")) if outcome == "held" else None
    note = form.get("note", "").strip()
    if len(note) > MAX_NOTE:
        raise ReportError(_("Skriv högst %(n)s tecken.", n=MAX_NOTE), "note")
    concern = form.get("concern_text", "").strip() if form.get("concern") == "y" else ""
    if form.get("concern") == "y" and not concern:
        raise ReportError(_("Skriv vad du är orolig för."), "concern_text")
    if len(concern) > MAX_CONCERN:
        raise ReportError(_("Skriv högst %(n)s tecken.", n=MAX_CONCERN), "concern_text")
    pair = session.get(Pair, call.pair_id)
    try:
        return record_outcome(pair, call, outcome, session=session, now=now, source="link",
                              minutes=minutes, note=note, concern=concern,
                              volunteer_id=volunteer.id)[1]
    except OutcomeError as exc:
        raise ReportError(str(exc), exc.field) from None


@bp.post("/<token>/samtal/<int:call_id>")
def report_call(token: str, call_id: int):
    volunteer = _volunteer(token)
    session = get_session()
    call = session.get(ScheduledCall, call_id)
    pair = session.get(Pair, call.pair_id) if call is not None else None
    if pair is None or pair.volunteer_id != volunteer.id or pair.status != "active":
        abort(404)
    try:
        queued = report(volunteer, call, request.form, session=session, now=utcnow())
    except ReportError as exc:
        session.rollback()
        return _page(token, volunteer, error=exc, call_id=call_id, form=request.form, code=422)
    session.commit()
    messaging.send_committed(queued, session=session)
    flash(_("Tack! Samtalet är noterat.") if not request.form.get("concern") else
          _("Tack! Samtalet är noterat, och en samordnare har fått veta att du är orolig."),
          "success")
    return redirect(url_for(".page", token=token, _anchor=f"samtal-{call_id}"))


@bp.errorhandler(429)
def too_many(_exc):
    """The rate limit (security.py): the volunteer's own layout, and the link kept private."""
    title, text = TOO_MANY
    return _private(render_template("volunteer/link_error.html", title=title, text=text), 429)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
