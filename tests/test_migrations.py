"""The schema is made by migrations alone; they must match the models and undo cleanly."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from vanringen.cli import alembic_config


def test_migrations_match_the_models(app, database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_downgrade_to_base_and_up_again(app, database_url):
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = sa.create_engine(database_url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables


def test_db_upgrade_command(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "uppdaterad" in result.output
