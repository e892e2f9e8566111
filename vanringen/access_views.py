"""The registerutdrag pages (GDPR art. 15) and `vanringen gdpr export`.

Every export, on screen, as a file or from the command line, writes an "access_export"
audit row in the same transaction: giving out a person's data is itself processing
that the log must show.
"""

import json
import os
import re
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Blueprint, Flask, Response, abort, current_app, render_template
from flask.cli import with_appcontext
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException
from sqlmodel import Session

from . import (
    audit,
    audit_log,
    call_log,
    intake,
    matches,
    messaging,
    pairs,
    seniors,
    tasks,
    vocab,
    volunteers,
)
from .access_export import SECTIONS, collect_senior, collect_volunteer, export_filename
from .db import get_session
from .gdpr_cli import find_person, gdpr_cli
from .models import Senior, Volunteer
from .phones import display_phone

bp = Blueprint("access", __name__)

SECTION_TITLES = {
    "profile": _l("Uppgifter"), "consents": _l("Samtycke"), "history": _l("Historik"),
    "pairs": _l("Telefonvänner"), "pair_pauses": _l("Uppehåll"),
    "scheduled_calls": _l("Planerade samtal"), "call_logs": _l("Samtalsrapporter"),
    "messages_sent": _l("Meddelanden från Vänringen"),
    "messages_received": _l("SMS till Vänringen"), "tasks": _l("Ärenden hos samordnarna"),
    "intake_calls": _l("Samtal till Vänringens nummer"),
    "match_proposals": _l("Matchningsförslag"),
    "rejections": _l("Matchningar som inte ska föreslås"),
    "sms_opt_out": _l("Stopp för SMS"), "access_log": _l("Vem har sett eller ändrat uppgifterna"),
}
COLUMN_LABELS = {
    "id": _l("Nr"), "at": _l("När"), "action": _l("Händelse"), "from_status": _l("Från status"),
    "to_status": _l("Till status"), "detail": _l("Detaljer"), "by": _l("Av"),
    "by_kind": _l("Vem"), "given_on": _l("Datum"), "method": _l("Sätt"),
    "text_version": _l("Version"), "text": _l("Text"), "recorded_by_name": _l("Mottaget av"),
    "created_at": _l("Registrerad"), "withdrawn_at": _l("Återkallat"),
    "withdrawn_method": _l("Återkallat hur"), "withdrawn_by": _l("Återkallat av"),
    "status": _l("Status"), "started_at": _l("Började"), "ended_at": _l("Slutade"),
    "end_reason": _l("Anledning"), "end_comment": _l("Kommentar"),
    "agreed_slots": _l("Gemensamma tider"), "call_times": _l("Samtalstider"),
    "planned_until": _l("Planerat till"), "score": _l("Poäng"), "explanation": _l("Motivering"),
    "warnings": _l("Varningar"), "approved_by": _l("Godkänd av"), "ended_by": _l("Avslutad av"),
    "handover_note": _l("Överlämning"), "volunteer_first_name": _l("Telefonvän"),
    "senior_first_name": _l("Senior"), "pair_id": _l("Telefonvänskap nr"),
    "starts_on": _l("Från"), "resumes_on": _l("Till"), "reason": _l("Anledning"),
    "slot": _l("Veckotid"), "occurs_on": _l("Dag"), "scheduled_at": _l("Tid"),
    "moved_from": _l("Flyttat från"), "note": _l("Anteckning"), "occurred_at": _l("Tid"),
    "outcome": _l("Utfall"), "minutes": _l("Minuter"), "source": _l("Rapporterat via"),
    "concern": _l("Oro"), "reported_by": _l("Rapporterat av"), "channel": _l("Kanal"),
    "kind": _l("Sort"), "recipient": _l("Till"), "body": _l("Text"), "due_at": _l("Planerat"),
    "sent_at": _l("Skickat"), "response": _l("Svar (knapp)"), "received_at": _l("Mottaget"),
    "from_number": _l("Från nummer"), "urgent": _l("Brådskande"), "title": _l("Rubrik"),
    "closed_at": _l("Klart"), "closing_note": _l("Avslutande anteckning"),
    "closed_by": _l("Klart av"), "choice": _l("Val"), "recording_exists": _l("Inspelning finns"),
    "recording_seconds": _l("Inspelningens längd (s)"),
    "recording_deleted_at": _l("Inspelning raderad"), "transcription": _l("Utskrift"),
    "handled_at": _l("Hanterat"), "handled_by": _l("Hanterat av"), "rank": _l("Plats"),
    "proposed_at": _l("Föreslaget"), "decided_at": _l("Beslut"), "decided_by": _l("Beslut av"),
    "phone": _l("Telefonnummer"), "keyword": _l("Ord"), "endpoint": _l("Sida eller funktion"),
    "first_name": _l("Förnamn"), "last_name": _l("Efternamn"), "email": _l("E-post"),
    "external_id": _l("Id i tidigare register"), "birth_year": _l("Födelseår"),
    "gender": _l("Kön"), "languages": _l("Språk"), "interests": _l("Intressen"),
    "availability": _l("Önskade samtalstider"), "district": _l("Stadsdel"),
    "notes": _l("Anteckningar"), "motivation": _l("Varför telefonvän"),
    "capacity": _l("Antal seniorer"), "updated_at": _l("Senast ändrad"),
    "erased_at": _l("Raderad"), "waiting_since": _l("Väntar sedan"),
    "preferred_gender": _l("Önskar telefonvän som är"),
    "referral_source": _l("Hur fick seniorn höra om oss?"),
    "reminder_channel": _l("Påminnelser via"), "call_in": _l("Ringer in via Vänringens nummer"),
    "status_reason": _l("Anledning till status"), "interviewed_on": _l("Intervjuad"),
    "police_record_checked_on": _l("Utdrag ur belastningsregistret kontrollerat"),
    "trained_on": _l("Utbildad"), "training_course": _l("Kursens namn"),
    "approved_at": _l("Godkänd"), "link_version": _l("Personliga länkar spärrade (antal gånger)"),
}
# Many short rows read best as a table; the rest as one block per row.
TABLE_SECTIONS = ("history", "scheduled_calls", "access_log")
BY_KIND = {"staff": _l("Samordnare"), "volunteer": _l("Telefonvän"), "system": _l("Systemet")}
PAIR_STATUSES = {"active": _l("Pågår"), "ended": _l("Avslutat")}
CALL_STATUSES = {"planned": _l("Planerat"), "skipped": _l("Blir inte av"),
                 "cancelled": _l("Inställt")}
