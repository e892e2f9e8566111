"""Sending what is due: claim, send, record the answer (healthchecks.io style).

A dispatcher claims due messages with one conditional UPDATE (on PostgreSQL through
`SELECT … FOR UPDATE SKIP LOCKED`), so any number of clock processes can run and none
sends a message another has claimed. A claim is a lease: a process that dies mid-send
leaves its rows "claimed" until `claimed_until`, and the next claim takes them over.
Each send is committed on its own, so a process killed mid-batch loses nothing and at
most the one message it was sending can go out twice.
"""

import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlmodel import Session, select

from notifications import SendError

from . import delivery, texts, volunteer_links
from .messaging import backend
from .models import Message, ScheduledCall, Senior, SmsOptOut, Volunteer
from .schedule import ReminderRules, rules_from_config

log = logging.getLogger(__name__)
LINK_SETTINGS = ("SECRET_KEY", "PUBLIC_BASE_URL", "VOLUNTEER_LINK_DAYS", "MASKED_CALLS",
                 "TWILIO_PHONE_NUMBER")
MAX_BACKOFF = timedelta(hours=1)
# Every column send_one may change. One fixed statement for all of them: SQLAlchemy
# compiles it once, where a statement per set of changed columns was the dispatcher's
# biggest cost.
OUTCOME = ("status", "provider", "provider_id", "sent_at", "error", "error_code", "body",
           "due_at", "claimed_until", "updated_at")
_table = Message.__table__
RECORD = (sa.update(_table)
          .where(_table.c.id == sa.bindparam("id_"), _table.c.claimed_by == sa.bindparam("by_"))
          .values({name: sa.bindparam(f"{name}_") for name in OUTCOME}))


def worker_name(role: str) -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


