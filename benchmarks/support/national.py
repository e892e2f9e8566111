"""A national-size programme on PostgreSQL, built with COPY: the dataset that
benchmarks/followup.py and benchmarks/pages.py share.

For N active pairs (20 000 in the issue; the rest scales with it): 2.5 N seniors, 1.5 N
volunteers (most approved, capacity 1–2; the others somewhere between application and
approval, or declined), N/2 ended pairs with their reasons, ~42 weeks of weekly calls per pair
and ~100 N call log entries, with some pairs and volunteers breaking each follow-up rule (no
held call for 14+ days, three no-answers in a row, no report for 21+ days) and a few pauses.
Around them: the people's history and consents, the reminders of the last and next two weeks
(a few undelivered), calls to the intake line, a matching run's proposals awaiting review and
past tasks (a few still open). Gender, district, referral source, languages and birth years
are spread as in a real programme, so that every breakdown of a report does real work.
"""

import random
import sys
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from vanringen.vocab import DISTRICTS

from .calls import DAYS, Calls
from .rows import AHEAD_DAYS, NOW, TABLES, TZ, WEEKS, Loader, line

FIRST = ["Anna", "Maria", "Margareta", "Eva", "Birgitta", "Karin", "Ingrid", "Ulla", "Greta",
         "Aino", "Leila", "Fatima", "Lars", "Karl", "Anders", "Per", "Nils", "Erik", "Bengt",
         "Sven", "Göran", "Ahmed", "Matti", "Jonas", "Oskar", "Åke"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
        "Persson", "Svensson", "Lind", "Berg", "Holm", "Öberg", "Åberg", "Ström", "Virtanen",
        "Yilmaz", "Hassan", "Nowak", "Jovanović", "Ekström", "Wallin"]
TIMES = ["10:00", "10:30", "11:00", "13:00", "14:00", "15:30", "17:00", "18:30", "19:00"]
OTHER_KINDS = ["delivery_failed", "opted_out", "inbound_sms", "concern", "intake"]
FOLLOWUP_KINDS = ["no_call", "no_answer", "no_report"]
END_REASONS = ["moved_to_care", "passed_away", "volunteer_stopped", "no_click", "other"]
# (value, weight): the spreads of a programme in a Swedish city ("" gender: not recorded).
SENIOR_GENDERS = [("female", 66), ("male", 31), ("other", 1), ("", 2)]
VOLUNTEER_GENDERS = [("female", 72), ("male", 26), ("other", 2)]
REFERRALS = [("hemtjanst", 30), ("sjalv", 25), ("anhorig", 20), ("vardcentral", 12),
             ("bistandshandlaggare", 10), ("annan", 3)]
LANGUAGES = [("sv", 78), ("sv;fi", 6), ("fi", 2), ("ar", 3), ("fa;sv", 2), ("sv;en", 4),
             ("so", 1), ("tr;sv", 1), ("bs;sv", 1), ("es;sv", 1), ("pl", 1)]
VOLUNTEER_STEPS = [("approved", 86), ("applied", 4), ("interviewed", 2), ("record_checked", 2),
                   ("trained", 2), ("declined", 2), ("withdrawn", 2)]
PROGRESS = ["applied", "interviewed", "record_checked", "trained", "approved"]

def pick(rng: random.Random, spread: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in spread], [weight for _, weight in spread])[0]


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ).astimezone(UTC)


def _volunteer_steps(rng: random.Random, step: str):
    """(applied, interviewed_on, police record checked on, trained_on, approved_at) of a
    volunteer who got as far as `step`; an approved one's extract ages from fresh to expired."""
    approved = step == "approved"
    applied = NOW - timedelta(days=rng.randint(130, 1500) if approved else rng.randint(1, 120))
    # Declined or withdrawn somewhere on the way.
    reached = PROGRESS.index(step) if step in PROGRESS else rng.randint(0, 3)
    moments = [applied + timedelta(days=d) for d in sorted(rng.sample(range(3, 120), 4))]
    moments = [m if i < reached and m < NOW else None for i, m in enumerate(moments)]
    if approved:
        moments[1] = NOW - timedelta(days=rng.randint(0, 400))
    dates = [m.astimezone(TZ).date() if m else None for m in moments[:3]]
    return applied, *dates, moments[3]


