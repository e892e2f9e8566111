"""CSV files the app writes, safe to open in a spreadsheet (OWASP "CSV injection").

Excel and LibreOffice run a cell that starts like a formula (`=`, `+`, `-`, `@`, or a tab or
carriage return before one), and names, message bodies and notes are written by the public.
Such a cell gets a leading `'`, which the spreadsheet shows as text and never evaluates.

One exception: a phone number in E.164 (`+46701234567`) is left as it is. It cannot hold a
formula (only digits after the `+`; the spreadsheet reads it as a number), and coordinators
copy and re-import these columns. `+46701234567 ringer` or `+1+cmd|…` are not E.164 and are
quoted.
"""

import csv
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"\+[1-9]\d{6,14}")


def safe_cell(value):
    """`value` with a `'` in front if a spreadsheet would run it; non-text values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) \
            and not E164.fullmatch(value):
        return "'" + value
    return value


def _one_line_ending(value):
    # Python's writer quotes a cell only for the line terminator's own characters: with "\n"
    # a bare CR stays unquoted and a spreadsheet splits the row there. As "\n" it is quoted.
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class SafeWriter:
    """csv.writer that neutralises every cell: no column can be forgotten."""

    def __init__(self, fh, **kwargs):
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([_one_line_ending(safe_cell(cell)) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(fh, **kwargs) -> SafeWriter:
    return SafeWriter(fh, **kwargs)
