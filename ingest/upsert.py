"""One statement for many rows: INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike.

What a batch keeps per household, gateway or meter is written with one such statement per table
(executemany), never an ORM object per row: a batch of 500 messages costs a few statements, not a
SELECT and an UPDATE per household (issue 13).  Each statement is built once per dialect and set of
columns and then reused: building one costs more than running it for a small batch.

The column types (`UTCDateTime` refusing naive times, JSON) always apply.  On SQLite the statement is also
compiled once to its SQL text and each column's bind processor, and the rows go to the driver as tuples
(`exec_driver_sql`): SQLAlchemy's per-row work on an executemany (building each row's parameters
through the compiled statement) cost more than SQLite's own insert, about 6 µs of CPU per row
(benchmarks/embedded_ingest.py, docs/runbook.md 1.5).  With aiosqlite they go to the driver connection itself,
a few rows as one multi-row INSERT in one trip to its thread (a one-message batch's commit was mostly such trips:
tests/runners/test_commit_round_trips.py counts them; `benchmarks/embedded_ingest.py --trickle` measures the CPU).  Other databases take the SQLAlchemy path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Dialect, Table, TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.dml import Insert

Row = Mapping[str, Any]
Excluded = ReadOnlyColumnCollection[str, Any]
"""The row that was refused (``excluded.<column>``), for an update that combines it with the stored one."""


ROWS_IN_ONE_TRIP = 32
"""On SQLite up to so many rows go as one multi-row INSERT (at most 32 × 12 columns: under SQLite's oldest limit of
999 parameters), more as an executemany; a row's key is given once, so both store the same."""


Between = Callable[[], Awaitable[None]]
"""Awaited between the pieces of a long write by a caller whose event loop must not wait for all of it (the
embedded runner's slices: a batch of day-long uploads writes ≈ 50,000 rows in its commit)."""

ROWS_PER_PIECE = 2000
"""Rows built and handed to the driver between two `Between` awaits: ≈ 1–3 ms of the loop's CPU for an upsert of
plain columns on SQLite (the hourly use: ≈ 0.7 µs a row)."""


async def in_pieces(
    rows: Iterable[Row], write: Callable[[list[Row]], Awaitable[None]], between: Between | None, per_piece: int = ROWS_PER_PIECE
) -> None:
    """``write`` all ``rows``: in one call without ``between``, else ``per_piece`` at a time (the rows are made only
    as their piece is: a generator's work is sliced too), awaiting ``between`` after each piece."""
    if between is None:
        everything = rows if isinstance(rows, list) else list(rows)
        if everything:
            await write(everything)
        return
    remaining = iter(rows)
    while piece := list(islice(remaining, per_piece)):
        await write(piece)
        await between()


