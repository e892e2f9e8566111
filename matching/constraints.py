"""The hard constraints: a pair the matcher proposes always satisfies every one of them.

hard_constraint_violations() says in Swedish what a given pair breaks (for a coordinator who
overrides the matcher); the bit encodings below let the candidate search test millions of
pairs at once.
"""

from collections.abc import Collection, Hashable, Iterable

import numpy as np
from babel import Locale

from .records import SeniorRecord, VolunteerRecord

DAYS = {"mon": "måndag", "tue": "tisdag", "wed": "onsdag", "thu": "torsdag", "fri": "fredag",
        "sat": "lördag", "sun": "söndag"}
PARTS = {"morning": "förmiddag", "afternoon": "eftermiddag", "evening": "kväll"}
SLOTS = [f"{day}-{part}" for day in DAYS for part in PARTS]
SLOT_BITS = {slot: 1 << i for i, slot in enumerate(SLOTS)}
GENDER_BITS = {"female": 1, "male": 2, "other": 4}
ACCEPTS = {"any": 7, "female": 1, "male": 2}
WANTED = {"female": "kvinnlig", "male": "manlig"}
STATUSES = {"applied": "ansökt", "interviewed": "intervjuad",
            "record_checked": "utdrag kontrollerat", "trained": "utbildad",
            "approved": "godkänd", "declined": "avböjd", "withdrawn": "avbrutit"}
_SV = Locale("sv")


def language_name(code: str) -> str:
    return _SV.languages.get(code, code)


def sorted_languages(codes: Iterable[str]) -> list[str]:
    """Swedish first, then the others by their Swedish name."""
    return sorted(set(codes), key=lambda c: (c != "sv", language_name(c), c))


def sorted_slots(slots: Iterable[str]) -> list[str]:
    return sorted(set(slots), key=lambda s: SLOTS.index(s) if s in SLOT_BITS else len(SLOTS))


def slot_name(slot: str) -> str:
    day, _, part = slot.partition("-")
    return f"{DAYS.get(day, day)} {PARTS.get(part, part)}"


def join_sv(items: list[str]) -> str:
    """"a", "a och b", "a, b och c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " och " + items[-1]


def hard_constraint_violations(senior: SeniorRecord, volunteer: VolunteerRecord, *,
                               rejected: Collection[tuple[Hashable, Hashable]] = ()
                               ) -> list[str]:
    """What this pair breaks, in Swedish; [] when the matcher could propose it."""
    problems = []
    if not set(senior.languages) & set(volunteer.languages):
        problems.append(
            f"Inget gemensamt språk (seniorn talar "
            f"{join_sv([language_name(c) for c in sorted_languages(senior.languages)]) or '–'}, "
            f"volontären talar "
            f"{join_sv([language_name(c) for c in sorted_languages(volunteer.languages)]) or '–'})")
    if senior.preferred_gender in WANTED and volunteer.gender != senior.preferred_gender:
        problems.append(f"Seniorn vill ha en {WANTED[senior.preferred_gender]} volontär")
    if not set(senior.slots) & set(volunteer.slots):
        problems.append("Ingen gemensam samtalstid")
    if volunteer.status != "approved":
        problems.append("Volontären är inte godkänd "
                        f"(status: {STATUSES.get(volunteer.status, volunteer.status)})")
    if volunteer.free_capacity < 1:
        problems.append("Volontären har ingen ledig plats")
    if (senior.id, volunteer.id) in set(rejected):
        problems.append("Paret har avböjts tidigare")
    return problems


def check_records(seniors, volunteers) -> None:
    """Unknown codes would silently weaken a constraint, so they stop the run."""
    for who, records in (("senior", seniors), ("volontär", volunteers)):
        ids = [r.id for r in records]
        if len(set(ids)) != len(ids):
            raise ValueError(f"samma id förekommer flera gånger bland {who}erna")
        for r in records:
            if r.gender not in GENDER_BITS:
                raise ValueError(f"{who} {r.id!r}: okänt kön {r.gender!r}")
            bad = set(r.slots) - SLOT_BITS.keys()
            if bad:
                raise ValueError(f"{who} {r.id!r}: okänd tid {', '.join(sorted(bad))}")
    for r in seniors:
        if r.preferred_gender not in ACCEPTS:
            raise ValueError(f"senior {r.id!r}: okänt önskat kön {r.preferred_gender!r}")


def is_available(volunteer: VolunteerRecord) -> bool:
    return volunteer.status == "approved" and volunteer.free_capacity >= 1


def encode(records, language_index: dict[str, int], *, seniors: bool):
    """Bit masks per person: languages (n x words, uint64), slots, own gender, accepted
    genders (a volunteer accepts anyone)."""
    words = max(1, (len(language_index) + 63) // 64)
    lang = np.zeros((len(records), words), dtype=np.uint64)
    for i, r in enumerate(records):
        for code in r.languages:
            bit = language_index[code]
            lang[i, bit // 64] |= np.uint64(1 << (bit % 64))
    slots = np.fromiter((sum(SLOT_BITS[s] for s in r.slots) for r in records),
                        dtype=np.uint32, count=len(records))
    gender = np.fromiter((GENDER_BITS[r.gender] for r in records), dtype=np.uint8,
                         count=len(records))
    accepts = np.fromiter((ACCEPTS[r.preferred_gender] if seniors else 7 for r in records),
                          dtype=np.uint8, count=len(records))
    return lang, slots, gender, accepts
