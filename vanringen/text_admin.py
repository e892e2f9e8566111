"""Admins edit the texts Vänringen sends (Meddelanden → Texter): the wording per language,
checked for placeholders, previewed with example values, with its SMS length shown."""

from datetime import timedelta

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
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import select

from notifications import VOICES, is_gsm7, segments

from . import texts, vocab, volunteer_links
from .db import get_session, utcnow
from .models import MessageTemplate
from .schedule import rules_from_config

bp = Blueprint("text_admin", __name__, url_prefix="/meddelanden/texter")
EXAMPLE = {"senior": "Greta", "volontär": "Jonas", "telefon": "08-123 456 78",
           "slots": "tue 14:00;fri 10:30", "siffra": "1"}


def example_link() -> str:
    """As long as a real personal link, so the segment count is right, but signed with a
    key no link is checked against: it opens nothing."""
    token = URLSafeTimedSerializer("exempel", salt=volunteer_links.SALT).dumps([1000, 0])
    base = current_app.config["PUBLIC_BASE_URL"] or volunteer_links.LOCAL_BASE
    return f"{base}{volunteer_links.PATH}{token}"


@bp.before_request
def only_admins():
    return None


def _entry(key: str) -> dict:
    if key not in texts.shipped():
        abort(404)
    return texts.shipped()[key]


def languages_for(key: str) -> list[str]:
    """Languages a text may be written in: Swedish for volunteers' texts; for seniors any
    language (calls only where Twilio has a voice)."""
    entry = texts.shipped()[key]
    if entry["for"] != "senior":
        return ["sv"]
    codes = VOICES if entry["channel"] == "voice" else vocab.ISO_639_1
    return ["sv"] + sorted((c for c in codes if c != "sv" and c in vocab.ISO_639_1),
                           key=vocab.language_name)


def preview(key: str, body: str, language: str) -> dict:
    entry = _entry(key)
    rules = rules_from_config(current_app.config)
    now = utcnow()
    call_at = now + timedelta(days=1)
    filled = texts.values({**EXAMPLE, "länk": example_link(), "call_at": call_at.isoformat()},
                          language=language,
                          channel=entry["channel"], now=now, tz=rules.tz)
    shown = texts.render(body, filled, entry["channel"])
    parts, encoding = segments(shown)
    return {"text": shown, "parts": parts, "encoding": encoding, "length": len(shown),
            "gsm7": is_gsm7(body)}


@bp.get("/")
def index():
    rows = {(t.key, t.language): t for t in get_session().exec(select(MessageTemplate))}
    entries = []
    for key, entry in texts.shipped().items():
        written = sorted(set(texts.languages_of(key)) | {lang for k, lang in rows if k == key},
                         key=lambda code: (code != "sv", code))
        entries.append({"key": key, "entry": entry, "languages": written,
                        "changed": {lang for k, lang in rows if k == key},
                        "addable": [c for c in languages_for(key) if c not in written]})
    return render_template("texts/index.html", entries=entries)


@bp.route("/<key>/<language>", methods=["GET", "POST"])
def edit(key: str, language: str):
    entry = _entry(key)
    if language not in languages_for(key):
        abort(404)
    session = get_session()
    row = session.exec(select(MessageTemplate).where(MessageTemplate.key == key,
                                                     MessageTemplate.language == language)
                       ).first()
    shipped = entry.get(language, "")
    body = row.body if row else shipped
    errors = []
    if request.method == "POST":
        if request.form.get("action") == "reset":
            if row is not None:
                session.delete(row)
                session.commit()
            flash(_("Texten är återställd till Vänringens egen.") if shipped else
                  _("Texten är borttagen; Vänringen använder svenska i stället."), "success")
            return redirect(url_for(".index"))
        body = request.form.get("body", "").replace("\r\n", "\n").strip()
        errors = texts.check(key, body)
        if not errors:
            if body == shipped:
                # Vänringen's own words need no copy: a copy would be marked as changed and
                # would hide a later improvement of the shipped text.
                if row is not None:
                    session.delete(row)
            else:
                row = row or MessageTemplate(key=key, language=language, body=body)
                row.body, row.updated_at, row.updated_by_id = body, utcnow(), current_user.id
                session.add(row)
            session.commit()
            flash(_("Texten är sparad. Den gäller även påminnelser som redan är planerade."),
                  "success")
            return redirect(url_for(".edit", key=key, language=language))
    return render_template(
        "texts/edit.html", key=key, entry=entry, language=language, body=body,
        shipped=shipped, changed=row is not None, errors=errors,
        preview=preview(key, body, language) if body and not errors else None,
        placeholders=entry["placeholders"]), 422 if errors else 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
