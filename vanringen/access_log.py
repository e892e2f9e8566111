"""The access log: every request by signed-in staff, or by a volunteer through their
personal link, that touches a person's data leaves an audit row by itself, so no view can
forget to.

What a row says: GET of a person's page "view", POST "change" (with the status code),
a page listing many people "list", a file sent "export". Whose data: the senior, volunteer
and pair ids from the address; a pair, task, message, intake request, proposal or planned
call in the address is resolved to the people it is about, so a search by person finds it.
`detail` holds field names and a few fixed words from the address, never what was typed.

How it is written, and why: after the response is made (after_request), or in
teardown_request when the view raised, as ONE INSERT in a short transaction of its own on
a fresh connection. The person ids come from scalar subqueries inside that INSERT, so
resolving a pair costs no extra round trip (the dashboard is counted in statements).
- A failing view (an exception, a 500) still leaves its row: the view's own transaction
  is rolled back first, never the audit.
- Views commit their change themselves, before the response exists, so a change is
  committed first and its audit row a moment later. A crash in between can leave a change
  without its row, never a row for a change that did not happen (the status code says
  whether a "change" changed anything: 4xx/5xx did not).
- A failed INSERT is logged as an error and does not turn a done change into an error page.
Requests stopped before the view (CSRF, sign-in, 403) are not logged: nothing was seen.
A view may add whom a page was about (`g.access_log_people`, e.g. the log's own search).
Explicit rows (erasure, exports of a person's data, sign-ins) are written by their views
with vanringen.audit.record, in the same transaction as what they record.
"""

import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from . import audit, volunteer_links
from .db import get_engine, utcnow
from .models import AuditEvent, IntakeRequest, MatchProposal, Message, Pair, ScheduledCall, Task
from .permissions import required_role

# Pages that show many people at once.
LIST_ENDPOINTS = {
    "views.home", "seniors.index", "volunteers.index", "pairs.index", "tasks.index",
    "message_log.index", "intake.index", "proposals.index", "on_duty.index",
}
# Downloads; any other response that is not a web page (a file, a recording) counts too.
EXPORT_ENDPOINTS = {"reports.download", "message_log.export", "intake.recording"}
PAGE_TYPES = {"text/html", ""}
# Sign-out is audited by auth itself; a second row would say nothing more.
QUIET_ENDPOINTS = {"auth.logout"}
# staff_id: the staff account a page is about (staff_admin), personal data too.
PERSON_COLUMNS = ("senior_id", "volunteer_id", "pair_id", "staff_id")
# An id in the address that names a row about people: which of its columns say who.
POINTERS = {
    "task_id": (Task, ("senior_id", "volunteer_id", "pair_id")),
    "message_id": (Message, ("senior_id", "volunteer_id")),
    "intake_id": (IntakeRequest, ("senior_id",)),
    "proposal_id": (MatchProposal, ("senior_id", "volunteer_id")),
    "call_id": (ScheduledCall, ("pair_id",)),
}
# Query-string filters that narrow a list to one pair (message log).
QUERY_PAIR = "par"
# Address parts that are fixed words, never typed text: safe to keep as detail.
DETAIL_ARGS = ("fmt", "action", "key", "language")
SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
VOLUNTEER_PAGES = "volunteer_page."


def _sub(column, key, value):
    return sa.select(column).where(key == value).scalar_subquery()


def person_columns(args: dict) -> dict:
    """senior_id / volunteer_id / pair_id: ints from the address, or subqueries that find them."""
    cols = {name: args[name] for name in PERSON_COLUMNS if isinstance(args.get(name), int)}
    for name, (model, fields) in POINTERS.items():
        if isinstance(args.get(name), int):
            for field in fields:
                cols.setdefault(field, _sub(getattr(model, field), model.id, args[name]))
    if "pair_id" in cols:
        for field in ("senior_id", "volunteer_id"):
            cols.setdefault(field, _sub(getattr(Pair, field), Pair.id, cols["pair_id"]))
    return cols


def _redirect_args(response) -> dict:
    """The view_args of where a POST sent the browser: a new senior's page names them."""
    location = response.headers.get("Location", "") if response is not None else ""
    if not location or not 300 <= response.status_code < 400:
        return {}
    try:
        _endpoint, args = current_app.url_map.bind("").match(urlsplit(location).path)
    except HTTPException:
        return {}
    return args


