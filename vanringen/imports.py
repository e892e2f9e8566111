"""CSV import: the upload page and `vanringen import seniors|volunteers|pairs FILE`.

Both only read the file and hand it to csvimport.import_csv() (pair_import.import_pairs()
for pairs); they commit when the whole file was valid, and roll back otherwise.
"""

import click
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlmodel import Session
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from .csvimport import COLUMNS, ImportResult, import_csv
from .db import get_engine, get_session, utcnow
from .errors import http_error
from .pair_import import import_pairs
from .people import local_today
from .planner import Planner

bp = Blueprint("imports", __name__, url_prefix="/import")


class ImportForm(FlaskForm):
    kind = SelectField(_l("Vad innehåller filen?"), choices=[
        SelectChoice("seniors", _l("Seniorer")), SelectChoice("volunteers", _l("Volontärer")),
        SelectChoice("pairs", _l("Befintliga par (telefonvänner)"))])
    file = FileField(_l("CSV-fil"), validators=[FileRequired(_l("Välj en CSV-fil."))],
                     render_kw={"accept": ".csv,.txt,text/csv"})
    dry_run = BooleanField(_l("Bara kontrollera – spara inget"))


def _page(form, result=None, status=200, too_large=False):
    return render_template("imports/upload.html", form=form, result=result, columns=COLUMNS,
                           too_large=too_large,
                           max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
                           ), status


def _import(data: bytes, kind: str, *, session: Session, dry_run: bool,
            actor_id: int | None = None, actor_name: str = "") -> ImportResult:
    if kind == "pairs":
        return import_pairs(data, planner=Planner.from_app(current_app, session=session),
                            now=utcnow(), today=local_today(), dry_run=dry_run, actor=actor_id,
                            valid_days=current_app.config["POLICE_RECORD_VALID_DAYS"])
    return import_csv(data, kind, session=session, dry_run=dry_run, actor_id=actor_id,
                      actor_name=actor_name, region=current_app.config["PHONE_REGION"])


def _summary(result: ImportResult) -> str:
    if result.kind == "pairs":
        return _("%(created)s nya och %(updated)s uppdaterade par, %(unchanged)s "
                 "oförändrade.", created=result.created, updated=result.updated,
                 unchanged=result.unchanged)
    if result.kind == "seniors":
        return _("%(created)s nya och %(updated)s uppdaterade seniorer, %(unchanged)s "
                 "oförändrade.", created=result.created, updated=result.updated,
                 unchanged=result.unchanged)
    return _("%(created)s nya och %(updated)s uppdaterade volontärer, %(unchanged)s "
             "oförändrade.", created=result.created, updated=result.updated,
             unchanged=result.unchanged)


@bp.route("/", methods=["GET", "POST"])
def upload():
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(form, status=422 if form.errors else 200)
    session = get_session()
    result = _import(form.file.data.read(), form.kind.data, session=session,
                     dry_run=form.dry_run.data, actor_id=current_user.id,
                     actor_name=current_user.name or current_user.email)
    if not result.ok or result.dry_run:
        session.rollback()
        return _page(form, result, status=200 if result.ok else 422)
    session.commit()
    flash(_("Importen är klar: %(summary)s", summary=_summary(result)), "success")
    for note in result.notes:
        flash(note, "warning")
    return redirect(url_for(".upload"))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    # Raised while the body is parsed (CSRF check included), before the view runs.
    if not current_user.is_authenticated:
        return http_error(exc)  # the plain Swedish page: the upload form is not theirs
    return _page(ImportForm(formdata=None), status=413, too_large=True)


import_cli = AppGroup("import", help="Importera seniorer, volontärer och par från CSV-filer.")
KIND_WORDS = {"seniors": "seniorer", "volunteers": "volontärer", "pairs": "par"}


def _run(kind: str, file, dry_run: bool) -> None:
    data = file.read()
    with Session(get_engine()) as session:
        result = _import(data, kind, session=session, dry_run=dry_run)
        if result.ok and not dry_run:
            session.commit()
        else:
            session.rollback()
    for note in result.notes:
        click.echo(note, err=True)
    if not result.ok:
        for error in result.errors:
            click.echo(str(error), err=True)
        click.echo(f"Inget importerades: {len(result.errors)} fel i {file.name}.", err=True)
        raise SystemExit(1)
    click.echo(f"{file.name}: {result.rows} rader ({result.file_description}).")
    counts = (f"{result.created} nya, {result.updated} uppdaterade, "
              f"{result.unchanged} oförändrade")
    if dry_run:
        click.echo(f"Filen är korrekt: {counts} – inga ändringar sparades.")
    else:
        click.echo(f"Importerade {KIND_WORDS[kind]}: {counts}.")


_file = click.argument("file", type=click.File("rb"))
_dry_run = click.option("--dry-run", is_flag=True,
                        help="Kontrollera filen utan att spara något.")


@import_cli.command("seniors")
@_file
@_dry_run
def seniors_command(file, dry_run):
    """Importera eller uppdatera seniorer från en CSV-fil.

    Rader matchas på external_id. Filen importeras bara om alla rader är korrekta.
    """
    _run("seniors", file, dry_run)


@import_cli.command("volunteers")
@_file
@_dry_run
def volunteers_command(file, dry_run):
    """Importera eller uppdatera volontärer från en CSV-fil.

    Rader matchas på external_id. Filen importeras bara om alla rader är korrekta.
    """
    _run("volunteers", file, dry_run)


@import_cli.command("pairs")
@_file
@_dry_run
def pairs_command(file, dry_run):
    """Importera programmets befintliga par från en CSV-fil.

    Kolumner: senior_external_id,volunteer_external_id,slots,start_date, t.ex.
    S-17,V-4,tue 14:00;fri 10:30,2024-03-01. Seniorer och volontärer importeras först.
    Samtal och påminnelser planeras direkt. Filen importeras bara om alla rader är korrekta.
    """
    _run("pairs", file, dry_run)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(import_cli)
