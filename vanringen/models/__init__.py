"""SQLModel tables, one module per area. The schema changes only through Alembic migrations.

Pattern (FastAPI full-stack template): a Base class with the fields people fill in,
the table class adding keys and timestamps, a Public class for what may leave the app.
Multi-valued fields (languages, availability, call times) are stored as ';'-joined codes,
the same form the CSV files use. Every instant is an aware UTC datetime.
"""

from .audit import AuditEvent
from .calls import CallLog, IntakeRequest, PairPause, ScheduledCall
from .matching import InterestCategory, MatchProposal, MatchRun, Pair, Rejection
from .messages import InboundMessage, Message, MessageTemplate, SmsOptOut
from .people import (
    Consent,
    PersonBase,
    PersonEvent,
    Senior,
    SeniorBase,
    StaffUser,
    Volunteer,
    VolunteerBase,
)
from .tasks import Task

__all__ = [
    "AuditEvent", "CallLog", "Consent", "InboundMessage", "IntakeRequest", "InterestCategory",
    "MatchProposal", "MatchRun", "Message", "MessageTemplate", "Pair", "PairPause",
    "PersonBase", "PersonEvent", "Rejection", "ScheduledCall", "Senior", "SeniorBase",
    "SmsOptOut", "StaffUser", "Task", "Volunteer", "VolunteerBase",
]
