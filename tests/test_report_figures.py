"""The funder's report figures (vanringen/report_figures.py, report_groups.py) against a small
programme seeded here and counted by hand: a year, its edges in Stockholm time, a DST week,
the waiting list over time, every breakdown, and small-group suppression.

`programme()` is shared with test_report_export.py.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vanringen.models import CallLog, Pair, PersonEvent, ScheduledCall, Senior, Volunteer
from vanringen.report_figures import compute_report
from vanringen.report_groups import median, suppress

TZ = ZoneInfo("Europe/Stockholm")
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
AFTER = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)  # the whole year is past


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


# Everything personal the programme holds: no export may contain any of it.
SENIORS = {  # name: gender, district, referral, languages, born, created (UTC)
    "Astrid": ("female", "Bromma", "hemtjanst", "sv", 1940, "2025-10-01 09:00"),
    "Bertil": ("male", "Farsta", "anhorig", "sv;fi", 1950, "2026-01-05 10:00"),
    "Cecilia": ("female", None, "sjalv", "sv", 1930, "2026-02-01 09:00"),
    "Dagny": ("female", "Södermalm", "hemtjanst", "sv", 1944, "2026-09-01 09:00"),
    "Erik": ("other", "Bromma", "vardcentral", "ar", 1958, "2026-12-31 21:30"),
    "Frida": ("female", "Kungsholmen", "sjalv", "sv", 1945, "2027-01-02 09:00"),
    "Gunnar": ("male", "Järva", "annan", "sv;so", None, "2026-08-01 09:00"),
    "Hilda": ("okänt", "Farsta", "hemtjanst", "sv", 1935, "2025-01-01 09:00"),
}
VOLUNTEERS = {  # name: gender, languages, born, applied, approved (UTC)
    "Vera": ("female", "sv;en", 1990, "2025-11-01 09:00", "2025-12-01 09:00"),
    "Viktor": ("male", "sv", 2000, "2026-01-10 10:00", "2026-02-09 10:00"),
    "Vanja": ("other", "fi;sv", 1960, "2026-03-01 09:00", "2026-03-11 09:00"),
    "Valter": ("male", "sv", None, "2026-12-20 09:00", "2027-01-05 09:00"),
    "Vilgot": ("male", "sv", 1980, "2026-05-05 09:00", "2026-05-05 09:00"),  # imported
}
LAST_NAME = "Qvarnström"


def phone(n: int) -> str:
    return f"+4670555{n:04d}"


def email(name: str) -> str:
    return f"{name.lower()}.{LAST_NAME.lower()}@exempel.se"


class Programme:
    def __init__(self, session):
        self.session = session
        self.seniors, self.volunteers, self.pairs = {}, {}, {}

    def add(self, row):
        self.session.add(row)
        self.session.flush()
        return row

    def event(self, senior, before, after, when):
        self.add(PersonEvent(senior_id=self.seniors[senior].id, action="status",
                             from_status=before, to_status=after, at=utc(when)))

    def pair(self, key, senior, volunteer, started, ended=None, reason=""):
        self.pairs[key] = self.add(Pair(
            senior_id=self.seniors[senior].id, volunteer_id=self.volunteers[volunteer].id,
            started_at=utc(started), ended_at=utc(ended) if ended else None,
            status="ended" if ended else "active", end_reason=reason, call_times="tue 14:00"))

    def call(self, pair, when, status="planned", outcome=None, minutes=None):
        """A planned call at local time `when`, and what became of it."""
        moment = local(when)
        call = self.add(ScheduledCall(pair_id=self.pairs[pair].id, slot="tue 14:00",
                                      occurs_on=moment.astimezone(TZ).date(),
                                      scheduled_at=moment, status=status))
        if outcome:
            self.add(CallLog(pair_id=self.pairs[pair].id, call_id=call.id, outcome=outcome,
                             minutes=minutes, occurred_at=moment, source="sms"))


def programme(session) -> Programme:
    """Eight seniors, five volunteers, six pairs and their calls around the year 2026."""
    p = Programme(session)
    statuses = {"Astrid": "matched", "Bertil": "matched", "Cecilia": "ended",
                "Gunnar": "matched"}
    for n, (name, (gender, district, referral, languages, born, created)) in \
            enumerate(SENIORS.items()):
        p.seniors[name] = p.add(Senior(
            first_name=name, last_name=LAST_NAME, phone=phone(n), gender=gender,
            district=district, referral_source=referral, languages=languages,
            birth_year=born, status=statuses.get(name, "waiting"), waiting_since=utc(created),
            created_at=utc(created), updated_at=utc(created)))
    for n, (name, (gender, languages, born, applied, approved)) in \
            enumerate(VOLUNTEERS.items()):
        p.volunteers[name] = p.add(Volunteer(
            first_name=name, last_name=LAST_NAME, phone=phone(50 + n), email=email(name),
            gender=gender, languages=languages, birth_year=born, status="approved",
            capacity=2, created_at=utc(applied), approved_at=utc(approved)))
    # Hilda's first pair ended at 23:00 local on New Year's Eve 2025: not active in 2026.
    p.event("Hilda", None, "waiting", "2025-01-01 09:00")
    p.pair("P0", "Hilda", "Vera", "2025-02-01 09:00", "2025-12-31 22:00", "no_click")
    p.event("Hilda", "waiting", "matched", "2025-02-01 09:00")
    p.event("Hilda", "matched", "waiting", "2025-12-31 22:00")
    # Astrid has no history at all (as demo data): she waited from her creation.
    p.pair("P1", "Astrid", "Vera", "2025-12-15 12:00")
    # Bertil: paired after 40 days, the pair ended, then 10 more days of waiting.
    p.event("Bertil", None, "waiting", "2026-01-05 10:00")
    p.pair("P2", "Bertil", "Viktor", "2026-02-14 10:00", "2026-06-30 12:00",
           "volunteer_stopped")
    p.pair("P3", "Bertil", "Vanja", "2026-07-10 12:00")
    # Cecilia paused for a month (not on the list, still her place kept), then paired.
    p.event("Cecilia", None, "waiting", "2026-02-01 09:00")
    p.event("Cecilia", "waiting", "paused", "2026-03-01 09:00")
    p.event("Cecilia", "paused", "waiting", "2026-04-01 09:00")
    p.pair("P4", "Cecilia", "Vera", "2026-05-01 12:00", "2026-11-15 12:00", "passed_away")
    p.event("Cecilia", "waiting", "matched", "2026-05-01 12:00")
    p.event("Dagny", None, "waiting", "2026-09-01 09:00")
    # Gunnar's pair was imported in August with the date it really began, in March.
    p.event("Gunnar", None, "waiting", "2026-08-01 09:00")
    p.event("Gunnar", "waiting", "matched", "2026-08-01 09:00")
    p.pair("P5", "Gunnar", "Vilgot", "2026-03-01 12:00")

    p.call("P1", "2025-12-31 23:30", outcome="held", minutes=20)
    p.call("P1", "2026-01-01 00:30", outcome="held", minutes=30)
    p.call("P1", "2026-03-03 14:00", outcome="held", minutes=40)
    p.call("P1", "2026-03-10 14:00", outcome="no_answer")
    p.call("P1", "2026-03-17 14:00")
    p.call("P1", "2026-03-24 14:00", status="skipped")  # a paused day
    p.call("P1", "2026-04-07 14:00", status="cancelled")
    # The DST week: clocks went forward on Sunday 29 March.
    p.call("P2", "2026-03-29 23:30", outcome="held", minutes=15)
    p.call("P2", "2026-03-30 00:30", outcome="held", minutes=25)
    p.call("P3", "2026-07-14 14:00", outcome="held")  # minutes not reported
    p.call("P3", "2026-12-20 14:00", outcome="cancelled_senior")
    p.call("P3", "2026-12-31 23:30", outcome="held", minutes=50)
    p.call("P3", "2027-01-01 00:30", outcome="held", minutes=35)
    # A call through the programme's number, outside the plan.
    p.add(CallLog(pair_id=p.pairs["P5"].id, outcome="held", minutes=10,
                  occurred_at=local("2026-04-15 10:00"), source="bridge"))
    session.commit()
    return p


def report(session, start=YEAR[0], end=YEAR[1], *, min_group=1, now=AFTER):
    return compute_report(start, end, session=session, tz=TZ, min_group=min_group, now=now)


@pytest.fixture
def seeded(session):
    return programme(session)


def figures(*values) -> dict:
    return dict(zip(("participants", "reached", "waiting", "calls_held", "call_minutes"),
                    values, strict=True))


def volunteer_figures(*values) -> dict:
    return dict(zip(("participants", "active", "approved", "calls_held", "call_minutes"),
                    values, strict=True))


def test_the_totals_of_a_year(session, seeded):
    found = report(session)
    assert found["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert found["min_group"] == 1
    assert found["totals"] == {
        "active_pairs": 5, "new_pairs": 4, "ended_pairs": 2,
        # 00:30 on 1 January and 23:30 on 31 December; not the skipped or cancelled ones.
        "calls_planned": 9, "calls_held": 7, "calls_missed": 3,
        "call_minutes_total": 170, "call_minutes_median": 27.5,
        "seniors_reached": 3, "volunteers_active": 4, "seniors_waiting_at_end": 3,
        # Bertil 40 and 10 days, Cecilia 89 (her pause did not restart it); Gunnar's
        # imported pair is left out.
        "senior_wait_days_median": 40.0, "senior_wait_days_longest": 89,
        # Viktor 30 days, Vanja 10; Vilgot was imported approved.
        "volunteer_approval_days_median": 20.0, "volunteer_approval_days_longest": 30,
    }
    assert found["ended_reasons"] == {"moved_to_care": 0, "passed_away": 1,
                                      "volunteer_stopped": 1, "no_click": 0, "other": 0}


def test_new_years_eve_belongs_to_its_year(session, seeded):
    before = report(session, date(2025, 1, 1), date(2025, 12, 31))
    # Only the call at 23:30 local on 31 December 2025 (22:30 UTC); Hilda's pair ended
    # at 23:00 local that evening.
    assert before["totals"]["calls_held"] == before["totals"]["calls_planned"] == 1
    assert before["totals"]["call_minutes_total"] == 20
    assert before["totals"]["ended_pairs"] == 1
    assert before["ended_reasons"]["no_click"] == 1
    assert before["calls_per_week"][-1] == {"week": "2026-W01", "start": "2025-12-29",
                                            "planned": 1, "held": 1, "missed": 0}
    after = report(session, date(2027, 1, 1), date(2027, 1, 31))
    assert after["totals"]["calls_held"] == 1 and after["totals"]["call_minutes_total"] == 35
    # Erik, on the list at 22:30 local on 31 December, is waiting at the end of 2026.
    day = report(session, date(2026, 12, 31), date(2026, 12, 31))
    assert day["waiting_over_time"] == [{"date": "2026-12-31", "waiting": 3}]


def test_calls_per_week_in_local_weeks(session, seeded):
    weeks = report(session)["calls_per_week"]
    assert len(weeks) == 53  # 2026-W01 (from 29 December 2025) to 2026-W53
    assert weeks[0]["week"] == "2026-W01" and weeks[0]["start"] == "2025-12-29"
    assert weeks[-1]["week"] == "2026-W53" and weeks[-1]["start"] == "2026-12-28"
    busy = {w["week"]: (w["planned"], w["held"], w["missed"]) for w in weeks
            if w["planned"] or w["held"]}
    assert busy == {
        "2026-W01": (1, 1, 0), "2026-W10": (1, 1, 0), "2026-W11": (1, 0, 1),
        "2026-W12": (1, 0, 1),
        # Sunday 23:30 CEST is still week 13; Monday 00:30 CEST (Sunday 22:30 UTC) is 14.
        "2026-W13": (1, 1, 0), "2026-W14": (1, 1, 0),
        "2026-W16": (0, 1, 0), "2026-W29": (1, 1, 0), "2026-W51": (1, 0, 1),
        "2026-W53": (1, 1, 0),
    }
    assert [w["start"] for w in weeks[12:14]] == ["2026-03-23", "2026-03-30"]


def test_planned_calls_count_up_to_now(session, seeded):
    found = report(session, now=local("2026-03-20 12:00"))
    totals = found["totals"]
    assert (totals["calls_planned"], totals["calls_missed"]) == (4, 2)
    # Up to today: each Sunday so far, then today. Cecilia is paused, Bertil paired.
    assert found["waiting_over_time"][-2:] == [{"date": "2026-03-15", "waiting": 1},
                                               {"date": "2026-03-20", "waiting": 1}]
    assert totals["seniors_waiting_at_end"] == 1


def test_the_waiting_list_at_each_weeks_end(session, seeded):
    points = report(session)["waiting_over_time"]
    sundays = [date(2026, 1, 4) + timedelta(weeks=n) for n in range(52)]
    assert [p["date"] for p in points] == [d.isoformat() for d in sundays] + ["2026-12-31"]
    # From each date on (end of day), this many waited: Hilda all year; Bertil 5 Jan-
    # 14 Feb and 30 Jun-10 Jul; Cecilia 1 Feb-1 Mar and 1 Apr-1 May; Dagny from 1 Sep;
    # Erik from the last evening.
    changes = [(date(2026, 1, 1), 1), (date(2026, 1, 5), 2), (date(2026, 2, 1), 3),
               (date(2026, 2, 14), 2), (date(2026, 3, 1), 1), (date(2026, 4, 1), 2),
               (date(2026, 5, 1), 1), (date(2026, 6, 30), 2), (date(2026, 7, 10), 1),
               (date(2026, 9, 1), 2), (date(2026, 12, 31), 3)]
    expected = [max(c for c in changes if c[0] <= day)[1]
                for day in [*sundays, date(2026, 12, 31)]]
    assert [p["waiting"] for p in points] == expected


def test_every_senior_breakdown(session, seeded):
    seniors = report(session)["seniors"]
    assert list(seniors) == ["gender", "district", "referral_source", "language", "age_band"]
    assert seniors["gender"] == {
        "female": figures(2, 1, 1, 2, 70), "male": figures(2, 2, 0, 5, 100),
        "other": figures(0, 0, 1, 0, 0), "unknown": figures(0, 0, 1, 0, 0)}
    districts = {k: v for k, v in seniors["district"].items() if any(v.values())}
    assert districts == {
        "Bromma": figures(1, 1, 1, 2, 70), "Farsta": figures(1, 1, 1, 4, 90),
        "Järva": figures(1, 1, 0, 1, 10), "Södermalm": figures(0, 0, 1, 0, 0),
        "unknown": figures(1, 0, 0, 0, 0)}
    assert len(seniors["district"]) == 12 and seniors["district"]["Skarpnäck"] == figures(
        0, 0, 0, 0, 0)
    assert seniors["referral_source"] == {
        "hemtjanst": figures(1, 1, 2, 2, 70), "vardcentral": figures(0, 0, 1, 0, 0),
        "anhorig": figures(1, 1, 0, 4, 90), "sjalv": figures(1, 0, 0, 0, 0),
        "bistandshandlaggare": figures(0, 0, 0, 0, 0), "annan": figures(1, 1, 0, 1, 10),
        "unknown": figures(0, 0, 0, 0, 0)}
    # A person counts in each of their languages.
    assert seniors["language"] == {
        "sv": figures(4, 3, 2, 7, 170), "fi": figures(1, 1, 0, 4, 90),
        "ar": figures(0, 0, 1, 0, 0), "so": figures(1, 1, 0, 1, 10)}
    # Ages reached in 2026.
    assert seniors["age_band"] == {
        "-69": figures(0, 0, 1, 0, 0), "70-79": figures(1, 1, 0, 4, 90),
        "80-89": figures(1, 1, 1, 2, 70), "90-": figures(1, 0, 1, 0, 0),
        "unknown": figures(1, 1, 0, 1, 10)}


def test_every_volunteer_breakdown(session, seeded):
    volunteers = report(session)["volunteers"]
    assert volunteers == {
        "gender": {"female": volunteer_figures(1, 1, 0, 2, 70),
                   "male": volunteer_figures(2, 2, 1, 3, 50),
                   "other": volunteer_figures(1, 1, 1, 2, 50),
                   "unknown": volunteer_figures(0, 0, 0, 0, 0)},
        "language": {"sv": volunteer_figures(4, 4, 2, 7, 170),
                     "fi": volunteer_figures(1, 1, 1, 2, 50),
                     "en": volunteer_figures(1, 1, 0, 2, 70)},
        "age_band": {"-29": volunteer_figures(1, 1, 1, 2, 40),
                     "30-44": volunteer_figures(1, 1, 0, 2, 70),
                     "45-64": volunteer_figures(1, 1, 0, 1, 10),
                     "65-": volunteer_figures(1, 1, 1, 2, 50),
                     "unknown": volunteer_figures(0, 0, 0, 0, 0)},
    }


def test_small_groups_are_suppressed(session, seeded):
    found = report(session, min_group=5)
    totals = found["totals"]
    assert [totals[k] for k in ("seniors_reached", "volunteers_active",
                                "seniors_waiting_at_end", "senior_wait_days_median",
                                "senior_wait_days_longest", "volunteer_approval_days_median",
                                "volunteer_approval_days_longest")] == [None] * 7
    # Pairs and calls are not people: shown.
    assert (totals["active_pairs"], totals["calls_held"], totals["call_minutes_total"],
            totals["call_minutes_median"]) == (5, 7, 170, 27.5)
    assert found["ended_reasons"] == {"moved_to_care": 0, "passed_away": None,
                                      "volunteer_stopped": None, "no_click": 0, "other": 0}
    hidden = dict.fromkeys(("participants", "reached", "waiting", "calls_held",
                            "call_minutes"))
    assert found["seniors"]["gender"] == {
        "female": hidden, "male": hidden,
        "other": figures(0, 0, None, 0, 0), "unknown": figures(0, 0, None, 0, 0)}
    assert found["volunteers"]["language"]["sv"] == dict.fromkeys(
        ("participants", "active", "approved", "calls_held", "call_minutes"))
    assert {p["waiting"] for p in found["waiting_over_time"]} == {None}


def test_only_small_groups_are_hidden(session, seeded):
    gender = report(session, min_group=2)["seniors"]["gender"]
    # Women reached: 1, hidden; the men's 2 stays: no second group is hidden to cover it.
    assert gender["female"] == figures(2, None, None, 2, 70)
    assert gender["male"] == figures(2, 2, 0, 5, 100)
    assert gender["other"]["waiting"] is gender["unknown"]["waiting"] is None


def test_suppression_rules():
    table = {"a": {"participants": 12, "calls_held": 40},
             "b": {"participants": 3, "calls_held": 9},
             "c": {"participants": 7, "calls_held": 20},
             "d": {"participants": 0, "calls_held": 0}}
    assert suppress(table, 5) == {
        "a": {"participants": 12, "calls_held": 40},
        # 3 people: every figure of the group goes with them
        "b": {"participants": None, "calls_held": None},
        # the next smallest is not hidden to cover them: 7 is shown as 7, never as "<5"
        "c": {"participants": 7, "calls_held": 20},
        "d": {"participants": 0, "calls_held": 0}}
    # A small count of another measure hides only that figure; zero is never hidden.
    mixed = {"a": {"participants": 12, "waiting": 9}, "b": {"participants": 8, "waiting": 2},
             "c": {"participants": 0, "waiting": 0}}
    assert suppress(mixed, 5) == {
        "a": {"participants": 12, "waiting": 9}, "b": {"participants": 8, "waiting": None},
        "c": {"participants": 0, "waiting": 0}}
    assert suppress(mixed, 1) == mixed


def test_median_of_a_distribution():
    assert median([]) is None
    assert median([(7, 1)]) == 7.0
    assert median([(10, 1), (40, 1), (89, 1)]) == 40.0
    assert median([(10, 2), (30, 2)]) == 20.0
    assert median([(10, 1), (15, 1), (25, 1), (30, 1), (40, 1), (50, 1)]) == 27.5
    assert median([(1, 5), (100, 1)]) == 1.0


def test_an_empty_programme(session):
    found = report(session, min_group=5)
    assert found["totals"]["active_pairs"] == found["totals"]["calls_held"] == 0
    assert found["totals"]["call_minutes_median"] is None
    assert found["totals"]["senior_wait_days_median"] is None
    assert found["seniors"]["language"] == {}
    assert {p["waiting"] for p in found["waiting_over_time"]} == {0}


def test_five_years_fit_every_backend(session, seeded):
    found = report(session, date(2022, 1, 1), date(2026, 12, 31))
    # 2021-W52 (Saturday 1 January 2022 is in it), 52 weeks a year, and 2026-W53.
    assert len(found["calls_per_week"]) == 1 + 4 * 52 + 53
    assert found["totals"]["calls_held"] == 8  # with 23:30 on New Year's Eve 2025
