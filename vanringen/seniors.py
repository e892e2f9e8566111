"""The senior pages: intake by phone, edit, list with filters, detail with history and status."""

from datetime import datetime, time
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
from flask_login import current_user
from sqlmodel import Session, select
from wtforms.fields.choices import SelectChoice

from . import intake, vocab
from .db import get_session, utcnow
from .models import Consent, PersonEvent, Senior, StaffUser
from .people import paginate, person_search, record_event, refuse_if_erased, speaks
from .senior_forms import FilterForm, IntakeForm, SeniorForm, StatusForm

bp = Blueprint("seniors", __name__, url_prefix="/seniorer")

# Read aloud on the phone and stored verbatim with the consent row, so it is deliberately
# not translated: a new wording needs a new version string.
SENIOR_CONSENT_VERSION = "senior-v1"
SENIOR_CONSENT_TEXT = (
    "Vänringen sparar ditt namn, telefonnummer, födelseår, kön, språk, intressen, "
    "önskade samtalstider, stadsdel och anteckningar som behövs för samtalen. Vi använder "
    "uppgifterna bara för att hitta och följa upp en telefonvän åt dig. Den volontär som "
    "blir din telefonvän får veta ditt förnamn, ditt telefonnummer och det som behövs för "
    "att ni ska kunna prata. Uppgifterna tas bort senast 24 månader efter att du slutat i "
    "Vänringen. Du kan när som helst ångra dig genom att ringa oss; då tar vi "
    "bort dina uppgifter. Samtycker du till det?"
)

PER_PAGE = 50

# Which status a coordinator may go to from which; "matched" is left to the matching feature.
TRANSITIONS = {
    "waiting": {"paused", "ended"},
    "paused": {"waiting", "ended"},
    "ended": {"waiting"},
    "matched": set(),
}

FIELD_LABELS = {
    "first_name": _l("Förnamn"), "last_name": _l("Efternamn"), "phone": _l("Telefonnummer"),
    "birth_year": _l("Födelseår"), "gender": _l("Kön"), "languages": _l("Språk"),
    "interests": _l("Intressen"), "availability": _l("Önskade samtalstider"),
    "preferred_gender": _l("Önskar telefonvän som är"), "district": _l("Stadsdel"),
    "referral_source": _l("Hur fick seniorn höra om oss?"),
    "reminder_channel": _l("Påminnelser via"), "notes": _l("Anteckningar"),
    "call_in": _l("Ringer in via Vänringens nummer"),
}
EVENT_LABELS = {
    "created": _l("Registrerad"), "updated": _l("Uppgifter ändrade"),
    "status": _l("Status ändrad"), "imported": _l("Importerad"),
    "duplicate": _l("Möjlig dubblett"),
}


class InvalidTransition(ValueError):
    pass


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def get_senior(senior_id: int, *, session: Session) -> Senior:
    senior = session.get(Senior, senior_id)
    if senior is None:
        abort(404)
    return senior


def phone_twins(phone: str, *, session: Session, exclude_id: int | None = None) -> list[Senior]:
    query = select(Senior).where(Senior.phone == phone)
    if exclude_id is not None:
        query = query.where(Senior.id != exclude_id)
    return list(session.exec(query.order_by(Senior.id)).all())


def _paused_from_waiting(senior: Senior, *, session: Session) -> bool:
    last_pause = session.exec(
        select(PersonEvent).where(PersonEvent.senior_id == senior.id,
                                  PersonEvent.to_status == "paused")
        .order_by(PersonEvent.at.desc(), PersonEvent.id.desc())).first()
    return last_pause is not None and last_pause.from_status == "waiting"


