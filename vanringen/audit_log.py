"""Loggen: the admins' search of the audit log (who saw or changed whose data, and when).

Read only: the log has no edit or delete anywhere (the database refuses them too). Newest
first, 50 rows a page, paged by id (keyset) so a page deep in a long log costs the same as
the first and a row written meanwhile never shifts one onto the next page. The CSV of a
search is an export like any other and lands in the log itself (access_log).
"""

import io
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from . import csvsafe
from .db import get_session
from .models import AuditEvent, Senior, StaffUser, Volunteer

bp = Blueprint("audit_log", __name__, url_prefix="/admin/logg")
PER_PAGE = 50
ACTION_LABELS = {
    "view": _l("Visade"),
    "list": _l("Visade lista"),
    "change": _l("Ändrade"),
    "create": _l("Skapade"),
    "export": _l("Laddade ner"),
    "sign_in": _l("Loggade in"),
    "sign_in_failed": _l("Misslyckad inloggning"),
    "sign_out": _l("Loggade ut"),
    "locked": _l("Kontot låstes"),
    "password_reset": _l("Nytt lösenord"),
    "totp_on": _l("Slog på tvåstegsverifiering"),
    "totp_off": _l("Stängde av tvåstegsverifiering"),
    "staff_change": _l("Ändrade personalkonto"),
    "erase": _l("Raderade personuppgifter"),
    "access_export": _l("Registerutdrag"),
    "consent_withdrawn": _l("Samtycke återkallat"),
    "retention": _l("Gallring"),
}
CSV_COLUMNS = ["tid", "vem", "handling", "senior_id", "volontar_id", "par_id", "konto_id",
               "endpoint", "metod", "status", "ip", "detalj"]
ACTION_CODE = re.compile(r"[a-z_]{1,30}")


class SearchError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def _person_id(model, value: str, *, session: Session, field: str) -> int | None:
    """An id, or an external id (matched first: an imported register may use digits too)."""
    value = value.strip()
    if not value:
        return None
    found = session.exec(select(model.id).where(model.external_id == value)).first()
    if found is not None:
        return found
    if value.isdigit():
        return int(value)
    raise SearchError(_("Hittar inget id eller externt id som är \"%(value)s\".",
                        value=value[:40]), field)


def _local_date(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchError(_("Skriv datumet som ÅÅÅÅ-MM-DD, t.ex. 2026-12-01."), field) from None


def search_from(args, *, session: Session) -> tuple[dict, dict]:
    """(filters, errors by field) from the query string; a bad field is left out, not guessed."""
    filters, errors = {}, {}
    parsers = {
        "senior": lambda v, f: _person_id(Senior, v, session=session, field=f),
        "volontar": lambda v, f: _person_id(Volunteer, v, session=session, field=f),
        "fran": _local_date,
        "till": _local_date,
    }
    for name, parse in parsers.items():
        try:
            value = parse(args.get(name, ""), name)
        except SearchError as exc:
            errors[exc.field] = str(exc)
            continue
        if value is not None:
            filters[name] = value
    staff = args.get("personal", type=int)
    if staff is not None:
        filters["personal"] = staff
    action = args.get("handling", "").strip()
    if action and ACTION_CODE.fullmatch(action):
        filters["handling"] = action
    if "fran" in filters and "till" in filters and filters["till"] < filters["fran"]:
        errors["till"] = _("Slutdatumet är före startdatumet.")
    return filters, errors


def query_for(filters: dict, tz: ZoneInfo):
    query = select(AuditEvent)
    if "senior" in filters:
        query = query.where(AuditEvent.senior_id == filters["senior"])
    if "volontar" in filters:
        query = query.where(AuditEvent.volunteer_id == filters["volontar"])
    if "personal" in filters:
        query = query.where(AuditEvent.actor_id == filters["personal"])
    if "handling" in filters:
        query = query.where(AuditEvent.action == filters["handling"])
    # Local days, so "1 december" means the Swedish day, whatever the offset.
    if "fran" in filters:
        query = query.where(AuditEvent.at >= datetime.combine(filters["fran"], time(0), tz))
    if "till" in filters:
        end = datetime.combine(filters["till"] + timedelta(days=1), time(0), tz)
        query = query.where(AuditEvent.at < end)
    return query.order_by(AuditEvent.id.desc())


def staff_by_id(rows, *, session: Session) -> dict:
    ids = {row.actor_id for row in rows if row.actor_id} | \
        {row.staff_id for row in rows if row.staff_id}
    if not ids:
        return {}
    return {s.id: s for s in session.exec(select(StaffUser).where(StaffUser.id.in_(ids)))}


def who(row: AuditEvent, staff: dict) -> str:
    if row.actor_id:
        user = staff.get(row.actor_id)
        return (user.name or user.email) if user else _("Konto #%(id)s", id=row.actor_id)
    if row.actor_volunteer_id:
        return _("Volontär #%(id)s", id=row.actor_volunteer_id)
    return _("system")


def _tell_access_log(filters: dict) -> None:
    # The search names whose log was read: access_log puts them on its own row.
    g.access_log_people = {"senior_id": filters.get("senior"),
                           "volunteer_id": filters.get("volontar")}


@bp.get("/")
def index():
    session = get_session()
    filters, errors = search_from(request.args, session=session)
    before = request.args.get("fore", type=int)
    query = query_for(filters, ZoneInfo(current_app.config["TIMEZONE"]))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = [] if errors else session.exec(query.limit(PER_PAGE + 1)).all()
    more, rows = len(rows) > PER_PAGE, rows[:PER_PAGE]
    _tell_access_log(filters)
    args = {k: v for k, v in request.args.items() if k != "fore" and v}
    staff_list = session.exec(select(StaffUser).order_by(StaffUser.name, StaffUser.email)).all()
    return render_template("audit/index.html", rows=rows, more=more, args=args,
                           errors=errors, staff=staff_by_id(rows, session=session),
                           staff_list=staff_list, actions=ACTION_LABELS, who=who,
                           paged=before is not None), 422 if errors else 200


@bp.get("/ladda-ner.csv")
def download():
    session = get_session()
    filters, errors = search_from(request.args, session=session)
    if errors:
        return index()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    rows = session.exec(query_for(filters, tz)).all()
    staff = staff_by_id(rows, session=session)
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.at.astimezone(tz).isoformat(timespec="seconds"), who(row, staff),
                         row.action, row.senior_id or "", row.volunteer_id or "",
                         row.pair_id or "", row.staff_id or "", row.endpoint, row.method,
                         row.status_code or "", row.ip, row.detail])
    _tell_access_log(filters)
    name = f"vanringen-logg-{datetime.now(tz).date().isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["audit_action"] = action_label
