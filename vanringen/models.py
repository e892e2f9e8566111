"""SQLModel tables. The schema changes only through Alembic migrations.

Pattern (FastAPI full-stack template): a Base class with the fields people fill in,
the table class adding keys and timestamps, a Public class for what may leave the app.
Multi-valued fields (languages, availability) are stored as ';'-joined codes, the same
form the CSV files use.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .db import UTCDateTime, utcnow


def _ts(**kw):
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="coordinator", max_length=20)  # admin | coordinator
    active: bool = True
    created_at: datetime = _ts()

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class PersonBase(SQLModel):
    external_id: str | None = Field(default=None, max_length=64, unique=True, index=True)
    first_name: str = Field(max_length=80)
    last_name: str = Field(default="", max_length=80)
    phone: str = Field(max_length=20, index=True)
    birth_year: int | None = None
    gender: str = Field(max_length=10)
    languages: str = Field(default="sv", max_length=200)
    interests: str = Field(default="")
    availability: str = Field(default="", max_length=400)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def language_list(self) -> list[str]:
        return [c for c in self.languages.split(";") if c]

    @property
    def slot_list(self) -> list[str]:
        return [s for s in self.availability.split(";") if s]


class SeniorBase(PersonBase):
    preferred_gender: str = Field(default="any", max_length=10)
    district: str | None = Field(default=None, max_length=40, index=True)
    referral_source: str = Field(default="sjalv", max_length=30)
    reminder_channel: str = Field(default="sms", max_length=10)
    notes: str = Field(default="")


class Senior(SeniorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="waiting", max_length=20, index=True)
    waiting_since: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class VolunteerBase(PersonBase):
    email: str | None = Field(default=None, max_length=254, index=True)
    capacity: int = 1
    motivation: str = Field(default="")


class Volunteer(VolunteerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="applied", max_length=20, index=True)
    status_reason: str = Field(default="")
    interviewed_on: date | None = None
    police_record_checked_on: date | None = None
    trained_on: date | None = None
    training_course: str = Field(default="", max_length=120)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class PersonEvent(SQLModel, table=True):
    """Every change to a senior or volunteer, newest last: the history on the detail page."""

    __tablename__ = "person_event"
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int | None = Field(default=None, foreign_key="senior.id", index=True,
                                  ondelete="CASCADE")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True,
                                     ondelete="CASCADE")
    actor_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    action: str = Field(max_length=40)  # created, updated, status, imported, duplicate, ...
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    detail: str = Field(default="")
    at: datetime = _ts()


class Consent(SQLModel, table=True):
    """What a person agreed to, when, and how; kept beside the person, never overwritten."""

    id: int | None = Field(default=None, primary_key=True)
    senior_id: int | None = Field(default=None, foreign_key="senior.id", index=True,
                                  ondelete="CASCADE")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True,
                                     ondelete="CASCADE")
    method: str = Field(max_length=20)  # web | verbal | written | import
    text_version: str = Field(max_length=20)
    text: str
    given_on: date
    recorded_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                       ondelete="SET NULL")
    recorded_by_name: str = Field(default="", max_length=120)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class Message(SQLModel, table=True):
    """One row per notification, written before it is handed to a sender."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)  # sms | voice | email
    recipient: str = Field(max_length=254, index=True)
    body: str
    kind: str = Field(max_length=40)  # application_confirmation, reminder, ...
    status: str = Field(default="pending", max_length=20, index=True)
    provider: str = Field(default="", max_length=20)
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    error: str = Field(default="")
    attempts: int = 0
    senior_id: int | None = Field(default=None, foreign_key="senior.id", ondelete="SET NULL")
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id",
                                     ondelete="SET NULL")
    created_at: datetime = _ts()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---------------------------------------------------------------- matching

class InterestCategory(SQLModel, table=True):
    """One interest area of the matcher's taxonomy, edited by the coordinators."""

    __tablename__ = "interest_category"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True, index=True)
    label: str = Field(max_length=80)
    terms: str = Field(default="")  # one term per line (';' separates too)
    sort_order: int = 0
    updated_at: datetime = _ts()
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                      ondelete="SET NULL")


class MatchRun(SQLModel, table=True):
    """One press of "Föreslå matchningar" (or `vanringen match`, by_id None)."""

    __tablename__ = "match_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = _ts()
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
    started_at: datetime = _ts()
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str = Field(default="", max_length=30)  # a code of matches.END_REASONS
    end_comment: str = Field(default="")
    handover_note: str = Field(default="")
    agreed_slots: str = Field(default="", max_length=400)
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


class Rejection(SQLModel, table=True):
    """A senior and volunteer the matcher must never propose together again."""

    __table_args__ = (sa.UniqueConstraint("senior_id", "volunteer_id",
                                          name="uq_rejection_pair"),)
    id: int | None = Field(default=None, primary_key=True)
    senior_id: int = Field(foreign_key="senior.id", index=True, ondelete="CASCADE")
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True, ondelete="CASCADE")
    reason: str
    by_id: int | None = Field(default=None, foreign_key="staff_user.id", ondelete="SET NULL")
    at: datetime = _ts()
