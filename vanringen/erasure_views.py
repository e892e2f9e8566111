"""The erasure and consent-withdrawal pages (blueprint "erasure") and `vanringen gdpr erase`.

Each POST is one transaction: the erasure (erasure.py) and its audit rows are committed
together, or, when the provider refuses to delete a recording, nothing is.
"""

import sys
from datetime import datetime, time
from zoneinfo import ZoneInfo

import click
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from wtforms import BooleanField, DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired

from notifications import SendError

from . import audit, messaging
from .db import get_session, utcnow
from .erasure import Erasure, erase_senior, erase_volunteer
from .gdpr_cli import find_person, gdpr_cli
from .models import Consent, Senior, Volunteer
from .people import local_today
from .senior_forms import NotInFuture

bp = Blueprint("erasure", __name__)

ERASE_REASONS = {"request": _l("Personen har begärt att uppgifterna raderas"),
                 "consent_withdrawn": _l("Personen har återkallat sitt samtycke")}
WITHDRAWAL_METHODS = {"verbal": _l("Muntligt per telefon"), "written": _l("Skriftligt"),
                      "web": _l("Via webben"), "sms": _l("SMS")}
KINDS = {"senior": (Senior, "seniors.detail", "senior_id"),
         "volunteer": (Volunteer, "volunteers.detail", "volunteer_id")}


class EraseForm(FlaskForm):
    reason = SelectField(_l("Varför raderas uppgifterna?"),
                         choices=[SelectChoice(k, v) for k, v in ERASE_REASONS.items()],
                         validators=[InputRequired(_l("Välj varför."))])
    confirm = BooleanField(
        _l("Jag förstår att uppgifterna raderas för gott och inte går att återställa."),
        validators=[DataRequired(_l("Bekräfta att uppgifterna ska raderas."))])


class WithdrawForm(FlaskForm):
    method = SelectField(_l("Hur återkallades samtycket?"),
                         choices=[SelectChoice(k, v) for k, v in WITHDRAWAL_METHODS.items()],
                         validators=[InputRequired(_l("Välj hur samtycket återkallades."))])
    withdrawn_on = DateField(_l("Datum då samtycket återkallades"), default=local_today,
                             validators=[InputRequired(_l("Ange datum (ÅÅÅÅ-MM-DD).")),
                                         NotInFuture()])
    confirm = BooleanField(
        _l("Jag förstår att uppgifterna raderas för gott och inte går att återställa."),
        validators=[DataRequired(_l("Bekräfta att uppgifterna ska raderas."))])


def withdraw_consent(person: Senior | Volunteer, *, session: Session, method: str,
                     withdrawn_at: datetime, now: datetime, sender,
                     actor_id: int | None = None) -> Erasure:
    """Consent withdrawn: marked on the consents given, then the person is erased at once
    (the programme's decision: nothing of theirs is kept for later)."""
    if method not in WITHDRAWAL_METHODS:
        raise ValueError(f"unknown withdrawal method {method!r}")
    if person.erased_at is not None:
        return Erasure(done=False)
    key = "senior_id" if isinstance(person, Senior) else "volunteer_id"
    consents = session.exec(select(Consent).where(getattr(Consent, key) == person.id,
                                                  Consent.withdrawn_at.is_(None))).all()
    for consent in consents:
        consent.withdrawn_at, consent.withdrawn_method = withdrawn_at, method
        consent.withdrawn_by_id = actor_id
        session.add(consent)
    audit.record("consent_withdrawn", session=session, **{key: person.id},
                 detail=f"method={method} consents={len(consents)}", actor_id=actor_id)
    erase = erase_senior if isinstance(person, Senior) else erase_volunteer
    return erase(person, session=session, reason="consent_withdrawn", now=now, sender=sender,
                 actor_id=actor_id)


def _person(kind: str, person_id: int, *, session: Session):
    model, _endpoint, _key = KINDS[kind]
    person = session.get(model, person_id)
    if person is None:
        abort(404)
    return person


def _detail(kind: str, person):
    _model, endpoint, key = KINDS[kind]
    return redirect(url_for(endpoint, **{key: person.id}))


def _withdrawn_at(day, tz: ZoneInfo, now: datetime) -> datetime:
    """Today: now. An earlier day (a letter read later): the start of that day."""
    if day >= now.astimezone(tz).date():
        return now
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(now.tzinfo)


def _done(kind: str, person, result: Erasure, *, session: Session, message: str):
    if not result.done:
        flash(_("Uppgifterna var redan raderade."), "info")
        return _detail(kind, person)
    session.commit()
    flash(message, "success")
    return _detail(kind, person)


def _provider_failed(kind: str, person, template: str, form, *, session: Session):
    session.rollback()
    form.confirm.errors = [*form.confirm.errors, _(
        "Inspelningen av ett samtal kunde inte raderas hos Twilio just nu, så ingenting "
        "raderades. Försök igen om en stund.")]
    return render_template(template, kind=kind, person=person, form=form), 503


