"""One statement for many rows: INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike.

What a batch keeps per household, gateway or meter is written with one such statement per table
(executemany), never an ORM object per row: a batch of 500 messages costs a few statements, not a
SELECT and an UPDATE per household (issue 13).  Rows go to the table through SQLAlchemy Core, so
the column types (`UTCDateTime` refusing naive times) still apply.  Each statement is built once per
dialect and set of columns and then reused: building one costs more than running it for a small batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert

Excluded = ReadOnlyColumnCollection[str, Any]
"""The row that was refused (``excluded.<column>``), for an update that combines it with the stored one."""


class Upsert:
    """Insert rows into ``model``'s table; a row whose primary key is stored updates that row instead, by
    ``update(excluded)`` (default: every column the rows carry takes the new value).

    >>> from ingest.models import GatewayStatus
    >>> statement = Upsert(GatewayStatus).statement("sqlite", ("gateway_id", "state", "changed_at"))
    >>> print(str(statement.compile(dialect=sqlite.dialect())).split("ON CONFLICT")[1].strip())
    (gateway_id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at
    """

    def __init__(self, model: Any, update: Callable[[Excluded], Mapping[str, Any]] | None = None) -> None:
        self.table: Table = model.__table__
        self.keys = [column.name for column in self.table.primary_key.columns]
        self.update = update
        self._built: dict[tuple[str, tuple[str, ...]], Insert] = {}

    def statement(self, dialect: str, columns: tuple[str, ...]) -> Insert:
        built = self._built.get((dialect, columns))
        if built is None:
            statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(self.table)
            changes = (
                self.update(statement.excluded)
                if self.update is not None
                else {column: statement.excluded[column] for column in columns if column not in self.keys}
            )
            built = self._built[(dialect, columns)] = statement.on_conflict_do_update(index_elements=self.keys, set_=dict(changes))
        return built

    async def write(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """One statement for all ``rows`` (each key once; all rows with the same columns), in the caller's transaction."""
        if rows:
            statement = self.statement(session.get_bind().dialect.name, tuple(rows[0]))
            await session.execute(statement, list(rows))
