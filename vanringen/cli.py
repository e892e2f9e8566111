"""The `vanringen` command: Flask's CLI with the app's own groups added."""

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

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


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)


def main() -> None:
    from . import create_app

    FlaskGroup(create_app=create_app, help="Vänringen – ring så pratar vi.")(prog_name="vanringen")
