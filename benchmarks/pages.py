"""How fast the coordinators' pages answer at national scale: the app under gunicorn on
PostgreSQL, loaded by Locust on loopback.

    .venv/bin/python benchmarks/pages.py [--pairs N] [--database-url URL] [--reuse]
                                         [--users 20] [--seconds 30] [--think SECONDS]

Uses (and empties) the database `vanringen_bench_pages` on the local PostgreSQL (created when
missing), or --database-url, and builds the national programme of
benchmarks/support/national.py with N active pairs (default 20 000: 50 000 seniors, 30 000
volunteers, ~2 000 000 call log entries); then opens the follow-up tasks as the clock would.
--reuse keeps the data an earlier run built (migrating it first), to try an index quickly.

Serves the app with gunicorn (2 workers, no scheduler) on a free loopback port, signs in
once as the coordinator and requests each page once: it must answer 200, and the report's
first answer is the time of one report computed from scratch (later ones come from the
cache for REPORT_CACHE_SECONDS). Then Locust's --users simulated coordinators load each page
in turn for --seconds, each pausing --think seconds on average between requests (0: none,
which measures throughput rather than what a coordinator waits). Pages: /health (the trivial
page, for comparison), the dashboard, the report for the current year and a senior's page.
Prints requests/s, p50/p95/p99 in ms and failures per page; exits non-zero when the
dashboard's or the yearly report's p95 is 150 ms or more, or any request failed.
"""

import argparse
import csv
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa
from sqlmodel import Session
from support.national import build, row_counts
from support.rows import NOW, TZ, ensure_database
from werkzeug.security import generate_password_hash

from vanringen.cli import upgrade
from vanringen.config import normalise_database_url
from vanringen.db import make_engine
from vanringen.followup import Rules, run

TARGET_MS = 150
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vanringen_bench_pages"
EMAIL, PASSWORD = "samordnare@vanringen.se", "bänk-lösen-för-mätning"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def open_followup_tasks(engine) -> int:
    """The clock's follow-up passes until nothing is new, as on a programme that has run."""
    opened = 0
    for _ in range(50):
        with Session(engine) as session:
            counts = run(session=session, now=NOW, rules=Rules())
            session.commit()
        opened += counts.opened
        if not counts.opened:
            return opened
    sys.exit("the follow-up passes never stopped opening tasks")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, port: int, log, cache_dir: str) -> subprocess.Popen:
    # The workers share an empty report cache of their own, so the first report is computed.
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
           "VANRINGEN_ENV": "development", "NOTIFY_BACKEND": "outbox", "REDIS_URL": "",
           "REPORT_CACHE_DIR": cache_dir}
    server = subprocess.Popen(
        [BIN / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "vanringen:create_app()"], env=env, cwd=HERE.parent, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=10).ok:
                    return server
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.3)
    except BaseException:
        server.terminate()
        raise
    server.terminate()
    log.seek(0)
    sys.exit(f"gunicorn did not answer on port {port}:\n{log.read()[-3000:]}")


