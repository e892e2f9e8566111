"""What seniors and volunteers share: their history, and how they are shown."""

import math
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
import sqlalchemy as sa
from flask import Flask, abort, current_app
from flask_login import current_user
from sqlmodel import Session, select

from . import vocab
from .db import utcnow
from .models import PersonEvent, Senior, Volunteer
from .phones import display_phone


def actor_id() -> int | None:
    return current_user.id if getattr(current_user, "is_authenticated", False) else None


def record_event(action: str, *, session: Session, senior: Senior | None = None,
                 volunteer: Volunteer | None = None, from_status: str | None = None,
                 to_status: str | None = None, detail: str = "",
                 actor: int | None = None) -> PersonEvent:
    event = PersonEvent(
        senior_id=senior.id if senior else None,
        volunteer_id=volunteer.id if volunteer else None,
        actor_id=actor if actor is not None else actor_id(),
        action=action, from_status=from_status, to_status=to_status, detail=detail,
    )
    session.add(event)
    return event


def refuse_if_erased(person: Senior | Volunteer) -> None:
    """An erased person's row keeps only what reports count: nothing to edit, and no way
    back into matching."""
    if person.erased_at is not None:
        abort(409)


def days_since(moment: datetime | None, now: datetime | None = None) -> int | None:
    if moment is None:
        return None
    return ((now or utcnow()) - moment).days


def local_today() -> date:
    """Today in the programme's time zone, not the server's (UTC) calendar day."""
    return datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


# ---------------------------------------------------------------- searching lists

def icontains(column, term: str):
    # SQLite's lower() folds ASCII only, so "åsa" would miss "Åsa"; the capitalised and
    # upper-case spellings cover names as people write them. PostgreSQL needs only the first.
    variants = {term.capitalize(), term.title(), term.upper()} - {term.lower()}
    return sa.or_(sa.func.lower(column).contains(term.lower(), autoescape=True),
                  *(column.contains(v, autoescape=True) for v in variants))


def phone_digits(q: str, region: str) -> str:
    """Digits to look for inside stored E.164 numbers, however (much of) the number was written."""
    if not re.fullmatch(r"[\d\s()+\-./]+", q):
        return ""
    digits = re.sub(r"\D", "", q)
    if len(digits) < 3:
        return ""
    if q.lstrip().startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return f"{phonenumbers.country_code_for_region(region)}{digits[1:]}"
    return digits


def person_search(model, q: str, *extra_columns):
    """Name, external id, any extra columns, and the phone number in any written form."""
    term = q.strip()
    full_name = model.first_name.concat(" ").concat(model.last_name)
    columns = (model.first_name, model.last_name, full_name, model.external_id, *extra_columns)
    conditions = [icontains(column, term) for column in columns]
    digits = phone_digits(term, current_app.config["PHONE_REGION"])
    if digits:
        conditions.append(model.phone.contains(digits))
    return sa.or_(*conditions)


def speaks(languages_column, code: str):
    # Codes are ';'-joined; wrapping both ends in ';' makes "sv" match a whole code only.
    wrapped = sa.literal(";").concat(languages_column).concat(";")
    return wrapped.contains(f";{code};", autoescape=True)


def paginate(query, *, session: Session, page: int, per_page: int = 50):
    """One page of `query` plus the counts the pager macro needs; past the end shows the last."""
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    items = session.exec(query.offset((page - 1) * per_page).limit(per_page)).all()
    return items, total, page, pages


def _codes(value: str | list[str] | None) -> list[str]:
    if isinstance(value, str):
        return [c for c in value.split(";") if c]
    return list(value or [])


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        phone=display_phone,
        days_since=days_since,
        languages=lambda v: ", ".join(vocab.language_name(c) for c in _codes(v)),
        slots=lambda v: ", ".join(str(vocab.slot_label(s)) for s in _codes(v)),
        label=lambda code, table: str(getattr(vocab, table).get(code, code or "–")),
    )

    @app.context_processor
    def inject_vocab():
        return {"vocab": vocab}
