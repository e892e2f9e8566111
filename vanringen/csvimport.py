"""CSV import of seniors and volunteers: every row valid and then all written, or nothing.

Needs no Flask request: the upload page, the `vanringen import` command and the benchmark
all call import_csv(). Values go through the same parsers as the forms (vocab, phones), so a
value is valid in a file exactly when it is valid in a form. The caller commits.
"""

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from . import vocab
from .db import utcnow
from .models import Consent, PersonEvent, Senior, Volunteer
from .phones import is_mobile, parse_phone

COLUMNS = {
    "seniors": ["external_id", "first_name", "last_name", "phone", "gender", "birth_year",
                "languages", "interests", "preferred_gender", "availability", "district",
                "referral_source"],
    "volunteers": ["external_id", "first_name", "last_name", "phone", "email", "gender",
                   "birth_year", "languages", "interests", "availability", "capacity", "status"],
    "pairs": ["senior_external_id", "volunteer_external_id", "slots", "start_date"],
}
MODELS = {"seniors": Senior, "volunteers": Volunteer}
KIND_WORDS = {"seniors": "seniorer", "volunteers": "volontärer", "pairs": "par"}
# Columns that may be left empty; every other column needs a value.
OPTIONAL = {
    "seniors": {"last_name", "birth_year", "interests", "availability", "district"},
    "volunteers": {"last_name", "email", "interests"},
}
# PostgreSQL refuses NUL in text (the whole import would fail), and no register means to
# hold control characters; tab and line breaks are kept (quoted multi-line cells, text
# areas). The public application form refuses the same characters.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 med BOM", "cp1252": "Windows-1252"}
DELIMITER_NAMES = {",": "kommaavgränsad", ";": "semikolonavgränsad"}

CONSENT_METHOD = "import"
CONSENT_VERSION = "import-v1"
# Stored verbatim with each consent row: a new wording needs a new version string.
CONSENT_TEXT = (
    "Samtycket samlades in av telefonvänsprogrammet innan Vänringen togs i bruk och "
    "dokumenterades i programmets tidigare register. Uppgifterna har importerats därifrån."
)
# A re-import never moves a volunteer back in the pipeline, nor out of declined/withdrawn:
# what a coordinator decided in Vänringen outranks an old spreadsheet.
PIPELINE = ["applied", "interviewed", "record_checked", "trained", "approved"]


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, header, empty); row 1 is the header."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.row = row


@dataclass(frozen=True)
class RowError:
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"rad {self.row}"] if self.row else []
        where += [f"kolumn {self.column}"] if self.column else []
        return ": ".join([", ".join(where), self.message] if where else [self.message])


@dataclass
class ImportResult:
    kind: str
    dry_run: bool = False
    encoding: str = ""
    delimiter: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def file_description(self) -> str:
        return ", ".join(part for part in (ENCODING_NAMES.get(self.encoding, ""),
                                           DELIMITER_NAMES.get(self.delimiter, "")) if part)


# ------------------------------------------------------------------ reading the file

SAVE_AS = "; spara den i Excel som ”CSV UTF-8 (kommaavgränsad)” och försök igen"


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with; UTF-8 first, then older Excel's cp1252."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise FileProblem("filen är en Excel-arbetsbok, inte CSV" + SAVE_AS)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("filen är sparad som UTF-16 (Unicode-text)" + SAVE_AS)
    attempts = [("utf-8-sig", data[3:])] if data.startswith(b"\xef\xbb\xbf") else \
        [("utf-8", data), ("cp1252", data)]
    for encoding, raw in attempts:
        try:
            return raw.decode(encoding.removesuffix("-sig")), encoding
        except UnicodeDecodeError:
            continue
    raise FileProblem("filen har ogiltiga tecken: den är varken UTF-8 eller Windows-1252"
                      + SAVE_AS)


