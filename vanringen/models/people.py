"""Staff, seniors, volunteers, their history and their consents."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..db import UTCDateTime, utc_timestamp, utcnow


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="coordinator", max_length=20)  # admin | coordinator
    phone: str = Field(default="", max_length=20)  # E.164; for the on-duty SMS
    on_duty: bool = False  # gets an SMS when a volunteer reports a concern
    active: bool = True
    # Consecutive failed sign-ins; at the limit the account is locked until `locked_until`.
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_secret: str = Field(default="", max_length=64)  # base32; empty: no second factor
    # The time step of the last code that signed in: a code seen over a shoulder, or sent
    # twice, never signs in again.
    totp_last_step: int = 0
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = utc_timestamp()

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
    # May ring the programme's number to be put through to their volunteer.
    call_in: bool = False
    notes: str = Field(default="")


class Senior(SeniorBase, table=True):
    # The waiting list, longest waiting first (dashboard, matching, the seniors' list).
    __table_args__ = (sa.Index("ix_senior_status_waiting_since", "status", "waiting_since",
                               "id"),)
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="waiting", max_length=20, index=True)
    waiting_since: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Anonymised (request, withdrawn consent or retention): only what reports count is left.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = utc_timestamp()
    updated_at: datetime = utc_timestamp()


class VolunteerBase(PersonBase):
    email: str | None = Field(default=None, max_length=254, index=True)
    capacity: int = 1
    motivation: str = Field(default="")
    # Raised to revoke every personal link given to the volunteer so far.
    link_version: int = 0


class Volunteer(VolunteerBase, table=True):
    # Approved volunteers whose police-record extract runs out soonest (the dashboard).
    __table_args__ = (sa.Index("ix_volunteer_status_record_checked", "status",
                               "police_record_checked_on"),)
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="applied", max_length=20, index=True)
    status_reason: str = Field(default="")
    interviewed_on: date | None = None
    police_record_checked_on: date | None = None
    trained_on: date | None = None
    training_course: str = Field(default="", max_length=120)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = utc_timestamp()
    updated_at: datetime = utc_timestamp()


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
    at: datetime = utc_timestamp()


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
    withdrawn_method: str = Field(default="", max_length=20)  # web | verbal | written | sms
    withdrawn_by_id: int | None = Field(default=None, foreign_key="staff_user.id",
                                        ondelete="SET NULL")
    created_at: datetime = utc_timestamp()