OPEN_OR_DONE = {"open": _l("Öppet"), "done": _l("Klart")}
PROPOSAL_STATUSES = {"pending": _l("Väntar på beslut"), "approved": _l("Godkänt"),
                     "rejected": _l("Avvisat"), "superseded": _l("Ersatt av ett nyare förslag"),
                     "unmatched": _l("Ingen volontär passade")}
INBOUND_KINDS = {"opt_out": _l("STOPP"), "opt_in": _l("START"), "other": _l("Annat")}
# Codes shown by their label; a code missing from a table is shown as it is.
CODE_LABELS = {
    "gender": vocab.GENDERS, "preferred_gender": vocab.PREFERRED_GENDERS,
    "referral_source": vocab.REFERRAL_SOURCES, "reminder_channel": vocab.REMINDER_CHANNELS,
    "method": vocab.CONSENT_METHODS, "withdrawn_method": vocab.CONSENT_METHODS,
    "end_reason": matches.END_REASONS, "outcome": call_log.OUTCOMES,
    "source": call_log.SOURCES, "channel": messaging.CHANNEL_LABELS, "choice": intake.CHOICES,
    "by_kind": BY_KIND,
}
SECTION_CODES = {
    "pairs": {"status": PAIR_STATUSES},
    "scheduled_calls": {"status": CALL_STATUSES},
    "messages_sent": {"kind": messaging.KIND_LABELS, "status": messaging.STATUS_LABELS},
    "messages_received": {"kind": INBOUND_KINDS},
    "tasks": {"kind": tasks.KIND_LABELS, "status": OPEN_OR_DONE},
    "intake_calls": {"status": OPEN_OR_DONE},
    "match_proposals": {"status": PROPOSAL_STATUSES},
    "sms_opt_out": {"source": {"sms": _l("SMS"), "provider": _l("Twilio")}},
    "access_log": {"action": audit_log.ACTION_LABELS},
}
KIND_CODES = {
    "senior": {"status": vocab.SENIOR_STATUSES, "from_status": vocab.SENIOR_STATUSES,
               "to_status": vocab.SENIOR_STATUSES,
               "action": seniors.EVENT_LABELS | pairs.EVENT_LABELS},
    "volunteer": {"status": vocab.VOLUNTEER_STATUSES, "from_status": vocab.VOLUNTEER_STATUSES,
                  "to_status": vocab.VOLUNTEER_STATUSES,
                  "action": volunteers.EVENT_LABELS | pairs.EVENT_LABELS},
}
PHONE_KEYS = {"phone", "recipient", "from_number"}
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?([+-]\d\d:\d\d|Z)")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def _table(key: str, section: str, kind: str) -> dict:
    if key in SECTION_CODES.get(section, {}):
        return SECTION_CODES[section][key]
    if section in ("profile", "history"):
        return KIND_CODES[kind].get(key) or CODE_LABELS.get(key, {})
    return CODE_LABELS.get(key, {})