def sign_in(host: str) -> str:
    """The session cookie of the signed-in coordinator."""
    browser = requests.Session()
    token = CSRF_RE.search(browser.get(f"{host}/logga-in").text)
    if not token:
        sys.exit("no CSRF token on the sign-in page")
    answer = browser.post(f"{host}/logga-in", allow_redirects=False, data={
        "csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD})
    if answer.status_code != 302 or "session" not in browser.cookies:
        sys.exit(f"signing in failed: HTTP {answer.status_code}")
    return browser.cookies["session"]


def first_answer(host: str, path: str, cookie: str) -> float:
    """Seconds the page takes the first time; exits unless it answers 200."""
    started = time.perf_counter()
    answer = requests.get(host + path, cookies={"session": cookie}, allow_redirects=False,
                          timeout=120)
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        sys.exit(f"{path} answered HTTP {answer.status_code}, not 200 (does the page exist?)")
    return seconds


def warm(host: str, paths, cookie: str) -> None:
    """Every page a few times, several at once, so that both workers have compiled its
    templates and statements: the figures are a running server's, not a first request's
    queue (one cold worker delays the ten requests behind it at the start)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        for path in paths:
            list(pool.map(lambda _n, path=path: first_answer(host, path, cookie), range(8)))


def load(host: str, path: str, cookie: str, args, prefix: str) -> dict:
    """Locust's figures for one page: rps, p50, p95, p99 (ms), requests, failures; its CSV
    files are written at `prefix`."""
    env = {**os.environ, "BENCH_PATH": path, "BENCH_COOKIE": cookie,
           "BENCH_THINK": str(args.think)}
    done = subprocess.run(
        [BIN / "locust", "-f", HERE / "support" / "locustfile.py", "--headless",
         "--only-summary",
         "--users", str(args.users), "--spawn-rate", str(args.users),
         "--run-time", f"{args.seconds}s", "--host", host, "--csv", prefix,
         "--exit-code-on-error", "0", "--loglevel", "WARNING"],
        env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"locust failed on {path}:\n{done.stderr[-3000:]}")
    with open(f"{prefix}_stats.csv", newline="") as file:
        row = next(r for r in csv.DictReader(file) if r["Name"] == "Aggregated")
    return {"rps": float(row["Requests/s"]), "p50": row["50%"], "p95": row["95%"],
            "p99": row["99%"], "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PAGES_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data an earlier run built")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--think", type=float, default=1.0, metavar="SECONDS",
                        help="each user's mean pause between requests (default 1; 0: none)")
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    ensure_database(url)
    upgrade(url)
    engine = make_engine(url)
    if not args.reuse:
        started = time.perf_counter()
        build(engine, args.pairs, random.Random(2024),
              password_hash=generate_password_hash(PASSWORD))
        opened = open_followup_tasks(engine)
        print(f"built in {time.perf_counter() - started:.0f} s (COPY, VACUUM ANALYZE, "
              f"{opened} follow-up tasks opened by the clock's rules): {row_counts(engine)}")
    with engine.connect() as conn:
        senior = conn.execute(sa.text(
            "SELECT senior_id FROM pair WHERE status = 'active' ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    year = NOW.astimezone(TZ).year
    pages = {"trivial page": "/health", "dashboard": "/oversikt",
             f"report {year}": f"/rapporter/?fran={year}-01-01&till={year}-12-31",
             "senior's page": f"/seniorer/{senior}"}
    targeted = ("dashboard", f"report {year}")

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder, open(os.path.join(folder, "gunicorn.log"),
                                                       "w+") as log:
        server = serve(url, port, log, os.path.join(folder, "report-cache"))
        try:
            cookie = sign_in(host)
            first = {name: first_answer(host, path, cookie) for name, path in pages.items()}
            print("first answers (the report's: computed, not cached): " + ", ".join(
                f"{name} {seconds * 1000:.0f} ms" for name, seconds in first.items()))
            warm(host, pages.values(), cookie)
            print(f"load: {args.users} users per page for {args.seconds} s, pausing "
                  f"{args.think:g} s on average between requests (gunicorn, 2 workers)")
            figures = {name: load(host, path, cookie, args, os.path.join(folder, str(n)))
                       for n, (name, path) in enumerate(pages.items())}
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'page':16} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'requests':>9} "
          f"{'failed':>7}")
    failed = False
    for name, f in figures.items():
        over = name in targeted and float(f["p95"]) >= TARGET_MS
        failed = failed or over or f["failures"] > 0
        print(f"{name:16} {f['rps']:7.1f} {f['p50']:>7} {f['p95']:>7} {f['p99']:>7} "
              f"{f['requests']:9} {f['failures']:7}" + ("  p95 over target" if over else ""))
    print(f"target: p95 < {TARGET_MS} ms for the dashboard and the yearly report, no failures: "
          f"{'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
