"""Rows for PostgreSQL's COPY, and the moment the benchmarks' data is built around."""

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

TZ = ZoneInfo("Europe/Stockholm")
# Now, so that the timestamps the app sets itself agree with the data.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
WEEKS = 42  # of calls behind every pair that started long enough ago
AHEAD_DAYS = 14  # calls planned ahead
REMINDER_DAYS = 14  # reminders kept in the message log, back from now

COLUMNS = {
    "staff_user": "id, email, name, password_hash, role, phone, on_duty, active, created_at",
    "senior": "id, first_name, last_name, phone, birth_year, gender, languages, interests, "
              "availability, preferred_gender, district, referral_source, reminder_channel, "
              "call_in, notes, status, waiting_since, created_at, updated_at",
    "volunteer": "id, first_name, last_name, phone, birth_year, gender, languages, interests, "
                 "availability, email, capacity, motivation, link_version, status, "
                 "status_reason, interviewed_on, police_record_checked_on, trained_on, "
                 "training_course, approved_at, created_at, updated_at",
    "person_event": "id, senior_id, volunteer_id, actor_id, action, from_status, to_status, "
                    "detail, at",
    "consent": "id, senior_id, volunteer_id, method, text_version, text, given_on, "
               "recorded_by_id, recorded_by_name, created_at",
    "pair": "id, senior_id, volunteer_id, status, started_at, ended_at, end_reason, "
            "end_comment, handover_note, agreed_slots, call_times, planned_until, score, "
            "explanation, warnings",
    "pair_pause": "id, pair_id, starts_on, resumes_on, reason, created_at",
    "scheduled_call": "id, pair_id, slot, occurs_on, scheduled_at, status, note, created_at, "
                      "updated_at",
    "call_log": "id, pair_id, call_id, outcome, minutes, occurred_at, source, note, concern, "
                "provider_id, reported_by_volunteer_id, reported_by_staff_id, created_at, "
                "updated_at",
    "message": "id, channel, recipient, body, kind, status, provider, error, attempts, "
               "senior_id, volunteer_id, call_id, template, language, params, due_at, created_at, "
               "sent_at, updated_at",
    "intake_request": "id, call_sid, from_number, choice, recording_url, transcription, "
                      "status, note, created_at",
    "match_run": "id, started_at, by_id, seniors, volunteers, proposed, unmatched",
    "match_proposal": "id, run_id, senior_id, volunteer_id, rank, score, explanation, status",
    "task": "id, kind, urgent, title, detail, status, dedup_key, senior_id, volunteer_id, "
            "pair_id, created_at, closed_at, closed_by_id, closing_note",
}
TABLES = list(COLUMNS)


def ensure_database(url: str) -> None:
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": target.database}).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _field(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def line(*values) -> str:
    """One row in COPY's text format (the values here hold no tabs, newlines or backslashes)."""
    return "\t".join(map(_field, values)) + "\n"


class Loader:
    """COPY rows into the tables through one transaction, a table's rows buffered until
    `flush` (parents before the rows that refer to them); `next_id` numbers a table's rows."""

    def __init__(self, cursor):
        self.cursor, self.rows = cursor, {table: [] for table in COLUMNS}
        self.counts = dict.fromkeys(COLUMNS, 0)
        self.ids = dict.fromkeys(COLUMNS, 0)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def add(self, table: str, row: str) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                with self.cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                    buffer = io.StringIO()
                    buffer.writelines(rows)
                    copy.write(buffer.getvalue())
                self.counts[table] += len(rows)
                rows.clear()


