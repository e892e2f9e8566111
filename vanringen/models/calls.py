"""The calls a pair has planned, what became of them, the periods a pair is paused, and
the calls strangers make to the intake line."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..db import UTCDateTime, utc_timestamp


class ScheduledCall(SQLModel, table=True):
    """One occurrence of a pair's weekly slot (or a call moved from one).

    `slot` and `occurs_on` name the occurrence for good: a moved call keeps them, so
    planning the same week again never makes a second call for it.
    """

    __tablename__ = "scheduled_call"
    __table_args__ = (sa.UniqueConstraint("pair_id", "slot", "occurs_on",
                                          name="uq_scheduled_call_occurrence"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    slot: str = Field(max_length=20)  # "tue 14:00"
    occurs_on: date  # the slot's local date, even after a move
    scheduled_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default="planned", max_length=12)  # planned | skipped | cancelled
    moved_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str = Field(default="")
    changed_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")
    created_at: datetime = utc_timestamp()
    updated_at: datetime = utc_timestamp()


class PairPause(SQLModel, table=True):
    """No calls from `starts_on` up to (not including) `resumes_on`, local dates."""

    __tablename__ = "pair_pause"
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    starts_on: date
    resumes_on: date
    reason: str = Field(default="")
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")
    created_at: datetime = utc_timestamp()


class CallLog(SQLModel, table=True):
    """What became of a call: one row per planned call (a later report replaces the
    outcome), or one per call bridged through the programme's number outside the plan.

    `provider_id` is the Twilio CallSid of a bridged call, so Twilio's retries of the dial
    callback never log the same call twice.
    """

    __tablename__ = "call_log"
    __table_args__ = (sa.Index("ix_call_log_pair_occurred", "pair_id", "occurred_at"),)
    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", ondelete="CASCADE")
    call_id: int | None = Field(default=None, foreign_key="scheduled_call.id", unique=True,
                                ondelete="SET NULL")
    # held | no_answer | cancelled_senior | cancelled_volunteer | moved
    outcome: str = Field(max_length=20, index=True)
    minutes: int | None = None
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    source: str = Field(max_length=12)  # sms | link | bridge | coordinator
    note: str = Field(default="")
    concern: str = Field(default="")  # the volunteer's worry in their words; empty: none
    provider_id: str | None = Field(default=None, max_length=64, unique=True)
    reported_by_volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id",
                                                 ondelete="SET NULL")
    reported_by_staff_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                             ondelete="SET NULL")
    created_at: datetime = utc_timestamp()
    updated_at: datetime = utc_timestamp()


class IntakeRequest(SQLModel, table=True):
    """Someone rang the intake line: asked for a telefonvän (choice "friend") or left a
    message for a coordinator ("message"). One row per Twilio CallSid."""

    __tablename__ = "intake_request"
    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(max_length=64, unique=True, index=True)
    from_number: str = Field(default="", max_length=20, index=True)
    choice: str = Field(default="", max_length=10)  # friend | message
    recording_sid: str | None = Field(default=None, max_length=64, unique=True)
    recording_url: str = Field(default="", max_length=400)
    recording_seconds: int | None = None
    transcription: str = Field(default="")
    # Deleted at Twilio and here after INTAKE_RECORDING_DAYS (or with the caller's erasure).
    recording_deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=10, index=True)  # open | done
    senior_id: int | None = Field(default=None, foreign_key="senior.id", ondelete="SET NULL")
    note: str = Field(default="")
    handled_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = utc_timestamp()
