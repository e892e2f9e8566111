"""How fast the clock's follow-up pass (vanringen/followup.py) runs at national scale, on
PostgreSQL.

    .venv/bin/python benchmarks/followup.py [--pairs N] [--database-url URL]
                                            [--statement-timeout SECONDS]

Uses (and empties) the database `vanringen_bench_followup` on the local PostgreSQL (created
when missing), or --database-url. Builds, with COPY, the national programme of
benchmarks/support/national.py with N active pairs (default 20 000; the rest scales with
it): 2.5 N seniors, 1.5 N volunteers, N/2 ended pairs, ~100 N call log entries, with some
pairs and volunteers breaking each rule (no held call for 14+ days, three no-answers in a
row, no report for 21+ days) and a few pauses. Then times the clock's pass over every rule:
the first passes, which open the tasks (at most OPEN_BATCH a rule a pass), until nothing is
new; then a steady-state pass (best of 3) and each rule alone. A query running past the
statement timeout (default 60 s) is stopped and reported as such. Exits non-zero when a
steady-state pass takes 5 s or more, or never gets there (the clock runs it every
FOLLOWUP_INTERVAL_MINUTES).
"""

import argparse
import os
import random
import sys
import time

import psycopg
import sqlalchemy as sa
from sqlmodel import Session
from support.national import build, row_counts
from support.rows import NOW, ensure_database

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
MAX_PASSES = 50


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