def _detail(args: dict) -> str:
    # Which task, call, message … it was: a row naming nobody (an intake call from an
    # unknown number) is still traceable.
    parts = [f"{name}={args[name]}" for name in POINTERS if isinstance(args.get(name), int)]
    parts += [f"{name}={args[name]}" for name in DETAIL_ARGS
              if isinstance(args.get(name), str) and SAFE_NAME.fullmatch(args[name])]
    if request.method == "POST":
        try:
            sent = request.form.keys() | request.files.keys()
        except HTTPException:  # a body the view refused (413) raises again when read here
            sent = set()
        # Which fields were sent, never their values; odd names are left out, not kept.
        names = sorted(k for k in sent if k != "csrf_token" and SAFE_NAME.fullmatch(k))
        if names:
            parts.append("fält=" + ",".join(names))
    return " ".join(parts)[:400]


def _link_volunteer(args: dict) -> int | None:
    """Whose link it is, from its signature alone: an expired or revoked one still says who
    tried (the status code says it did not open); a forged one names nobody."""
    token = args.get("token")
    if not isinstance(token, str):
        return None
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                        salt=volunteer_links.SALT)
    try:
        volunteer_id, _version = serializer.loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return volunteer_id if isinstance(volunteer_id, int) else None


def classify(response, status: int) -> str | None:
    """The action of this request, or None when it touched nobody's data."""
    endpoint = request.endpoint or ""
    if endpoint in QUIET_ENDPOINTS:
        return None
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        return "change"
    if request.method not in ("GET", "HEAD"):
        return None  # OPTIONS: Flask's own answer, no view ran
    mimetype = response.mimetype if response is not None else ""
    if endpoint in EXPORT_ENDPOINTS or (status == 200 and mimetype not in PAGE_TYPES) \
            or (response is not None and "Content-Disposition" in response.headers):
        return "export"
    if endpoint in LIST_ENDPOINTS:
        return "list"
    return "view"


def _row(response, status: int) -> dict | None:
    endpoint = request.endpoint or ""
    args = dict(request.view_args or {})
    volunteer_id = None
    if endpoint.startswith(VOLUNTEER_PAGES):
        volunteer_id = _link_volunteer(args)
        if volunteer_id is None:
            return None
        args.setdefault("volunteer_id", volunteer_id)
    elif required_role(endpoint) == "public" or not current_user.is_authenticated:
        return None
    action = classify(response, status)
    if action is None:
        return None
    if action == "change" and not any(isinstance(args.get(c), int) for c in PERSON_COLUMNS):
        args.update({k: v for k, v in _redirect_args(response).items() if k not in args})
    query_pair = request.args.get(QUERY_PAIR, type=int)
    if query_pair is not None:
        args.setdefault("pair_id", query_pair)
    cols = person_columns(args)
    # A view may name whom its page was about when the address does not (a search).
    for name, value in (g.get("access_log_people") or {}).items():
        if name in PERSON_COLUMNS and isinstance(value, int):
            cols.setdefault(name, value)
    if action == "view" and not cols:
        return None  # a page about no one (settings, reports' figures)
    row = audit.values(action, detail=_detail(args), status_code=status,
                       actor_volunteer_id=volunteer_id)
    row.update(cols, at=utcnow())
    return row


def _write(row: dict) -> None:
    try:
        with get_engine().begin() as conn:
            conn.execute(sa.insert(AuditEvent).values(**row))
    except SQLAlchemyError:
        current_app.logger.exception("audit row for %s not written", row.get("endpoint"))


def _rollback_view() -> None:
    """The view's unfinished transaction goes first: on SQLite it holds the write lock."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _reached_view():
    g.access_log_pending = True


def after_request(response):
    if g.pop("access_log_pending", False):
        if response.status_code >= 400:
            _rollback_view()
        row = _row(response, response.status_code)
        if row is not None:
            _write(row)
    return response


def teardown_request(exc):
    # Only when after_request never ran: the view raised and nothing made a response.
    if exc is None or not g.pop("access_log_pending", False):
        return
    _rollback_view()
    row = _row(None, 500)
    if row is not None:
        _write(row)


def init_app(app: Flask) -> None:
    # Registered after permissions (and CSRF) so that it runs only when they let the
    # request through to the view.
    app.before_request(_reached_view)
    app.after_request(after_request)
    app.teardown_request(teardown_request)
