"""Reports for the funder ("Rapporter"): the figures of any period on a page, as charts with
their tables, printable, and as CSV, Excel and JSON downloads; aggregates only.

A yearly report at national scale is heavy and many coordinators open the same one, so the
computed figures, and the report drawn from them, are kept (Flask-Caching) per period for
REPORT_CACHE_SECONDS where every web worker finds them; the page says when they were computed
and offers to compute them anew.
"""

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_date, format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from . import report_charts
from .cache import Cache, get_cache
from .db import get_session, utcnow
from .people import local_today
from .report_export import (
    BREAKDOWNS,
    DURATIONS,
    MEASURES,
    TOTALS,
    group_label,
    report_csv,
    report_json,
    report_xlsx,
)
from .report_figures import compute_report
from .report_groups import SENIOR_MEASURES as SENIOR_MEASURE_CODES
from .report_groups import VOLUNTEER_MEASURES as VOLUNTEER_MEASURE_CODES

bp = Blueprint("reports", __name__, url_prefix="/rapporter")

FIELDS = {"fran": _l("Från och med"), "till": _l("Till och med")}
PERIODS = ("year", "quarter", "month")
# Weekly charts and tables stay readable, and one report stays affordable to compute.
MAX_YEARS = 5
# A worker waits this long at most for another computing the same figures: less than
# gunicorn's 30 s worker timeout.
COMPUTING_SECONDS, COMPUTING_POLL_SECONDS = 25, 0.2
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", report_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", report_xlsx),
    "json": ("application/json", report_json),
}
# The words of the downloads, so the page and the files name every figure alike.
SENIOR_MEASURES = {m: MEASURES[m] for m in SENIOR_MEASURE_CODES}
VOLUNTEER_MEASURES = {m: MEASURES[m] for m in VOLUNTEER_MEASURE_CODES}


# ---------------------------------------------------------------- the period

def _parse(name: str, text: str, errors: dict) -> date | None:
    try:
        value = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        errors[name] = _("ogiltigt datum ”%(value)s”: skriv ÅÅÅÅ-MM-DD, t.ex. 2026-01-31",
                         value=text)
        return None
    if not EARLIEST <= value <= LATEST:
        errors[name] = _("skriv ett datum mellan år %(first)s och %(last)s",
                         first=EARLIEST.year, last=LATEST.year)
        return None
    return value


def whole_period(kind: str, day: date) -> tuple[date, date]:
    """The year, quarter or month that `day` falls in, first and last day."""
    if kind == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    first_month = (day.month - 1) // 3 * 3 + 1 if kind == "quarter" else day.month
    months = 3 if kind == "quarter" else 1
    start = date(day.year, first_month, 1)
    after = date(day.year + (first_month + months > 12), (first_month + months - 1) % 12 + 1, 1)
    return start, after - timedelta(days=1)


def period_from(args, today: date) -> tuple[date | None, date | None, dict[str, str]]:
    """The period a request asks for: `fran`/`till`, or `period` (year|quarter|month) around
    `fran` or today; default 1 January this year to today. Errors are keyed by field."""
    errors: dict[str, str] = {}
    texts = {name: args.get(name, "").strip() for name in FIELDS}
    start = _parse("fran", texts["fran"], errors) if texts["fran"] else None
    if args.get("period") in PERIODS and not errors:
        return *whole_period(args["period"], start or today), errors
    start = start or (None if errors else date(today.year, 1, 1))
    end = _parse("till", texts["till"], errors) if texts["till"] else today
    if start and end and start > end:
        errors["till"] = _("slutdatumet ligger före startdatumet")
    elif start and end and end >= date(start.year + MAX_YEARS, start.month, 1):
        errors["till"] = _("perioden får vara högst %(years)s år", years=MAX_YEARS)
    return (None, None, errors) if errors else (start, end, errors)


def shortcuts(year: int, today: date) -> dict[str, list[tuple[str, date, date]]]:
    """Ready-made periods: this and last year, and the quarters and months of `year`."""
    years = [(_("I år (%(year)s)", year=today.year), *whole_period("year", today)),
             (_("Förra året (%(year)s)", year=today.year - 1),
              *whole_period("year", date(today.year - 1, 1, 1)))]
    if year not in (today.year, today.year - 1):
        years.append((str(year), *whole_period("year", date(year, 1, 1))))
    quarters = [(_("Kvartal %(n)s", n=q), *whole_period("quarter", date(year, 3 * q - 2, 1)))
                for q in range(1, 5)]
    months = [(format_date(date(year, m, 1), "LLLL"), *whole_period("month", date(year, m, 1)))
              for m in range(1, 13)]
    return {"years": years, "quarters": quarters, "months": months}


# ---------------------------------------------------------------- the figures, kept a while

