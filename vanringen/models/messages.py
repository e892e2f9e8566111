"""What is sent (one Message row per send), what comes in, and the texts admins edit."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..db import UTCDateTime, utc_timestamp

# Messages a dispatcher may claim; the partial index keeps that query small however
# long the log grows.
CLAIMABLE = ("pending", "claimed")


class Message(SQLModel, table=True):
    """One row per notification, written before it is handed to a sender.

    Reminders are written days ahead (`due_at`); a dispatcher claims a due row by setting
    status "claimed" with a lease (`claimed_until`), so no two processes send it, and a
    claim left by a process that died is taken over once the lease has run out.
    """

    __table_args__ = (
        sa.Index("ix_message_claimable", "due_at",
                 sqlite_where=sa.text("status IN ('pending', 'claimed')"),
                 postgresql_where=sa.text("status IN ('pending', 'claimed')")),
        # The dashboard's recent failures: a few statuses, the last days of a long log.
        sa.Index("ix_message_status_updated", "status", "updated_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)  # sms | voice
    recipient: str = Field(max_length=254, index=True)
    body: str
    kind: str = Field(max_length=40)  # application_confirmation, reminder_volunteer, ...
    status: str = Field(default="pending", max_length=20, index=True)
    provider: str = Field(default="", max_length=20)
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    error: str = Field(default="")
    error_code: str = Field(default="", max_length=20)
    attempts: int = 0
    senior_id: int | None = Field(default=None, foreign_key="senior.id", index=True,
                                  ondelete="SET NULL")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True,
                                     ondelete="SET NULL")
    call_id: int | None = Field(default=None, foreign_key="scheduled_call.id", index=True,
                                ondelete="SET NULL")
    retry_of_id: int | None = Field(default=None, foreign_key="message.id",
                                    ondelete="SET NULL")
    # Rendered again when sent, so an admin's edit reaches reminders planned earlier.
    template: str = Field(default="", max_length=40)
    language: str = Field(default="sv", max_length=10)
    params: str = Field(default="")  # JSON
    due_at: datetime = utc_timestamp()
    # A reminder is pointless once its call has begun.
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str = Field(default="", max_length=64)
    response: str = Field(default="", max_length=10)  # the key a senior pressed
    created_at: datetime = utc_timestamp()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = utc_timestamp()


class SmsOptOut(SQLModel, table=True):
    """A number that said STOPP (or that Twilio reports as unsubscribed): no SMS to it."""

    __tablename__ = "sms_opt_out"
    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=20, unique=True, index=True)
    keyword: str = Field(default="", max_length=20)
    source: str = Field(default="sms", max_length=20)  # sms | provider
    at: datetime = utc_timestamp()


class InboundMessage(SQLModel, table=True):
    """An SMS someone sent to the programme's number, stored once per Twilio MessageSid."""

    __tablename__ = "inbound_message"
    id: int | None = Field(default=None, primary_key=True)
    provider_id: str = Field(max_length=64, unique=True, index=True)
    from_number: str = Field(max_length=20, index=True)
    to_number: str = Field(default="", max_length=20)
    body: str = Field(default="")
    kind: str = Field(default="other", max_length=20)  # opt_out | opt_in | other
    senior_id: int | None = Field(default=None, foreign_key="senior.id", ondelete="SET NULL")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id",
                                     ondelete="SET NULL")
    received_at: datetime = utc_timestamp()


class MessageTemplate(SQLModel, table=True):
    """An admin's wording for one text in one language; without a row the shipped text
    (vanringen/data/message_texts.toml) is used."""

    __tablename__ = "message_template"
    __table_args__ = (sa.UniqueConstraint("key", "language", name="uq_message_template"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40)
    language: str = Field(max_length=10)
    body: str
    updated_at: datetime = utc_timestamp()
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")