def change_status(senior: Senior, new: str, reason: str = "", *, session: Session) -> None:
    """Set a status by hand; raises InvalidTransition with a Swedish message."""
    old = senior.status
    if old == "matched":
        raise InvalidTransition(_("Seniorn har en telefonvän. Status ändras via matchningen."))
    if new == old:
        raise InvalidTransition(_("Seniorn har redan status %(status)s.",
                                  status=vocab.SENIOR_STATUSES.get(old, old)))
    if new not in TRANSITIONS.get(old, set()):
        raise InvalidTransition(_("Status kan inte ändras från %(old)s till %(new)s.",
                                  old=vocab.SENIOR_STATUSES.get(old, old),
                                  new=vocab.SENIOR_STATUSES.get(new, new)))
    if new == "waiting":
        # A pause should not push someone to the back of the queue; a fresh start after
        # having ended does.
        keep = (old == "paused" and senior.waiting_since is not None
                and _paused_from_waiting(senior, session=session))
        if not keep:
            senior.waiting_since = utcnow()
    senior.status = new
    senior.updated_at = utcnow()
    session.add(senior)
    record_event("status", session=session, senior=senior, from_status=old, to_status=new,
                 detail=reason or "")


# ---------------------------------------------------------------- list

def filter_conditions(form: FilterForm) -> list:
    conditions = []
    if form.q.data and form.q.data.strip():
        conditions.append(person_search(Senior, form.q.data))
    if form.status.data:
        conditions.append(Senior.status == form.status.data)
    if form.district.data:
        conditions.append(Senior.district == form.district.data)
    if form.language.data:
        conditions.append(speaks(Senior.languages, form.language.data))
    if form.waiting_before.data and not form.waiting_before.errors:
        cutoff = datetime.combine(form.waiting_before.data, time.min, _tz())
        conditions += [Senior.status == "waiting", Senior.waiting_since < cutoff]
    return conditions


def language_choices(*, session: Session) -> list[SelectChoice]:
    used = {code for value in session.exec(select(Senior.languages).distinct()).all()
            for code in (value or "").split(";") if code}
    codes = list(vocab.COMMON_LANGUAGES) + sorted(used - set(vocab.COMMON_LANGUAGES))
    return [SelectChoice("", _("Alla"))] + [SelectChoice(c, vocab.language_name(c)) for c in codes]


@bp.get("/")
def index():
    session = get_session()
    form = FilterForm(request.args)
    form.language.choices = language_choices(session=session)
    form.validate()
    is_waiting = Senior.status == "waiting"
    query = (select(Senior).where(*filter_conditions(form))
             .order_by(sa.case((is_waiting, 0), else_=1),
                       sa.case((is_waiting, Senior.waiting_since)).asc().nulls_last(),
                       Senior.last_name, Senior.first_name, Senior.id))
    seniors, total, page, pages = paginate(query, session=session, page=request.args.get(
        "page", 1, type=int), per_page=PER_PAGE)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("seniors/index.html", form=form, seniors=seniors, total=total,
                           page=page, pages=pages, args=args)


# ---------------------------------------------------------------- intake and edit

def _duplicate_check(form: SeniorForm, *, session: Session, exclude_id: int | None = None):
    """Others with the same number; refuses the form until the coordinator confirms."""
    if request.method != "POST" or not form.phone.data or form.phone.errors:
        return []
    twins = phone_twins(form.phone.data, session=session, exclude_id=exclude_id)
    if twins and not form.confirm_duplicate.data:
        form.confirm_duplicate.errors = [*form.confirm_duplicate.errors, _(
            "Telefonnumret finns redan hos en annan senior. Kontrollera att det inte är "
            "samma person och kryssa i rutan om ni ändå vill spara (t.ex. ett par som "
            "delar telefon).")]
    return twins


@bp.route("/ny", methods=["GET", "POST"])
def new():
    session = get_session()
    form = IntakeForm()
    if request.method == "GET":
        form.consent_by.data = current_user.name or current_user.email
        # From the intake inbox: the caller's number; ?inkorg= closes that request on save.
        form.phone.data = request.args.get("telefon", "")[:40] or form.phone.data
    valid = form.validate_on_submit()
    twins = _duplicate_check(form, session=session)
    if valid and not form.confirm_duplicate.errors:
        senior = Senior(**form.values(), status="waiting", waiting_since=utcnow())
        session.add(senior)
        session.flush()
        session.add(Consent(
            senior_id=senior.id, method="verbal", text_version=SENIOR_CONSENT_VERSION,
            text=SENIOR_CONSENT_TEXT, given_on=form.consent_date.data,
            recorded_by_id=current_user.id, recorded_by_name=form.consent_by.data))
        detail = ""
        if twins:
            # Stored history, not UI text: kept in one language whatever the page's locale.
            detail = "Samma telefonnummer som {}; registrerad ändå.".format(
                ", ".join(f"#{t.id}" for t in twins))
        record_event("created", session=session, senior=senior, to_status="waiting",
                     detail=detail)
        intake.registered(request.args.get("inkorg"), senior, session=session,
                          staff_id=current_user.id)
        session.commit()
        flash(_("%(name)s är registrerad och väntar på en telefonvän.", name=senior.full_name),
              "success")
        return redirect(url_for(".detail", senior_id=senior.id))
    return render_template(
        "seniors/form.html", form=form, twins=twins, senior=None,
        consent_text=SENIOR_CONSENT_TEXT, consent_version=SENIOR_CONSENT_VERSION,
    ), 422 if form.errors else 200


