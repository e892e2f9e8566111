"""Weekly call slots and reminder times: pure functions of the clock, no database, no Flask.

A slot is a weekday and a wall-clock time in the programme's zone. Each occurrence is
turned into a UTC instant from its local date and time, so a call at 14:00 is at 14:00
on the Sundays the clocks change and on the weeks either side. Reminder leads are
subtracted from that instant, so "60 minutes before" stays 60 real minutes.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# What people write in the old spreadsheets: English or Swedish, short or long.
_DAY_WORDS = {
    **{code: i for i, code in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                         "friday", "saturday", "sunday"))},
    **{name: i for i, name in enumerate(("måndag", "tisdag", "onsdag", "torsdag", "fredag",
                                         "lördag", "söndag"))},
    **{name: i for i, name in enumerate(("mån", "tis", "ons", "tor", "fre", "lör", "sön"))},
    "tors": 3, "må": 0, "ti": 1, "on": 2, "to": 3, "fr": 4, "lö": 5, "sö": 6,
}
# Calls are for waking hours; also keeps every call clear of the 02:00–03:00 clock change.
EARLIEST_CALL, LATEST_CALL = time(7, 0), time(22, 0)
# A day part of the matcher's availability, the hours it covers and the usual call time.
DAY_PART_HOURS = {
    "morning": (time(8, 0), time(12, 0), time(10, 0)),
    "afternoon": (time(12, 0), time(17, 0), time(14, 0)),
    "evening": (time(17, 0), time(21, 0), time(18, 30)),
}
MAX_SLOTS = 2

_SLOT_RE = re.compile(r"^\s*([a-zåäö]+)\.?\s+(?:kl\.?\s*)?(\d{1,2})(?:[:.](\d{2}))?\s*$")


@dataclass(frozen=True, order=True)
class Slot:
    weekday: int  # 0 = Monday
    at: time

    @property
    def code(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.at:%H:%M}"

    def __str__(self) -> str:
        return self.code


def parse_time(text: str) -> time:
    """'14:00', '14.00', '9:30' or '14'; ValueError (Swedish) otherwise."""
    match = re.fullmatch(r"\s*(?:kl\.?\s*)?(\d{1,2})(?:[:.](\d{2}))?\s*", text or "")
    if not match:
        raise ValueError(f"ogiltig tid '{text}' (skriv t.ex. 14:00)")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"ogiltig tid '{text}' (skriv t.ex. 14:00)")
    return time(hour, minute)


def check_call_time(at: time) -> time:
    if not EARLIEST_CALL <= at <= LATEST_CALL:
        raise ValueError(f"samtal kan planeras mellan {EARLIEST_CALL:%H:%M} och "
                         f"{LATEST_CALL:%H:%M}, inte {at:%H:%M}")
    return at


def parse_slot(text: str) -> Slot:
    """'tue 14:00', 'tis 14.00', 'Tisdag kl 9.30' …; ValueError (Swedish) otherwise."""
    match = _SLOT_RE.match((text or "").lower())
    if not match or match.group(1) not in _DAY_WORDS:
        raise ValueError(f"ogiltig samtalstid '{(text or '').strip()}' "
                         "(skriv veckodag och klockslag, t.ex. tue 14:00)")
    at = parse_time(f"{match.group(2)}:{match.group(3) or '00'}")
    return Slot(_DAY_WORDS[match.group(1)], check_call_time(at))


def parse_slots(text: str | None) -> list[Slot]:
    """One or two slots separated by ';', each once, in weekday order."""
    slots = [parse_slot(part) for part in (text or "").split(";") if part.strip()]
    if not slots:
        raise ValueError("minst en samtalstid krävs (t.ex. tue 14:00)")
    if len(set(slots)) != len(slots):
        raise ValueError("samma samtalstid står två gånger")
    if len(slots) > MAX_SLOTS:
        raise ValueError(f"högst {MAX_SLOTS} samtalstider i veckan")
    return sorted(slots)


def format_slots(slots) -> str:
    return ";".join(slot.code for slot in sorted(slots))


def day_part_slot(day_part_code: str, at: time | None = None) -> Slot:
    """A slot inside one of the matcher's day parts ('tue-afternoon'), at its usual hour
    unless a time inside the part is given."""
    day, part = day_part_code.split("-")
    start, end, usual = DAY_PART_HOURS[part]
    at = usual if at is None else at
    if not start <= at <= end:
        raise ValueError(f"{at:%H:%M} ligger utanför {start:%H:%M}–{end:%H:%M}")
    return Slot(WEEKDAYS.index(day), at)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local date."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def occurrences(slots, start: date, end: date) -> list[tuple[date, Slot]]:
    """Every (local date, slot) from `start` up to, not including, `end`."""
    found = []
    day = start
    while day < end:
        found += [(day, slot) for slot in slots if slot.weekday == day.weekday()]
        day += timedelta(days=1)
    return sorted(found, key=lambda item: (item[0], item[1].at))


# ---------------------------------------------------------------- reminders

@dataclass(frozen=True)
class ReminderRules:
    tz: ZoneInfo
    volunteer_lead: timedelta = timedelta(minutes=60)
    senior_at: time = time(9, 0)
    quiet_start: time = time(20, 0)  # quiet hours run over midnight
    quiet_end: time = time(9, 0)
    evening_at: time = time(19, 0)
    retry_after: timedelta = timedelta(minutes=30)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def is_quiet(self, moment: datetime) -> bool:
        clock = self.local(moment).time()
        return clock >= self.quiet_start or clock < self.quiet_end

    def evening_before(self, moment: datetime) -> datetime:
        """The evening reminder time before the quiet hours that hold `moment`."""
        local = self.local(moment)
        day = local.date() if local.time() >= self.quiet_start else \
            local.date() - timedelta(days=1)
        return local_instant(day, self.evening_at, self.tz)

    def _settle(self, call_at: datetime, wanted: datetime) -> datetime:
        # Never at night and never after the call: then the evening before it.
        if wanted >= call_at:
            return local_instant(self.local(call_at).date() - timedelta(days=1),
                                 self.evening_at, self.tz)
        return self.evening_before(wanted) if self.is_quiet(wanted) else wanted

    def volunteer_reminder(self, call_at: datetime) -> datetime:
        return self._settle(call_at, call_at - self.volunteer_lead)

    def senior_reminder(self, call_at: datetime) -> datetime:
        morning = local_instant(self.local(call_at).date(), self.senior_at, self.tz)
        return self._settle(call_at, morning)

    def retry_at(self, now: datetime, call_at: datetime | None) -> datetime | None:
        """When to try an undelivered reminder again: later, not at night, before the call;
        None when that leaves no time."""
        wanted = now + self.retry_after
        if self.is_quiet(wanted):
            local = self.local(wanted)
            day = local.date() + timedelta(days=1) if local.time() >= self.quiet_start \
                else local.date()
            wanted = local_instant(day, self.quiet_end, self.tz)
        if call_at is not None and wanted >= call_at:
            return None
        return wanted


def _clock(values: dict, name: str) -> time:
    try:
        return parse_time(values[name])
    except ValueError:
        raise RuntimeError(f"{name}={values[name]!r}: skriv en tid som 09:00") from None


def rules_from_config(values: dict) -> ReminderRules:
    """The reminder rules from settings; RuntimeError (Swedish) for times that contradict."""
    start_text, _, end_text = values["QUIET_HOURS"].partition("-")
    quiet = {"QUIET_HOURS start": start_text, "QUIET_HOURS end": end_text}
    quiet_start, quiet_end = (_clock(quiet, name) for name in quiet)
    rules = ReminderRules(
        tz=ZoneInfo(values["TIMEZONE"]),
        volunteer_lead=timedelta(minutes=values["VOLUNTEER_REMINDER_MINUTES"]),
        senior_at=_clock(values, "SENIOR_REMINDER_TIME"), quiet_start=quiet_start,
        quiet_end=quiet_end, evening_at=_clock(values, "EVENING_REMINDER_TIME"),
        retry_after=timedelta(minutes=values["REMINDER_RETRY_MINUTES"]))
    if not quiet_end < quiet_start:
        raise RuntimeError("QUIET_HOURS ska gå över midnatt, t.ex. 20:00-09:00.")
    for name, clock in (("EVENING_REMINDER_TIME", rules.evening_at),
                        ("SENIOR_REMINDER_TIME", rules.senior_at)):
        if not quiet_end <= clock < quiet_start:
            raise RuntimeError(f"{name} ({clock:%H:%M}) ligger inom QUIET_HOURS "
                               f"({values['QUIET_HOURS']}).")
    if rules.volunteer_lead <= timedelta(0) or rules.retry_after <= timedelta(0):
        raise RuntimeError("VOLUNTEER_REMINDER_MINUTES och REMINDER_RETRY_MINUTES ska vara "
                           "större än 0.")
    return rules
