"""Alembic environment: runs against the engine the portal app hands over."""

from alembic import context

import portal.models  # noqa: F401  (register the core tables on the metadata)
from portal.db import Model

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Model.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
