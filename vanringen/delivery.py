"""What happens when a message does not reach its person, whether the sender said so at
once (a permanent error, or temporary ones until the attempts ran out) or Twilio's status
callback did later (undelivered SMS, unanswered call).

A reminder is tried once more later when there is time before the call; a number that
has unsubscribed is stored so nothing more is sent to it; a senior whose number cannot
take SMS gets voice calls instead; and whatever is left, a coordinator sees as a task.
"""

import sqlalchemy as sa
from sqlmodel import Session, select

from notifications import INVALID_NUMBER, NOT_MOBILE, UNSUBSCRIBED

from . import messaging
from .db import utcnow
from .models import Message, ScheduledCall, Senior, SmsOptOut, Volunteer
from .people import record_event
from .schedule import ReminderRules
from .tasks import open_task
from .texts import Texts, audience


def undelivered(message: Message, *, session: Session, now, rules: ReminderRules,
                wording: Texts, permanent: bool) -> Message | None:
    """Act on a message that will not arrive; returns the message queued instead, if any."""
    code = message.error_code
    if code == str(UNSUBSCRIBED):
        opt_out(message.recipient, keyword="", source="provider", session=session)
        _task(message, "opted_out", "har avregistrerat sig från SMS (STOPP) hos Twilio",
              session=session, rules=rules)
        return None
    if code == str(NOT_MOBILE) and message.channel == "sms" and message.senior_id:
        return switch_to_voice(message, session=session, now=now, rules=rules, wording=wording)
    if not permanent and message.kind in messaging.REMINDER_KINDS \
            and message.retry_of_id is None:
        retry_at = rules.retry_at(now, message.expires_at)
        if retry_at is not None:
            return _copy(message, session=session, due_at=retry_at)
    what = "har fel telefonnummer" if code == str(INVALID_NUMBER) else "nåddes inte"
    _task(message, "delivery_failed", what, session=session, rules=rules)
    return None


def opt_out(phone: str, *, keyword: str, source: str, session: Session) -> None:
    if session.exec(select(SmsOptOut.id).where(SmsOptOut.phone == phone)).first() is None:
        with session.begin_nested():
            session.add(SmsOptOut(phone=phone, keyword=keyword, source=source))


def opt_in(phone: str, *, session: Session) -> bool:
    removed = session.execute(sa.delete(SmsOptOut).where(SmsOptOut.phone == phone))
    return bool(removed.rowcount)


def switch_to_voice(message: Message, *, session: Session, now, rules: ReminderRules,
                    wording: Texts) -> Message | None:
    """The senior's number is a landline: reminders by voice call from now on, and this
    one again by voice if its call is still ahead."""
    senior = session.get(Senior, message.senior_id)
    if senior is None:
        return None
    queued = None
    if senior.reminder_channel == "sms":
        senior.reminder_channel, senior.updated_at = "voice", utcnow()
        session.add(senior)
        record_event("updated", session=session, senior=senior, actor=None,
                     detail="Påminnelser via röstsamtal: numret kan inte ta emot SMS "
                            f"(Twilio {NOT_MOBILE}).")
        later = session.exec(select(Message).where(
            Message.senior_id == senior.id, Message.kind == "reminder_senior_sms",
            Message.status == "pending")).all()
        for pending in later:  # planned SMS reminders become calls too
            _as_voice(pending, senior, wording)
            session.add(pending)
    call = session.get(ScheduledCall, message.call_id) if message.call_id else None
    if message.kind == "reminder_senior_sms" and call is not None and call.status == "planned" \
            and call.scheduled_at > now:
        queued = _copy(message, session=session, due_at=now)
        _as_voice(queued, senior, wording)
    _task(message, "switched_to_voice", "har fast telefon: påminnelserna går nu som "
          "röstsamtal", session=session, rules=rules)
    return queued


def _as_voice(message: Message, senior: Senior, wording: Texts) -> None:
    key = "reminder_senior_voice"
    message.kind = message.template = key
    message.channel = "voice"
    message.language = wording.language_for(key, senior.language_list)


def _copy(message: Message, *, session: Session, due_at) -> Message:
    again = Message(channel=message.channel, recipient=message.recipient, body=message.body,
                    kind=message.kind, template=message.template, language=message.language,
                    params=message.params, due_at=due_at, expires_at=message.expires_at,
                    call_id=message.call_id, senior_id=message.senior_id,
                    volunteer_id=message.volunteer_id, retry_of_id=message.id)
    session.add(again)
    return again


def _task(message: Message, kind: str, what: str, *, session: Session,
          rules: ReminderRules) -> None:
    for_volunteer = audience(message.kind) == "volunteer"
    person = (session.get(Senior, message.senior_id) if message.senior_id
              and not for_volunteer else
              session.get(Volunteer, message.volunteer_id) if message.volunteer_id else None)
    who = person.full_name if person else message.recipient
    role = "seniorn" if isinstance(person, Senior) else "volontären" if person else "numret"
    detail = (f"{messaging.CHANNEL_LABELS.get(message.channel, message.channel)} "
              f"{rules.local(message.due_at):%Y-%m-%d %H:%M} till {message.recipient}: "
              f"{message.error or message.status}")
    refs = {"senior_id": person.id} if isinstance(person, Senior) else \
        {"volunteer_id": person.id} if person else {}
    open_task(kind, f"{who} ({role}) {what}", session=session, detail=detail,
              dedup_key=f"{kind}:{message.recipient}", message_id=message.id, **refs)
