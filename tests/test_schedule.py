"""Slots and reminder times (vanringen.schedule): pure functions, real time zone data.

The daylight-saving Sundays of 2027 in Europe/Stockholm: 28 March (02:00 → 03:00) and
31 October (03:00 → 02:00).
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from vanringen.config import load_config
from vanringen.schedule import (
    ReminderRules,
    Slot,
    day_part_slot,
    format_slots,
    local_instant,
    occurrences,
    parse_slot,
    parse_slots,
    rules_from_config,
)

TZ = ZoneInfo("Europe/Stockholm")
RULES = ReminderRules(tz=TZ)
SPRING, AUTUMN = date(2027, 3, 28), date(2027, 10, 31)


def local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M %z")


@pytest.mark.parametrize(("text", "code"), [
    ("tue 14:00", "tue 14:00"), ("Tis 14.00", "tue 14:00"), ("tisdag kl 9.30", "tue 09:30"),
    ("fredag kl. 10:30", "fri 10:30"), ("SÖN 18", "sun 18:00"), ("thursday 07:00", "thu 07:00"),
    ("  mån  11:05 ", "mon 11:05"),
])
def test_slots_are_read_as_people_write_them(text, code):
    assert parse_slot(text).code == code


@pytest.mark.parametrize(("text", "message"), [
    ("", "minst en samtalstid"), ("tue", "ogiltig samtalstid 'tue'"),
    ("tuesday 25:00", "ogiltig tid"), ("xyz 14:00", "ogiltig samtalstid"),
    ("tue 03:00", "mellan 07:00 och 22:00"), ("tue 14:00;tis 14.00", "två gånger"),
    ("mon 10:00;tue 10:00;wed 10:00", "högst 2"),
])
def test_bad_slots_say_what_is_wrong_in_swedish(text, message):
    with pytest.raises(ValueError, match=message):
        parse_slots(text)


def test_slots_are_stored_in_weekday_order():
    assert format_slots(parse_slots("fri 10:30; tue 14:00")) == "tue 14:00;fri 10:30"


def test_day_part_slot_uses_the_usual_hour_or_a_time_inside_the_part():
    assert day_part_slot("tue-afternoon") == Slot(1, time(14, 0))
    assert day_part_slot("fri-morning", time(9, 15)) == Slot(4, time(9, 15))
    with pytest.raises(ValueError, match="utanför 17:00–21:00"):
        day_part_slot("wed-evening", time(14, 0))


def test_occurrences_cover_the_window_in_order():
    slots = parse_slots("tue 14:00;fri 10:30")
    found = occurrences(slots, date(2026, 12, 1), date(2026, 12, 15))  # Tue 1 Dec
    assert [(d.isoformat(), s.code) for d, s in found] == [
        ("2026-12-01", "tue 14:00"), ("2026-12-04", "fri 10:30"),
        ("2026-12-08", "tue 14:00"), ("2026-12-11", "fri 10:30")]


@pytest.mark.parametrize("day", [SPRING - timedelta(days=7), SPRING, SPRING + timedelta(days=7),
                                 AUTUMN - timedelta(days=7), AUTUMN, AUTUMN + timedelta(days=7)])
def test_a_call_at_14_is_at_14_local_on_either_side_of_a_clock_change(day):
    call = local_instant(day, time(14, 0), TZ)
    summer = date(2027, 3, 28) <= day < date(2027, 10, 31)
    assert call.utcoffset() == timedelta(0)
    assert call.hour == (12 if summer else 13)
    assert local(call) == f"{day} 14:00 {'+0200' if summer else '+0100'}"
    assert local(RULES.volunteer_reminder(call)).startswith(f"{day} 13:00")
    assert local(RULES.senior_reminder(call)).startswith(f"{day} 09:00")


def test_the_volunteer_lead_is_sixty_real_minutes_across_the_change():
    # 03:30 on the spring Sunday is 01:30 UTC; an hour before is 00:30 UTC = 01:30 local.
    call = local_instant(SPRING, time(3, 30), TZ)
    assert call - RULES.volunteer_lead == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("call", "volunteer", "senior"), [
    (time(14, 0), "12-08 13:00", "12-08 09:00"),
    (time(10, 0), "12-08 09:00", "12-08 09:00"),   # the quiet hours end at 09:00
    (time(9, 30), "12-07 19:00", "12-08 09:00"),   # 08:30 is quiet
    (time(8, 30), "12-07 19:00", "12-07 19:00"),   # the morning text would come after it
    (time(9, 0), "12-07 19:00", "12-07 19:00"),    # at the call is not before the call
    (time(20, 30), "12-08 19:30", "12-08 09:00"),
    (time(21, 30), "12-08 19:00", "12-08 09:00"),  # 20:30 is quiet: earlier that evening
])
def test_reminders_never_fall_in_the_quiet_hours_or_after_the_call(call, volunteer, senior):
    call_at = local_instant(date(2026, 12, 8), call, TZ)
    to_volunteer, to_senior = RULES.volunteer_reminder(call_at), RULES.senior_reminder(call_at)
    assert local(to_volunteer)[5:16] == volunteer and local(to_senior)[5:16] == senior
    for reminder in (to_volunteer, to_senior):
        assert reminder < call_at and not RULES.is_quiet(reminder)


def test_the_evening_before_a_monday_morning_is_sunday_evening_across_a_clock_change():
    call_at = local_instant(date(2027, 11, 1), time(8, 0), TZ)  # the day after AUTUMN
    assert local(RULES.senior_reminder(call_at)) == "2027-10-31 19:00 +0100"


@pytest.mark.parametrize(("now", "call", "expected"), [
    ("12-08 10:00", "12-08 14:00", "12-08 10:30"),
    ("12-08 13:40", "12-08 14:00", None),            # no time left before the call
    ("12-07 19:45", "12-08 14:00", "12-08 09:00"),   # 20:15 is quiet: next morning
    ("12-08 13:00", None, "12-08 13:30"),
])
def test_a_retry_is_later_not_at_night_and_before_the_call(now, call, expected):
    def at(text):
        return local_instant(date(2026, *map(int, text[:5].split("-"))),
                             time(*map(int, text[6:].split(":"))), TZ)

    retry = RULES.retry_at(at(now), at(call) if call else None)
    assert (local(retry)[5:16] if retry else None) == expected


def test_rules_come_from_the_settings():
    rules = rules_from_config(load_config({"VOLUNTEER_REMINDER_MINUTES": 30,
                                           "QUIET_HOURS": "21:00-08:00",
                                           "SENIOR_REMINDER_TIME": "08:30",
                                           "EVENING_REMINDER_TIME": "18:00"}))
    assert rules.volunteer_lead == timedelta(minutes=30)
    assert (rules.quiet_start, rules.quiet_end) == (time(21), time(8))
    assert (rules.senior_at, rules.evening_at) == (time(8, 30), time(18))


@pytest.mark.parametrize(("setting", "message"), [
    ({"QUIET_HOURS": "09:00-20:00"}, "över midnatt"),
    ({"QUIET_HOURS": "20-nine"}, "QUIET_HOURS end"),
    ({"EVENING_REMINDER_TIME": "21:00"}, "EVENING_REMINDER_TIME"),
    ({"SENIOR_REMINDER_TIME": "07:00"}, "SENIOR_REMINDER_TIME"),
    ({"VOLUNTEER_REMINDER_MINUTES": 0}, "större än 0"),
])
def test_contradicting_reminder_settings_stop_start_up(setting, message):
    with pytest.raises(RuntimeError, match=message):
        load_config(setting)
