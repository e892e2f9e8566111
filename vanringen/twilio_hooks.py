"""Twilio's webhooks: inbound SMS, delivery status, and the words of a reminder call.

Every request must carry a valid X-Twilio-Signature (twilio's RequestValidator over the
URL Twilio used, PUBLIC_BASE_URL behind a proxy), or gets 403. Twilio retries a request it
got no quick answer to, so each handler is idempotent and does no provider call itself:
what must be sent is queued for the dispatcher.
"""

import logging
import re

from flask import Blueprint, Flask, abort, current_app, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from notifications import INVALID_NUMBER, NOT_MOBILE, UNSUBSCRIBED, gather_twiml, say_twiml

from . import delivery, messaging, sms_replies, texts
from .db import get_session, utcnow
from .models import InboundMessage, Message, ScheduledCall, Senior, Volunteer
from .people import record_event
from .planner import Planner
from .schedule import rules_from_config
from .tasks import open_task

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
log = logging.getLogger(__name__)

OPT_OUT_WORDS = {"STOPP", "STOP", "AVSLUTA"}
OPT_IN_WORDS = {"START"}
# A code that says the number itself is the problem: trying again will not help.
NO_RETRY_CODES = {str(INVALID_NUMBER), str(UNSUBSCRIBED), str(NOT_MOBILE)}
DELIVERY_FAILED = {"undelivered", "failed", "busy", "no-answer", "canceled"}
SID_MAX = 64  # the provider_id / call_sid columns
PHONE_MAX = 20  # the from_number / to_number columns


def signed_url() -> str:
    """The URL Twilio signed: behind a proxy the app sees http://internal-host, so the
    public address is taken from PUBLIC_BASE_URL."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if not base:
        return request.url
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


@bp.before_request
def verify_signature():
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        log.warning("Twilio webhook refused: TWILIO_AUTH_TOKEN is not set")
        abort(403)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not RequestValidator(token).validate(signed_url(), request.form, signature):
        abort(403)
    # Neither can come from Twilio, and PostgreSQL refuses both (NUL in text, a value longer
    # than its column): a 400, not a failed insert. Twilio's SIDs have 34 characters.
    if any("\x00" in value or (key.endswith("Sid") and len(value) > SID_MAX)
           for key, values in request.form.lists() for value in values):
        abort(400)


def _xml(twiml: str):
    return twiml, 200, {"Content-Type": "text/xml; charset=utf-8"}


def _wording():
    return texts.Texts.load(session=get_session())


# ---------------------------------------------------------------- inbound SMS

def keyword(body: str) -> str:
    """'Stopp!', ' stopp tack' → STOPP; a longer message is not a keyword."""
    words = re.findall(r"[A-ZÅÄÖ]+", (body or "").upper())
    return words[0] if words and len(words) <= 3 and words[0] in OPT_OUT_WORDS | OPT_IN_WORDS \
        else ""


def _person(phone: str, session):
    senior = session.exec(select(Senior).where(Senior.phone == phone)
                          .order_by(Senior.id.desc())).first()
    volunteer = session.exec(select(Volunteer).where(Volunteer.phone == phone)
                             .order_by(Volunteer.id.desc())).first()
    return senior, volunteer


@bp.post("/sms")
def inbound_sms():
    session = get_session()
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    phone, body = request.form.get("From", ""), request.form.get("Body", "")
    if not sid or not phone or len(phone) > PHONE_MAX:
        abort(400)
    seen = session.exec(select(InboundMessage).where(InboundMessage.provider_id == sid)).first()
    if seen is not None:  # Twilio's retry of a request already handled
        return _xml(_sms_reply(seen.kind, _answered(sid, session)))
    word = keyword(body)
    kind = "opt_out" if word in OPT_OUT_WORDS else "opt_in" if word in OPT_IN_WORDS else "other"
    senior, volunteer = _person(phone, session)
    inbound = InboundMessage(provider_id=sid, from_number=phone,
                             to_number=request.form.get("To", "")[:PHONE_MAX], body=body,
                             kind=kind,
                             senior_id=senior.id if senior else None,
                             volunteer_id=volunteer.id if volunteer else None)
    session.add(inbound)
    try:
        session.flush()
    except IntegrityError:  # the same retry, handled by another worker a moment ago
        session.rollback()
        return _xml(_sms_reply(kind))
    who = (senior or volunteer).full_name if (senior or volunteer) else phone
    tz = rules_from_config(current_app.config).tz
    report = sms_replies.answer(volunteer, phone, body, session=session, now=utcnow(), tz=tz) \
        if kind == "other" and volunteer is not None else None
    if report is not None and not report.for_coordinator:
        inbound.kind = kind = "report"
    refs = {"senior_id": inbound.senior_id, "volunteer_id": inbound.volunteer_id,
            "inbound_id": inbound.id}
    if kind == "opt_out":
        delivery.opt_out(phone, keyword=word, source="sms", session=session)
        _note(senior, volunteer, f"Svarade {word} på SMS: får inga fler SMS.", session)
        open_task("opted_out", f"{who} har svarat {word}: inga fler SMS", session=session,
                  detail=f"SMS från {phone}: {body}", dedup_key=f"opted_out:{phone}", **refs)
    elif kind == "opt_in":
        delivery.opt_in(phone, session=session)
        _note(senior, volunteer, "Svarade START på SMS: får SMS igen.", session)
    elif kind == "other":
        open_task("inbound_sms", f"SMS från {who}", session=session,
                  detail=f"{utcnow():%Y-%m-%d %H:%M} UTC: {body}",
                  dedup_key=f"inbound_sms:{phone}", **refs)
    reply = _sms_reply(kind)
    if report is not None:  # the volunteer's call report, answered; stored for retries
        answer = report.body(_wording(), now=utcnow(), tz=tz)
        reply = _sms_reply(kind, answer)
        session.add(Message(channel="sms", recipient=phone, kind=report.key, template=report.key,
                            body=answer, status="replied", provider="twiml", provider_id=sid,
                            sent_at=utcnow(), attempts=1, senior_id=report.senior_id,
                            volunteer_id=report.volunteer_id))
    elif kind != "other":
        key = f"{kind}_confirmation"
        session.add(Message(channel="sms", recipient=phone, kind=key, template=key,
                            body=_wording().body(key, "sv"), status="replied", provider="twiml",
                            sent_at=utcnow(), attempts=1, senior_id=inbound.senior_id,
                            volunteer_id=inbound.volunteer_id))
    session.commit()
    return _xml(reply)


def _note(senior, volunteer, detail: str, session) -> None:
    for person in (senior, volunteer):
        if person is not None:
            record_event("sms_opt", session=session, actor=None, detail=detail,
                         **({"senior": person} if isinstance(person, Senior)
                            else {"volunteer": person}))


def _sms_reply(kind: str, answer: str | None = None) -> str:
    response = MessagingResponse()
    if answer:
        response.message(answer)
    elif kind in ("opt_out", "opt_in"):
        response.message(_wording().body(f"{kind}_confirmation", "sv"))
    return str(response)


def _answered(sid: str, session) -> str | None:
    """What a volunteer's report was answered the first time (sms_replies)."""
    return session.exec(select(Message.body).where(Message.provider_id == sid,
                                                   Message.provider == "twiml")).first()