def _key(start: date, end: date) -> str:
    return f"{start}:{end}:{current_app.config['REPORT_MIN_GROUP']}"


def cached_report(start: date, end: date) -> dict:
    """{"report": …, "computed_at": UTC datetime}: kept, or computed now and kept. While one
    web worker computes a period, the others wait for its figures rather than compute them
    too (each computation slows the other down)."""
    cache, key = get_cache(), _key(start, end)
    entry = cache.get(key)
    if entry is None and not cache.add(f"{key}:computing", True, timeout=COMPUTING_SECONDS):
        entry = _computed_elsewhere(cache, key)
    if entry is None:
        try:
            report = compute_report(start, end, session=get_session(),
                                    tz=ZoneInfo(current_app.config["TIMEZONE"]),
                                    min_group=current_app.config["REPORT_MIN_GROUP"])
            entry = {"report": report, "computed_at": utcnow()}
            cache.set(key, entry)
        finally:
            cache.delete(f"{key}:computing")
    return entry


def _computed_elsewhere(cache: Cache, key: str) -> dict | None:
    """The figures another worker is computing, once kept; None when it stopped without
    keeping them or takes too long (this worker computes them itself then)."""
    deadline = time.monotonic() + COMPUTING_SECONDS
    while time.monotonic() < deadline:
        time.sleep(COMPUTING_POLL_SECONDS)
        entry = cache.get(key)
        if entry is not None or cache.get(f"{key}:computing") is None:
            return entry
    return None


def rendered_report(start: date, end: date, entry: dict, printable: bool = False) -> Markup:
    """The report drawn as HTML, kept beside its figures: drawing some 3 000 numbers in the
    reader's locale costs more than the rest of the page. The key holds the time the figures
    were computed, so figures computed anew are never shown in an older drawing."""
    key = (f"{_key(start, end)}:html:{get_locale()}:{int(printable)}:"
           f"{entry['computed_at'].isoformat()}")
    html = get_cache().get(key)
    if html is None:
        html = render_template("reports/_report.html", report=entry["report"],
                               printable=printable)
        get_cache().set(key, html)
    return Markup(html)


# ---------------------------------------------------------------- pages

def _page(template: str, args, **context):
    today = local_today()
    start, end, errors = period_from(args, today)
    texts = {name: args.get(name, "").strip() for name in FIELDS}
    if errors:
        return render_template(template, errors=errors, texts=texts, start=None, end=None,
                               links=shortcuts(today.year, today), **context), 400
    entry = cached_report(start, end)
    return render_template(template, errors={}, start=start, end=end,
                           texts={"fran": start.isoformat(), "till": end.isoformat()},
                           links=shortcuts(start.year, today), report=entry["report"],
                           report_html=rendered_report(start, end, entry,
                                                       template == "reports/print.html"),
                           computed_at=entry["computed_at"], **context)


@bp.get("/")
def index():
    return _page("reports/index.html", request.args)


@bp.get("/utskrift")
def printable():
    return _page("reports/print.html", request.args)


@bp.post("/rakna-om")
def recompute():
    """Forget the kept figures of the period, so the page computes them anew."""
    start, end, errors = period_from(request.form, local_today())
    if errors:
        return _page("reports/index.html", request.form)
    get_cache().delete(_key(start, end))
    return redirect(url_for(".index", fran=start.isoformat(), till=end.isoformat()))


@bp.get("/ladda-ner.<any(csv, xlsx, json):fmt>")
def download(fmt: str):
    start, end, errors = period_from(request.args, local_today())
    if errors:
        return _page("reports/index.html", request.args)
    mimetype, export = DOWNLOADS[fmt]
    body = export(cached_report(start, end)["report"])
    name = f"vanringen-rapport-{start.isoformat()}--{end.isoformat()}.{fmt}"
    return Response(body.encode("utf-8") if isinstance(body, str) else body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- shown in the templates

def figure(value, min_group: int = 5) -> Markup:
    """A report's number in the reader's locale; a suppressed one as "<5", explained."""
    if value is None:
        return Markup('<abbr title="{}">&lt;{}</abbr>').format(
            _("färre än %(n)s personer visas inte", n=min_group), min_group)
    if isinstance(value, float):
        return escape(format_decimal(value, "#,##0.#"))
    return escape(format_decimal(value))


def share(value: float | None) -> str:
    return "–" if value is None else format_percent(value)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters.update(figure=figure, share=share, group_label=group_label)
    app.jinja_env.globals.update(
        report_charts=report_charts, report_breakdowns=BREAKDOWNS, report_totals=TOTALS,
        report_durations=DURATIONS, report_fields=FIELDS,
        senior_measures=SENIOR_MEASURES, volunteer_measures=VOLUNTEER_MEASURES)
