"""Helpers for the call-plan, reminder and dispatch tests.

`Recorder` is a sender that keeps what it was asked to send (and can be told to fail);
the real senders are tested in test_notifications.py and, against Twilio's API spec, in
test_twilio_backend.py and test_dispatch_twilio.py. `paired()` makes a senior, a volunteer
and their active pair with a call plan.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from test_matches import make_senior, make_volunteer

from notifications import SendResult
from vanringen.dispatch import Dispatcher
from vanringen.models import Message, Pair, ScheduledCall
from vanringen.planner import Planner

TZ = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    """'2026-12-08 14:00' in Stockholm as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


def local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


class Recorder:
    """Keeps every send; `fail` (an exception, or a list of them used in turn) makes it fail."""

    name = "recorder"

    def __init__(self, fail=None):
        self.sent: list[tuple] = []
        self.fail = fail
        self.count = 0

    def _next(self, *record):
        self.count += 1
        failure = self.fail.pop(0) if isinstance(self.fail, list) and self.fail else \
            None if isinstance(self.fail, list) else self.fail
        if failure is not None:
            raise failure
        self.sent.append(record)
        return SendResult(self.name, f"RC{self.count:04d}", "queued")

    def send_sms(self, to, body, *, status_callback=None):
        return self._next("sms", to, body, status_callback)

    def start_call(self, to, *, twiml_url, status_callback=None):
        return self._next("voice", to, twiml_url, status_callback)


def paired(session, *, call_times="tue 14:00", started=None, channel="sms", senior="Greta",
           volunteer="Jonas", n=0, **senior_kw) -> Pair:
    """An active pair; `n` keeps phone numbers apart when a test needs several."""
    phone = senior_kw.pop("phone", None) or (
        f"+4670111{n:04d}" if channel == "sms" else f"+468123{n:04d}")
    greta = make_senior(session, senior, phone=phone, reminder_channel=channel,
                        status="matched", **senior_kw)
    jonas = make_volunteer(session, volunteer, phone=f"+4670222{n:04d}")
    pair = Pair(senior_id=greta.id, volunteer_id=jonas.id, call_times=call_times,
                agreed_slots="tue-afternoon",
                started_at=started or datetime(2026, 1, 1, tzinfo=UTC))
    session.add(pair)
    session.commit()
    return pair


def planner(app, session) -> Planner:
    return Planner.from_app(app, session=session)


def dispatcher(app, session, sender=None, **kw) -> Dispatcher:
    found = Dispatcher.from_app(app, session=session, sender=sender or Recorder())
    for name, value in kw.items():
        setattr(found, name, value)
    return found


def calls_of(session, pair) -> list[ScheduledCall]:
    session.expire_all()
    return list(session.exec(select(ScheduledCall).where(ScheduledCall.pair_id == pair.id)
                             .order_by(ScheduledCall.scheduled_at)))


def messages(session, **where) -> list[Message]:
    session.expire_all()
    query = select(Message).order_by(Message.due_at, Message.id)
    for name, value in where.items():
        query = query.where(getattr(Message, name) == value)
    return list(session.exec(query))


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
