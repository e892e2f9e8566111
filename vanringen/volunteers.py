"""The coordinator's volunteer pages, and the screening workflow every volunteer goes through.

applied → interviewed → record_checked → trained → approved; declined or withdrawn from any
of those, and back to applied from there. The rules live in one table (TRANSITIONS) and one
function (apply_transition) so they can be tested without a request.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlmodel import Session, select
from wtforms import ValidationError

from . import vocab
from .db import get_session, utcnow
from .models import Consent, Pair, PersonEvent, StaffUser, Volunteer
from .people import (
    local_today,
    paginate,
    person_search,
    record_event,
    refuse_if_erased,
    speaks,
)
from .volunteer_forms import (
    FIELD_LABELS,
    PROFILE_COLUMNS,
    VolunteerEditForm,
    VolunteerFilterForm,
    form_data,
    profile_values,
)

bp = Blueprint("volunteers", __name__, url_prefix="/volontarer")
PER_PAGE = 50

ACTIVE = ("applied", "interviewed", "record_checked", "trained", "approved")
TERMINAL = ("declined", "withdrawn")
# action: (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS = {
    "interview": (("applied",), "interviewed"),
    "record_check": (("interviewed",), "record_checked"),
    "train": (("record_checked",), "trained"),
    "approve": (("trained",), "approved"),
    "renew_record": (("record_checked", "trained", "approved"), None),
    "decline": (ACTIVE, "declined"),
    "withdraw": (ACTIVE, "withdrawn"),
    "reopen": (TERMINAL, "applied"),
}
ACTION_LABELS = {
    "interview": _l("Intervjuad"),
    "record_check": _l("Utdrag ur belastningsregistret kontrollerat"),
    "train": _l("Utbildad"), "approve": _l("Godkänn"),
    "renew_record": _l("Nytt utdrag kontrollerat"), "decline": _l("Avböj"),
    "withdraw": _l("Volontären avbryter"), "reopen": _l("Öppna igen"),
}
EVENT_LABELS = {
    "created": _l("Ansökan mottagen"), "updated": _l("Uppgifter ändrade"),
    "status": _l("Status ändrad"), "police_record": _l("Nytt utdrag kontrollerat"),
    "duplicate_application": _l("Ny ansökan med samma uppgifter"),
}


def allowed_transitions(status: str) -> list[str]:
    return [action for action, (sources, _to) in TRANSITIONS.items() if status in sources]


def record_valid_until(checked_on: date | None, valid_days: int) -> date | None:
    return checked_on + timedelta(days=valid_days) if checked_on else None


def extract_state(checked_on: date | None, today: date, valid_days: int) -> str:
    """missing, valid or expired: a police-record extract seen on `checked_on`, as of `today`."""
    until = record_valid_until(checked_on, valid_days)
    if until is None:
        return "missing"
    return "expired" if today > until else "valid"


def record_status(volunteer: Volunteer, today: date, valid_days: int) -> str:
    return extract_state(volunteer.police_record_checked_on, today, valid_days)


def is_matchable(volunteer: Volunteer, today: date, valid_days: int) -> bool:
    return (volunteer.status == "approved"
            and record_status(volunteer, today, valid_days) == "valid")


def _text(form_data, key: str) -> str:
    return (form_data.get(key) or "").strip()


def _date(form_data, key: str, what: str, today: date) -> date:
    try:
        value = date.fromisoformat(_text(form_data, key))
    except ValueError:
        raise ValueError(_("Ange %(what)s som ett datum (ÅÅÅÅ-MM-DD).", what=what)) from None
    if value > today:
        raise ValueError(_("%(what)s kan inte ligga i framtiden.", what=what.capitalize()))
    return value


def _record_date(form_data, today: date, valid_days: int) -> date:
    checked = _date(form_data, "date", _("datum för utdraget"), today)
    if extract_state(checked, today, valid_days) != "valid":
        raise ValueError(_("Utdraget från %(date)s är för gammalt: det får vara högst "
                           "%(days)s dagar gammalt.", date=checked.isoformat(), days=valid_days))
    return checked


def _with_note(text: str, note: str) -> str:
    return f"{text}. {note}" if note else text


def apply_transition(volunteer: Volunteer, action: str, form_data, *, session: Session,
                     today: date, valid_days: int, actor: int | None = None) -> PersonEvent:
    """Check everything first, then change the volunteer and record the event; never commits.

    Raises ValueError with a Swedish message, leaving the volunteer untouched.
    """
    if action not in TRANSITIONS:
        raise ValueError(_("Okänd åtgärd."))
    sources, target = TRANSITIONS[action]
    if volunteer.status not in sources:
        raise ValueError(_(
            "Det går inte att göra ”%(action)s” när volontären har status %(status)s.",
            action=ACTION_LABELS[action],
            status=vocab.VOLUNTEER_STATUSES.get(volunteer.status, volunteer.status)))
    note = _text(form_data, "note")
    changes: dict = {}
    if action == "interview":
        day = _date(form_data, "date", _("intervjudatum"), today)
        changes["interviewed_on"] = day
        detail = _with_note(f"Intervju {day.isoformat()}", note)
    elif action in ("record_check", "renew_record"):
        day = _record_date(form_data, today, valid_days)
        previous = volunteer.police_record_checked_on
        if action == "renew_record" and previous and day < previous:
            raise ValueError(_("Det nya utdraget kan inte vara äldre än det förra (%(date)s).",
                               date=previous.isoformat()))
        changes["police_record_checked_on"] = day
        detail = f"Utdrag {day.isoformat()}"
        if previous and action == "renew_record":
            detail += f" (förra {previous.isoformat()})"
        detail = _with_note(detail, note)
    elif action == "train":
        day = _date(form_data, "date", _("utbildningsdatum"), today)
        course = _text(form_data, "course")
        if not course:
            raise ValueError(_("Ange kursens namn."))
        if len(course) > 120:
            raise ValueError(_("Kursens namn får vara högst 120 tecken."))
        changes.update(trained_on=day, training_course=course)
        detail = _with_note(f"Utbildning {day.isoformat()}: {course}", note)
    elif action == "approve":
        state = record_status(volunteer, today, valid_days)
        if state == "missing":
            raise ValueError(_("Kan inte godkänna: utdrag ur belastningsregistret saknas."))
        if state == "expired":
            raise ValueError(_(
                "Kan inte godkänna: utdraget ur belastningsregistret från %(date)s har gått "
                "ut. Kontrollera ett nytt utdrag först.",
                date=volunteer.police_record_checked_on.isoformat()))
        changes.update(approved_at=utcnow(), status_reason="")
        detail = note
    elif action in ("decline", "withdraw"):
        # Ending the pairs first returns each senior to the waiting list with a handover
        # note; a stopped volunteer with live pairs would leave seniors waiting for calls.
        active = session.exec(select(sa.func.count()).select_from(Pair).where(
            Pair.volunteer_id == volunteer.id, Pair.status == "active")).one()
        if active:
            raise ValueError(ngettext(
                "Volontären har %(num)s aktivt par. Avsluta paret först, så att seniorn "
                "kommer tillbaka till väntelistan.",
                "Volontären har %(num)s aktiva par. Avsluta paren först, så att seniorerna "
                "kommer tillbaka till väntelistan.", active))
        reason = _text(form_data, "reason")
        if not reason:
            raise ValueError(_("Ange en anledning."))
        changes["status_reason"] = reason
        detail = reason
    else:  # reopen: the earlier dates stay, as history; approval must be earned again
        changes.update(status_reason="", approved_at=None)
        detail = note
    previous_status = volunteer.status
    for column, value in changes.items():
        setattr(volunteer, column, value)
    if target:
        volunteer.status = target
    volunteer.updated_at = utcnow()
    session.add(volunteer)
    return record_event("status" if target else "police_record", session=session,
                        volunteer=volunteer, from_status=previous_status,
                        to_status=volunteer.status, detail=detail, actor=actor)


def find_duplicates(session: Session, *, email: str | None, phone: str | None,
                    exclude_id: int | None = None) -> list[tuple[Volunteer, list[str]]]:
    """Volunteers with the same e-mail (any case) or mobile, and which of the two matched."""
    conditions = []
    if email:
        conditions.append(sa.func.lower(Volunteer.email) == email.lower())
    if phone:
        conditions.append(Volunteer.phone == phone)
    if not conditions:
        return []
    query = select(Volunteer).where(sa.or_(*conditions)).order_by(Volunteer.id)
    if exclude_id is not None:
        query = query.where(Volunteer.id != exclude_id)
    found = []
    for volunteer in session.exec(query).all():
        matched = []
        if email and (volunteer.email or "").lower() == email.lower():
            matched.append("email")
        if phone and volunteer.phone == phone:
            matched.append("phone")
        found.append((volunteer, matched))
    return found


def filter_conditions(form: VolunteerFilterForm, *, today: date, valid_days: int) -> list:
    conditions = []
    if form.q.data and form.q.data.strip():
        conditions.append(person_search(Volunteer, form.q.data, Volunteer.email))
    if form.status.data:
        conditions.append(Volunteer.status == form.status.data)
    if form.language.data:
        conditions.append(speaks(Volunteer.languages, form.language.data))
    if form.renew.data:
        conditions += [Volunteer.status.in_(ACTIVE),
                       Volunteer.police_record_checked_on < today - timedelta(days=valid_days)]
    if form.since.data:
        start = datetime.combine(form.since.data, time(),
                                 ZoneInfo(current_app.config["TIMEZONE"]))
        conditions.append(Volunteer.created_at >= start.astimezone(UTC))
    return conditions


@bp.get("/")
def index():
    session = get_session()
    form = VolunteerFilterForm(formdata=request.args)
    form.validate()
    for name in form.errors:  # an unusable filter is ignored, and its error shown
        form[name].data = None
    today, valid_days = local_today(), current_app.config["POLICE_RECORD_VALID_DAYS"]
    query = (select(Volunteer)
             .where(*filter_conditions(form, today=today, valid_days=valid_days))
             .order_by(Volunteer.created_at.desc(), Volunteer.id.desc()))
    volunteers, total, page, pages = paginate(
        query, session=session, page=request.args.get("page", 1, type=int), per_page=PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "volunteers/index.html", form=form, volunteers=volunteers, total=total, page=page,
        pages=pages, args=args,
        record_states={v.id: record_status(v, today, valid_days) for v in volunteers})


def _get_volunteer(volunteer_id: int) -> Volunteer:
    volunteer = get_session().get(Volunteer, volunteer_id)
    if volunteer is None:
        abort(404)
    return volunteer


def _history(session: Session, volunteer_id: int) -> list[dict]:
    rows = session.exec(
        select(PersonEvent, StaffUser.name, StaffUser.email)
        .outerjoin(StaffUser, PersonEvent.actor_id == StaffUser.id)
        .where(PersonEvent.volunteer_id == volunteer_id)
        .order_by(PersonEvent.at.desc(), PersonEvent.id.desc())).all()
    history = []
    for event, name, email in rows:
        detail = event.detail
        if event.action == "updated":
            detail = ", ".join(str(FIELD_LABELS.get(c, c)) for c in detail.split(", ") if c)
        history.append({"event": event, "label": EVENT_LABELS.get(event.action, event.action),
                        "staff": name or email or (_("Sökanden (webben)") if event.action in
                                                   ("created", "duplicate_application") else "–"),
                        "detail": detail})
    return history


@bp.get("/<int:volunteer_id>")
def detail(volunteer_id: int):
    session = get_session()
    volunteer = _get_volunteer(volunteer_id)
    today, valid_days = local_today(), current_app.config["POLICE_RECORD_VALID_DAYS"]
    consents = session.exec(select(Consent).where(Consent.volunteer_id == volunteer_id)
                            .order_by(Consent.given_on.desc(), Consent.id.desc())).all()
    return render_template(
        "volunteers/detail.html", volunteer=volunteer, consents=consents,
        history=_history(session, volunteer_id), today=today,
        actions=[] if volunteer.erased_at else allowed_transitions(volunteer.status),
        action_labels=ACTION_LABELS,
        record_state=record_status(volunteer, today, valid_days),
        valid_until=record_valid_until(volunteer.police_record_checked_on, valid_days),
        matchable=is_matchable(volunteer, today, valid_days))


@bp.post("/<int:volunteer_id>/status/<action>")
def transition(volunteer_id: int, action: str):
    session = get_session()
    volunteer = _get_volunteer(volunteer_id)
    refuse_if_erased(volunteer)
    try:
        apply_transition(volunteer, action, request.form, session=session, today=local_today(),
                         valid_days=current_app.config["POLICE_RECORD_VALID_DAYS"])
    except ValueError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash(_("Sparat: %(action)s.", action=ACTION_LABELS[action]), "success")
    return redirect(url_for("volunteers.detail", volunteer_id=volunteer_id))


@bp.route("/<int:volunteer_id>/andra", methods=["GET", "POST"])
def edit(volunteer_id: int):
    session = get_session()
    volunteer = _get_volunteer(volunteer_id)
    refuse_if_erased(volunteer)
    form = VolunteerEditForm(data=form_data(volunteer))
    if form.validate_on_submit():
        try:
            values = profile_values(form)
        except ValidationError:
            values = None
        if values is not None:
            for other, matched in find_duplicates(session, email=values["email"],
                                                  phone=values["phone"], exclude_id=volunteer.id):
                if "email" in matched:
                    form.email.errors.append(_("%(name)s har redan den här e-postadressen.",
                                               name=other.full_name))
                if "phone" in matched:
                    form.mobile.errors.append(_("%(name)s har redan det här mobilnumret.",
                                                name=other.full_name))
            if not form.email.errors and not form.mobile.errors:
                changed = [c for c in PROFILE_COLUMNS if getattr(volunteer, c) != values[c]]
                if changed:
                    for column in changed:
                        setattr(volunteer, column, values[column])
                    volunteer.updated_at = utcnow()
                    session.add(volunteer)
                    record_event("updated", session=session, volunteer=volunteer,
                                 detail=", ".join(changed))
                    session.commit()
                    flash(_("Uppgifterna är sparade."), "success")
                else:
                    flash(_("Inget ändrades."), "info")
                return redirect(url_for("volunteers.detail", volunteer_id=volunteer.id))
    status = 422 if request.method == "POST" else 200
    return render_template("volunteers/edit.html", form=form, volunteer=volunteer), status


def init_app(app: Flask) -> None:
    from .public import bp as public_bp

    app.register_blueprint(bp)
    app.register_blueprint(public_bp)
