"""One statement for many rows: INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike.

What a batch keeps per household, gateway or meter is written with one such statement per table
(executemany), never an ORM object per row: a batch of 500 messages costs a few statements, not a
SELECT and an UPDATE per household (issue 13).  Rows go to the table through SQLAlchemy Core, so
the column types (`UTCDateTime` refusing naive times) still apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnCollection

Excluded = ColumnCollection[str, Any]
"""The row that was refused (``excluded.<column>``), for an update that combines it with the stored one."""


async def upsert(
    session: AsyncSession,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    update: Callable[[Excluded], Mapping[str, ColumnElement[Any] | Any]] | None = None,
) -> None:
    """Insert ``rows`` into ``model``'s table; a row whose primary key is stored updates it instead, by
    ``update(excluded)`` (default: every column the rows carry takes the new value).  Give each key once."""
    if not rows:
        return
    table: Table = model.__table__
    keys = [column.name for column in table.primary_key.columns]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    changes = (
        update(statement.excluded)
        if update is not None
        else {column: statement.excluded[column] for column in rows[0] if column not in keys}
    )
    await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=dict(changes)), list(rows))
