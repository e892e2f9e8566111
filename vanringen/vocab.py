"""The programme's fixed vocabularies and the parsers that forms and CSV import share.

Codes are what is stored and what CSV files carry; labels are what people read.
Parsers raise ValueError with a Swedish message that names what was wrong.
"""

from babel import Locale
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

WEEKDAYS = {
    "mon": _l("måndag"), "tue": _l("tisdag"), "wed": _l("onsdag"), "thu": _l("torsdag"),
    "fri": _l("fredag"), "sat": _l("lördag"), "sun": _l("söndag"),
}
DAY_PARTS = {"morning": _l("förmiddag"), "afternoon": _l("eftermiddag"), "evening": _l("kväll")}
SLOTS = [f"{day}-{part}" for day in WEEKDAYS for part in DAY_PARTS]

GENDERS = {"female": _l("Kvinna"), "male": _l("Man"), "other": _l("Annat")}
PREFERRED_GENDERS = {"any": _l("Ingen preferens"), "female": _l("Kvinna"), "male": _l("Man")}

DISTRICTS = [
    "Bromma", "Enskede-Årsta-Vantör", "Farsta", "Hägersten-Älvsjö", "Hässelby-Vällingby",
    "Järva", "Kungsholmen", "Norra innerstaden", "Skarpnäck", "Skärholmen", "Södermalm",
]

REFERRAL_SOURCES = {
    "hemtjanst": _l("Hemtjänst"), "vardcentral": _l("Vårdcentral"), "anhorig": _l("Anhörig"),
    "sjalv": _l("Själv"), "bistandshandlaggare": _l("Biståndshandläggare"), "annan": _l("Annan"),
}
REMINDER_CHANNELS = {"sms": _l("SMS"), "voice": _l("Röstsamtal"), "none": _l("Inga påminnelser")}
CONSENT_METHODS = {
    "web": _l("Webbformulär"), "verbal": _l("Muntligt per telefon"),
    "written": _l("Skriftligt"), "import": _l("Importerat från tidigare register"),
}

SENIOR_STATUSES = {
    "waiting": _l("Väntar"), "matched": _l("Matchad"), "paused": _l("Pausad"),
    "ended": _l("Avslutad"),
}
VOLUNTEER_STATUSES = {
    "applied": _l("Ansökt"), "interviewed": _l("Intervjuad"),
    "record_checked": _l("Utdrag kontrollerat"), "trained": _l("Utbildad"),
    "approved": _l("Godkänd"), "declined": _l("Avböjd"), "withdrawn": _l("Avbrutit"),
}
# CSV files from the old spreadsheets know three stages only; "training" means screened
# and in training, which is the stage after the police-record check.
CSV_VOLUNTEER_STATUSES = {
    "applied": "applied", "training": "record_checked", "approved": "approved",
}

# Offered as tick boxes; any other ISO 639-1 code is accepted in CSV files.
COMMON_LANGUAGES = [
    "sv", "fi", "en", "ar", "fa", "so", "ti", "tr", "ku", "pl", "bs", "hr", "sr", "ru",
    "es", "de", "el", "se", "yi",
]

_SV = Locale("sv")
ISO_639_1 = {code for code in _SV.languages if len(code) == 2 and code.isalpha()}


def language_name(code: str) -> str:
    """The language's name in the reader's language (Swedish outside a request)."""
    locale = get_locale() or _SV
    return locale.languages.get(code) or _SV.languages.get(code, code)


def lazy_language_name(code: str) -> LazyString:
    """For form choices built once at import but shown in each request's language."""
    return LazyString(language_name, code)


def _split(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]


def parse_languages(text: str | None) -> list[str]:
    codes = [c.lower() for c in _split(text)]
    bad = [c for c in codes if c not in ISO_639_1]
    if bad:
        raise ValueError(f"okänd språkkod {', '.join(bad)} (använd ISO 639-1, t.ex. sv;fi)")
    if not codes:
        raise ValueError("minst ett språk krävs")
    return list(dict.fromkeys(codes))


def parse_slots(text: str | None, *, required: bool = True) -> list[str]:
    slots = [s.lower() for s in _split(text)]
    bad = [s for s in slots if s not in SLOTS]
    if bad:
        raise ValueError(
            f"ogiltig tid {', '.join(bad)} (använd t.ex. mon-morning;wed-evening)"
        )
    if required and not slots:
        raise ValueError("minst en tid krävs")
    return sorted(set(slots), key=SLOTS.index)


def parse_choice(text: str | None, choices, what: str) -> str:
    value = (text or "").strip().lower()
    if value not in choices:
        raise ValueError(f"ogiltigt {what} '{text}' (tillåtet: {'|'.join(choices)})")
    return value


_FOLD = str.maketrans("åäöé", "aaoe")


def parse_district(text: str | None) -> str | None:
    value = (text or "").strip()
    if not value:
        return None
    wanted = value.lower().translate(_FOLD).replace(" ", "")
    for district in DISTRICTS:
        if district.lower().translate(_FOLD).replace(" ", "") == wanted:
            return district
    raise ValueError(f"okänd stadsdel '{value}'")


def parse_referral(text: str | None) -> str:
    value = (text or "").strip().lower().translate(_FOLD)
    if value not in REFERRAL_SOURCES:
        raise ValueError(
            f"okänd remittent '{text}' (tillåtet: hemtjänst, vårdcentral, anhörig, själv, "
            "biståndshandläggare, annan)"
        )
    return value


def slot_label(slot: str) -> str:
    day, part = slot.split("-")
    return f"{WEEKDAYS[day]} {DAY_PARTS[part]}"
