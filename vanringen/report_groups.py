"""The groups of the funder's report (gender, district, …), small-group suppression, and
the SQL pieces report_figures needs on both SQLite and PostgreSQL.

Rows come from SQL already aggregated per combination of a person's attributes; folding
them into one breakdown per attribute adds those few rows up, never people.
"""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from . import vocab

SENIOR_MEASURES = ("participants", "reached", "waiting", "calls_held", "call_minutes")
VOLUNTEER_MEASURES = ("participants", "active", "approved", "calls_held", "call_minutes")
# Counts of people: a small one could point at someone, so it is suppressed.
PEOPLE = {"participants", "reached", "waiting", "active", "approved"}
SENIOR_BREAKDOWNS = ("gender", "district", "referral_source", "language", "age_band")
VOLUNTEER_BREAKDOWNS = ("gender", "language", "age_band")
# (highest age in the band, band); the last band is open upwards.
SENIOR_BANDS = ((69, "-69"), (79, "70-79"), (89, "80-89"), (None, "90-"))
VOLUNTEER_BANDS = ((29, "-29"), (44, "30-44"), (64, "45-64"), (None, "65-"))
UNKNOWN = "unknown"
DIMENSIONS = {"gender": "gender", "district": "district",
              "referral_source": "referral_source", "language": "languages",
              "age_band": "age_band"}


# ---------------------------------------------------------------- SQL

class epoch_seconds(FunctionElement):
    """Whole seconds since 1970 of a stored instant: the one date arithmetic the report
    needs, written for each backend (SQLite keeps instants as text)."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return "CAST(strftime('%s', " + compiler.process(element.clauses, **kw) + ") AS INTEGER)"


@compiles(epoch_seconds)
def _epoch_standard(element, compiler, **kw):
    return ("CAST(FLOOR(EXTRACT(EPOCH FROM " + compiler.process(element.clauses, **kw)
            + ")) AS BIGINT)")


def whole_days(later, earlier):
    """Full days from `earlier` to `later` (both instants, later >= earlier)."""
    return (epoch_seconds(later) - epoch_seconds(earlier)) // 86400


def count_if(condition):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def age_band(birth_year, year: int, bands):
    """The band of the age reached in `year` (only the birth year is known)."""
    whens = [(birth_year.is_(None), sa.literal_column(f"'{UNKNOWN}'"))]
    whens += [(birth_year >= year - top, sa.literal_column(f"'{band}'"))
              for top, band in bands if top is not None]
    return sa.case(*whens, else_=sa.literal_column(f"'{bands[-1][1]}'"))


def distribution(values, *, session) -> list[tuple[int, int]]:
    """(value, how many) of a one-column subquery `values` (column `value`), ascending."""
    query = (sa.select(values.c.value, sa.func.count()).where(values.c.value.is_not(None))
             .group_by(values.c.value).order_by(values.c.value))
    return [(int(v), int(n)) for v, n in session.execute(query)]


def median(histogram: list[tuple[int, int]]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    total = sum(n for _v, n in histogram)
    if not total:
        return None
    middle = ((total - 1) // 2, total // 2)  # the same place twice for an odd count
    found, seen = [], 0
    for value, n in histogram:
        found += [value for k in middle if seen <= k < seen + n]
        seen += n
    return sum(found) / 2


# ---------------------------------------------------------------- groups

def fixed_groups(breakdown: str, bands=SENIOR_BANDS) -> list[str]:
    """Groups always shown (with 0) in this order; languages are those people speak."""
    return {
        "gender": [*vocab.GENDERS, UNKNOWN],
        "district": [*vocab.DISTRICTS, UNKNOWN],
        "referral_source": [*vocab.REFERRAL_SOURCES, UNKNOWN],
        "age_band": [band for _top, band in bands] + [UNKNOWN],
        "language": [],
    }[breakdown]


def groups_of(breakdown: str, value) -> list[str]:
    if breakdown == "language":
        codes = [c.strip().lower() for c in (value or "").replace(",", ";").split(";")]
        return list(dict.fromkeys(c for c in codes if c)) or [UNKNOWN]
    if breakdown == "gender":
        return [value if value in vocab.GENDERS else UNKNOWN]
    if breakdown == "district":
        return [value if value in vocab.DISTRICTS else UNKNOWN]
    if breakdown == "referral_source":
        return [value if value in vocab.REFERRAL_SOURCES else UNKNOWN]
    return [value or UNKNOWN]


def _language_order(code: str):
    common = vocab.COMMON_LANGUAGES
    return (code == UNKNOWN, common.index(code) if code in common else len(common), code)


def fold(rows: list[dict], breakdowns, measures, bands) -> dict:
    """One breakdown per attribute from rows aggregated per combination of attributes."""
    found = {}
    for breakdown in breakdowns:
        table = {g: dict.fromkeys(measures, 0) for g in fixed_groups(breakdown, bands)}
        for row in rows:
            for group in groups_of(breakdown, row[DIMENSIONS[breakdown]]):
                counts = table.setdefault(group, dict.fromkeys(measures, 0))
                for measure in measures:
                    counts[measure] += int(row[measure] or 0)
        if breakdown == "language":
            table = {g: table[g] for g in sorted(table, key=_language_order)}
        found[breakdown] = table
    return found


# ---------------------------------------------------------------- suppression

def small(count: int | None, min_group: int) -> bool:
    return count is not None and 1 <= count < min_group


def suppress_count(count: int | None, min_group: int) -> int | None:
    return None if small(count, min_group) else count


def suppress(table: dict[str, dict], min_group: int,
             people=frozenset(PEOPLE)) -> dict[str, dict]:
    """A copy of one breakdown with small groups hidden (None): a count of 1 to min_group-1
    people, and every figure of a group whose participants are so hidden.

    No second group is hidden to protect the first. That rule ("hide the next smallest, or
    the total gives it away") made the men vanish from every gender table beside a small
    "other" group (the next smallest is nearly always the men), and shown as "<5" it told
    the funder something false. The tables are one-way breakdowns, never crossed, so what a
    subtraction can reveal is how many, never who.
    """
    table = {group: {m: (None if m in people and small(v, min_group) else v)
                     for m, v in counts.items()} for group, counts in table.items()}
    for counts in table.values():
        if counts.get("participants", 0) is None:
            counts.update(dict.fromkeys(counts, None))
    return table
