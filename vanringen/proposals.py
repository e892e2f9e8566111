"""The "Matchning" pages: run the matcher, review its proposals (approve, reject, or pick a
volunteer by hand), and `vanringen match [--out FILE]` for the same run from a shell."""

import logging
from collections import Counter

import click
import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select

from matching import explain, hard_constraint_violations

from . import csvsafe, messaging
from .db import get_engine, get_session
from .matches import (
    MatchError,
    NeedsConfirmation,
    SlotError,
    active_pair_counts,
    approve,
    create_pair,
    load_taxonomy,
    matchable_volunteers,
    reject,
    rejected_pairs,
    run_matching,
    senior_record,
    slot_choices,
    violations,
    volunteer_record,
)
from .models import MatchProposal, MatchRun, Senior, StaffUser, Volunteer
from .pairs import handover_notes
from .people import local_today, paginate

bp = Blueprint("proposals", __name__, url_prefix="/matchning")
log = logging.getLogger(__name__)
PER_PAGE = 20
SHOW = ("alla", "forslag", "utan")


def _today_and_days():
    return local_today(), current_app.config["POLICE_RECORD_VALID_DAYS"]


def latest_run(*, session: Session) -> MatchRun | None:
    return session.exec(select(MatchRun).order_by(MatchRun.id.desc()).limit(1)).first()


def _list_args() -> dict:
    """Which list page an action came from, to go back to it."""
    args = {"visa": request.values.get("visa", "alla"),
            "page": request.values.get("page", 1, type=int)}
    return {k: v for k, v in args.items() if v not in ("alla", 1)}


def why_unmatched(seniors: list[Senior], *, session: Session) -> dict[int, dict]:
    """For seniors the last run found no volunteer for: who fits now, and what stops the
    others (the matcher's own words for the hard constraints, counted)."""
    if not seniors:
        return {}
    today, valid_days = _today_and_days()
    volunteers = [volunteer_record(v, free) for v, free in matchable_volunteers(
        session=session, today=today, valid_days=valid_days)]
    rejected = rejected_pairs(session=session)
    found = {}
    for senior in seniors:
        record, fits, problems = senior_record(senior), 0, Counter()
        for volunteer in volunteers:
            broken = hard_constraint_violations(record, volunteer, rejected=rejected)
            fits += not broken
            problems.update({problem.split(" (")[0] for problem in broken})
        found[senior.id] = {"volunteers": len(volunteers), "fits": fits,
                            "problems": problems.most_common()}
    return found


def _review_page(*, errors: dict | None = None, form=None, code: int = 200):
    session = get_session()
    run = latest_run(session=session)
    show = request.values.get("visa", "alla")
    show = show if show in SHOW else "alla"
    rank0 = sa.and_(MatchProposal.senior_id == Senior.id, MatchProposal.rank == 0,
                    MatchProposal.run_id == (run.id if run else -1))
    query = (select(Senior, MatchProposal).outerjoin(MatchProposal, rank0)
             .where(Senior.status == "waiting")
             .order_by(Senior.waiting_since.asc().nulls_last(), Senior.id))
    if show == "forslag":
        query = query.where(MatchProposal.status == "pending")
    elif show == "utan":
        query = query.where(MatchProposal.status == "unmatched")
    rows, total, page, pages = paginate(query, session=session, per_page=PER_PAGE,
                                        page=request.values.get("page", 1, type=int))
    senior_ids = [senior.id for senior, _p in rows]
    options = {}
    if run and senior_ids:
        for option in session.exec(select(MatchProposal).where(
                MatchProposal.run_id == run.id, MatchProposal.senior_id.in_(senior_ids),
                MatchProposal.volunteer_id.is_not(None))
                .order_by(MatchProposal.rank)).all():
            options.setdefault(option.senior_id, []).append(option)
    volunteer_ids = {o.volunteer_id for group in options.values() for o in group}
    volunteers = {v.id: v for v in session.exec(
        select(Volunteer).where(Volunteer.id.in_(volunteer_ids))).all()}
    active = active_pair_counts(session=session)
    free = {vid: v.capacity - active.get(vid, 0) for vid, v in volunteers.items()}
    slots = {o.id: slot_choices(senior, volunteers[o.volunteer_id])
             for senior, _p in rows for o in options.get(senior.id, [])}
    staff = session.get(StaffUser, run.by_id) if run and run.by_id else None
    args = {"visa": show} if show != "alla" else {}
    return render_template(
        "proposals/index.html", run=run, run_by=staff, rows=rows, options=options,
        volunteers=volunteers, free=free, slots=slots, total=total, page=page, pages=pages,
        args=args, show=show, handover=handover_notes(senior_ids, session=session),
        why=why_unmatched([senior for senior, p in rows if p and p.status == "unmatched"],
                          session=session),
        errors=errors or {}, form=form or {}), code


