"""The calls a pair has planned, and the periods a pair is paused."""

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
