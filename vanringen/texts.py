"""The texts Vänringen sends: shipped wording (data/message_texts.toml), an admin's own
wording (MessageTemplate rows, which win), placeholders and the language a person gets.

No request needed: the planner, the dispatcher and the webhooks all render through here.
A message stores its template key, language and params, and is rendered again when it is
sent, so an edit reaches reminders that were planned before it.
"""

import json
import string
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlmodel import Session, select

from notifications import VOICES, is_gsm7, to_gsm7

from .models import MessageTemplate
from .schedule import WEEKDAYS, parse_slots

DATA_FILE = Path(__file__).resolve().parent / "data" / "message_texts.toml"
# Placeholders whose value is worked out from the call's time when the message is sent.
TIME_PLACEHOLDERS = ("när", "dag", "datum", "tid")

# Weekly call times as each language says them ("tisdagar kl. 14.00").
_EVERY = {
    "sv": ("måndagar", "tisdagar", "onsdagar", "torsdagar", "fredagar", "lördagar", "söndagar"),
    "fi": ("maanantaisin", "tiistaisin", "keskiviikkoisin", "torstaisin", "perjantaisin",
           "lauantaisin", "sunnuntaisin"),
    "en": ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"),
}
_AND = {"sv": "och", "fi": "ja", "en": "and"}
_TODAY = {"sv": "i dag", "fi": "tänään", "en": "today"}
_TOMORROW = {"sv": "i morgon", "fi": "huomenna", "en": "tomorrow"}
_SHIPPED_LANGUAGES = tuple(_EVERY)


@cache
def shipped() -> dict[str, dict]:
    with DATA_FILE.open("rb") as fh:
        return tomllib.load(fh)


def audience(key: str) -> str | None:
    """Whom text `key` is written for: 'senior', 'volunteer', 'staff', 'anyone' (None if
    unknown)."""
    return shipped().get(key, {}).get("for")


def languages_of(key: str) -> list[str]:
    return [code for code in _SHIPPED_LANGUAGES if code in shipped()[key]]


# ---------------------------------------------------------------- which words

@dataclass
class Texts:
    """The wording in force: an admin's where there is one, else the shipped text."""

    overrides: dict[tuple[str, str], str]

    @classmethod
    def load(cls, *, session: Session) -> "Texts":
        rows = session.exec(select(MessageTemplate.key, MessageTemplate.language,
                                   MessageTemplate.body)).all()
        return cls({(key, language): body for key, language, body in rows})

    def body(self, key: str, language: str) -> str | None:
        return self.overrides.get((key, language)) or shipped()[key].get(language)

    def language_for(self, key: str, spoken: list[str]) -> str:
        """The first of a person's languages the text is written in (and, for a call, that
        Twilio can speak); Swedish otherwise."""
        voice = shipped()[key]["channel"] == "voice"
        for code in spoken:
            if self.body(key, code) and (not voice or code in VOICES):
                return code
        return "sv"


def placeholders(body: str) -> list[str]:
    """The {names} a text uses; ValueError (Swedish) for braces that are not placeholders."""
    try:
        fields = [(name, spec, conv) for _lit, name, spec, conv in
                  string.Formatter().parse(body) if name is not None]
    except ValueError:
        raise ValueError("en { eller } saknar sin motsvarighet") from None
    if any(spec or conv for _name, spec, conv in fields):
        raise ValueError("skriv platshållare utan tillägg, t.ex. {senior}")
    return [name for name, _spec, _conv in fields]


def allowed(key: str) -> set[str]:
    names = set(shipped()[key]["placeholders"])
    # {När} gives the same phrase with a capital letter, to begin a sentence with.
    return names | {name.capitalize() for name in names if name in TIME_PLACEHOLDERS}


def check(key: str, body: str) -> list[str]:
    """What is wrong with an admin's text for `key`, in Swedish; empty when it is fine."""
    if not body.strip():
        return ["texten får inte vara tom"]
    try:
        names = placeholders(body)
    except ValueError as exc:
        return [str(exc)]
    unknown = sorted(set(names) - allowed(key))
    if unknown:
        known = ", ".join("{" + n + "}" for n in shipped()[key]["placeholders"]) or "inga"
        return [f"okänd platshållare {', '.join('{' + n + '}' for n in unknown)} "
                f"(den här texten kan använda: {known})"]
    return []


