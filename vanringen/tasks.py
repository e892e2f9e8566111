"""Coordinators' tasks: what the system found that a person must look at, one open task per
cause however often it recurs. The page lists them; closing one keeps a note of what was done.
"""

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .db import get_session, utcnow
from .models import Message, Senior, Task, Volunteer
from .people import local_today, paginate
from .task_history import histories, pair_of_tasks

bp = Blueprint("tasks", __name__, url_prefix="/att-gora")

KIND_LABELS = {
    "delivery_failed": _l("Meddelande kom inte fram"),
    "opted_out": _l("Vill inte ha SMS"),
    "switched_to_voice": _l("Fast telefon: påminnelser som röstsamtal"),
    "inbound_sms": _l("SMS till Vänringen"),
    "concern": _l("Oro för en senior"),
    "no_call": _l("Inga samtal på länge"),
    "no_answer": _l("Inget svar flera gånger i rad"),
    "no_report": _l("Volontären rapporterar inte"),
    "intake": _l("Samtal till Vänringen"),
}


def open_task(kind: str, title: str, *, session: Session, detail: str = "",
              dedup_key: str | None = None, **refs) -> Task:
    """A new open task, or the open one with the same `dedup_key` with the new detail added."""
    return open_task_created(kind, title, session=session, detail=detail, dedup_key=dedup_key,
                             **refs)[0]


def open_task_created(kind: str, title: str, *, session: Session, detail: str = "",
                      dedup_key: str | None = None, **refs) -> tuple[Task, bool]:
    """open_task, also saying whether the task is new (the clock counts what it opened)."""
    if dedup_key:
        existing = session.exec(select(Task).where(Task.dedup_key == dedup_key,
                                                   Task.status == "open")).first()
        if existing is not None:
            return _add_detail(existing, detail, session=session), False
    task = Task(kind=kind, title=title, detail=detail, dedup_key=dedup_key, **refs)
    try:
        with session.begin_nested():  # another process may open the same task right now
            session.add(task)
    except IntegrityError:
        existing = session.exec(select(Task).where(Task.dedup_key == dedup_key,
                                                   Task.status == "open")).one()
        return _add_detail(existing, detail, session=session), False
    return task, True


def _add_detail(task: Task, detail: str, *, session: Session) -> Task:
    # Whole lines: "…: STOP" is a new message even after "…: STOPP".
    if detail and f"\n{detail}\n" not in f"\n{task.detail}\n":
        task.detail = f"{task.detail}\n{detail}".strip()
        session.add(task)
    return task


def open_count(*, session: Session) -> int:
    from sqlalchemy import func

    return session.exec(select(func.count()).where(Task.status == "open")).one()


@bp.get("/")
def index():
    session = get_session()
    show = request.args.get("visa", "oppna")
    kind = request.args.get("typ", "")
    kind = kind if kind in KIND_LABELS else ""
    query = select(Task).where(Task.status == ("done" if show == "klara" else "open"))
    if kind:
        query = query.where(Task.kind == kind)
    # A volunteer's concern comes before everything else, however old.
    query = query.order_by(Task.urgent.desc(), Task.created_at.desc(), Task.id.desc())
    tasks, total, page, pages = paginate(query, session=session,
                                         page=request.args.get("page", 1, type=int))
    seniors = _by_id(Senior, {t.senior_id for t in tasks}, session)
    volunteers = _by_id(Volunteer, {t.volunteer_id for t in tasks}, session)
    messages = _by_id(Message, {t.message_id for t in tasks}, session)
    pair_of = pair_of_tasks(tasks, messages, session=session)
    history = histories(pair_of.values(), session=session, now=utcnow(), today=local_today())
    args = {name: value for name, value in (("visa", show), ("typ", kind))
            if value and value != "oppna"}
    return render_template("tasks/index.html", tasks=tasks, total=total, page=page,
                           pages=pages, show=show, kind=kind, seniors=seniors,
                           volunteers=volunteers, messages=messages, pair_of=pair_of,
                           history=history, args=args)


def _by_id(model, ids, session):
    ids = {i for i in ids if i}
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(ids)))} \
        if ids else {}


@bp.post("/<int:task_id>/klar")
def close(task_id: int):
    session = get_session()
    task = session.get(Task, task_id)
    if task is None:
        abort(404)
    if task.status == "open":
        task.status, task.closed_at, task.closed_by_id = "done", utcnow(), current_user.id
        task.closing_note = request.form.get("note", "").strip()
        session.add(task)
        session.commit()
        flash(_("Uppgiften är klar: %(title)s", title=task.title), "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    from . import on_duty

    app.register_blueprint(bp)
    on_duty.init_app(app)  # the on-duty coordinator is reached about urgent tasks
    app.jinja_env.globals["task_kinds"] = KIND_LABELS
    app.jinja_env.globals["open_task_count"] = lambda: open_count(session=get_session())
    app.jinja_env.filters["task_kind"] = lambda code: str(KIND_LABELS.get(code, code))
