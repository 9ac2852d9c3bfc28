"""The migrations build exactly the models' schema, and go down and up again cleanly."""

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.db import db
from app.scheduler import JOBSTORE_TABLE, production_scheduler


@pytest.fixture
def empty_database_url(app, tmp_path):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = "convene_migration_test"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_upgrade_matches_the_models_then_downgrade_and_upgrade_again(app, empty_database_url):
    migrated = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with migrated.app_context():
        try:
            flask_migrate.upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
            assert differences == [], f"models and migrations differ: {differences}"

            # The production scheduler's job table is APScheduler's: autogenerate leaves it alone.
            scheduler = production_scheduler(migrated, BackgroundScheduler)
            scheduler.start(paused=True)
            scheduler.shutdown()
            scheduler._jobstores["default"].engine.dispose()
            assert JOBSTORE_TABLE in inspect(db.engine).get_table_names()
            flask_migrate.check()

            flask_migrate.downgrade(revision="base")
            tables = set(inspect(db.engine).get_table_names()) - {"alembic_version", JOBSTORE_TABLE}
            assert tables == set(), f"left behind after downgrade: {tables}"

            flask_migrate.upgrade()
            assert set(inspect(db.engine).get_table_names()) >= {t.name for t in db.metadata.sorted_tables}
        finally:
            db.session.remove()
            db.engine.dispose()
