"""Record first, then send (healthchecks.io style): the row exists before any provider call.

`queue()` writes a Message for one of the texts in texts.py, due now or later; the
dispatcher (dispatch.py, run by the clock process) claims due rows and sends them.
`send_committed()` sends a user action's messages at once, through the same claim, so a
message is never sent by both.
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from notifications import get_backend

from . import texts, volunteer_links
from .db import utcnow
from .models import Message, Senior, Volunteer

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "pending": _l("Planerat"), "claimed": _l("Skickas nu"),
    "recorded": _l("Sparat i utkorgen (skickas inte)"),
    "accepted": _l("Mottaget av Twilio"), "scheduled": _l("Mottaget av Twilio"),
    "queued": _l("I kö hos Twilio"), "sending": _l("Skickas"), "sent": _l("Skickat"),
    "delivered": _l("Levererat"), "read": _l("Läst"), "undelivered": _l("Kom inte fram"),
    "failed": _l("Misslyckades"), "initiated": _l("Ringer upp"), "ringing": _l("Ringer"),
    "in-progress": _l("Pågår"), "completed": _l("Besvarat"), "busy": _l("Upptaget"),
    "no-answer": _l("Inget svar"), "canceled": _l("Avbrutet"),
    "expired": _l("För sent – samtalet hade börjat"), "cancelled": _l("Behövs inte längre"),
    "blocked": _l("Stoppat – numret har svarat STOPP"), "replied": _l("Svar skickat"),
}
# What the message log's "Misslyckade" filter shows: nothing reached the person.
FAILED = ("undelivered", "failed", "busy", "no-answer", "canceled", "expired", "blocked")
DONE_BY_US = ("expired", "cancelled", "blocked", "recorded", "replied")
# Twilio's callbacks can arrive out of order; a status only ever moves forward.
_PROGRESS = {
    "pending": 0, "claimed": 1, "accepted": 2, "scheduled": 2, "queued": 3, "initiated": 4,
    "sending": 4, "ringing": 5, "sent": 5, "in-progress": 6, "delivered": 7,
    "undelivered": 7, "failed": 7, "completed": 7, "busy": 7, "no-answer": 7, "canceled": 7,
    "read": 8,
}
REMINDER_KINDS = ("reminder_volunteer", "reminder_senior_sms", "reminder_senior_voice")
KIND_LABELS = {
    "application_confirmation": _l("Tack för ansökan"), "pair_volunteer": _l("Ny telefonvän"),
    "pair_senior_sms": _l("Ny telefonvän"), "pair_senior_voice": _l("Ny telefonvän"),
    "reminder_volunteer": _l("Påminnelse"), "reminder_senior_sms": _l("Påminnelse"),
    "reminder_senior_voice": _l("Påminnelse"),
    "skip_notice_volunteer": _l("Samtalet blir inte av"),
    "call_skipped_volunteer": _l("Samtalet blir inte av"),
    "opt_out_confirmation": _l("Svar på STOPP"), "opt_in_confirmation": _l("Svar på START"),
    "reply_logged": _l("Svar på samtalsrapport"), "reply_moved": _l("Svar på FLYTTA"),
    "reply_too_early": _l("Svar på samtalsrapport"), "reply_problem": _l("Svar på SMS"),
    "reply_help": _l("Svar på SMS"),
    "password_reset": _l("Nytt lösenord"), "staff_invitation": _l("Inbjudan till personal"),
}
CHANNEL_LABELS = {"sms": _l("SMS"), "voice": _l("Röstsamtal"), "email": _l("E-post")}


def moves_forward(current: str, new: str) -> bool:
    if current in DONE_BY_US:
        return False
    return _PROGRESS.get(new, -1) > _PROGRESS.get(current, -1)


def backend():
    """The sender NOTIFY_BACKEND names, made on first use (never at import)."""
    app = current_app
    if "vanringen.notifier" not in app.extensions:
        config = app.config
        app.extensions["vanringen.notifier"] = get_backend(
            config["NOTIFY_BACKEND"], account_sid=config["TWILIO_ACCOUNT_SID"],
            auth_token=config["TWILIO_AUTH_TOKEN"], from_number=config["TWILIO_PHONE_NUMBER"])
    return app.extensions["vanringen.notifier"]


def queue(key: str, to: str, params: dict, *, session: Session, language: str = "sv",
          due_at: datetime | None = None, expires_at: datetime | None = None,
          wording: texts.Texts | None = None, tz: ZoneInfo | None = None,
          **refs) -> Message:
    """Record text `key` for `to`, due at `due_at` (now by default). The body is written as
    it would read when due; the dispatcher writes it again at send time."""
    tz = tz or ZoneInfo(current_app.config["TIMEZONE"])
    wording = wording or texts.Texts.load(session=session)
    channel = texts.shipped()[key]["channel"]
    due_at = due_at or utcnow()
    body = wording.body(key, language)
    shown = _volunteer_params(key, params, refs, session=session)
    message = Message(
        channel=channel, recipient=to, kind=key, template=key, language=language,
        params=texts.encode(params), due_at=due_at, expires_at=expires_at,
        body=texts.render(body, texts.values(shown, language=language, channel=channel,
                                             now=due_at, tz=tz), channel), **refs)
    session.add(message)
    return message


def _volunteer_params(key: str, params: dict, refs: dict, *, session: Session) -> dict:
    """A volunteer text's body in the log reads as it will be sent (their link, the number
    to ring); the stored params keep neither, the dispatcher fills them again."""
    if texts.audience(key) != "volunteer" or not refs.get("volunteer_id") \
            or not has_app_context():
        return params
    volunteer = session.get(Volunteer, refs["volunteer_id"])
    senior = session.get(Senior, refs["senior_id"]) if refs.get("senior_id") else None
    if volunteer is None:
        return params
    return volunteer_links.volunteer_values(params, volunteer, senior.phone if senior else "",
                                            config=current_app.config)


def send_committed(messages: list[Message], *, session: Session) -> None:
    """Send a user action's messages, already committed, now rather than at the next tick.

    The one place besides the clock process that commits: a failing sender must not undo
    the user's action, so a message that cannot be sent now waits for the dispatcher.
    """
    from .dispatch import Dispatcher

    ids = [m.id for m in messages if m.id is not None]
    try:
        dispatcher = Dispatcher.from_app(current_app, session=session, worker="web")
        dispatcher.send_batch(dispatcher.claim(now=utcnow(), ids=ids), now=utcnow())
    except Exception:
        session.rollback()
        log.exception("messages %s not handed over; the dispatcher will try again", ids)
