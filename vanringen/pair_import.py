"""CSV import of the programme's existing pairs (`vanringen import pairs FILE` and the
upload page): every row valid and then all written, or nothing.

The seniors and volunteers must have been imported first; rows name them by external_id.
A pair already in Vänringen is updated (new call times replan its reminders), so the
same file can be imported again. The pairs already know each other, so unlike an approval
no introduction SMS is sent; their calls and reminders are planned at once. The caller
commits.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Session, select

from .csvimport import COLUMNS as CSV_COLUMNS
from .csvimport import FileProblem, ImportResult, RowError, check_header, decode, detect_delimiter
from .matches import active_pair_counts
from .models import MatchProposal, Pair, Senior, Volunteer
from .people import record_event
from .planner import Planner
from .schedule import DAY_PART_HOURS, WEEKDAYS, Slot, format_slots, local_instant, parse_slots
from .texts import weekly
from .volunteers import is_matchable

COLUMNS = CSV_COLUMNS["pairs"]
# Error lines are Swedish whatever the interface language (as in the other imports).
SENIOR_STATUS_WORDS = {"matched": "matchad", "paused": "pausad", "ended": "avslutad"}


@dataclass
class PairRow:
    row: int
    senior: Senior
    volunteer: Volunteer
    call_times: str
    started_on: date
    pair: Pair | None = None  # the same pair, already in Vänringen

    def changes(self, tz) -> list[str]:
        """What the row would change in the pair already in Vänringen (Swedish, for history)."""
        found = []
        if self.pair.call_times != self.call_times:
            found.append(f"samtalstider {weekly(self.call_times, 'sv')}")
        if self.pair.started_at.astimezone(tz).date() != self.started_on:
            found.append(f"startdatum {self.started_on}")
        return found


def _start_date(text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"ogiltigt datum '{text.strip()}' (skriv ÅÅÅÅ-MM-DD, "
                         "t.ex. 2024-03-01)") from None
    if day > today:
        raise ValueError(f"startdatumet {day} ligger i framtiden – importera bara par som "
                         "redan har börjat ringa")
    return day


def _day_parts(slots: list[Slot]) -> str:
    """The matcher's day parts the call times fall in, for the pair's agreed_slots."""
    parts = []
    for slot in slots:
        part = next((name for name, (start, end, _usual) in DAY_PART_HOURS.items()
                     if start <= slot.at < end), None)
        if part and f"{WEEKDAYS[slot.weekday]}-{part}" not in parts:
            parts.append(f"{WEEKDAYS[slot.weekday]}-{part}")
    return ";".join(parts)


def _records(text: str, result: ImportResult):
    """(row number, cells by column) for each non-empty row after the header."""
    result.delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=result.delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileProblem(f"rubrikraden kan inte läsas ({exc})") from exc
    if header is None or not any(cell.strip() for cell in header):
        raise FileProblem("filen är tom")
    positions = check_header(header, "pairs")
    row = 1
    while True:
        row += 1
        try:
            record = next(reader, None)
        except csv.Error as exc:
            result.errors.append(RowError(row, None, f"raden kan inte läsas ({exc})"))
            continue
        if record is None:
            break
        if not any(cell.strip() for cell in record):
            continue
        result.rows += 1
        if any(cell.strip() for cell in record[len(positions):]):
            result.errors.append(RowError(row, None, "fler värden än kolumner i rubrikraden"))
        yield row, {c: (record[i] if i < len(record) else "").strip()
                    for c, i in positions.items()}
    if not result.rows:
        raise FileProblem("filen innehåller bara rubrikraden – inga rader att importera")


def _person(model, external_id: str, known: dict, column: str, row: int, errors: list):
    if not external_id:
        errors.append(RowError(row, column, "värde saknas"))
        return None
    person = known.get(external_id)
    if person is None:
        word = "senior" if model is Senior else "volontär"
        errors.append(RowError(row, column, f"ingen {word} med external_id '{external_id}' – "
                                            f"importera {word}en först"))
    return person


def read_pairs(text: str, result: ImportResult, *, session: Session, today: date,
               valid_days: int) -> list[PairRow]:
    """Every row checked against the file and the database; problems go to result.errors."""
    seniors = {s.external_id: s for s in session.exec(
        select(Senior).where(Senior.external_id.is_not(None)))}
    volunteers = {v.external_id: v for v in session.exec(
        select(Volunteer).where(Volunteer.external_id.is_not(None)))}
    active = {p.senior_id: p for p in session.exec(select(Pair).where(Pair.status == "active"))}
    taken = active_pair_counts(session=session)
    by_id = {v.id: v for v in volunteers.values()}
    seen, rows, errors = {}, [], result.errors
    for row, cells in _records(text, result):
        senior = _person(Senior, cells["senior_external_id"], seniors, "senior_external_id",
                         row, errors)
        volunteer = _person(Volunteer, cells["volunteer_external_id"], volunteers,
                            "volunteer_external_id", row, errors)
        try:
            slots = parse_slots(cells["slots"])
        except ValueError as exc:
            errors.append(RowError(row, "slots", str(exc)))
            slots = None
        try:
            started_on = _start_date(cells["start_date"], today) if cells["start_date"] \
                else None
            if started_on is None:
                errors.append(RowError(row, "start_date", "värde saknas"))
        except ValueError as exc:
            errors.append(RowError(row, "start_date", str(exc)))
            started_on = None
        if senior is None or volunteer is None:
            continue
        if senior.id in seen:
            errors.append(RowError(row, "senior_external_id", f"seniorn '{senior.external_id}' "
                                   f"finns redan på rad {seen[senior.id]}"))
            continue
        seen[senior.id] = row
        current = active.get(senior.id)
        if current is not None and current.volunteer_id != volunteer.id:
            other = by_id.get(current.volunteer_id)
            errors.append(RowError(row, "senior_external_id", "seniorn har redan en aktiv "
                                   "telefonvän" + (f" (volontär '{other.external_id}')"
                                                   if other else "")))
            continue
        if current is None:
            if senior.status != "waiting":
                errors.append(RowError(row, "senior_external_id",
                                       "seniorn kan inte få en telefonvän (status "
                                       f"{SENIOR_STATUS_WORDS.get(senior.status, senior.status)}"
                                       "; bara väntande seniorer kan paras)"))
                continue
            if not is_matchable(volunteer, today, valid_days):
                errors.append(RowError(row, "volunteer_external_id", "volontären är inte "
                                       "godkänd eller utdraget ur belastningsregistret gäller "
                                       "inte längre"))
                continue
            taken[volunteer.id] = taken.get(volunteer.id, 0) + 1
            if taken[volunteer.id] > volunteer.capacity:
                errors.append(RowError(row, "volunteer_external_id", f"volontären har plats för "
                                       f"{volunteer.capacity} telefonvän(ner) och skulle få "
                                       f"{taken[volunteer.id]}"))
                continue
        if slots and started_on:
            rows.append(PairRow(row, senior, volunteer, format_slots(slots), started_on,
                                current))
    return rows


def _started_at(day: date, tz) -> datetime:
    # Noon, not midnight: the stored instant is on the same date in every zone of Europe.
    return local_instant(day, time(12, 0), tz)


def write(rows: list[PairRow], result: ImportResult, *, planner: Planner, now: datetime,
          actor: int | None) -> None:
    session, tz, new, replanned = planner.session, planner.rules.tz, [], []
    for item in rows:
        pair, times = item.pair, weekly(item.call_times, "sv")
        if pair is None:
            pair = Pair(senior_id=item.senior.id, volunteer_id=item.volunteer.id,
                        started_at=_started_at(item.started_on, tz), call_times=item.call_times,
                        agreed_slots=_day_parts(parse_slots(item.call_times)),
                        approved_by_id=actor, explanation="Importerat från CSV-fil")
            session.add(pair)
            item.senior.status, item.senior.updated_at = "matched", now
            session.add(item.senior)
            record_event("status", session=session, senior=item.senior, actor=actor,
                         from_status="waiting", to_status="matched",
                         detail=f"Importerad telefonvän: {item.volunteer.full_name} "
                                f"(volontär #{item.volunteer.id}), {times}")
            record_event("paired", session=session, volunteer=item.volunteer, actor=actor,
                         detail=f"Importerad som telefonvän till {item.senior.full_name} "
                                f"(senior #{item.senior.id}), {times}")
            new.append(pair)
            continue
        changed = item.changes(tz)
        if not changed:
            result.unchanged += 1
            continue
        result.updated += 1
        if pair.call_times != item.call_times:
            pair.call_times = item.call_times
            replanned.append(pair)
        pair.started_at = _started_at(item.started_on, tz)
        session.add(pair)
        for person in (item.senior, item.volunteer):
            key = "senior" if person is item.senior else "volunteer"
            record_event("call_plan", session=session, actor=actor,
                         detail="Import: " + ", ".join(changed), **{key: person})
    result.created = len(new)
    if new:
        session.execute(sa.update(MatchProposal).where(
            MatchProposal.senior_id.in_([p.senior_id for p in new]),
            MatchProposal.status == "pending").values(status="superseded"))
    session.flush()
    planner.plan(new, now=now)
    for pair in replanned:
        planner.replan(pair, now=now, note="Samtalstiderna ändrades av en import")


def import_pairs(data: bytes, *, planner: Planner, now: datetime, today: date,
                 valid_days: int, dry_run: bool = False, actor: int | None = None
                 ) -> ImportResult:
    """Check the whole file, then write it unless anything is wrong or dry_run. Never
    commits; after errors the caller rolls back (a concurrent change may have made a
    statement fail)."""
    result = ImportResult(kind="pairs", dry_run=dry_run)
    try:
        text, result.encoding = decode(data)
        if result.encoding == "cp1252":
            result.notes.append("Filen var inte UTF-8 och lästes därför som Windows-1252 "
                                "(äldre Excel).")
        rows = read_pairs(text, result, session=planner.session, today=today,
                          valid_days=valid_days)
    except FileProblem as exc:
        result.errors = [RowError(exc.row, None, str(exc))]
        return result
    if result.errors:
        order = {c: i for i, c in enumerate(COLUMNS)}
        result.errors.sort(key=lambda e: (e.row or 0, order.get(e.column, -1)))
        return result
    if dry_run:
        result.created = sum(1 for r in rows if r.pair is None)
        result.updated = sum(1 for r in rows if r.pair is not None and r.changes(planner.rules.tz))
        result.unchanged = len(rows) - result.created - result.updated
        return result
    try:
        write(rows, result, planner=planner, now=now, actor=actor)
    except sa.exc.IntegrityError:
        result.created = result.updated = result.unchanged = 0
        result.errors = [RowError(None, None, "någon annan parade samma seniorer under "
                                              "importen; inget importerades, försök igen")]
    return result
