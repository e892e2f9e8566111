"""The funder's report (report_figures.compute_report) as JSON, CSV and Excel.

The figures are aggregates only; what is written here adds Swedish labels, always Swedish
whatever the reader's language, since the report goes to the city. A suppressed count is
written "<5" (the report's min_group); a median or longest time that is suppressed or has
nothing to be computed from is left empty, as "<5" would read as "under 5 days".
"""

import io
import json
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from . import csvsafe, vocab
from .matches import END_REASONS
from .report_groups import SENIOR_MEASURES, UNKNOWN, VOLUNTEER_MEASURES

ROWS_HEADER = ("section", "population", "breakdown", "group", "measure", "value")
CSV_HEADER = ("avsnitt", "population", "indelning", "grupp", "mått", "värde", "grupp_text",
              "mått_text")
# Times, not counts of people: never written "<5".
DURATIONS = {"call_minutes_median", "senior_wait_days_median", "senior_wait_days_longest",
             "volunteer_approval_days_median", "volunteer_approval_days_longest"}
TOTALS = {
    "active_pairs": _l("Aktiva par"), "new_pairs": _l("Nya par"),
    "ended_pairs": _l("Avslutade par"), "calls_planned": _l("Planerade samtal"),
    "calls_held": _l("Genomförda samtal"), "calls_missed": _l("Uteblivna samtal"),
    "call_minutes_total": _l("Samtalsminuter totalt"),
    "call_minutes_median": _l("Samtalslängd, median (minuter)"),
    "seniors_reached": _l("Seniorer som fått minst ett samtal"),
    "volunteers_active": _l("Volontärer som ringt minst ett samtal"),
    "seniors_waiting_at_end": _l("Seniorer som väntar vid periodens slut"),
    "senior_wait_days_median": _l("Väntetid för seniorer som fick en telefonvän, median (dagar)"),
    "senior_wait_days_longest": _l("Väntetid för seniorer som fick en telefonvän, längst (dagar)"),
    "volunteer_approval_days_median": _l("Tid från ansökan till godkännande, median (dagar)"),
    "volunteer_approval_days_longest": _l("Tid från ansökan till godkännande, längst (dagar)"),
}
PERIOD = {"from": _l("Från och med"), "to": _l("Till och med"),
          "min_group": _l("Minsta redovisade grupp (personer)")}
POPULATIONS = {"seniors": _l("Seniorer"), "volunteers": _l("Volontärer")}
BREAKDOWNS = {"gender": _l("Kön"), "district": _l("Stadsdel"),
              "referral_source": _l("Remittent"), "language": _l("Språk"),
              "age_band": _l("Ålder")}
MEASURES = {
    "participants": _l("Deltagare (i par under perioden)"),
    "reached": _l("Nådda (minst ett samtal)"), "waiting": _l("Väntar vid periodens slut"),
    "active": _l("Aktiva (minst ett samtal)"), "approved": _l("Godkända under perioden"),
    "calls_held": _l("Genomförda samtal"), "call_minutes": _l("Samtalsminuter"),
    "planned": _l("Planerade samtal"), "held": _l("Genomförda samtal"),
    "missed": _l("Uteblivna samtal"), "start": _l("Veckan börjar"),
    "ended_pairs": _l("Avslutade par"),
}
WAITING = {"waiting": _l("Väntande seniorer")}
UNKNOWN_LABEL = _l("Okänt")


def _value(measure: str, value, min_group: int):
    if value is not None:
        return value
    return "" if measure in DURATIONS else f"<{min_group}"


def group_label(breakdown: str, code: str) -> str:
    """The group's name for people, in Swedish; call inside force_locale("sv")."""
    if code == UNKNOWN:
        return str(UNKNOWN_LABEL)
    if breakdown == "gender":
        return str(vocab.GENDERS.get(code, code))
    if breakdown == "referral_source":
        return str(vocab.REFERRAL_SOURCES.get(code, code))
    if breakdown == "language":
        return vocab.language_name(code)
    if breakdown == "age_band":
        return f"{code.replace('-', '–')} år"
    if breakdown == "end_reason":
        return str(END_REASONS.get(code, code))
    return code


def report_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)


