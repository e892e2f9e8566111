"""What seniors and volunteers share: their history, and how they are shown."""

from datetime import datetime

from flask import Flask
from flask_login import current_user
from sqlmodel import Session

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


def days_since(moment: datetime | None, now: datetime | None = None) -> int | None:
    if moment is None:
        return None
    return ((now or utcnow()) - moment).days


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
