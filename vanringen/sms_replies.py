"""A volunteer's reply to the reminder SMS: `JA 25` (held, 25 minutes), `NEJ` (did not
happen) or `FLYTTA tor 15:00` (move the next call), read as leniently as people write them.

`parse` is pure: it only reads the words. `answer` finds the call a reply is about, logs
it or moves it, and says what to text back. Anything it does not understand gets a help
text, and the webhook keeps the SMS for a coordinator. Nothing here commits.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from . import texts
from .call_log import MAX_MINUTES, OutcomeError, log_of, raise_concern, record_outcome
from .call_plans import PlanError, move_call
from .models import CallLog, Message, Pair, ScheduledCall, Senior, Volunteer
from .schedule import EARLIEST_CALL, LATEST_CALL, local_instant

YES = {"ja", "jaa", "jaaa", "jo", "japp", "jepp", "jajamän", "ok", "okej", "okey", "okay",
       "oki", "yes", "klart"}
NO = {"nej", "nä", "nää", "näe", "nope", "no"}
MOVE = {"flytta", "flytt"}
HOUR_WORDS = {"h", "t", "tim", "timme", "timma", "timmar", "tim."}
# Words around a report that say nothing more than the report itself.
FILLER = {"min", "mins", "minut", "minuter", "m", "ca", "cirka", "c", "ungefär", "typ", "runt",
          "tack", "tyvärr", "det", "blev", "bra", "och", "kl", "klockan", "till", "på", "den",
          "nästa", "samtalet", "vi", "pratade", "gick", "en", "ett"} | HOUR_WORDS
WORD_NUMBERS = {"en": 1, "ett": 1, "två": 2, "tre": 3}
WEEKDAY_WORDS = {
    **{w: i for i, w in enumerate(("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag",
                                   "söndag"))},
    **{w: i for i, w in enumerate(("mån", "tis", "ons", "tor", "fre", "lör", "sön"))},
    **{w: i for i, w in enumerate(("mandag", "tisdag", "onsdag", "torsdag", "fredag", "lordag",
                                   "sondag"))},
    "man": 0, "tors": 3, "lor": 5, "son": 6,
}
# A sentence, not a report: a coordinator reads it rather than the parser guessing.
MAX_REMARK_WORDS = 8
# How far back an unlogged call is still the one a late "JA" is about.
LATE_REPORT_DAYS = 7
MAX_MOVE_DAYS = 28

# A volunteer who writes that they are worried has raised a concern, whatever else the SMS
# says: it must reach a coordinator as an urgent task, not wait among ordinary replies.
WORRY = re.compile(r"\b(?:oro\w*|bekymr\w*)", re.IGNORECASE)
_TOKEN = re.compile(r"\d{1,2}/\d{1,2}|\d+(?:[:.,]\d+)?|[a-zåäöéü]+")


@dataclass(frozen=True)
class Reply:
    """What a reply says. action: held | no_answer | move | help."""

    action: str
    minutes: int | None = None
    remark: bool = False  # words beyond the report: a coordinator should read them
    weekday: int | None = None
    days_ahead: int | None = None  # 0 today, 1 tomorrow
    day_month: tuple[int, int] | None = None
    at: time | None = None


HELP = Reply("help")


def _tokens(body: str) -> list[str]:
    text = (body or "").lower()
    text = re.sub(r"\bi\s+dag\b", "idag", text)
    text = re.sub(r"\bi\s*(?:morgon|morn|morrn)\b", "imorgon", text)
    return _TOKEN.findall(text)


def parse(body: str) -> Reply:
    words = _tokens(body)
    if not words:
        return HELP
    first, rest = words[0], words[1:]
    if re.fullmatch(r"ja+", first) or first in YES:
        return _held(rest)
    if first in NO:
        remark = [w for w in rest if w not in FILLER]
        return HELP if len(remark) > MAX_REMARK_WORDS else Reply("no_answer", remark=bool(remark))
    if first in MOVE:
        return _move(rest)
    return HELP


def _number(word: str) -> float | None:
    if word in WORD_NUMBERS:
        return WORD_NUMBERS[word]
    if re.fullmatch(r"\d+(?:[.,]\d+)?", word):
        return float(word.replace(",", "."))
    return None


def _held(rest: list[str]) -> Reply:
    minutes, used = None, set()
    for i, word in enumerate(rest):
        nxt = rest[i + 1] if i + 1 < len(rest) else ""
        value = None
        if word in ("halvtimme", "halvtimma"):
            value = 30
        elif word == "kvart":
            value = 15
        elif (number := _number(word)) is not None:
            if nxt in HOUR_WORDS:
                value = number * 60
            elif word in WORD_NUMBERS:
                continue  # "en" alone is a word, not a duration
            elif number != int(number) or ":" in word:
                return HELP
            else:
                value = number
        if value is None:
            continue
        if minutes is not None:
            return HELP  # two figures: which one?
        minutes = int(round(value))
        used.add(i)
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        return HELP
    remark = [w for i, w in enumerate(rest) if i not in used and w not in FILLER
              and w not in ("halvtimme", "halvtimma", "kvart")]
    if len(remark) > MAX_REMARK_WORDS:
        return HELP
    return Reply("held", minutes=minutes, remark=bool(remark))


def _clock(word: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?|(\d{2})(\d{2})", word)
    if not match:
        return None
    hour = int(match.group(1) or match.group(3))
    minute = int(match.group(2) or match.group(4) or 0)
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def _move(rest: list[str]) -> Reply:
    day: dict = {}
    at = None
    for word in rest:
        if word in FILLER:
            continue
        if word in WEEKDAY_WORDS and not day:
            day = {"weekday": WEEKDAY_WORDS[word]}
        elif word in ("idag", "imorgon") and not day:
            day = {"days_ahead": 0 if word == "idag" else 1}
        elif "/" in word and not day:
            d, m = (int(n) for n in word.split("/"))
            day = {"day_month": (d, m)}
        elif at is None and (clock := _clock(word)) is not None:
            at = clock
        else:
            return HELP
    if not day or at is None:
        return HELP
    return Reply("move", at=at, **day)


def move_date(reply: Reply, today: date) -> date:
    """The day a FLYTTA means, counted from `today`; ValueError (Swedish) for a day that
    does not exist."""
    if reply.weekday is not None:
        return today + timedelta(days=(reply.weekday - today.weekday()) % 7)
    if reply.days_ahead is not None:
        return today + timedelta(days=reply.days_ahead)
    day, month = reply.day_month
    try:
        found = date(today.year, month, day)
    except ValueError:
        raise ValueError(f"Datumet {day}/{month} finns inte.") from None
    # 3/1 written in late December is next year's; a date a few weeks back is a mistake.
    if (today - found).days > 180:
        found = found.replace(year=today.year + 1)
    return found


# ---------------------------------------------------------------- applying a reply

@dataclass
class Answer:
    """What to text back (text `key` with `params`) and whether a coordinator should also
    read the SMS (not understood, or more than a report)."""

    key: str
    params: dict = field(default_factory=dict)
    for_coordinator: bool = False
    volunteer_id: int | None = None
    senior_id: int | None = None
    call_id: int | None = None

    def body(self, wording: texts.Texts, *, now: datetime, tz: ZoneInfo) -> str:
        filled = texts.values(self.params, language="sv", channel="sms", now=now, tz=tz)
        return texts.render(wording.body(self.key, "sv"), filled, "sms")


def answer(volunteer: Volunteer, phone: str, body: str, *, session: Session, now: datetime,
           tz: ZoneInfo) -> Answer | None:
    """Apply a volunteer's SMS; None when they have no active pair (then it is just an SMS
    to the programme)."""
    pairs = {p.id: p for p in session.exec(select(Pair).where(
        Pair.volunteer_id == volunteer.id, Pair.status == "active"))}
    if not pairs:
        return None
    reply = parse(body)
    base = {"volontär": volunteer.first_name}
    reminded = _reminded_call(phone, pairs, session=session)
    concern = body.strip() if WORRY.search(body or "") else ""
    if reply.action == "help":
        if concern:  # the dispatcher sends the on-duty SMS within seconds
            pair = pairs[reminded.pair_id] if reminded is not None else \
                next(iter(pairs.values())) if len(pairs) == 1 else None
            raise_concern(pair, concern, session=session, now=now, volunteer=volunteer)
        # The concern's urgent task holds the SMS: no second, ordinary task for it.
        return Answer("reply_help", base, for_coordinator=not concern,
                      volunteer_id=volunteer.id)
    if reply.action == "move":
        return _apply_move(reply, reminded, pairs, base, volunteer, session=session, now=now,
                           tz=tz)
    call = reminded if reminded is not None and reminded.scheduled_at <= now \
        and reminded.status == "planned" else \
        _unlogged_call(pairs, session=session, now=now)
    if call is None:
        if reminded is not None:
            return _about(Answer("reply_too_early", base, for_coordinator=reply.remark),
                          reminded, pairs, session)
        return Answer("reply_problem", {**base, "fel": "Vi hittar inget samtal att notera."},
                      for_coordinator=True, volunteer_id=volunteer.id)
    try:
        record_outcome(pairs[call.pair_id], call, reply.action, session=session, now=now,
                       source="sms", minutes=reply.minutes, concern=concern,
                       note=body.strip() if reply.remark else "", volunteer_id=volunteer.id)
    except OutcomeError as exc:
        return Answer("reply_problem", {**base, "fel": str(exc)}, for_coordinator=True,
                      volunteer_id=volunteer.id)
    outcome = "blev inte av" if reply.action == "no_answer" else \
        f"blev av, {reply.minutes} min" if reply.minutes else "blev av"
    return _about(Answer("reply_logged", {**base, "utfall": outcome},
                         for_coordinator=reply.remark and not concern), call, pairs, session)


def _about(found: Answer, call: ScheduledCall, pairs: dict, session: Session) -> Answer:
    pair = pairs[call.pair_id]
    senior = session.get(Senior, pair.senior_id)
    found.params.update({"senior": senior.first_name, "call_at": call.scheduled_at.isoformat()})
    found.volunteer_id, found.senior_id, found.call_id = pair.volunteer_id, senior.id, call.id
    return found


def _reminded_call(phone: str, pairs: dict, *, session: Session) -> ScheduledCall | None:
    """The call of the last reminder SMS sent to this number, if it is one of these pairs'."""
    call_id = session.exec(select(Message.call_id).where(
        Message.kind == "reminder_volunteer", Message.recipient == phone,
        Message.call_id.is_not(None), Message.sent_at.is_not(None))
        .order_by(Message.sent_at.desc(), Message.id.desc())).first()
    call = session.get(ScheduledCall, call_id) if call_id else None
    return call if call is not None and call.pair_id in pairs else None