def detect_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def check_header(header: list[str], kind: str) -> dict[str, int]:
    """Column name → position; raises FileProblem naming missing and unknown columns."""
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    while names and not names[-1]:  # Excel sometimes writes empty trailing columns
        names.pop()
    expected = COLUMNS[kind]
    missing = [c for c in expected if c not in names]
    unknown = [n or f"(tom rubrik i kolumn {i + 1})" for i, n in enumerate(names)
               if n not in expected]
    doubled = sorted({n for n in names if n in expected and names.count(n) > 1})
    positions = {name: i for i, name in enumerate(names)}
    if not (missing or unknown or doubled):
        return positions
    problems = [f"{what}: {', '.join(names)}" for what, names in (
        ("kolumner saknas", missing), ("okända kolumner", unknown),
        ("kolumner som förekommer flera gånger", doubled)) if names]
    message = "fel kolumner i rubrikraden – " + "; ".join(problems)
    for other in COLUMNS:
        if other != kind and set(positions) == set(COLUMNS[other]):
            message += f" (filen ser ut att innehålla {KIND_WORDS[other]})"
    raise FileProblem(message, row=1)


# ------------------------------------------------------------------ values

def _memo(parse):
    """Cache a parser, errors included: the same language or slot lists recur on most rows."""
    @lru_cache(maxsize=4096)
    def outcome(text):
        try:
            return True, parse(text)
        except ValueError as exc:
            return False, str(exc)

    def cached(text):
        ok, value = outcome(text)
        if not ok:
            raise ValueError(value)
        return value
    return cached


def _text(limit: int | None = None):
    def parse(text):
        if limit and len(text.strip()) > limit:
            raise ValueError(f"för långt värde (högst {limit} tecken)")
        return text.strip()
    return parse


def _birth_year(text):
    value, latest = text.strip(), date.today().year - 18
    if value and (not value.isdigit() or not 1900 <= int(value) <= latest):
        raise ValueError(f"ogiltigt födelseår '{value}' (ange ett år mellan 1900 och {latest})")
    return int(value) if value else None


def _email(text):
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized \
            if text.strip() else None
    except EmailNotValidError as exc:
        raise ValueError(f"ogiltig e-postadress '{text.strip()}'") from exc


def _capacity(text):
    if text.strip() not in ("1", "2"):
        raise ValueError(f"ogiltig kapacitet '{text.strip()}' (tillåtet: 1|2)")
    return int(text)


def _status(text):
    statuses = vocab.CSV_VOLUNTEER_STATUSES
    if text.strip().lower() not in statuses:
        raise ValueError(f"ogiltig status '{text.strip()}' (tillåtet: {'|'.join(statuses)})")
    return statuses[text.strip().lower()]


def parsers(kind: str, region: str = "SE") -> dict:
    """Column → function from the cell text to the stored value, raising ValueError (Swedish)."""
    table = {
        "external_id": _text(64), "first_name": _text(80), "last_name": _text(80),
        "phone": lambda t: parse_phone(t, region, mobile=kind == "volunteers"),
        "gender": _memo(lambda t: vocab.parse_choice(t, vocab.GENDERS, "kön")),
        "birth_year": _birth_year,
        "languages": _memo(lambda t: ";".join(vocab.parse_languages(t))),
        "interests": str.strip,
        "availability": _memo(lambda t: ";".join(vocab.parse_slots(t, required=False))),
        "preferred_gender": _memo(
            lambda t: vocab.parse_choice(t, vocab.PREFERRED_GENDERS, "önskat kön")),
        "district": _memo(vocab.parse_district),
        "referral_source": _memo(vocab.parse_referral),
        "email": _email, "capacity": _capacity, "status": _status,
    }
    return {column: table[column] for column in COLUMNS[kind]}


def read_rows(text: str, kind: str, result: ImportResult, region: str = "SE") -> list:
    """(row number, values) for each valid row; every problem goes to result.errors."""
    result.delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=result.delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileProblem(f"rubrikraden kan inte läsas ({exc})") from exc
    if header is None or not any(cell.strip() for cell in header):
        raise FileProblem("filen är tom")
    positions = check_header(header, kind)
    width = len(positions)
    columns = [(c, positions[c], parse) for c, parse in parsers(kind, region).items()]
    optional = OPTIONAL[kind]
    rows, first_seen = [], {}
    row = 1
    while True:
        row += 1  # spreadsheet row numbers: a quoted multi-line cell is still one row
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
        if any(cell.strip() for cell in record[width:]):
            result.errors.append(RowError(row, None, "fler värden än kolumner i rubrikraden"))
        values, good = {}, True
        for column, position, parse in columns:
            raw = record[position] if position < len(record) else ""
            if column not in optional and not raw.strip():
                result.errors.append(RowError(row, column, "värde saknas"))
                good = False
                continue
            if CONTROL_CHARACTERS.search(raw):
                result.errors.append(RowError(row, column, "värdet innehåller kontrolltecken "
                                                            "(osynliga tecken) – ta bort dem"))
                good = False
                continue
            try:
                values[column] = parse(raw)
            except ValueError as exc:
                result.errors.append(RowError(row, column, str(exc)))
                good = False
        external_id = values.get("external_id")
        if external_id in first_seen:
            result.errors.append(RowError(row, "external_id", f"external_id '{external_id}' "
                                          f"finns redan på rad {first_seen[external_id]}"))
            good = False
        elif external_id:
            first_seen[external_id] = row
        if good:
            rows.append((row, values))
    if not result.rows:
        raise FileProblem("filen innehåller bara rubrikraden – inga rader att importera")
    return rows


