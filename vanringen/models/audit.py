"""The audit log: who saw or changed whose data, sign-ins, exports and erasures.

Rows carry ids and field names, never a person's name, number or words, so an erasure
leaves the log whole and the log never undoes an erasure. The database refuses UPDATE
and DELETE of a row younger than a year (triggers in migration 0006); only the retention
job removes older rows.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ..db import utc_timestamp


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_actor_at", "actor_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_timestamp(index=True)
    # No foreign keys: the log outlives what it names and must never be cascaded.
    actor_id: int | None = None  # staff_user.id
    actor_volunteer_id: int | None = None  # a volunteer through their personal link
    # view | change | create | sign_in | sign_in_failed | sign_out | locked | export |
    # erase | access_export | consent_withdrawn | retention | password_reset | totp ...
    action: str = Field(max_length=30, index=True)
    endpoint: str = Field(default="", max_length=80)
    method: str = Field(default="", max_length=8)
    status_code: int | None = None
    senior_id: int | None = Field(default=None, index=True)
    volunteer_id: int | None = Field(default=None, index=True)
    pair_id: int | None = None
    staff_id: int | None = None  # the staff account acted upon (admin pages, sign-ins)
    ip: str = Field(default="", max_length=45)
    detail: str = Field(default="", max_length=400)  # field names and counts only
