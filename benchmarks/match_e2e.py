"""Matching end to end: import 10 000 seniors and 10 000 volunteers, then `vanringen match`.

    .venv/bin/python benchmarks/match_e2e.py [--rows N] [--keep]

The CSV files come from benchmarks/import_csv.py's generators (believable Swedish profiles,
phones written every way people write them); every volunteer is approved, with capacity 1 or
2. Each step is the real command, run as a subprocess against a fresh temporary SQLite
database (DATABASE_URL): `vanringen db upgrade`, `vanringen import seniors`, `vanringen import
volunteers`, `vanringen match --out`. Prints the seconds of each step and the total; exits
non-zero when the total is 60 s or more.

Volunteers imported as approved count their police-record extract as checked on the import
day (vanringen/csvimport.py), so all of them are matchable.
"""

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from import_csv import generate

TARGET_SECONDS = 60.0
VANRINGEN = Path(sys.executable).with_name("vanringen")


def approved_volunteers(rows: int) -> bytes:
    """The generator's volunteers, every one of them approved."""
    text = generate("volunteers", rows).decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text, newline="")))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({**record, "status": "approved"})
    return out.getvalue().encode("utf-8")


def step(name: str, args: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(VANRINGEN), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"{name} failed (exit {done.returncode})")
    last = (done.stdout.strip().splitlines() or [""])
    print(f"{name:<20} {seconds:6.2f} s   {' '.join(last[:2])[:110]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="people of each kind (10 000)")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vanringen-match-"))
    try:
        seniors, volunteers, out = tmp / "seniors.csv", tmp / "volunteers.csv", tmp / "forslag.csv"
        seniors.write_bytes(generate("seniors", args.rows))
        volunteers.write_bytes(approved_volunteers(args.rows))
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
               "NOTIFY_BACKEND": "outbox"}
        print(f"{args.rows} seniors and {args.rows} approved volunteers, SQLite in {tmp}")
        total = sum([
            step("db upgrade", ["db", "upgrade"], env),
            step("import seniors", ["import", "seniors", str(seniors)], env),
            step("import volunteers", ["import", "volunteers", str(volunteers)], env),
            step("match --out", ["match", "--out", str(out)], env),
        ])
        with out.open(encoding="utf-8") as f:
            proposals = sum(1 for _row in csv.reader(f)) - 1
        print(f"{'total':<20} {total:6.2f} s   ({proposals} proposals in {out.name})")
        ok = total < TARGET_SECONDS and proposals > 0
        print(f"target: under {TARGET_SECONDS:.0f} s in total – {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            for path in sorted(tmp.rglob("*"), reverse=True):
                path.unlink()
            tmp.rmdir()


if __name__ == "__main__":
    sys.exit(main())