# ------------------------------------------------------------------ matching and writing

def _match_volunteer(values, by_phone, by_email, claimed, row, errors):
    """The web applicant a row with a new external_id describes; None: create; False: error."""
    hits = {r.id: (r, "phone") for r in by_phone.get(values["phone"], [])}
    for r in by_email.get((values["email"] or "").lower(), []):
        hits.setdefault(r.id, (r, "email"))
    taken = [(r, c) for r, c in hits.values() if r.external_id is not None]
    if taken:
        (record, column), what = taken[0], {"phone": "telefonnumret", "email": "e-postadressen"}
        message = (f"{what[column]} finns redan hos volontären med "
                   f"external_id '{record.external_id}'")
    elif len(hits) > 1:
        column = "phone"
        message = (f"telefonnummer och e-post matchar olika registrerade volontärer "
                   f"(id {', '.join(str(i) for i in sorted(hits))})")
    elif hits:
        record, column = next(iter(hits.values()))
        if record.id not in claimed:
            claimed[record.id] = row
            return record
        message = f"matchar samma registrerade volontär som rad {claimed[record.id]}"
    else:
        return None
    errors.append(RowError(row, column, message))
    return False


def plan(kind: str, rows: list, session: Session, result: ImportResult):
    """Split valid rows into creates and updates; unchanged rows are only counted."""
    model, volunteers = MODELS[kind], kind == "volunteers"
    compared = [c for c in COLUMNS[kind] if c not in ("external_id", "status")]
    names = ["id", "external_id", "status", *compared,
             *(["approved_at", "police_record_checked_on"] if volunteers
               else ["reminder_channel"])]
    query = select(*(getattr(model, n) for n in names))
    known, by_phone, by_email = {}, defaultdict(list), defaultdict(list)
    # One query loads everyone who can match; volunteers also by phone and e-mail.
    for record in session.exec(query if volunteers else
                               query.where(model.external_id.is_not(None))):
        if record.external_id is not None:
            known[record.external_id] = record
        if volunteers:
            by_phone[record.phone].append(record)
            by_email[(record.email or "").lower()].append(record)
    by_email.pop("", None)
    creates, updates, claimed = [], [], {}
    for row, values in rows:
        record = known.get(values["external_id"])
        if record is None and volunteers:
            record = _match_volunteer(values, by_phone, by_email, claimed, row, result.errors)
        if record is None:
            creates.append(values)
        elif record is not False:
            changed = [c for c in compared if getattr(record, c) != values[c]]
            changed += ["external_id"] if record.external_id is None else []
            status = record.status
            if volunteers and status in PIPELINE \
                    and PIPELINE.index(values["status"]) > PIPELINE.index(status):
                status = values["status"]
                changed.append("status")
            if changed:
                updates.append((record, values, changed, status))
            else:
                result.unchanged += 1
    return creates, updates


def _reminder_channel(phone: str, current: str = "sms") -> str:
    # A landline cannot receive SMS; the senior form refuses that combination too.
    return "voice" if current == "sms" and not is_mobile(phone) else current


def _new_state(kind: str, values: dict, now) -> dict:
    if kind == "seniors":
        return {"status": "waiting", "waiting_since": now,
                "reminder_channel": _reminder_channel(values["phone"])}
    approved = values["status"] == "approved"
    # The programme vouches for those it approved before Vänringen: their extract counts as
    # seen on the import day, and is due again POLICE_RECORD_VALID_DAYS later.
    return {"approved_at": now if approved else None,
            "police_record_checked_on": date.today() if approved else None}