class Upsert:
    """Insert rows into ``model``'s table; a row whose primary key is stored updates that row instead, by
    ``update(excluded)`` (default: every column the rows carry takes the new value).

    >>> from ingest.models import GatewayStatus
    >>> statement = Upsert(GatewayStatus).statement("sqlite", ("gateway_id", "state", "changed_at"))
    >>> print(str(statement.compile(dialect=sqlite.dialect())).split("ON CONFLICT")[1].strip())
    (gateway_id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at
    """

    def __init__(
        self, model: Any, update: Callable[[Excluded], Mapping[str, Any]] | None = None, rows_per_piece: int = ROWS_PER_PIECE
    ) -> None:
        self.table: Table = model.__table__
        self.rows_per_piece = rows_per_piece
        """Rows in one piece of a write given ``between`` (fewer where a row costs more: JSON, long text)."""
        self.keys = [column.name for column in self.table.primary_key.columns]
        self.update = update
        self._built: dict[tuple[str, tuple[str, ...]], Insert] = {}
        self._driver_sql: dict[tuple[str, tuple[str, ...]], _DriverSql | None] = {}

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

    async def write(self, session: AsyncSession, rows: Iterable[Mapping[str, Any]], between: Between | None = None) -> None:
        """One statement for all ``rows`` (each key once; all rows with the same columns), in the caller's transaction;
        with ``between``, one per piece of them (`in_pieces`)."""
        await in_pieces(rows, lambda piece: self._write(session, piece), between, self.rows_per_piece)

    async def _write(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        dialect = session.get_bind().dialect
        columns = tuple(rows[0])
        driver_sql = self._driver_sql_for(dialect, columns)
        if driver_sql is None:
            await session.execute(self.statement(dialect.name, columns), list(rows))
            return
        if session.new or session.dirty or session.deleted:
            await session.flush()  # what the session holds goes first, as SQLAlchemy's autoflush does before a statement
        connection = await session.connection()
        parameters = driver_sql.parameters(rows)
        if dialect.driver != "aiosqlite":
            await connection.exec_driver_sql(driver_sql.text, parameters)
            return
        driver = (await connection.get_raw_connection()).driver_connection  # the same connection, the same transaction
        if len(rows) <= ROWS_IN_ONE_TRIP:
            # One trip to aiosqlite's thread: SQLAlchemy's adapter takes three for any statement (a cursor, the
            # statement, closing the cursor), and a trickle message's commit is mostly such hand-overs (issue 13).
            await driver.execute_fetchall(driver_sql.text_for(len(rows)), [value for row in parameters for value in row])
        else:
            await (await driver.executemany(driver_sql.text, parameters)).close()

    def _driver_sql_for(self, dialect: Dialect, columns: tuple[str, ...]) -> _DriverSql | None:
        key = (dialect.name, columns)
        if key not in self._driver_sql:
            self._driver_sql[key] = _DriverSql.compiled(self.statement(dialect.name, columns), dialect, columns)
        return self._driver_sql[key]


class _DriverSql:
    """An upsert as SQLite's driver takes it: the SQL text, and how a row becomes its positional parameters."""

    __slots__ = ("text", "_columns", "_texts", "_values", "_processed")

    def __init__(self, text: str, columns: list[tuple[str, Callable[[Any], Any] | None, bool]]) -> None:
        self.text = text
        self._columns = columns
        """(column, its bind processor or None, whether its values are times: processed once per distinct value)."""
        self._texts: dict[int, str] = {1: text}
        names = [name for name, _, _ in columns]
        self._values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        )
        """A row's values in the statement's order, as one tuple (taken in C: every row of a batch passes here)."""
        self._processed = [(index, process, memo) for index, (_, process, memo) in enumerate(columns) if process is not None]
        """The positions whose values go through their bind processor."""

    def text_for(self, rows: int) -> str:
        """The statement with ``rows`` rows in its VALUES (the parameters in row order): one statement for them all."""
        text = self._texts.get(rows)
        if text is None:
            one_row = "(" + ", ".join("?" * len(self._columns)) + ")"
            assert self.text.count(one_row) == 1, self.text  # the only parameters are the row's (`compiled`)
            text = self._texts[rows] = self.text.replace(one_row, ", ".join([one_row] * rows))
        return text

    @classmethod
    def compiled(cls, statement: Insert, dialect: Dialect, columns: tuple[str, ...]) -> _DriverSql | None:
        """None unless the dialect is SQLite and the statement's parameters are exactly the rows' columns
        (a column default or ``onupdate`` SQLAlchemy would fill in, or a literal, needs its own path)."""
        if dialect.name != "sqlite":
            return None
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        order = compiled.positiontup
        if order is None or sorted(order) != sorted(columns):
            return None
        types = {name: statement.table.c[name].type for name in order}  # type: ignore[attr-defined]
        # The dialect's own type (SQLite's DATETIME formats times as text), as SQLAlchemy binds it: the generic
        # type's processor would leave times to the driver, which writes them in another form.
        return cls(
            compiled.string,
            [(name, types[name].dialect_impl(dialect).bind_processor(dialect), _holds_times(types[name])) for name in order],
        )

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        # A batch's rows share a few times (the batch's ``updated_at``, the hours booked): formatting each
        # once is cheaper than the dictionary lookup is dear.
        values_of, processed = self._values, self._processed
        if not processed:
            return [values_of(row) for row in rows]
        times: dict[tuple[int, Any], Any] = {}
        parameters = []
        for row in rows:
            values = list(values_of(row))
            for index, process, memo in processed:
                value = values[index]
                if not memo or value is None:
                    values[index] = process(value)
                    continue
                key = (index, value)
                if key not in times:
                    times[key] = process(value)
                values[index] = times[key]
            parameters.append(tuple(values))
        return parameters


def _holds_times(column_type: Any) -> bool:
    underlying = column_type.impl if isinstance(column_type, TypeDecorator) else column_type  # UTCDateTime: DateTime
    try:
        return underlying.python_type is datetime
    except NotImplementedError:
        return False