def erase_page(kind: str, person_id: int):
    session = get_session()
    person = _person(kind, person_id, session=session)
    if person.erased_at is not None:
        flash(_("Uppgifterna är redan raderade."), "info")
        return _detail(kind, person)
    form = EraseForm()
    if form.validate_on_submit():
        erase = erase_senior if kind == "senior" else erase_volunteer
        try:
            result = erase(person, session=session, reason=form.reason.data, now=utcnow(),
                           sender=messaging.backend(), actor_id=current_user.id)
        except SendError:
            return _provider_failed(kind, person, "privacy/erase.html", form,
                                    session=session)
        return _done(kind, person, result, session=session,
                     message=_("Uppgifterna är raderade."))
    code = 422 if form.errors else 200
    return render_template("privacy/erase.html", kind=kind, person=person, form=form), code


def withdraw_page(kind: str, person_id: int):
    session = get_session()
    person = _person(kind, person_id, session=session)
    if person.erased_at is not None:
        flash(_("Uppgifterna är redan raderade."), "info")
        return _detail(kind, person)
    form = WithdrawForm()
    if form.validate_on_submit():
        now = utcnow()
        when = _withdrawn_at(form.withdrawn_on.data,
                             ZoneInfo(current_app.config["TIMEZONE"]), now)
        try:
            result = withdraw_consent(person, session=session, method=form.method.data,
                                      withdrawn_at=when, now=now, sender=messaging.backend(),
                                      actor_id=current_user.id)
        except SendError:
            return _provider_failed(kind, person, "privacy/withdraw.html", form,
                                    session=session)
        return _done(kind, person, result, session=session,
                     message=_("Samtycket är återkallat och uppgifterna är raderade."))
    code = 422 if form.errors else 200
    return render_template("privacy/withdraw.html", kind=kind, person=person, form=form), code


@bp.route("/seniorer/<int:senior_id>/radera", methods=["GET", "POST"])
def erase_senior_page(senior_id: int):
    return erase_page("senior", senior_id)


@bp.route("/volontarer/<int:volunteer_id>/radera", methods=["GET", "POST"])
def erase_volunteer_page(volunteer_id: int):
    return erase_page("volunteer", volunteer_id)


@bp.route("/seniorer/<int:senior_id>/aterkalla-samtycke", methods=["GET", "POST"])
def withdraw_senior_page(senior_id: int):
    return withdraw_page("senior", senior_id)


@bp.route("/volontarer/<int:volunteer_id>/aterkalla-samtycke", methods=["GET", "POST"])
def withdraw_volunteer_page(volunteer_id: int):
    return withdraw_page("volunteer", volunteer_id)


# ---------------------------------------------------------------- the command line

def summary(result: Erasure) -> str:
    return (f"{result.pairs_ended} par avslutade, {result.calls_cancelled} samtal och "
            f"{result.messages_cancelled} meddelanden avbokade, {result.rows_scrubbed} rader "
            f"rensade, {result.recordings_deleted} inspelningar raderade.")


@click.command("erase")
@click.option("--senior", "senior_ref", metavar="ID",
              help="Seniorns externa id, eller #id som på seniorns sida.")
@click.option("--volunteer", "volunteer_ref", metavar="ID",
              help="Volontärens externa id, eller #id som på volontärens sida.")
@click.option("--yes", is_flag=True, help="Fråga inte om bekräftelse.")
@with_appcontext
def erase_command(senior_ref, volunteer_ref, yes):
    """Radera alla uppgifter om en senior eller volontär (GDPR art. 17)."""
    if bool(senior_ref) == bool(volunteer_ref):
        click.echo("Ange antingen --senior eller --volunteer.", err=True)
        sys.exit(2)
    kind, ref = ("senior", senior_ref) if senior_ref else ("volunteer", volunteer_ref)
    model = KINDS[kind][0]
    who = "seniorn" if kind == "senior" else "volontären"
    with Session(current_app.extensions["vanringen.engine"], expire_on_commit=False) as session:
        person = find_person(model, ref, session=session)
        if person is None:
            click.echo(f"Hittade ingen {kind == 'senior' and 'senior' or 'volontär'} med "
                       f"id '{ref}'. Ingenting raderades.", err=True)
            sys.exit(1)
        if not yes and not click.confirm(
                f"Radera alla uppgifter om {who} {person.full_name} (#{person.id}, {ref})? "
                "Det går inte att ångra.", default=False):
            click.echo("Avbrutet. Ingenting raderades.")
            sys.exit(1)
        erase = erase_senior if kind == "senior" else erase_volunteer
        result = erase(person, session=session, reason="request", now=utcnow(),
                       sender=messaging.backend())
        if not result.done:
            click.echo(f"Uppgifterna om {who} #{person.id} var redan raderade.")
            return
        session.commit()
        click.echo(f"Raderade uppgifterna om {who} #{person.id}: {summary(result)}")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    gdpr_cli.add_command(erase_command)  # the shared `gdpr` group; cli.py adds it