@bp.get("/")
def index():
    return _review_page()


@bp.post("/kor")
def run():
    session = get_session()
    today, valid_days = _today_and_days()
    match_run, _records, _proposals = run_matching(session=session, today=today,
                                                   valid_days=valid_days, by_id=current_user.id)
    session.commit()
    flash(_("Förslag klara: %(proposed)s av %(seniors)s väntande seniorer fick ett förslag "
            "(%(volunteers)s volontärer med lediga platser). %(unmatched)s utan förslag.",
            proposed=match_run.proposed, seniors=match_run.seniors,
            volunteers=match_run.volunteers, unmatched=match_run.unmatched), "success")
    return redirect(url_for(".index"))


def _proposal(proposal_id: int) -> MatchProposal:
    proposal = get_session().get(MatchProposal, proposal_id)
    if proposal is None or proposal.volunteer_id is None:
        abort(404)
    return proposal


def _times(slots: list[str]) -> dict[str, str]:
    return {slot: request.form.get(f"time-{slot}", "") for slot in slots}


def _paired_flash(pair, senior, volunteer) -> None:
    flash(_("%(senior)s och %(volunteer)s är nu telefonvänner. %(volunteer)s får ett SMS "
            "med %(senior)s telefonnummer och samtalstiderna.",
            senior=senior.full_name, volunteer=volunteer.full_name), "success")
    if senior.reminder_channel == "none":
        flash(_("%(senior)s får inga meddelanden: ring och berätta om telefonvännen.",
                senior=senior.full_name), "warning")


@bp.post("/forslag/<int:proposal_id>/godkann")
def approve_proposal(proposal_id: int):
    session = get_session()
    proposal = _proposal(proposal_id)
    slots = request.form.getlist("slots")
    if not slots:
        return _review_page(errors={proposal.id: {"slots": _(
            "Välj minst en samtalstid.")}}, form=request.form, code=422)
    today, valid_days = _today_and_days()
    try:
        pair, messages = approve(proposal, slots, session=session, today=today,
                                 valid_days=valid_days, actor=current_user.id,
                                 times=_times(slots))
    except SlotError as exc:
        session.rollback()
        return _review_page(errors={proposal.id: {"slots": str(exc)}}, form=request.form,
                            code=422)
    except MatchError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".index", **_list_args()))
    except sa.exc.IntegrityError:
        session.rollback()
        flash(_("Seniorn har redan en telefonvän. Någon annan kan just ha godkänt en "
                "matchning."), "error")
        return redirect(url_for(".index", **_list_args()))
    session.commit()
    senior, volunteer = session.get(Senior, pair.senior_id), session.get(Volunteer,
                                                                         pair.volunteer_id)
    messaging.send_committed(messages, session=session)
    _paired_flash(pair, senior, volunteer)
    return redirect(url_for(".index", **_list_args()))


@bp.post("/forslag/<int:proposal_id>/avvisa")
def reject_proposal(proposal_id: int):
    session = get_session()
    proposal = _proposal(proposal_id)
    if not request.form.get("reason", "").strip():
        return _review_page(errors={proposal.id: {"reason": _(
            "Ange varför förslaget avvisas.")}}, form=request.form, code=422)
    try:
        reject(proposal, request.form["reason"], session=session, actor=current_user.id)
    except MatchError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".index", **_list_args()))
    session.commit()
    volunteer = session.get(Volunteer, proposal.volunteer_id)
    senior = session.get(Senior, proposal.senior_id)
    flash(_("Förslaget avvisades: %(volunteer)s föreslås aldrig mer för %(senior)s, som "
            "fortsätter att vänta.", volunteer=volunteer.full_name, senior=senior.full_name),
          "success")
    return redirect(url_for(".index", **_list_args()))


