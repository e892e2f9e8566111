"""How fast the clock's follow-up pass (vanringen/followup.py) runs at national scale, on
PostgreSQL.

    .venv/bin/python benchmarks/followup.py [--pairs N] [--database-url URL]
                                            [--statement-timeout SECONDS]

Uses (and empties) the database `vanringen_bench_followup` on the local PostgreSQL (created
when missing), or --database-url. Builds, with COPY, a programme of N active pairs (default
20 000; the rest scales with it): 2.5 N seniors, 1.5 N approved volunteers (capacity 1–2),
N/2 ended pairs, ~40 weeks of weekly calls per pair and ~100 N call log entries, with some
pairs and volunteers breaking each rule (no held call for 14+ days, three no-answers in a
row, no report for 21+ days) and a few pauses. Then times the clock's pass over every rule:
the first passes, which open the tasks (at most OPEN_BATCH a rule a pass), until nothing is
new; then a steady-state pass (best of 3) and each rule alone. A query running past the
statement timeout (default 60 s) is stopped and reported as such. Exits non-zero when a
steady-state pass takes 5 s or more, or never gets there (the clock runs it every
FOLLOWUP_INTERVAL_MINUTES).
"""

import argparse
import io
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa
from sqlmodel import Session

from vanringen.cli import upgrade
from vanringen.config import normalise_database_url
from vanringen.db import make_engine
from vanringen.followup import (
    KINDS,
    OPEN_BATCH,
    Rules,
    apply,
    find_no_answer,
    find_no_call,
    find_no_report,
    no_call_pairs,
    no_report_volunteers,
    run,
)

TARGET_SECONDS = 5.0
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vanringen_bench_followup"
TZ = ZoneInfo("Europe/Stockholm")
# Now, so that the tasks' own timestamps (set by the app) agree with the data.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
WEEKS = 40  # of calls behind every pair that started long enough ago
AHEAD_DAYS = 14  # calls planned ahead
MAX_PASSES = 50

