"""Alembic environment: the URL comes from the app config (see webapp/cli.py)."""
from __future__ import annotations

from alembic import context

from webapp import import_all_models
from webapp.db import Base, make_engine

import_all_models()

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # tests pass an open connection
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:  # a migration that failed leaves no connection behind either
        engine.dispose()


# On PostgreSQL, how long a migration waits for a table's lock. The upgrade
# runs while the old release serves: a migration that must lock a table in
# use (ALTER TABLE, CREATE INDEX, CREATE TRIGGER) waits for the transactions
# using it, and every new check-in or page that needs the table queues behind
# that wait. After this long the upgrade stops with nothing changed (one
# transaction) and is run again; the statements' own work is not limited.
# So a lock, once taken, is held for as long as the statement runs: a new
# index on a big table (check-ins, the access ledger) is built with
# `postgresql_concurrently=True` inside `op.get_context().autocommit_block()`,
# which takes no lock that stops writes.
LOCK_TIMEOUT = "5s"


def _run(connection) -> None:
    # SQLite cannot ALTER most things: batch mode rebuilds the table.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # For the connection's session, not only this transaction: a
            # migration's autocommit block (above) ends the transaction, and
            # the migrations after it wait no longer than the ones before.
            context.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
