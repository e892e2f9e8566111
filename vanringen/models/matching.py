"""The matcher's taxonomy, its runs and proposals, and the pairs coordinators approve."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..db import UTCDateTime, utc_timestamp


class InterestCategory(SQLModel, table=True):
    """One interest area of the matcher's taxonomy, edited by the coordinators."""

    __tablename__ = "interest_category"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True, index=True)
    label: str = Field(max_length=80)
    terms: str = Field(default="")  # one term per line (';' separates too)
    sort_order: int = 0
    updated_at: datetime = utc_timestamp()
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")


class MatchRun(SQLModel, table=True):
    """One press of "Föreslå matchningar" (or `vanringen match`, by_id None)."""

    __tablename__ = "match_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = utc_timestamp()
    by_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    seniors: int = 0     # waiting seniors considered
    volunteers: int = 0  # matchable volunteers with free capacity
    proposed: int = 0
    unmatched: int = 0


class MatchProposal(SQLModel, table=True):
    """Rank 0 is the proposed volunteer, 1–2 the alternatives. A senior for whom no volunteer
    was feasible gets one row without a volunteer (status unmatched): the run saw them."""

    __tablename__ = "match_proposal"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="match_run.id", index=True, ondelete="CASCADE")
    senior_id: int = Field(foreign_key="senior.id", index=True, ondelete="CASCADE")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True,
                                     ondelete="CASCADE")
    rank: int = 0
    score: float = 0.0
    explanation: str = Field(default="")
    # pending | approved | rejected | superseded | unmatched
    status: str = Field(default="pending", max_length=20, index=True)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")


class Pair(SQLModel, table=True):
    """A senior and their phone friend. A senior has at most one active pair."""

    __table_args__ = (
        sa.Index("uq_pair_active_senior", "senior_id", unique=True,
                 sqlite_where=sa.text("status = 'active'"),
                 postgresql_where=sa.text("status = 'active'")),
    )
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True, ondelete="CASCADE")
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True, ondelete="CASCADE")
    status: str = Field(default="active", max_length=10, index=True)  # active | ended
    started_at: datetime = utc_timestamp()
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str = Field(default="", max_length=30)  # a code of matches.END_REASONS
    end_comment: str = Field(default="")
    handover_note: str = Field(default="")
    agreed_slots: str = Field(default="", max_length=400)  # day parts both could offer
    # The weekly call plan, local time: 1–2 slots such as "tue 14:00;fri 10:30".
    call_times: str = Field(default="", max_length=40)
    # Calls (and their reminders) exist for every day before this local date.
    planned_until: date | None = Field(default=None, index=True)
    score: float | None = None
    explanation: str = Field(default="")
    warnings: str = Field(default="")  # hard constraints the coordinator confirmed, one a line
    approved_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                       ondelete="SET NULL")
    ended_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                    ondelete="SET NULL")

    @property
    def slot_list(self) -> list[str]:
        return [s for s in self.agreed_slots.split(";") if s]

    @property
    def call_time_list(self) -> list[str]:
        return [s for s in self.call_times.split(";") if s]


class Rejection(SQLModel, table=True):
    """A senior and volunteer the matcher must never propose together again."""

    __table_args__ = (sa.UniqueConstraint("senior_id", "volunteer_id",
                                          name="uq_rejection_pair"),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True, ondelete="CASCADE")
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True, ondelete="CASCADE")
    reason: str
    by_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    at: datetime = utc_timestamp()