# ---------------------------------------------------------------- filling in

def time_of_day(moment: datetime, language: str, *, spoken: bool = False) -> str:
    if language == "en":
        return f"{moment:%H:%M}"
    if spoken:  # "klockan 14" is what a voice should say for 14.00
        return f"{moment.hour}" + (f":{moment:%M}" if moment.minute else "")
    return f"{moment:%H.%M}"


def clock(moment: datetime, language: str, *, spoken: bool = False) -> str:
    """'kl. 14.00' in an SMS, 'klockan 14' in a call, 'klo 14.00' in Finnish."""
    if language == "en":
        return time_of_day(moment, language)
    word = {"fi": ("klo", "kello")}.get(language, ("kl.", "klockan"))[spoken]
    return f"{word} {time_of_day(moment, language, spoken=spoken)}"


def when(call_at: datetime, now: datetime, tz: ZoneInfo, language: str, *,
         spoken: bool = False) -> str:
    """'i dag kl. 14.00', 'i morgon kl. 08.30' or 'tisdag 3 december kl. 14.00'."""
    local, today = call_at.astimezone(tz), now.astimezone(tz).date()
    at = clock(local, language, spoken=spoken)
    if language == "en":
        at = "at " + at
    if local.date() == today:
        return f"{_TODAY.get(language, _TODAY['sv'])} {at}"
    if local.date() == today + timedelta(days=1):
        return f"{_TOMORROW.get(language, _TOMORROW['sv'])} {at}"
    pattern = {"fi": "EEEE d.M.", "en": "'on' EEEE d MMMM"}.get(language, "EEEE d MMMM")
    return f"{format_date(local.date(), pattern, locale=language)} {at}"


def weekly(slot_codes: str, language: str, *, spoken: bool = False) -> str:
    """'tisdagar kl. 14.00 och fredagar kl. 10.30' for 'tue 14:00;fri 10:30'."""
    words = _EVERY.get(language, _EVERY["sv"])
    parts = []
    for slot in parse_slots(slot_codes):
        at = datetime.combine(date(2000, 1, 1), slot.at)
        parts.append(f"{'on ' if language == 'en' and not parts else ''}"
                     f"{words[slot.weekday]} {'at ' if language == 'en' else ''}"
                     f"{clock(at, language, spoken=spoken)}")
    return f" {_AND.get(language, 'och')} ".join(parts)


def values(params: dict, *, language: str, channel: str, now: datetime,
           tz: ZoneInfo) -> dict[str, str]:
    """Every placeholder's value: the stored names plus what the call's time says now."""
    spoken = channel == "voice"
    out = {k: v for k, v in params.items() if k not in ("call_at", "slots")}
    if params.get("slots"):
        out["samtalstider"] = weekly(params["slots"], language, spoken=spoken)
    if params.get("call_at"):
        call_at = datetime.fromisoformat(params["call_at"])
        local = call_at.astimezone(tz)
        out["när"] = when(call_at, now, tz, language, spoken=spoken)
        out["dag"] = format_date(local.date(), "EEEE", locale=language)
        out["datum"] = format_date(local.date(), "d.M." if language == "fi" else "d MMMM",
                                   locale=language)
        out["tid"] = time_of_day(local, language, spoken=spoken)
    for name in TIME_PLACEHOLDERS:
        if name in out:
            out[name.capitalize()] = out[name][:1].upper() + out[name][1:]
    return out


class _Blank(dict):
    # A stored text may name a placeholder a later version no longer fills: leave it out
    # rather than fail a reminder at send time.
    def __missing__(self, key):
        return ""


def render(body: str, filled: dict[str, str], channel: str) -> str:
    text = body.format_map(_Blank(filled))
    # A text written in GSM-7 stays one cheap SMS part whatever a name holds (ć → c);
    # a text an admin wrote in another alphabet on purpose is left as it is.
    return to_gsm7(text) if channel == "sms" and is_gsm7(body) else text


def encode(params: dict) -> str:
    return json.dumps(params, ensure_ascii=False, sort_keys=True)


def decode(text: str) -> dict:
    return json.loads(text) if text else {}


def weekday_code(day: date) -> str:
    return WEEKDAYS[day.weekday()]
