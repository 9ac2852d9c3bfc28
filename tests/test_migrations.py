"""The migrations build exactly the models' schema, and go down and up again cleanly."""

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import inspect

from app import create_app
from app.db import db
from app.scheduler import JOBSTORE_TABLE, production_scheduler


def test_upgrade_matches_the_models_then_downgrade_and_upgrade_again(app, scratch_database_url):
    migrated = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
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
