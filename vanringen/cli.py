"""The `vanringen` command: Flask's CLI with the app's own groups added."""

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from . import report_export
from .db import get_session
from .gdpr_cli import gdpr_cli
from .report_figures import MAX_DAYS, compute_report

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    url = url or current_app.config["DATABASE_URL"]
    # ConfigParser treats % as interpolation; passwords in URLs may contain it.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade_command(revision):
    """Apply migrations up to REVISION (default: the newest)."""
    upgrade(revision=revision)
    click.echo("Databasen är uppdaterad.")


@db_cli.command("downgrade")
@click.argument("revision")
def downgrade_command(revision):
    """Undo migrations down to REVISION ('base' empties the database)."""
    command.downgrade(alembic_config(), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def revision_command(message):
    """Write a new migration from the difference between the models and the database."""
    command.revision(alembic_config(), message=message, autogenerate=True)


@db_cli.command("current")
def current_command():
    command.current(alembic_config())


def _date_argument(_ctx, param, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"ogiltigt datum '{value}': skriv ÅÅÅÅ-MM-DD, t.ex. 2026-01-01",
                                 param=param) from None


@click.command("report")
@click.option("--from", "start", required=True, callback=_date_argument, metavar="ÅÅÅÅ-MM-DD",
              help="Periodens första dag.")
@click.option("--to", "end", required=True, callback=_date_argument, metavar="ÅÅÅÅ-MM-DD",
              help="Periodens sista dag (tas med).")
@click.option("--format", "kind", required=True, type=click.Choice(["json", "csv", "xlsx"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Filen att skriva.")
@with_appcontext
def report_command(start, end, kind, out):
    """Rapporten till finansiären för en period, som JSON, CSV eller Excel."""
    if start > end:
        raise click.BadParameter(f"från-datumet {start} är efter till-datumet {end}",
                                 param_hint="'--from'")
    if (end - start).days >= MAX_DAYS:
        raise click.BadParameter(f"perioden {start}–{end} är längre än fem år",
                                 param_hint="'--to'")
    if not out.parent.is_dir():
        raise click.BadParameter(f"mappen '{out.parent}' finns inte", param_hint="'--out'")
    config = current_app.config
    report = compute_report(start, end, session=get_session(), tz=ZoneInfo(config["TIMEZONE"]),
                            min_group=config["REPORT_MIN_GROUP"])
    if kind == "xlsx":
        out.write_bytes(report_export.report_xlsx(report))
    else:
        text = report_export.report_json(report) if kind == "json" \
            else report_export.report_csv(report)
        out.write_text(text, encoding="utf-8")
    click.echo(f"Skrev rapporten för {start}–{end} till {out}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(gdpr_cli)
    app.cli.add_command(report_command)


def main() -> None:
    from . import create_app

    FlaskGroup(create_app=create_app, help="Vänringen – ring så pratar vi.")(prog_name="vanringen")