def _unlogged_call(pairs: dict, *, session: Session, now: datetime) -> ScheduledCall | None:
    """The latest call that has begun, in the last days, with nothing logged yet."""
    logged = select(CallLog.call_id).where(CallLog.call_id.is_not(None))
    return session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id.in_(list(pairs)), ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at <= now,
        ScheduledCall.scheduled_at > now - timedelta(days=LATE_REPORT_DAYS),
        ScheduledCall.id.not_in(logged))
        .order_by(ScheduledCall.scheduled_at.desc())).first()


def _next_call(pairs: dict, *, session: Session, now: datetime) -> ScheduledCall | None:
    return session.exec(select(ScheduledCall).where(
        ScheduledCall.pair_id.in_(list(pairs)), ScheduledCall.status == "planned",
        ScheduledCall.scheduled_at > now).order_by(ScheduledCall.scheduled_at)).first()


def _apply_move(reply: Reply, reminded: ScheduledCall | None, pairs: dict, base: dict,
                volunteer: Volunteer, *, session: Session, now: datetime,
                tz: ZoneInfo) -> Answer:
    call = reminded if reminded is not None and reminded.status == "planned" \
        and reminded.scheduled_at > now else _next_call(pairs, session=session, now=now)

    def problem(text: str) -> Answer:
        return Answer("reply_problem", {**base, "fel": text}, volunteer_id=volunteer.id)

    if call is None:
        return problem("Det finns inget planerat samtal att flytta.")
    today = now.astimezone(tz).date()
    try:
        day = move_date(reply, today)
    except ValueError as exc:
        return problem(str(exc))
    if not EARLIEST_CALL <= reply.at <= LATEST_CALL:
        return problem(f"Samtal kan flyttas till mellan {EARLIEST_CALL:%H.%M} och "
                       f"{LATEST_CALL:%H.%M}.")
    new_at = local_instant(day, reply.at, tz)
    if new_at <= now:
        return problem("Den tiden har redan passerat.")
    if day > today + timedelta(days=MAX_MOVE_DAYS):
        return problem("Ett samtal kan flyttas högst fyra veckor framåt.")
    if log_of(call, session=session) is not None:
        return problem("Samtalet är redan noterat.")
    try:
        move_call(call, new_at, session=session, now=now, actor=None)
    except PlanError as exc:
        return problem(str(exc))
    return _about(Answer("reply_moved", base), call, pairs, session)
