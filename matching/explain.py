"""Why two people were paired, in plain Swedish for the coordinator:

"Båda gillar trädgård (rosor ↔ trädgårdsarbete) och körsång; båda talar svenska;
tisdag eftermiddag passar båda"
"""

from functools import lru_cache

from .constraints import join_sv, language_name, slot_name, sorted_languages, sorted_slots
from .records import SeniorRecord, VolunteerRecord
from .taxonomy import Taxonomy


def shared_categories(senior_categories: dict[str, list[str]],
                      volunteer_categories: dict[str, list[str]],
                      taxonomy: Taxonomy) -> list[str]:
    """Categories both have, in the senior's order; a broad one ("sport") is left out when
    narrower shared ones ("fotboll") already account for its words on both sides."""
    shared = [k for k in senior_categories if k in volunteer_categories]
    if len(shared) < 2 or taxonomy.broad.isdisjoint(shared):
        return shared
    keep = []
    for key in shared:
        children = [c for c in shared if c in taxonomy.includes(key)]
        if children and all(
                set(side[key]) <= {w for c in children for w in side[c]}
                for side in (senior_categories, volunteer_categories)):
            continue
        keep.append(key)
    return keep


@lru_cache(maxsize=65536)
def _interest(label: str, senior_words: tuple[str, ...], volunteer_words: tuple[str, ...]) -> str:
    mine = [w.casefold() for w in senior_words]
    theirs = [w.casefold() for w in volunteer_words]
    if mine == theirs:
        if mine == [label.casefold()]:
            return label
        return f"{label} ({', '.join(senior_words)})"
    return f"{label} ({', '.join(senior_words)} ↔ {', '.join(volunteer_words)})"


def describe(senior: SeniorRecord, volunteer: VolunteerRecord, taxonomy: Taxonomy,
             senior_categories: dict[str, list[str]],
             volunteer_categories: dict[str, list[str]]) -> tuple[str, tuple, tuple, tuple]:
    """(explanation, shared category keys, shared languages, shared slots)."""
    keys = shared_categories(senior_categories, volunteer_categories, taxonomy)
    languages, said_languages = _languages(frozenset(senior.languages),
                                           frozenset(volunteer.languages))
    slots, said_slots = _slots(frozenset(senior.slots), frozenset(volunteer.slots))
    parts = []
    if keys:
        parts.append("Båda gillar " + join_sv([
            _interest(taxonomy.label(k), tuple(senior_categories[k]),
                      tuple(volunteer_categories[k]))
            for k in keys]))
    else:
        parts.append("Inga gemensamma intressen hittades")
    parts.append(said_languages)
    parts.append(said_slots)
    return "; ".join(parts), tuple(keys), languages, slots


@lru_cache(maxsize=4096)
def _languages(mine: frozenset, theirs: frozenset) -> tuple[tuple[str, ...], str]:
    shared = tuple(sorted_languages(mine & theirs))
    if not shared:
        return shared, "inget gemensamt språk"
    return shared, "båda talar " + join_sv([language_name(c) for c in shared])


@lru_cache(maxsize=16384)
def _slots(mine: frozenset, theirs: frozenset) -> tuple[tuple[str, ...], str]:
    shared = tuple(sorted_slots(mine & theirs))
    if not shared:
        return shared, "ingen gemensam samtalstid"
    return shared, join_sv([slot_name(s) for s in shared]) + " passar båda"


def explain(senior: SeniorRecord, volunteer: VolunteerRecord, taxonomy: Taxonomy) -> str:
    """Shared interests (with the words that matched on each side), shared languages and
    the call times that suit both, in Swedish."""
    return describe(senior, volunteer, taxonomy, taxonomy.categories(senior.interests),
                    taxonomy.categories(volunteer.interests))[0]