FIRST = ["Anna", "Maria", "Margareta", "Eva", "Birgitta", "Karin", "Ingrid", "Ulla", "Greta",
         "Aino", "Leila", "Fatima", "Lars", "Karl", "Anders", "Per", "Nils", "Erik", "Bengt",
         "Sven", "Göran", "Ahmed", "Matti", "Jonas", "Oskar", "Åke"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
        "Persson", "Svensson", "Lind", "Berg", "Holm", "Öberg", "Åberg", "Ström", "Virtanen",
        "Yilmaz", "Hassan", "Nowak", "Jovanović", "Ekström", "Wallin"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TIMES = ["10:00", "10:30", "11:00", "13:00", "14:00", "15:30", "17:00", "18:30", "19:00"]
OTHER_KINDS = ["delivery_failed", "opted_out", "inbound_sms", "concern", "intake"]
END_REASONS = ["moved_to_care", "passed_away", "volunteer_stopped", "no_click", "other"]

COLUMNS = {
    "staff_user": "id, email, name, password_hash, role, phone, on_duty, active, created_at",
    "senior": "id, first_name, last_name, phone, birth_year, gender, languages, interests, "
              "availability, preferred_gender, district, referral_source, reminder_channel, "
              "call_in, notes, status, waiting_since, created_at, updated_at",
    "volunteer": "id, first_name, last_name, phone, birth_year, gender, languages, interests, "
                 "availability, email, capacity, motivation, link_version, status, "
                 "status_reason, training_course, approved_at, created_at, updated_at",
    "pair": "id, senior_id, volunteer_id, status, started_at, ended_at, end_reason, "
            "end_comment, handover_note, agreed_slots, call_times, planned_until, score, "
            "explanation, warnings",
    "pair_pause": "id, pair_id, starts_on, resumes_on, reason, created_at",
    "scheduled_call": "id, pair_id, slot, occurs_on, scheduled_at, status, note, created_at, "
                      "updated_at",
    "call_log": "id, pair_id, call_id, outcome, minutes, occurred_at, source, note, concern, "
                "provider_id, reported_by_volunteer_id, reported_by_staff_id, created_at, "
                "updated_at",
    "task": "id, kind, urgent, title, detail, status, dedup_key, senior_id, volunteer_id, "
            "pair_id, created_at, closed_at, closed_by_id, closing_note",
}
FOLLOWUP_TABLES = list(COLUMNS)


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
    `flush` (scheduled calls before the log entries that refer to them)."""

    def __init__(self, cursor):
        self.cursor, self.rows = cursor, {table: [] for table in COLUMNS}
        self.counts = dict.fromkeys(COLUMNS, 0)

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


def name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


class Calls:
    """A pair's calls and what became of them, as COPY rows."""

    def __init__(self, loader: Loader, rng: random.Random):
        self.loader, self.rng = loader, rng
        self.call_id = self.log_id = 0
        self.local_cache: dict[tuple[date, str], datetime] = {}
        today = NOW.astimezone(TZ).date()
        self.monday = today - timedelta(days=today.weekday())

    def scheduled_at(self, day: date, clock: str) -> datetime:
        key = (day, clock)
        if key not in self.local_cache:
            hour, minute = map(int, clock.split(":"))
            self.local_cache[key] = datetime(day.year, day.month, day.day, hour, minute,
                                             tzinfo=TZ).astimezone(UTC)
        return self.local_cache[key]

    def occurrences(self, slots, start: datetime, end: datetime):
        """(slot, local date, scheduled_at) of every occurrence from start to end."""
        weeks = (NOW - start).days // 7 + 2
        for week in range(-weeks, AHEAD_DAYS // 7 + 1):
            for slot in slots:
                day_name, clock = slot.split()
                day = self.monday + timedelta(weeks=week, days=DAYS.index(day_name))
                at = self.scheduled_at(day, clock)
                if start <= at <= end:
                    yield slot, day, at

    def write(self, pair_id: int, volunteer_id: int, slots: list[str], *, start: datetime,
              end: datetime, call_in: bool, pauses=(), gap_since: datetime | None = None,
              silent_since: datetime | None = None, streak: int = 0) -> None:
        """Scheduled calls from start to end (planned ahead when end is after now) and their
        log entries: mostly held, reported by the volunteer; `gap_since` no held call since;
        `silent_since` nothing reported by the volunteer since; `streak` that many no-answers
        last."""
        rng, logs = self.rng, []
        for slot, day, at in self.occurrences(slots, start, end):
            self.call_id += 1
            paused = any(first <= day < resumes for first, resumes in pauses)
            status = "skipped" if paused else ("cancelled" if rng.random() < 0.01 else
                                               "planned")
            self.loader.add("scheduled_call", line(
                self.call_id, pair_id, slot, day, at, status, "paus" if paused else "", at,
                at))
            if status != "planned" or at > NOW:
                continue
            if NOW - at < timedelta(days=2) and rng.random() < 0.5:
                continue  # not reported yet
            logs.append(self._log(self.call_id, at, volunteer_id, gap_since, silent_since))
        if call_in:  # calls the senior makes through the programme's number
            for week in range((end - start).days // 7 + 1):
                at = start + timedelta(weeks=week, days=rng.random() * 7)
                if at > min(end, NOW) or rng.random() < 0.3 or any(
                        first <= at.astimezone(TZ).date() < resumes for first, resumes in pauses):
                    continue
                if silent_since and at > silent_since:
                    continue  # a bridged call counts as the volunteer's report
                held = rng.random() < 0.9 and not (gap_since and at > gap_since)
                by_volunteer = rng.random() < 0.5
                logs.append([None, at, "held" if held else "no_answer",
                             rng.randint(5, 60) if held else None, "bridge",
                             volunteer_id if by_volunteer else None, None])
        logs.sort(key=lambda log: log[1])
        for log in logs[len(logs) - streak:] if streak else ():
            log[2], log[3] = "no_answer", None
        for call_id, at, outcome, minutes, source, by_volunteer, by_staff in logs:
            self.log_id += 1
            provider = f"CA{self.log_id:032x}" if source == "bridge" else None
            self.loader.add("call_log", line(
                self.log_id, pair_id, call_id, outcome, minutes, at, source, "", "", provider,
                by_volunteer, by_staff, at, at))

    def _log(self, call_id: int, at: datetime, volunteer_id: int, gap_since, silent_since):
        rng = self.rng
        draw = rng.random()
        outcome = ("held" if draw < 0.87 else "no_answer" if draw < 0.95 else
                   "cancelled_senior" if draw < 0.98 else "cancelled_volunteer")
        if gap_since and at > gap_since:
            outcome = rng.choice(["no_answer", "no_answer", "cancelled_senior",
                                  "cancelled_volunteer"])
        source = rng.choice(["sms", "sms", "link", "link", "coordinator"])
        if silent_since and at > silent_since:
            source = "coordinator"
        by_volunteer = volunteer_id if source != "coordinator" else None
        return [call_id, at, outcome, rng.randint(8, 75) if outcome == "held" else None,
                source, by_volunteer, 1 if source == "coordinator" else None]


def build(engine, pairs: int, rng: random.Random) -> dict[str, int]:
    scale = pairs / 20_000
    seniors, volunteers = round(50_000 * scale), round(30_000 * scale)
    ended = pairs // 2
    today = NOW.astimezone(TZ).date()
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(FOLLOWUP_TABLES)} RESTART IDENTITY CASCADE"))
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        # The rows are consistent by construction: no foreign-key trigger per row (a
        # superuser's setting, for this transaction only; twice as fast).
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")
        loader = Loader(cursor)
        loader.add("staff_user", line(1, "samordnare@vanringen.se", "Samordnare", "x",
                                      "coordinator", "", False, True, NOW - timedelta(weeks=100)))
        # Seniors 1..pairs have an active pair; the next ones an ended pair; the rest wait.
        for n in range(1, seniors + 1):
            first, last = name(rng)
            status = ("matched" if n <= pairs else "ended" if n <= pairs + ended * 7 // 10
                      else "waiting")
            created = NOW - timedelta(days=rng.randint(1, 1200))
            loader.add("senior", line(
                n, first, last, f"+4686{n:07d}", rng.randint(1925, 1955),
                rng.choice(["f", "m"]), "sv", "", "", "any", None, "sjalv", "sms",
                n <= pairs and rng.random() < 0.4, "", status,
                created if status == "waiting" else None, created, created))
        capacity = {}
        for n in range(1, volunteers + 1):
            first, last = name(rng)
            capacity[n] = 1 if rng.random() < 0.6 else 2
            approved = NOW - timedelta(days=rng.randint(30, 1500))
            loader.add("volunteer", line(
                n, first, last, f"+4670{n:07d}", rng.randint(1950, 2004), rng.choice(["f", "m"]),
                "sv", "", "", f"volontar{n}@example.se", capacity[n], "", 0, "approved", "",
                "", approved, approved, approved))
        loader.flush()

        order = list(capacity)
        rng.shuffle(order)
        owners = [v for v in order for _ in range(capacity[v])][:pairs]
        if len(owners) < pairs:
            sys.exit("not enough volunteer capacity for the pairs")
        # Volunteers who report nothing (the office logs their calls, when anyone does).
        silent = {v: NOW - timedelta(days=rng.randint(22, 70))
                  for v in set(owners) if rng.random() < 0.03}
        calls = Calls(loader, rng)
        pause_id = task_id = 0
        history = NOW - timedelta(weeks=WEEKS)
        for pair_id in range(1, pairs + ended + 1):
            active = pair_id <= pairs
            slots = [f"{day} {rng.choice(TIMES)}"
                     for day in rng.sample(DAYS[:6], 2 if rng.random() < 0.7 else 1)]
            if active:
                senior, volunteer = pair_id, owners[pair_id - 1]
                start = (history - timedelta(days=rng.randint(0, 300)) if rng.random() < 0.85
                         else NOW - timedelta(days=rng.randint(1, WEEKS * 7)))
                end, finished = NOW + timedelta(days=AHEAD_DAYS), None
            else:
                # Most seniors of an ended pair have no other; some have a new pair.
                senior = pair_id if pair_id - pairs <= ended * 7 // 10 else rng.randint(1, pairs)
                volunteer = rng.randint(1, volunteers)
                finished = NOW - timedelta(days=rng.randint(7, 280))
                start = finished - timedelta(weeks=rng.randint(8, 40))
                end = finished
            pauses = []
            if active and rng.random() < 0.015:
                kind = rng.choice(["now", "lately", "long ago"])
                resumes = today + timedelta(days={"now": rng.randint(1, 28),
                                                  "lately": -rng.randint(1, 13),
                                                  "long ago": -rng.randint(30, 200)}[kind])
                starts = resumes - timedelta(weeks=rng.randint(2, 6))
                pauses.append((starts, resumes))
                pause_id += 1
                loader.add("pair_pause", line(pause_id, pair_id, starts, resumes, "resa",
                                              datetime.combine(starts, datetime.min.time(), UTC)))
            draw = rng.random()
            gap = (NOW - timedelta(days=rng.randint(15, 70))
                   if active and draw < 0.035 else None)
            streak = rng.randint(3, 5) if active and 0.035 <= draw < 0.05 else 0
            calls.write(pair_id, volunteer, slots, end=end,
                        start=max(start, history) if active else start,
                        call_in=rng.random() < 0.4, pauses=pauses, gap_since=gap,
                        silent_since=silent.get(volunteer) if active else None, streak=streak)
            loader.add("pair", line(
                pair_id, senior, volunteer, "active" if active else "ended", start, finished,
                "" if active else rng.choice(END_REASONS), "", "", "", ";".join(slots),
                (end.astimezone(TZ).date() + timedelta(days=1)), round(rng.random(), 3), "",
                ""))
            # Follow-up tasks of the past, closed by a coordinator or by the clock, and other
            # work; a few still open.
            for _ in range(rng.choice([0, 0, 0, 0, 1, 1, 2])):
                task_id += 1
                kind = rng.choice(OTHER_KINDS + ["no_call", "no_answer", "no_report"])
                created = NOW - timedelta(days=rng.uniform(1, WEEKS * 7))
                is_open = kind in OTHER_KINDS and rng.random() < 0.02
                closed = None if is_open else min(NOW, created + timedelta(days=rng.uniform(0,
                                                                                           10)))
                key = (f"{kind}:{volunteer}" if kind == "no_report" else
                       f"{kind}:{pair_id}" if kind in KINDS else f"{kind}:{task_id}")
                loader.add("task", line(
                    task_id, kind, kind == "concern", f"Uppgift {task_id}", "",
                    "open" if is_open else "done", key, senior, volunteer,
                    None if kind == "no_report" else pair_id, created, closed,
                    None if is_open or rng.random() < 0.5 else 1, ""))
            if pair_id % 2000 == 0:
                loader.flush()
        loader.flush()
        for table in FOLLOWUP_TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {', '.join(FOLLOWUP_TABLES)}"))
    return loader.counts


def row_counts(engine) -> str:
    with engine.connect() as conn:
        parts = [f"{conn.execute(sa.text(query)).scalar():,} {label}" for label, query in [
            ("seniors", "SELECT count(*) FROM senior"),
            ("volunteers", "SELECT count(*) FROM volunteer"),
            ("active pairs", "SELECT count(*) FROM pair WHERE status = 'active'"),
            ("ended pairs", "SELECT count(*) FROM pair WHERE status = 'ended'"),
            ("scheduled calls", "SELECT count(*) FROM scheduled_call"),
            ("call log entries", "SELECT count(*) FROM call_log"),
            ("of them held", "SELECT count(*) FROM call_log WHERE outcome = 'held'"),
            ("no_answer", "SELECT count(*) FROM call_log WHERE outcome = 'no_answer'"),
            ("pauses", "SELECT count(*) FROM pair_pause"),
            ("tasks", "SELECT count(*) FROM task"),
        ]]
    return ", ".join(parts)


def open_tasks(engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text(
            "SELECT kind, count(*) FROM task WHERE status = 'open' AND kind IN :kinds "
            "GROUP BY kind").bindparams(sa.bindparam("kinds", expanding=True)),
            {"kinds": list(KINDS)}).all())
    return {kind: found.get(kind, 0) for kind in KINDS}


class TimedOut(Exception):
    pass


def timed(engine, work) -> float:
    """Seconds `work(session)` takes (in a session of its own, then rolled back unless `work`
    commits); TimedOut when a statement ran into the statement timeout."""
    with Session(engine) as session:
        started = time.perf_counter()
        try:
            work(session)
        except sa.exc.OperationalError as error:
            if isinstance(error.orig, psycopg.errors.QueryCanceled):
                raise TimedOut from error
            raise
        return time.perf_counter() - started


def clock_pass(engine, rules: Rules):
    """`run` and its commit, as the clock's followup_step does; (seconds, counts)."""
    counts = []

    def work(session):
        counts.append(run(session=session, now=NOW, rules=rules))
        session.commit()

    return timed(engine, work), counts[0]


def rule_parts(kind: str, rules: Rules):
    """A rule as `run` does it, in two parts: finding the causes that have no task yet (the
    SELECT that matters on a quiet tick), and checking the open tasks' causes still hold."""
    args = {"now": NOW, "rules": rules}
    still = []

    def find(session):
        if kind == "no_call":
            find_no_call(session, **args, new_only=True, limit=OPEN_BATCH)
            still.append(no_call_pairs(**args))
        elif kind == "no_answer":
            still.append([f.refs["pair_id"] for f in find_no_answer(session, **args).values()])
        else:
            find_no_report(session, **args, new_only=True, limit=OPEN_BATCH)
            still.append(no_report_volunteers(**args))

    def check(session):
        apply(kind, {}, still[-1], session=session, **args)

    return find, check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_FOLLOWUP_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--statement-timeout", type=int, default=60, metavar="SECONDS",
                        help="stop a query of the rules after this long (default 60)")
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    ensure_database(url)
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    build(engine, args.pairs, random.Random(2024))
    print(f"built in {time.perf_counter() - started:.0f} s (COPY, then VACUUM ANALYZE): "
          f"{row_counts(engine)}")
    engine.dispose()

    limit = args.statement_timeout
    engine = sa.create_engine(url, connect_args={"options": f"-c statement_timeout={limit}s"})
    rules, over = Rules(), f"over {limit} s (statement timeout)"
    steady = None
    opened = dict.fromkeys(KINDS, 0)
    for number in range(1, MAX_PASSES + 1):
        before = open_tasks(engine)
        try:
            seconds, counts = clock_pass(engine, rules)
        except TimedOut:
            print(f"pass {number}: {over}")
            break
        new = {kind: open_tasks(engine)[kind] - before[kind] for kind in KINDS}
        for kind in KINDS:
            opened[kind] += new[kind]
        print(f"pass {number}: {seconds:.2f} s, {counts.opened} opened ("
              + ", ".join(f"{kind} {new[kind]}" for kind in KINDS)
              + f"), {counts.closed} closed")
        if not (counts.opened or counts.closed):
            print(f"steady state after {number - 1} pass(es) that opened tasks (at most "
                  f"{OPEN_BATCH} a rule a pass); open tasks: "
                  + ", ".join(f"{kind} {count}" for kind, count in opened.items()))
            steady = min(clock_pass(engine, rules)[0] for _ in range(3))
            break
    else:
        sys.exit(f"still opening tasks after {MAX_PASSES} passes")

    print("each rule (best of 3):")
    for kind in KINDS:
        figures = []
        for part in rule_parts(kind, rules):
            try:
                figures.append(min(timed(engine, part) for _ in range(3)))
            except TimedOut:
                figures.append(None)
                break
        find, check = (figures + [None])[:2]
        if find is None:
            print(f"  {kind:9}: finding new causes {over}")
        elif check is None:
            print(f"  {kind:9}: finding new causes {find:.2f} s, checking open tasks {over}")
        else:
            print(f"  {kind:9}: {find + check:.2f} s (finding new causes {find:.2f} s, "
                  f"checking open tasks {check:.2f} s)")
    failed = steady is None or steady >= TARGET_SECONDS
    print(f"steady-state pass (best of 3): {f'{steady:.2f} s' if steady is not None else over}"
          f"  target < {TARGET_SECONDS:.0f} s: {'FAIL' if failed else 'PASS'}")
    engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