# ---------------------------------------------------------------- delivery status

@bp.post("/status")
def status():
    session = get_session()
    form = request.form
    sid = form.get("MessageSid") or form.get("CallSid")
    new = form.get("MessageStatus") or form.get("SmsStatus") or form.get("CallStatus")
    message = session.exec(select(Message).where(Message.provider_id == sid)).first() \
        if sid else None
    if message is None or not new or not messaging.moves_forward(message.status, new):
        return "", 204  # unknown, or a late or repeated callback: nothing changes
    message.status, message.updated_at = new, utcnow()
    code = form.get("ErrorCode", "")[:20]  # Twilio's are five digits
    if code:
        message.error_code = code
        message.error = f"Twilio {code}" + (f": {form['ErrorMessage']}"
                                            if form.get("ErrorMessage") else "")
    elif new in ("no-answer", "busy"):
        message.error = str(messaging.STATUS_LABELS[new])
    session.add(message)
    if new in DELIVERY_FAILED:
        delivery.undelivered(message, session=session, now=utcnow(),
                             rules=rules_from_config(current_app.config), wording=_wording(),
                             permanent=code in NO_RETRY_CODES)
    session.commit()
    return "", 204


# ---------------------------------------------------------------- voice
# Calls to the programme's number (POST /twilio/voice) are answered in voice_line.py.

def _voice_message(message_id: int) -> Message:
    message = get_session().get(Message, message_id)
    if message is None or message.channel != "voice":
        abort(404)
    return message


def _say(key: str, message: Message) -> str:
    wording = _wording()
    filled = texts.values(texts.decode(message.params), language=message.language,
                          channel="voice", now=utcnow(),
                          tz=rules_from_config(current_app.config).tz)
    return texts.render(wording.body(key, message.language), filled, "voice")


def _reminder_call(message: Message) -> str:
    call = get_session().get(ScheduledCall, message.call_id) if message.call_id else None
    if call is None or call.status != "planned":
        return say_twiml(message.body, language_code=message.language)
    return gather_twiml(message.body, _say("voice_menu", message),
                        action_url=url_for(".voice_answer", message_id=message.id),
                        language_code=message.language,
                        no_input_text=_say("voice_goodbye", message))


@bp.post("/voice/meddelande/<int:message_id>")
def voice_message(message_id: int):
    """What a call Vänringen made says; a reminder asks for a key."""
    return _xml(_reminder_call(_voice_message(message_id)))


@bp.post("/voice/meddelande/<int:message_id>/svar")
def voice_answer(message_id: int):
    session = get_session()
    message = _voice_message(message_id)
    digit = request.form.get("Digits", "")
    language = message.language
    if digit == "1":
        message.response = "1"
        session.add(message)
        session.commit()
        return _xml(say_twiml(_say("voice_confirmed", message), language_code=language))
    if digit == "2" and message.call_id:
        skip_after_key(message, session=session)
        session.commit()
        return _xml(say_twiml(_say("voice_skipped", message), language_code=language))
    return _xml(_reminder_call(message))  # 3, or a key that means nothing: once more


def skip_after_key(message: Message, *, session) -> None:
    """The senior cannot take the call: it is skipped and the volunteer told by SMS, once."""
    message.response = "2"
    session.add(message)
    call = session.get(ScheduledCall, message.call_id)
    if call is None or call.status != "planned":
        return  # pressed again, or a retry of the same request
    now = utcnow()
    planner = Planner.from_app(current_app, session=session)
    planner.cancel(call, status="skipped", note="Seniorn tryckte 2 i påminnelsesamtalet: "
                   "kan inte ta samtalet.", now=now)
    planner.tell_volunteer(call, "skip_notice_volunteer", now=now)


def init_app(app: Flask) -> None:
    # voice_line's routes (calls to the programme's number) join bp when it is imported.
    from . import csrf, voice_line  # noqa: F401

    csrf.exempt(bp)  # Twilio signs its requests; it cannot know a CSRF token
    app.register_blueprint(bp)
