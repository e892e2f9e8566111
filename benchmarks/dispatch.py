"""How fast the clock process sends due reminders through the outbox backend, on PostgreSQL,
with 1 and with 4 `vanringen scheduler tick` processes at once.

    .venv/bin/python benchmarks/dispatch.py [--reminders N] [--database-url URL]

Uses (and empties) the database `vanringen_bench` on the local PostgreSQL (created when
missing), or --database-url. Each run writes N reminders due now, starts the processes,
and prints reminders per second two ways: over the processes' whole life, and over the
sending alone (the life minus the start-up of a tick with nothing to do, ~1 s of imports).
Exits non-zero when 4 processes send fewer than 1 000 reminders per second.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from support.rows import ensure_database

from vanringen import texts
from vanringen.cli import upgrade
from vanringen.config import normalise_database_url
from vanringen.models import Message

TARGET = 1000.0
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vanringen_bench"
VANRINGEN = Path(sys.executable).with_name("vanringen")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def write_reminders(engine, count: int) -> None:
    call_at = (NOW + timedelta(hours=1)).isoformat()
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE message RESTART IDENTITY CASCADE"))
        if not count:
            return
        conn.execute(sa.insert(Message.__table__), [
            {"channel": "sms", "recipient": f"+4670{n:07d}", "kind": "reminder_volunteer",
             "template": "reminder_volunteer", "language": "sv", "body": "",
             "params": texts.encode({"volontär": "Jonas", "senior": f"Greta {n}",
                                     "telefon": "08-123 456 78", "call_at": call_at}),
             "due_at": NOW - timedelta(seconds=n % 600), "expires_at": NOW + timedelta(hours=1),
             "created_at": NOW, "updated_at": NOW, "status": "pending", "provider": "",
             "error": "", "error_code": "", "attempts": 0, "claimed_by": "", "response": ""}
            for n in range(count)])


def run_ticks(url: str, processes: int) -> float:
    env = {**os.environ, "DATABASE_URL": url, "NOTIFY_BACKEND": "outbox"}
    command = [str(VANRINGEN), "scheduler", "tick", "--now", NOW.isoformat()]
    started = time.perf_counter()
    running = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    for process in running:
        out, err = process.communicate()
        if process.returncode:
            sys.exit(f"tick failed: {err}")
    return time.perf_counter() - started


def sent(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        recorded = conn.execute(sa.text(
            "SELECT count(*) FROM message WHERE status = 'recorded'")).scalar()
        most = conn.execute(sa.text("SELECT max(attempts) FROM message")).scalar()
    return recorded, most


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=20_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 DEFAULT_URL))
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    ensure_database(url)
    upgrade(url)
    engine = sa.create_engine(url)
    write_reminders(engine, 0)
    startup = min(run_ticks(url, 1) for _ in range(3))
    print(f"start-up of a tick with nothing to send: {startup:.2f} s")
    failed = False
    for processes in (1, 4):
        write_reminders(engine, args.reminders)
        wall = run_ticks(url, processes)
        recorded, attempts = sent(engine)
        if recorded != args.reminders or attempts != 1:
            sys.exit(f"{processes} process(es): {recorded} of {args.reminders} sent, "
                     f"max attempts {attempts}")
        sending = max(wall - startup, 1e-9)
        rate, rate_sending = args.reminders / wall, args.reminders / sending
        verdict = ""
        if processes == 4:
            failed = rate_sending < TARGET
            verdict = f"  target ≥ {TARGET:.0f}/s: {'FAIL' if failed else 'PASS'}"
        print(f"{processes} process(es): {args.reminders} reminders in {wall:.2f} s = "
              f"{rate:.0f}/s overall, {rate_sending:.0f}/s sending{verdict}")
    engine.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
