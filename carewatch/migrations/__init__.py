"""Alembic migrations for every room's tables; `carewatch.schema.create_schema` applies them at start.

A new revision (a developer, from the repository root, with the alembic.ini shipped there):

    CAREWATCH_DATABASE_URL=sqlite+aiosqlite:///scratch.db alembic upgrade head
    CAREWATCH_DATABASE_URL=sqlite+aiosqlite:///scratch.db alembic revision --autogenerate -m "what changed"

then review the generated file by hand (docs/database.md lists what to look for).
"""