# ---------------------------------------------------------------- picking by hand

@bp.route("/senior/<int:senior_id>/valj", methods=["GET", "POST"])
def choose(senior_id: int):
    session = get_session()
    senior = session.get(Senior, senior_id)
    if senior is None:
        abort(404)
    today, valid_days = _today_and_days()
    volunteer_id = request.values.get("volunteer_id", type=int)
    volunteer = session.get(Volunteer, volunteer_id) if volunteer_id else None
    free = explanation = None
    if volunteer is not None:
        free = volunteer.capacity - active_pair_counts(
            session=session, volunteer_id=volunteer.id).get(volunteer.id, 0)
        explanation = explain(senior_record(senior), volunteer_record(volunteer, free),
                              load_taxonomy(session=session))
    errors, code = {}, 200
    if request.method == "POST":
        if volunteer is None:
            errors["volunteer_id"] = _("Välj en volontär.")
        elif not request.form.getlist("slots"):
            errors["slots"] = _("Välj minst en samtalstid.")
        else:
            try:
                pair, messages = create_pair(
                    senior, volunteer, request.form.getlist("slots"), session=session,
                    today=today, valid_days=valid_days, actor=current_user.id,
                    confirmed=request.form.get("confirm") == "y", explanation=explanation,
                    times=_times(request.form.getlist("slots")))
            except NeedsConfirmation as exc:
                session.rollback()
                errors["confirm"] = str(exc)
            except SlotError as exc:
                session.rollback()
                errors["slots"] = str(exc)
            except (MatchError, sa.exc.IntegrityError) as exc:
                session.rollback()
                errors["form"] = str(exc) if isinstance(exc, MatchError) else _(
                    "Seniorn har redan en telefonvän.")
            else:
                session.commit()
                messaging.send_committed(messages, session=session)
                _paired_flash(pair, senior, volunteer)
                return redirect(url_for("seniors.detail", senior_id=senior.id))
        code = 422
    candidates = matchable_volunteers(session=session, today=today, valid_days=valid_days)
    details = None
    if volunteer is not None:
        details = {"free": free, "warnings": violations(senior, volunteer, session=session),
                   "slots": slot_choices(senior, volunteer), "explanation": explanation}
    return render_template(
        "proposals/choose.html", senior=senior, volunteer=volunteer, details=details,
        candidates=candidates, errors=errors, form=request.form,
        handover=handover_notes([senior.id], session=session).get(senior.id, [])), code


# ---------------------------------------------------------------- command line

CSV_HEADER = ["senior_external_id", "volunteer_external_id", "score", "explanation"]


@click.command("match")
@click.option("--out", type=click.File("w", encoding="utf-8", lazy=False),
              help="Skriv förslagen till en CSV-fil.")
@with_appcontext
def match_command(out):
    """Föreslå telefonvänner för alla som väntar; förslagen sparas för granskning."""
    today, valid_days = _today_and_days()
    # expire_on_commit=False: the CSV reads the loaded people, not 10 000 reloads.
    with Session(get_engine(), expire_on_commit=False) as session:
        match_run, records, proposals = run_matching(session=session, today=today,
                                                     valid_days=valid_days)
        session.commit()
    if out is not None:
        # Explanations quote the people's own words (interests): neutralised for spreadsheets.
        writer = csvsafe.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for p in proposals:
            writer.writerow([records.senior_rows[p.senior_id].external_id or "",
                             records.volunteer_rows[p.volunteer_id].external_id or "",
                             f"{p.score:.3f}", p.explanation])
        out.close()
    click.echo(f"Matchning klar: {match_run.proposed} av {match_run.seniors} väntande seniorer "
               f"fick ett förslag ({match_run.volunteers} volontärer med lediga platser); "
               f"{match_run.unmatched} utan förslag.")
    if out is not None:
        click.echo(f"Förslagen skrevs till {out.name}.")
    click.echo("Granska och godkänn dem under Matchning i webbappen.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(match_command)
