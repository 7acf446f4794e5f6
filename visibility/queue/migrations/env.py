"""Alembic environment: the engine comes from visibility, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine
from sqlmodel import SQLModel

import visibility.queue.models  # noqa: F401  (registers the tables)

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `visibility db upgrade`")

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Two containers starting together must not both run the migrations.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7262011)")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