@dataclass
class Dispatcher:
    session: Session
    sender: object
    rules: ReminderRules
    wording: texts.Texts
    base_url: str = ""
    worker: str = "clock"
    lease: timedelta = timedelta(seconds=120)
    batch: int = 100
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=60)
    # What volunteer texts need at send time: their personal link, and in masked mode the
    # programme's number in place of the senior's.
    config: dict = field(default_factory=dict)

    @classmethod
    def from_app(cls, app: Flask, *, session: Session, worker: str = "clock",
                 sender=None) -> "Dispatcher":
        config = app.config
        return cls(session=session, sender=sender or backend(),
                   rules=rules_from_config(config), wording=texts.Texts.load(session=session),
                   base_url=config["PUBLIC_BASE_URL"], worker=worker_name(worker),
                   lease=timedelta(seconds=config["DISPATCH_LEASE_SECONDS"]),
                   batch=config["DISPATCH_BATCH"], max_attempts=config["SEND_MAX_ATTEMPTS"],
                   backoff=timedelta(seconds=config["SEND_BACKOFF_SECONDS"]),
                   config={name: config[name] for name in LINK_SETTINGS})

    # ------------------------------------------------------------ claiming

    def claim(self, *, now: datetime, ids: list[int] | None = None) -> list[Message]:
        """Claim up to `batch` due messages (only those of `ids` when given) and commit the
        claim, so other processes see it before anything is sent."""
        if ids is not None and not ids:
            return []
        due = sa.or_(sa.and_(Message.status == "pending", Message.due_at <= now),
                     sa.and_(Message.status == "claimed", Message.claimed_until < now))
        pick = select(Message.id).where(due)
        if ids is not None:
            pick = pick.where(Message.id.in_(ids))
        # Materialized, so PostgreSQL runs the pick once: as a subquery it may be rescanned
        # for each row, and each rescan skips the rows just claimed and picks more.
        pick = (pick.order_by(Message.due_at, Message.id).limit(self.batch)
                .with_for_update(skip_locked=True)
                .cte("picked").prefix_with("MATERIALIZED", dialect="postgresql"))
        # `due` again in the UPDATE itself: PostgreSQL re-checks it on a row another
        # transaction changed meanwhile, SQLite runs the statement under its write lock.
        claimed = self.session.execute(
            sa.update(Message).where(Message.id.in_(select(pick.c.id)), due)
            .values(status="claimed", claimed_until=now + self.lease, claimed_by=self.worker,
                    attempts=Message.attempts + 1, updated_at=now)
            .returning(Message.id).execution_options(synchronize_session=False)
        ).scalars().all()
        self.session.commit()
        if not claimed:
            return []
        return list(self.session.exec(
            select(Message).where(Message.id.in_(claimed)).order_by(Message.due_at, Message.id)
            .execution_options(populate_existing=True)))

    # ------------------------------------------------------------ sending

    def send_batch(self, messages: list[Message], *, now: datetime) -> Counter:
        """Send each claimed message and record its outcome at once; returns them counted."""
        session = self.session
        calls = {c.id: c for c in session.exec(select(ScheduledCall).where(
            ScheduledCall.id.in_({m.call_id for m in messages if m.call_id})))}
        opted_out = set(session.exec(select(SmsOptOut.phone).where(
            SmsOptOut.phone.in_({m.recipient for m in messages if m.channel == "sms"}))))
        volunteers = self._volunteers(messages)
        session.commit()
        outcomes = Counter()
        with session.get_bind().connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if conn.dialect.name == "postgresql":
                # An outcome's commit need not wait for the disk: a process that dies loses
                # nothing once the UPDATE returns; only a crash of the database server
                # could forget the last moment's outcomes, and those messages go out again
                # after their lease (at least once, never lost).
                conn.execute(sa.text("SET synchronous_commit TO OFF"))
            for message in messages:
                outcome = self.send_one(message, now=now, call=calls.get(message.call_id),
                                        opted_out=message.recipient in opted_out,
                                        volunteer=volunteers.get(message.id))
                outcomes[outcome] += 1
                if outcome == "failed":
                    session.commit()  # with its retry copy, task or opt-out: one transaction
                else:
                    self._record(conn, message)
        return outcomes

    def _record(self, conn, message: Message) -> None:
        """The outcome as one autocommitted UPDATE (one round trip per message), made only
        while the claim is still ours."""
        conn.execute(RECORD, {"id_": message.id, "by_": self.worker,
                              **{f"{name}_": getattr(message, name) for name in OUTCOME}})
        self.session.expunge(message)

    def _volunteers(self, messages: list[Message]) -> dict[int, tuple[Volunteer, str]]:
        """Per volunteer text: its volunteer and their senior's phone, by message id."""
        wanted = [m for m in messages
                  if m.volunteer_id and texts.audience(m.template) == "volunteer"]
        if not wanted or not self.config:
            return {}
        people = {v.id: v for v in self.session.exec(
            select(Volunteer).where(Volunteer.id.in_({m.volunteer_id for m in wanted})))}
        phones = dict(self.session.exec(select(Senior.id, Senior.phone).where(
            Senior.id.in_({m.senior_id for m in wanted if m.senior_id}))).all())
        return {m.id: (people[m.volunteer_id], phones.get(m.senior_id, "")) for m in wanted
                if m.volunteer_id in people}

    def _volunteer_values(self, params: dict, volunteer: tuple[Volunteer, str]) -> dict:
        person, senior_phone = volunteer
        return volunteer_links.volunteer_values(params, person, senior_phone, config=self.config)

    def send_one(self, message: Message, *, now: datetime, call: ScheduledCall | None = None,
                 opted_out: bool = False, volunteer: tuple[Volunteer, str] | None = None) -> str:
        """One claimed message: sent, or settled without sending; returns its new status."""
        if message.call_id is not None and (call is None or call.status != "planned"):
            return self._settle(message, "cancelled", now)
        if message.expires_at is not None and now >= message.expires_at:
            return self._settle(message, "expired", now)
        if message.channel == "sms" and opted_out:
            return self._settle(message, "blocked", now)
        if message.template:
            params = texts.decode(message.params)
            if volunteer is not None:
                params = self._volunteer_values(params, volunteer)
            message.body = texts.render(
                self.wording.body(message.template, message.language),
                texts.values(params, language=message.language,
                             channel=message.channel, now=now, tz=self.rules.tz),
                message.channel)
        try:
            result = self._hand_over(message)
        except SendError as exc:
            return self._failed(message, exc, now)
        except Exception as exc:  # a sender bug must not stop every later message
            log.exception("sender failed on message %s", message.id)
            return self._failed(message, SendError(f"{type(exc).__name__}: {exc}"), now)
        message.provider, message.provider_id = result.provider, result.provider_id
        message.status, message.sent_at, message.error = result.status, now, ""
        return self._settle(message, result.status, now)

    def _hand_over(self, message: Message):
        status_url = f"{self.base_url}/twilio/status" if self.base_url else None
        if message.channel == "voice":
            return self.sender.start_call(
                message.recipient, status_callback=status_url,
                twiml_url=f"{self.base_url}/twilio/voice/meddelande/{message.id}")
        return self.sender.send_sms(message.recipient, message.body,
                                    status_callback=status_url)

    def _failed(self, message: Message, exc: SendError, now: datetime) -> str:
        message.error = str(exc)
        message.error_code = str(exc.code or "")
        retry_at = None
        if not exc.permanent and message.attempts < self.max_attempts:
            delay = min(self.backoff * 2 ** max(message.attempts - 1, 0), MAX_BACKOFF)
            retry_at = now + delay
            if message.expires_at is not None and retry_at >= message.expires_at:
                retry_at = None
        if retry_at is not None:
            message.status, message.due_at, message.claimed_until = "pending", retry_at, None
            message.updated_at = now
            self.session.add(message)
            return "retry"
        self._settle(message, "failed", now)
        delivery.undelivered(message, session=self.session, now=now, rules=self.rules,
                             wording=self.wording, permanent=exc.permanent)
        return "failed"

    def _settle(self, message: Message, status: str, now: datetime) -> str:
        message.status, message.claimed_until, message.updated_at = status, None, now
        self.session.add(message)
        return status


def dispatch_due(dispatcher: Dispatcher, *, now: datetime,
                 deadline: datetime | None = None) -> Counter:
    """Claim and send batches until nothing is due (or the deadline passes)."""
    total = Counter()
    while True:
        batch = dispatcher.claim(now=now)
        if not batch:
            return total
        total += dispatcher.send_batch(batch, now=now)
        if deadline is not None and datetime.now(now.tzinfo) >= deadline:
            return total