@bp.route("/<int:senior_id>/andra", methods=["GET", "POST"])
def edit(senior_id: int):
    session = get_session()
    senior = get_senior(senior_id, session=session)
    refuse_if_erased(senior)
    form = SeniorForm()
    form.confirm_duplicate.label.text = _("Spara ändå")
    if request.method == "GET":
        form.prefill(senior)
    valid = form.validate_on_submit()
    twins = []
    # A shared landline was confirmed at intake; only a new number is checked again.
    if form.phone.data != senior.phone:
        twins = _duplicate_check(form, session=session, exclude_id=senior.id)
    if valid and not form.confirm_duplicate.errors:
        values = form.values()
        changed = [name for name, value in values.items() if getattr(senior, name) != value]
        if not changed:
            flash(_("Inga ändringar att spara."), "info")
            return redirect(url_for(".detail", senior_id=senior.id))
        for name in changed:
            setattr(senior, name, values[name])
        senior.updated_at = utcnow()
        session.add(senior)
        record_event("updated", session=session, senior=senior, detail=", ".join(changed))
        session.commit()
        flash(_("Uppgifterna är sparade."), "success")
        return redirect(url_for(".detail", senior_id=senior.id))
    return render_template("seniors/form.html", form=form, twins=twins, senior=senior), \
        422 if form.errors else 200


# ---------------------------------------------------------------- detail and status

def describe(event: PersonEvent) -> str:
    if event.action == "updated":
        return ", ".join(str(FIELD_LABELS.get(n.strip(), n.strip()))
                         for n in event.detail.split(",") if n.strip())
    return event.detail


def render_detail(senior: Senior, status_form: StatusForm, *, session: Session, code=200):
    consents = session.exec(select(Consent).where(Consent.senior_id == senior.id)
                            .order_by(Consent.given_on.desc(), Consent.id.desc())).all()
    history = session.exec(
        select(PersonEvent, StaffUser)
        .join(StaffUser, PersonEvent.actor_id == StaffUser.id, isouter=True)
        .where(PersonEvent.senior_id == senior.id)
        .order_by(PersonEvent.at.desc(), PersonEvent.id.desc())).all()
    allowed = set() if senior.erased_at else TRANSITIONS.get(senior.status, set())
    # Only what can follow the current status is offered; the form still accepts all three
    # so that a stale page gets the transition error rather than "not a valid choice".
    status_form.status.choices = [c for c in status_form.status.choices if c.value in allowed]
    return render_template(
        "seniors/detail.html", senior=senior, consents=consents, history=history,
        status_form=status_form,
        describe=describe, event_labels=EVENT_LABELS, field_labels=FIELD_LABELS,
    ), code


@bp.get("/<int:senior_id>")
def detail(senior_id: int):
    session = get_session()
    senior = get_senior(senior_id, session=session)
    return render_detail(senior, StatusForm(), session=session)


@bp.post("/<int:senior_id>/status")
def set_status(senior_id: int):
    session = get_session()
    senior = get_senior(senior_id, session=session)
    refuse_if_erased(senior)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            change_status(senior, form.status.data, form.reason.data, session=session)
        except InvalidTransition as exc:
            form.status.errors = [*form.status.errors, str(exc)]
        else:
            session.commit()
            flash(_("Status ändrad till %(status)s.",
                    status=vocab.SENIOR_STATUSES[senior.status]), "success")
            return redirect(url_for(".detail", senior_id=senior.id))
    return render_detail(senior, form, session=session, code=422)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