def shown(value, key: str = "", section: str = "", kind: str = "senior") -> str:
    """One value of the export as a person reads it: dates in words, codes as labels."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("Ja") if value else _("Nej")
    if not isinstance(value, str):
        return str(value)
    if _DATETIME.fullmatch(value):
        return format_datetime(datetime.fromisoformat(value), "short")
    if _DATE.fullmatch(value):
        return format_date(date.fromisoformat(value), "medium")
    if key in PHONE_KEYS and value.startswith("+"):
        try:
            return display_phone(value)
        except NumberParseException:
            return value
    if key == "languages":
        return ", ".join(vocab.language_name(c) for c in value.split(";") if c)
    if key in ("availability", "agreed_slots"):
        try:
            return ", ".join(str(vocab.slot_label(s)) for s in value.split(";") if s)
        except (KeyError, ValueError):  # not codes (an old import): as it was stored
            return value
    table = _table(key, section, kind)
    return str(table[value]) if value in table else value


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _person(model, person_id: int, *, session: Session):
    person = session.get(model, person_id)
    if person is None:
        abort(404)
    return person


def _collect(kind: str, person, *, session: Session) -> dict:
    collect = collect_senior if kind == "senior" else collect_volunteer
    return collect(person, session=session, tz=_tz())


def _audit(kind: str, person, fmt: str, *, session: Session):
    audit.record("access_export", session=session, detail=f"format={fmt}",
                 **{f"{kind}_id": person.id})


def _page(kind: str, person_id: int):
    session = get_session()
    person = _person(Senior if kind == "senior" else Volunteer, person_id, session=session)
    data = _collect(kind, person, session=session)
    _audit(kind, person, "html", session=session)
    session.commit()
    response = Response(render_template(
        "privacy/access.html", data=data, kind=kind, person=person, sections=SECTIONS[1:],
        table_sections=TABLE_SECTIONS, titles=SECTION_TITLES, labels=COLUMN_LABELS, shown=shown))
    # A whole register extract: nothing of it should stay in a shared computer's cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _download(kind: str, person_id: int):
    session = get_session()
    person = _person(Senior if kind == "senior" else Volunteer, person_id, session=session)
    data = _collect(kind, person, session=session)
    _audit(kind, person, "json", session=session)
    session.commit()
    name = export_filename(kind, person.id, tz=_tz())
    return Response(to_json(data), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


def to_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@bp.get("/seniorer/<int:senior_id>/registerutdrag")
def senior_page(senior_id: int):
    return _page("senior", senior_id)


@bp.get("/seniorer/<int:senior_id>/registerutdrag.json")
def senior_json(senior_id: int):
    return _download("senior", senior_id)


@bp.get("/volontarer/<int:volunteer_id>/registerutdrag")
def volunteer_page(volunteer_id: int):
    return _page("volunteer", volunteer_id)


@bp.get("/volontarer/<int:volunteer_id>/registerutdrag.json")
def volunteer_json(volunteer_id: int):
    return _download("volunteer", volunteer_id)


# ---------------------------------------------------------------- vanringen gdpr export

@click.command("export", short_help="Registerutdrag (art. 15) för en person, som JSON.")
@click.option("--senior", "senior_id", metavar="ID",
              help="Seniorns externa id, eller #id som på seniorns sida.")
@click.option("--volunteer", "volunteer_id", metavar="ID",
              help="Volontärens externa id, eller #id som på volontärens sida.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSON-filen att skriva, eller - för standard ut.")
@with_appcontext
def export_command(senior_id, volunteer_id, out):
    """Registerutdrag (art. 15): allt som sparats om en person, som JSON."""
    if bool(senior_id) == bool(volunteer_id):
        raise click.UsageError("ange antingen --senior eller --volunteer")
    kind, model, external_id = ("senior", Senior, senior_id) if senior_id \
        else ("volunteer", Volunteer, volunteer_id)
    if out != "-" and not Path(out).parent.is_dir():
        raise click.BadParameter(f"mappen '{Path(out).parent}' finns inte",
                                 param_hint="'--out'")
    session = get_session()
    person = find_person(model, external_id, session=session)
    who = "senior" if kind == "senior" else "volontär"
    if person is None:
        click.echo(f"Fel: ingen {who} med id '{external_id}' finns.", err=True)
        sys.exit(1)
    text = to_json(_collect(kind, person, session=session))
    _audit(kind, person, "json", session=session)
    session.flush()
    if out == "-":
        click.echo(text, nl=False)
        where = "standard ut"
    else:
        # Readable by its owner only: the file is a whole register extract.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file of the same name may have been readable
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        where = out
    session.commit()
    # On stderr when the JSON went to stdout, so a pipe gets the JSON alone.
    click.echo(f"Skrev registerutdraget för {who} #{person.id} till {where}.", err=out == "-")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    gdpr_cli.add_command(export_command)