def build(engine, pairs: int, rng: random.Random, *, password_hash: str = "x") -> dict[str, int]:
    """Empty the tables and build the programme; rows per table. The one staff user
    (samordnare@vanringen.se, a coordinator) gets `password_hash`."""
    scale = pairs / 20_000
    seniors, volunteers = round(50_000 * scale), round(30_000 * scale)
    ended = pairs // 2
    today = NOW.astimezone(TZ).date()
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        # The rows are consistent by construction: no foreign-key trigger per row (a
        # superuser's setting, for this transaction only; twice as fast).
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")
        loader = Loader(cursor)
        loader.add("staff_user", line(
            loader.next_id("staff_user"), "samordnare@vanringen.se", "Samordnare",
            password_hash, "coordinator", "", False, True, NOW - timedelta(weeks=100)))

        steps = {n: pick(rng, VOLUNTEER_STEPS) for n in range(1, volunteers + 1)}
        capacity = {n: 1 if rng.random() < 0.6 else 2 for n in steps}
        order = [n for n in steps if steps[n] == "approved"]
        rng.shuffle(order)
        owners = [v for v in order for _ in range(capacity[v])][:pairs]
        if len(owners) < pairs:
            sys.exit("not enough volunteer capacity for the pairs")
        # Seniors 1..pairs have an active pair; the next ones an ended pair; the rest wait
        # (a few paused). Pairs are drawn first: a senior waited until their pair began.
        history = NOW - timedelta(weeks=WEEKS)
        plans = []
        for pair_id in range(1, pairs + ended + 1):
            if pair_id <= pairs:
                senior, volunteer = pair_id, owners[pair_id - 1]
                start = (history - timedelta(days=rng.randint(0, 300)) if rng.random() < 0.85
                         else NOW - timedelta(days=rng.randint(1, WEEKS * 7)))
                finished = None
            else:
                # Most seniors of an ended pair have no other; some have a new pair.
                senior = pair_id if pair_id - pairs <= ended * 7 // 10 else rng.randint(1, pairs)
                volunteer = rng.randint(1, volunteers)
                finished = NOW - timedelta(days=rng.randint(7, 280))
                start = finished - timedelta(weeks=rng.randint(8, 40))
            plans.append((pair_id, senior, volunteer, start, finished))
        began = {senior: start for _, senior, _, start, _ in reversed(plans)}

        phones = {}
        for n in range(1, seniors + 1):
            status = ("matched" if n <= pairs else "ended" if n <= pairs + ended * 7 // 10
                      else "paused" if rng.random() < 0.04 else "waiting")
            waiting_since = (began[n] - timedelta(days=rng.randint(0, 200)) if n in began
                             else NOW - timedelta(days=rng.randint(0, 500)))
            created = waiting_since - timedelta(hours=rng.randint(0, 48))
            phones[n] = f"+4686{n:07d}"
            gender = pick(rng, SENIOR_GENDERS)
            loader.add("senior", line(
                n, rng.choice(FIRST), rng.choice(LAST), phones[n],
                rng.randint(1921, 1962) if rng.random() < 0.97 else None, gender,
                pick(rng, LANGUAGES), "", "", "any",
                rng.choice(DISTRICTS) if rng.random() < 0.95 else None, pick(rng, REFERRALS),
                "sms", n <= pairs and rng.random() < 0.4, "", status,
                waiting_since if status != "ended" else None, created, created))
            _history("senior", n, created, status, began.get(n), loader, rng)
        for n, step in steps.items():
            applied, interviewed, checked, trained, approved = _volunteer_steps(rng, step)
            loader.add("volunteer", line(
                n, rng.choice(FIRST), rng.choice(LAST), f"+4670{n:07d}",
                rng.randint(1945, 2006) if rng.random() < 0.98 else None,
                pick(rng, VOLUNTEER_GENDERS), pick(rng, LANGUAGES), "", "",
                f"volontar{n}@example.se", capacity[n], "", 0, step,
                "Passade inte" if step in ("declined", "withdrawn") else "", interviewed,
                checked, trained, "Grundkurs" if trained else "", approved, applied,
                approved or applied))
            _history("volunteer", n, applied, step, approved, loader, rng)
        loader.flush()

        # Volunteers who report nothing (the office logs their calls, when anyone does).
        silent = {v: NOW - timedelta(days=rng.randint(22, 70))
                  for v in set(owners) if rng.random() < 0.03}
        calls = Calls(loader, rng)
        for pair_id, senior, volunteer, start, finished in plans:
            active = finished is None
            end = NOW + timedelta(days=AHEAD_DAYS) if active else finished
            slots = [f"{day} {rng.choice(TIMES)}"
                     for day in rng.sample(DAYS[:6], 2 if rng.random() < 0.7 else 1)]
            pauses = []
            if active and rng.random() < 0.015:
                kind = rng.choice(["now", "lately", "long ago"])
                resumes = today + timedelta(days={"now": rng.randint(1, 28),
                                                  "lately": -rng.randint(1, 13),
                                                  "long ago": -rng.randint(30, 200)}[kind])
                starts = resumes - timedelta(weeks=rng.randint(2, 6))
                pauses.append((starts, resumes))
                loader.add("pair_pause", line(loader.next_id("pair_pause"), pair_id, starts,
                                              resumes, "resa", local_midnight(starts)))
            draw = rng.random()
            gap = (NOW - timedelta(days=rng.randint(15, 70))
                   if active and draw < 0.035 else None)
            streak = rng.randint(3, 5) if active and 0.035 <= draw < 0.05 else 0
            calls.add(pair_id, (senior, phones[senior]),
                        (volunteer, f"+4670{volunteer:07d}"), slots, end=end,
                        start=max(start, history) if active else start,
                        call_in=rng.random() < 0.4, pauses=pauses, gap_since=gap,
                        silent_since=silent.get(volunteer) if active else None, streak=streak)
            loader.add("pair", line(
                pair_id, senior, volunteer, "active" if active else "ended", start, finished,
                "" if active else rng.choice(END_REASONS), "", "", "", ";".join(slots),
                (end.astimezone(TZ).date() + timedelta(days=1)), round(rng.random(), 3), "",
                ""))
            _tasks(loader, rng, pair_id, senior, volunteer)
            if pair_id % 2000 == 0:
                loader.flush()
        calls.write_all()
        _waiting_work(loader, rng, first_waiting=pairs + ended * 7 // 10 + 1, seniors=seniors,
                      volunteers=order)
        loader.flush()
        for table in TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {', '.join(TABLES)}"))
    return loader.counts


