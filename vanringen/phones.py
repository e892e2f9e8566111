"""Phone numbers as people say them, stored as E.164."""

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def parse_phone(text: str | None, region: str = "SE", *, mobile: bool = False) -> str:
    """Return the number in E.164 or raise ValueError with a Swedish message."""
    raw = (text or "").strip()
    if not raw:
        raise ValueError("telefonnummer saknas")
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise ValueError(f"ogiltigt telefonnummer '{raw}'") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"ogiltigt telefonnummer '{raw}'")
    if mobile and phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValueError(f"'{raw}' är inget mobilnummer")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    return phonenumbers.number_type(phonenumbers.parse(e164)) in _MOBILE_TYPES


def display_phone(e164: str | None) -> str:
    """National format for Swedish numbers (070-123 45 67), international for others."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164)
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 46
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)