def write(kind: str, creates: list, updates: list, *, session: Session,
          actor_id: int | None, actor_name: str) -> None:
    """Bulk statements only: a handful of round trips whatever the number of rows."""
    model, now = MODELS[kind], utcnow()
    person, other = ("senior_id", "volunteer_id") if kind == "seniors" else \
        ("volunteer_id", "senior_id")
    events = []
    if creates:
        defaults = {name: info.get_default(call_default_factory=True)
                    for name, info in model.model_fields.items() if name != "id"}
        people = [{**defaults, **values, "created_at": now, "updated_at": now,
                   **_new_state(kind, values, now)} for values in creates]
        status_of = {p["external_id"]: p["status"] for p in people}
        # Core inserts go straight to executemany (the ORM bulk path with RETURNING was
        # several times slower); the new ids are read back in one query.
        session.execute(sa.insert(model.__table__), people)
        new = [(pid, eid) for pid, eid in session.execute(
            select(model.id, model.external_id).where(model.created_at == now))
            if eid in status_of]
        session.execute(sa.insert(Consent.__table__), [
            {person: pid, other: None, "method": CONSENT_METHOD,
             "text_version": CONSENT_VERSION, "text": CONSENT_TEXT, "given_on": date.today(),
             "recorded_by_id": actor_id, "recorded_by_name": actor_name,
             "withdrawn_at": None, "created_at": now} for pid, _eid in new])
        events += [{person: pid, "action": "imported", "from_status": None,
                    "to_status": status_of[eid], "detail": f"CSV-fil, external_id {eid}"}
                   for pid, eid in new]
    changes = []
    for record, values, changed, status in updates:
        change = {"id": record.id, **values, "updated_at": now}
        if kind == "seniors":
            change["reminder_channel"] = _reminder_channel(values["phone"],
                                                           record.reminder_channel)
        else:
            change.update(status=status, approved_at=record.approved_at or (
                now if status == "approved" else None),
                police_record_checked_on=record.police_record_checked_on or (
                date.today() if status == "approved" else None))
        changes.append(change)
        moved = status != record.status
        events.append({person: record.id, "action": "updated",
                       "from_status": record.status if moved else None,
                       "to_status": status if moved else None, "detail": ", ".join(changed)})
    if changes:
        session.execute(sa.update(model), changes)
    if events:
        session.execute(sa.insert(PersonEvent.__table__), [
            {other: None, "actor_id": actor_id, "at": now, **event} for event in events])


def import_csv(data: bytes, kind: str, *, session: Session, dry_run: bool = False,
               actor_id: int | None = None, actor_name: str = "",
               region: str = "SE") -> ImportResult:
    """Check the whole file, then write it in bulk unless anything is wrong or dry_run.

    Never commits. When the result has errors this call wrote nothing; the caller rolls
    back all the same (a concurrent import may have made a statement fail).
    """
    if kind not in MODELS:
        raise ValueError(f"unknown import kind {kind!r}")
    result = ImportResult(kind=kind, dry_run=dry_run)
    try:
        text, result.encoding = decode(data)
        if result.encoding == "cp1252":
            result.notes.append("Filen var inte UTF-8 och lästes därför som Windows-1252 "
                                "(äldre Excel). Kontrollera att å, ä och ö ser rätt ut.")
        rows = read_rows(text, kind, result, region)
    except FileProblem as exc:
        result.errors = [RowError(exc.row, None, str(exc))]
        return result
    creates, updates = plan(kind, rows, session, result)
    if result.errors:
        order = {c: i for i, c in enumerate(COLUMNS[kind])}
        result.errors.sort(key=lambda e: (e.row or 0, order.get(e.column, -1)))
        result.unchanged = 0
        return result
    result.created, result.updated = len(creates), len(updates)
    if not dry_run:
        try:
            write(kind, creates, updates, session=session, actor_id=actor_id,
                  actor_name=actor_name)
        except sa.exc.IntegrityError:
            result.created = result.updated = 0
            result.errors = [RowError(None, None, "någon annan sparade samma personer under "
                                                  "importen; inget importerades, försök igen")]
    return result
