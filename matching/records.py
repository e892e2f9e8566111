"""The plain records the matcher works on, and what it answers. No Flask, no database:
the app turns its rows into these and stores what comes back."""

from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SeniorRecord:
    id: Hashable
    interests: str
    languages: frozenset[str]            # ISO 639-1 codes
    gender: str                          # female | male | other
    preferred_gender: str                # female | male | any
    slots: frozenset[str]                # "tue-afternoon", ... (vocabulary of the app)
    waiting_since: float                 # POSIX seconds; smaller = waited longer = wins ties
    first_name: str = ""


@dataclass(frozen=True)
class VolunteerRecord:
    id: Hashable
    interests: str
    languages: frozenset[str]
    gender: str
    slots: frozenset[str]
    free_capacity: int                   # capacity (1 or 2) minus active pairs
    status: str = "approved"             # only "approved" may ever be matched
    first_name: str = ""


@dataclass(frozen=True)
class Proposal:
    senior_id: Hashable
    volunteer_id: Hashable
    score: float                         # interest similarity in [0, 1]
    explanation: str                     # plain Swedish, for the coordinator
    shared_categories: tuple[str, ...] = ()
    shared_languages: tuple[str, ...] = ()
    shared_slots: tuple[str, ...] = ()
    alternatives: tuple["Proposal", ...] = field(default=())