def report_rows(report: dict) -> list[tuple]:
    """Every figure on a row of its own (long format), header first."""
    n = report["min_group"]
    rows = [ROWS_HEADER]
    rows += [("period", "", "", "", key, value)
             for key, value in (*report["period"].items(), ("min_group", n))]
    rows += [("totals", "", "", "", key, _value(key, value, n))
             for key, value in report["totals"].items()]
    rows += [("ended_reasons", "pairs", "end_reason", code, "ended_pairs", _value("", v, n))
             for code, v in report["ended_reasons"].items()]
    for population in ("seniors", "volunteers"):
        for breakdown, table in report[population].items():
            rows += [("breakdown", population, breakdown, group, measure, _value("", v, n))
                     for group, counts in table.items() for measure, v in counts.items()]
    for week in report["calls_per_week"]:
        rows += [("calls_per_week", "calls", "week", week["week"], measure, week[measure])
                 for measure in ("start", "planned", "held", "missed")]
    rows += [("waiting_over_time", "seniors", "date", point["date"], "waiting",
              _value("", point["waiting"], n)) for point in report["waiting_over_time"]]
    return rows


def _labels(row: tuple) -> tuple[str, str]:
    section, _population, breakdown, group, measure, _value = row
    label = {"totals": TOTALS, "period": PERIOD, "waiting_over_time": WAITING}.get(
        section, MEASURES).get(measure, measure)
    return (group_label(breakdown, group) if breakdown not in ("", "week", "date") else "",
            str(label))


def report_csv(report: dict) -> str:
    """The long rows with Swedish names beside the codes; safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csvsafe.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    with force_locale("sv"):
        for row in report_rows(report)[1:]:
            writer.writerow([*row, *_labels(row)])
    return out.getvalue()


# ---------------------------------------------------------------- Excel

def _sheet(book: Workbook, title: str, header: list, rows: list, widths: list[int]) -> None:
    sheet = book.create_sheet(title)
    sheet.append([str(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for column, width in zip("ABCDEFGH", widths, strict=False):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"


def _groups_sheet(report: dict, population: str, measures: tuple[str, ...]) -> tuple:
    n, rows = report["min_group"], []
    for breakdown, table in report[population].items():
        for group, counts in table.items():
            rows.append((str(BREAKDOWNS[breakdown]), group_label(breakdown, group), group,
                         *(_value("", counts[m], n) for m in measures)))
    header = [_l("Indelning"), _l("Grupp"), _l("Kod"), *(MEASURES[m] for m in measures)]
    return header, rows


def report_xlsx(report: dict) -> bytes:
    """One sheet per table, the header row bold; hidden counts are the text "<5"."""
    n, book = report["min_group"], Workbook()
    book.remove(book.active)
    with force_locale("sv"):
        period = [(str(PERIOD["from"]), date.fromisoformat(report["period"]["from"]), "from"),
                  (str(PERIOD["to"]), date.fromisoformat(report["period"]["to"]), "to"),
                  (str(PERIOD["min_group"]), n, "min_group")]
        totals = [(str(TOTALS[key]), _value(key, value, n), key)
                  for key, value in report["totals"].items()]
        note = _("\"<%(n)s\": färre än %(n)s personer, inte redovisat så att ingen kan "
                 "kännas igen. Tom ruta: ingen uppgift, eller underlaget är färre än %(n)s "
                 "personer.", n=n)
        _sheet(book, "Sammanfattning", [_l("Mått"), _l("Värde"), _l("Kod")],
               [*period, *totals, (note, None, None)], [60, 14, 32])
        for population, title, measures in (("seniors", "Seniorer", SENIOR_MEASURES),
                                            ("volunteers", "Volontärer", VOLUNTEER_MEASURES)):
            header, rows = _groups_sheet(report, population, measures)
            _sheet(book, title, header, rows, [12, 28, 20, 16, 16, 16, 16, 16])
        _sheet(book, "Samtal per vecka",
               [_l("Vecka"), MEASURES["start"], MEASURES["planned"], MEASURES["held"],
                MEASURES["missed"]],
               [(w["week"], date.fromisoformat(w["start"]), w["planned"], w["held"],
                 w["missed"]) for w in report["calls_per_week"]], [12, 14, 18, 18, 18])
        _sheet(book, "Väntelista", [_l("Datum (dagens slut)"), WAITING["waiting"]],
               [(date.fromisoformat(p["date"]), _value("", p["waiting"], n))
                for p in report["waiting_over_time"]], [20, 18])
        _sheet(book, "Avslutade par", [_l("Anledning"), _l("Kod"), _l("Antal par")],
               [(group_label("end_reason", code), code, _value("", v, n))
                for code, v in report["ended_reasons"].items()], [40, 20, 12])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