def _history(who: str, n: int, created: datetime, status: str, changed: datetime | None,
             loader: Loader, rng: random.Random) -> None:
    """A person's consent and the events on their page: created, a status change or two."""
    senior, volunteer = (n, None) if who == "senior" else (None, n)
    first = "waiting" if who == "senior" else "applied"
    loader.add("consent", line(loader.next_id("consent"), senior, volunteer,
                               "verbal" if who == "senior" else "web", f"{who}-v1",
                               "Samtycke enligt gällande text", created.astimezone(TZ).date(),
                               1 if who == "senior" else None, "Samordnare", created))
    events = [("created", None, first, created)]
    if changed and status != first:
        events.append(("status", first, status, changed))
    events += [("updated", None, None, created + timedelta(days=rng.randint(1, 90)))
               for _ in range(rng.choice([0, 0, 1, 2]))]
    for action, old, new, at in events:
        loader.add("person_event", line(loader.next_id("person_event"), senior, volunteer,
                                        1, action, old, new,
                                        "phone" if action == "updated" else "", min(at, NOW)))


def _tasks(loader: Loader, rng: random.Random, pair_id: int, senior: int,
           volunteer: int) -> None:
    """Follow-up tasks of the past, closed by a coordinator or by the clock, and other work;
    a few still open."""
    for _ in range(rng.choice([0, 0, 0, 0, 1, 1, 2])):
        task_id = loader.next_id("task")
        kind = rng.choice(OTHER_KINDS + FOLLOWUP_KINDS)
        created = NOW - timedelta(days=rng.uniform(1, WEEKS * 7))
        is_open = kind in OTHER_KINDS and rng.random() < 0.02
        closed = None if is_open else min(NOW, created + timedelta(days=rng.uniform(0, 10)))
        key = (f"{kind}:{volunteer}" if kind == "no_report" else
               f"{kind}:{pair_id}" if kind in FOLLOWUP_KINDS else f"{kind}:{task_id}")
        loader.add("task", line(
            task_id, kind, kind == "concern", f"Uppgift {task_id}", "",
            "open" if is_open else "done", key, senior, volunteer,
            None if kind == "no_report" else pair_id, created, closed,
            None if is_open or rng.random() < 0.5 else 1, ""))


def _waiting_work(loader: Loader, rng: random.Random, *, first_waiting: int, seniors: int,
                  volunteers: list[int]) -> None:
    """Calls to the intake line (the last few unhandled) and the latest matching run: a
    proposal and two alternatives for some of the seniors waiting, not yet reviewed."""
    requests = round(seniors / 25)
    for n in range(1, requests + 1):
        at = NOW - timedelta(days=(requests - n) * 400 / requests, minutes=rng.randint(0, 600))
        loader.add("intake_request", line(
            n, f"CA{n:032x}", f"+4673{n:07d}", rng.choice(["friend", "friend", "message"]), "",
            "", "open" if requests - n < 40 else "done", "", at))
    waiting = list(range(first_waiting, seniors + 1))
    reviewed = rng.sample(waiting, min(len(waiting), round(seniors / 25)))
    loader.add("match_run", line(1, NOW - timedelta(days=2), 1, len(waiting), len(volunteers),
                                 len(reviewed), 0))
    for senior in reviewed:
        for rank, volunteer in enumerate(rng.sample(volunteers, 3)):
            loader.add("match_proposal", line(
                loader.next_id("match_proposal"), 1, senior, volunteer, rank,
                round(rng.uniform(0.3, 0.9), 3), "Gemensamt språk och samtalstid", "pending"))


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
