"""The clock process (vanringen.scheduler): one tick from the command line, the APScheduler
job, and several real `vanringen scheduler tick` processes over one database at once."""

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from call_support import at, messages, paired

from vanringen import texts
from vanringen.models import Message
from vanringen.scheduler import build_scheduler

VANRINGEN = Path(sys.executable).with_name("vanringen")
POSTGRES = "postgresql" in os.environ.get("TEST_DATABASE_URL", "")


def test_one_tick_plans_and_sends_as_of_a_given_moment(runner, session):
    paired(session, call_times="tue 14:00")
    result = runner.invoke(args=["scheduler", "tick", "--now", "2026-12-01T13:00+01:00"])
    assert result.exit_code == 0, result.output
    # The pair began in January and has logged no call: follow-up opens a task.
    assert result.output.strip() == ("Planerade 2 samtal för 1 par; meddelanden: "
                                     "2 recorded; uppföljning: 1 ny, 0 stängda.")
    # Both of today's reminders were due (09:00 and 13:00); next week's wait.
    sent = {m.kind: m.status for m in messages(session) if m.sent_at}
    assert sent == {"reminder_senior_sms": "recorded", "reminder_volunteer": "recorded"}
    assert len(messages(session, status="pending")) == 2
    again = runner.invoke(args=["scheduler", "tick", "--now", "2026-12-01T13:05+01:00"])
    assert again.output.strip() == ("Planerade 0 samtal för 0 par; meddelanden: inga att "
                                    "skicka; uppföljning: inget nytt.")


def test_a_moment_without_an_offset_is_local_time(runner, session):
    paired(session)
    runner.invoke(args=["scheduler", "tick", "--now", "2026-12-01T09:00"])
    senior = messages(session, kind="reminder_senior_sms")[0]
    assert senior.sent_at == at("2026-12-01 09:00")


def test_a_bad_moment_is_refused(runner):
    result = runner.invoke(args=["scheduler", "tick", "--now", "i morgon"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_the_scheduler_runs_one_pass_at_a_time_every_interval(app):
    app.config["DISPATCH_INTERVAL_SECONDS"] = 10
    app.config["FOLLOWUP_INTERVAL_MINUTES"] = 15
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"tick", "followup", "retention"}
    assert jobs["tick"].trigger.interval == timedelta(seconds=10)
    assert jobs["followup"].trigger.interval == timedelta(minutes=15)
    assert all(job.max_instances == 1 and job.coalesce is True for job in jobs.values())
    assert str(scheduler.timezone) == "Europe/Stockholm"


# ---------------------------------------------------------------- several processes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LINE = re.compile(r"^\[SMS till (\+\d+)\] (.*)$")


def due_reminders(session, count: int) -> None:
    """`count` volunteer reminders due now, each naming a different senior."""
    rows = [{"channel": "sms", "recipient": f"+4670{n:07d}", "kind": "reminder_volunteer",
             "template": "reminder_volunteer", "language": "sv", "body": "",
             "params": texts.encode({"volontär": "Jonas", "senior": f"Senior{n}",
                                     "telefon": "08-123 456 78",
                                     "call_at": (NOW + timedelta(hours=2)).isoformat()}),
             "due_at": NOW - timedelta(minutes=n % 30), "expires_at": NOW + timedelta(hours=2),
             "created_at": NOW, "updated_at": NOW, "status": "pending", "provider": "",
             "error": "", "error_code": "", "attempts": 0, "claimed_by": "", "response": ""}
            for n in range(count)]
    session.execute(sa.insert(Message.__table__), rows)
    session.commit()


def tick_process(database_url: str, now: datetime) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "NOTIFY_BACKEND": "console",
           "DISPATCH_BATCH": "50", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([str(VANRINGEN), "scheduler", "tick", "--now", now.isoformat()],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sent_lines(output: str) -> Counter:
    return Counter(LINE.match(line).group(2) for line in output.splitlines()
                   if LINE.match(line))


def statuses(session) -> Counter:
    session.expire_all()
    return Counter(dict(session.execute(
        sa.select(Message.status, sa.func.count()).group_by(Message.status)).all()))


@pytest.mark.slow
def test_four_clock_processes_send_each_reminder_exactly_once(database_url, session):
    count = 10_000 if POSTGRES else 2_000  # SQLite has one writer at a time anyway
    due_reminders(session, count)
    processes = [tick_process(database_url, NOW) for _ in range(4)]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    sent = sum((sent_lines(out) for out, _err in outputs), Counter())
    assert len(sent) == count and set(sent.values()) == {1}
    assert statuses(session) == {"recorded": count}
    # Each did part of the work: the claims spread it, not one process alone.
    assert sum(1 for out, _err in outputs if sent_lines(out)) >= 2
    assert session.execute(sa.select(sa.func.max(Message.attempts))).scalar() == 1


@pytest.mark.slow
def test_a_process_killed_mid_run_loses_nothing(database_url, session):
    count = 3_000 if POSTGRES else 1_000
    due_reminders(session, count)
    victim = tick_process(database_url, NOW)
    seen = []
    # Let it send some, then freeze it where it holds claims it has not sent yet: between
    # two batches it holds none, so a frozen moment without claims lets it run on a little.
    while True:
        for _ in range(30):
            line = victim.stdout.readline()
            assert line, victim.stderr.read()
            seen.append(line)
        victim.send_signal(signal.SIGSTOP)
        if statuses(session)["claimed"] > 0:
            break
        victim.send_signal(signal.SIGCONT)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    seen.append(victim.stdout.read())  # what it printed before the kill but was not read yet
    victim.stdout.close()
    victim.stderr.close()
    left = statuses(session)
    assert left["claimed"] > 0 and left["recorded"] + left["claimed"] + left["pending"] == count
    assert left["recorded"] >= len(sent_lines("".join(seen))) - 1  # its claims outlive it

    # Within the lease nobody takes them; after it, the next tick does.
    early, _err = tick_process(database_url, NOW + timedelta(seconds=30)).communicate(timeout=600)
    assert statuses(session)["claimed"] == left["claimed"]
    late, err = tick_process(database_url, NOW + timedelta(minutes=5)).communicate(timeout=600)
    assert statuses(session) == {"recorded": count}, err
    sent = sent_lines("".join(seen)) + sent_lines(early) + sent_lines(late)
    assert len(sent) == count
    # At most the one message it was sending when killed can have gone out twice.
    assert sum(n - 1 for n in sent.values()) <= 1
