"""Alembic environment: runs on the engine the caller hands over (see `Database.upgrade`)."""

from alembic import context
from sqlalchemy import create_engine

from tokensmith.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` use with a URL in the config
    engine = create_engine(config.get_main_option("sqlalchemy.url"))

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
