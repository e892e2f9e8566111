"""A national programme's calls, their log entries and reminders (support/national.py)."""

import random
from datetime import UTC, date, datetime, timedelta

from .rows import AHEAD_DAYS, NOW, REMINDER_DAYS, TZ, Loader, line

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Calls:
    """Every pair's calls, what became of them and their reminders, written as COPY rows in
    time order at the end (`write_all`), numbered in that order: as the planner and the
    volunteers' reports make them, so that a week's rows sit together as in production."""

    def __init__(self, loader: Loader, rng: random.Random):
        self.loader, self.rng = loader, rng
        self.local_cache: dict[tuple[date, str], datetime] = {}
        today = NOW.astimezone(TZ).date()
        self.monday = today - timedelta(days=today.weekday())
        # [scheduled_at, pair, slot, day, status, id, senior, volunteer]; a log names its call.
        self.calls: list[list] = []
        self.logs: list[list] = []

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

    def add(self, pair_id: int, senior: tuple, volunteer: tuple, slots: list[str], *,
            start: datetime, end: datetime, call_in: bool, pauses=(),
            gap_since: datetime | None = None, silent_since: datetime | None = None,
            streak: int = 0) -> None:
        """A pair's scheduled calls from start to end (planned ahead when end is after now)
        and their log entries: mostly held, reported by the volunteer; `gap_since` no held
        call since; `silent_since` nothing reported by the volunteer since; `streak` that many
        no-answers last. `senior` and `volunteer` are (id, phone)."""
        rng, logs, volunteer_id = self.rng, [], volunteer[0]
        for slot, day, at in self.occurrences(slots, start, end):
            paused = any(first <= day < resumes for first, resumes in pauses)
            status = "skipped" if paused else ("cancelled" if rng.random() < 0.01 else
                                               "planned")
            call = [at, pair_id, slot, day, status, None, senior, volunteer]
            self.calls.append(call)
            if status != "planned" or at > NOW:
                continue
            if NOW - at < timedelta(days=2) and rng.random() < 0.5:
                continue  # not reported yet
            logs.append(self._log(call, at, volunteer_id, gap_since, silent_since))
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
                             volunteer_id if by_volunteer else None, None, pair_id])
        logs.sort(key=lambda log: log[1])
        for log in logs[len(logs) - streak:] if streak else ():
            log[2], log[3] = "no_answer", None
        self.logs += logs

    def _log(self, call: list, at: datetime, volunteer_id: int, gap_since, silent_since):
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
        return [call, at, outcome, rng.randint(8, 75) if outcome == "held" else None,
                source, by_volunteer, 1 if source == "coordinator" else None, call[1]]

    def write_all(self) -> None:
        """The calls, then the log entries, each in time order; the reminders of the last
        and next two weeks' calls. Flushes every 100 000 rows."""
        self.calls.sort(key=lambda call: (call[0], call[1]))
        reminders_from = NOW - timedelta(days=REMINDER_DAYS)
        for n, call in enumerate(self.calls, 1):
            at, pair_id, slot, day, status, _id, senior, volunteer = call
            call[5] = self.loader.next_id("scheduled_call")
            self.loader.add("scheduled_call", line(
                call[5], pair_id, slot, day, at, status, "paus" if status == "skipped" else "",
                at, at))
            if status == "planned" and at > reminders_from:
                self._reminders(call[5], at, senior, volunteer)
            if n % 100_000 == 0:
                self.loader.flush()
        self.logs.sort(key=lambda log: log[1])
        for n, (call, at, outcome, minutes, source, by_volunteer, by_staff, pair_id) in \
                enumerate(self.logs, 1):
            log_id = self.loader.next_id("call_log")
            provider = f"CA{log_id:032x}" if source == "bridge" else None
            self.loader.add("call_log", line(
                log_id, pair_id, call[5] if call else None, outcome, minutes, at, source, "",
                "", provider, by_volunteer, by_staff, at, at))
            if n % 100_000 == 0:
                self.loader.flush()
        self.calls, self.logs = [], []

    def _reminders(self, call_id: int, at: datetime, senior: tuple, volunteer: tuple) -> None:
        """The volunteer's SMS an hour before and the senior's SMS in the morning; a few
        never arrived."""
        for kind, person, due in (("reminder_volunteer", volunteer, at - timedelta(hours=1)),
                                  ("reminder_senior_sms", senior, at.replace(hour=8, minute=0))):
            sent = due <= NOW
            status = ("pending" if not sent else
                      "undelivered" if self.rng.random() < 0.02 else "delivered")
            self.loader.add("message", line(
                self.loader.next_id("message"), "sms", person[1], "Påminnelse", kind, status,
                "twilio" if sent else "", "Kom inte fram" if status == "undelivered" else "",
                1 if sent else 0,
                person[0] if kind != "reminder_volunteer" else None,
                person[0] if kind == "reminder_volunteer" else None, call_id, kind, "sv", "{}",
                due, due - timedelta(days=AHEAD_DAYS), due if sent else None,
                due + timedelta(minutes=1) if sent else due - timedelta(days=AHEAD_DAYS)))
