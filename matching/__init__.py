"""The interest matcher (no Flask, no database): the app turns its rows into records, and
InterestMatcher proposes who should call whom, with a Swedish explanation for each pair."""

from .constraints import hard_constraint_violations
from .explain import explain
from .matcher import InterestMatcher
from .records import Proposal, SeniorRecord, VolunteerRecord
from .taxonomy import Taxonomy

__all__ = ["InterestMatcher", "Taxonomy", "hard_constraint_violations", "explain",
           "SeniorRecord", "VolunteerRecord", "Proposal"]
