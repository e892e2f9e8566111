"""What an SMS costs: GSM-7 text fits 160 characters, one character outside it turns the whole
message into UCS-2 at 70. Writing Swedish within GSM-7 keeps a reminder to one part."""

import unicodedata

GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# Reached through an escape character, so each costs two septets.
GSM7_EXTENDED = set("^{}\\[~]|€\f")
_GSM7 = GSM7_BASIC | GSM7_EXTENDED

# Typography, and letters of names (Polish, Croatian, Turkish, French) that Unicode gives
# no plain base letter to decompose into: Łucja should arrive as Lucja, not ?ucja.
_TYPOGRAPHY = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
                             "…": "...", "\u00a0": " ", "\t": " ", "Ł": "L", "ł": "l",
                             "Đ": "D", "đ": "d", "ı": "i", "Œ": "OE", "œ": "oe", "Þ": "Th",
                             "þ": "th", "Ð": "D", "ð": "d"})


def to_gsm7(text: str) -> str:
    """Text an SMS carries as GSM-7: accents outside the set dropped (ć → c), others → '?'."""
    out = []
    for ch in text.translate(_TYPOGRAPHY):
        if ch not in _GSM7:
            base = unicodedata.normalize("NFKD", ch)
            ch = base if base and all(c in _GSM7 for c in base) else "".join(
                c for c in base if c in _GSM7 and not unicodedata.combining(c)) or "?"
        out.append(ch)
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(c in _GSM7 for c in text)


def segments(text: str) -> tuple[int, str]:
    """(number of SMS parts, "GSM-7" or "UCS-2"), as the network bills them."""
    if is_gsm7(text):
        sizes = [2 if c in GSM7_EXTENDED else 1 for c in text]
        return _parts(sizes, 160, 153), "GSM-7"
    # UTF-16 code units: a character beyond the BMP (most emoji) takes two.
    sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return _parts(sizes, 70, 67), "UCS-2"


def _parts(sizes: list[int], single: int, per_part: int) -> int:
    if sum(sizes) <= single:
        return 1
    # A concatenated part spends the rest on its header, and never splits an escape pair
    # or a surrogate pair, so a part may end one short.
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts
