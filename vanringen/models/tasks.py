"""Work for a coordinator that the system found: a reminder that could not be delivered,
a number that said STOPP, an SMS nobody has read."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..db import UTCDateTime, utc_timestamp


class Task(SQLModel, table=True):
    """One open task per cause (`dedup_key`), however often the cause recurs."""

    __table_args__ = (
        sa.Index("uq_task_open_key", "dedup_key", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30, index=True)
    # A volunteer's concern: listed first, and the coordinator on duty gets an SMS.
    urgent: bool = Field(default=False, index=True)
    title: str = Field(max_length=200)
    detail: str = Field(default="")
    status: str = Field(default="open", max_length=10, index=True)  # open | done
    dedup_key: str | None = Field(default=None, max_length=120)
    senior_id: int | None = Field(default=None, foreign_key="senior.id", index=True,
                                  ondelete="SET NULL")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True,
                                     ondelete="SET NULL")
    pair_id: int | None = Field(default=None, foreign_key="pair.id", ondelete="SET NULL")
    message_id: int | None = Field(default=None, foreign_key="message.id",
                                   ondelete="SET NULL")
    call_log_id: int | None = Field(default=None, foreign_key="call_log.id",
                                    ondelete="SET NULL")
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id",
                                   ondelete="SET NULL")
    created_at: datetime = utc_timestamp()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                     ondelete="SET NULL")
    closing_note: str = Field(default="")
