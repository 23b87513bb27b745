"""Alembic's environment for carewatch, used two ways.

- At start, `carewatch.schema.create_schema` runs the upgrade on its own open connection and hands it in
  through `config.attributes["connection"]`; nothing here reads alembic.ini or the environment then.
- From the `alembic` command line (a developer adding a revision), it opens its own engine on
  CAREWATCH_DATABASE_URL (the same setting `carewatch run` reads).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from carewatch.db import Base, make_engine
from carewatch.migrations.autogen import COMPARE_OPTIONS, render_item
from carewatch.schema import MODELS  # noqa: F401  (imports every room's models, registering their tables on Base)

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: future revisions copy-and-move tables there
        render_item=render_item,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_command_line() -> None:
    from carewatch.settings import load_settings

    engine = make_engine(load_settings().database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("carewatch migrations run online only: drop --sql and point CAREWATCH_DATABASE_URL at a database")

given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    asyncio.run(_run_from_command_line())
