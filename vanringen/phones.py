"""Phone numbers as people say them, stored as E.164."""

import re

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


def written_pattern(e164: str | None) -> str | None:
    """A regular expression for the number in any way people write it, to find it in free
    text (erasure, others' numbers in an access report): +46 70-123 45 67, 0046 70…,
    070-123 45 67, 070.123.45.67, +358 (0)40…; never inside a longer run of digits."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return re.escape(e164)
    sep = r"[\s\-./()]*"
    code = number.country_code
    international = rf"(?:\+\s*{code}|00\s*{code}){sep}(?:\(0\))?"
    digits = sep.join(str(number.national_number))
    return rf"(?<!\d)(?:{international}|0)?{sep}{digits}(?!\d)"
