"""Copying an SQLite database into an empty PostgreSQL one (``python -m bot db copy``, issue 19: moving an
embedded installation to PostgreSQL, e.g. to run an active process and a standby).

The source is read in one snapshot (one read transaction), table by table in dependency order (SQLModel's
sorted tables: a row's parents are copied before it), each in primary-key order and in batches; the target is
written in one transaction, so a copy that fails leaves it as empty as it was. A column that refers to its own
table (an org unit's parent, a lead linked to another, an edit of an earlier message) is written once the row
it names exists: a reference to a later row is filled in after the table. Values go through the tables' own
column types both ways (JSON, times in UTC), as the application reads and writes them. Sequences are then set
past the highest id, and the caller compares the row counts (:func:`count_rows`) and checks the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table)
from storage.db import READONLY_OPTION
from storage.types import Encrypted, KeyedHash

BATCH = 1000
Progress = Callable[[str, int, int], None]  # table, rows copied so far, rows in the table


class CopyError(Exception):
    """The copy cannot be done; the message says why, in one line."""


@dataclass
class CopyReport:
    """What was copied: rows per table, in the order they were copied."""

    rows: dict[str, int] = field(default_factory=dict)


DERIVED = frozenset({"pool_version"})  # written by the database's triggers as the rows arrive (migration 0019)


def tables() -> list[Table]:
    """Every table of the application, parents before children (not the :data:`DERIVED` ones)."""
    return [table for table in SQLModel.metadata.sorted_tables if table.name not in DERIVED]


async def count_rows(connection: AsyncConnection) -> dict[str, int]:
    """Rows in each table of the application."""
    counts: dict[str, int] = {}
    for table in tables():
        counts[table.name] = int((await connection.execute(select(func.count()).select_from(table))).scalar_one())
    return counts


async def copy_database(
    source: AsyncEngine, target: AsyncEngine, *, batch: int = BATCH, progress: Progress | None = None
) -> CopyReport:
    """Copy every table of ``source`` into ``target``, which must hold no row (else :class:`CopyError`)."""
    report = CopyReport()
    async with source.connect() as connection:
        reading = await connection.execution_options(**{READONLY_OPTION: True})
        async with reading.begin():
            counts = await count_rows(reading)
            async with target.begin() as writing:
                filled = {name: n for name, n in (await count_rows(writing)).items() if n}
                if filled:
                    names = ", ".join(f"{name} ({n})" for name, n in sorted(filled.items()))
                    raise CopyError(f"the target database is not empty: {names}")
                for table in tables():
                    report.rows[table.name] = await _copy_table(
                        reading, writing, table, total=counts[table.name], batch=batch, progress=progress)
                await _reset_sequences(writing)
    return report


async def _copy_table(
    reading: AsyncConnection, writing: AsyncConnection, table: Table, *, total: int, batch: int,
    progress: Progress | None,
) -> int:
    """One table, in primary-key order and batches; returns how many rows were copied."""
    copied = 0
    later: list[tuple[Any, str, Any]] = []  # (row id, column, value) of references to rows not copied yet
    key = list(table.primary_key.columns)
    last: Any = None
    while True:
        rows = await _page(reading, table, key, after=last, offset=copied, limit=batch)
        if not rows:
            break
        values = [dict(row._mapping) for row in rows]
        later += _hold_forward_references(table, key, values)
        await writing.execute(_as_stored(table).insert(), values)
        copied += len(values)
        last = values[-1][key[0].name]
        if progress is not None:
            progress(table.name, copied, total)
    for row_id, column, value in later:
        await writing.execute(update(table).where(key[0] == row_id).values({column: value}))
    if progress is not None and copied == 0:
        progress(table.name, 0, total)
    return copied


async def _page(
    reading: AsyncConnection, table: Table, key: Sequence[Column[Any]], *, after: Any, offset: int, limit: int
) -> Sequence[Any]:
    """The next batch: after the last id (one-column keys), else by offset (the small link tables)."""
    statement = select(*(type_coerce(c, String).label(c.name) if _sealed(c) else c for c in table.columns)) \
        .order_by(*key).limit(limit)
    if len(key) == 1:
        if after is not None:
            statement = statement.where(key[0] > after)
    else:
        statement = statement.offset(offset)
    return (await reading.execute(statement)).all()


def _sealed(column: Column[Any]) -> bool:
    """Whether a column holds a ciphertext or a keyed hash (encryption at rest): copied as stored, never opened or
    hashed again (the target opens it with the same key; a hash of a hash would match nothing)."""
    return isinstance(column.type, Encrypted | KeyedHash)


def _as_stored(table: Table) -> Table:
    """``table`` for writing rows as they were read: its sealed columns as plain text."""
    if not any(_sealed(c) for c in table.columns):
        return table
    return Table(table.name, MetaData(), *(Column(c.name, String if _sealed(c) else c.type) for c in table.columns))


def _hold_forward_references(table: Table, key: Sequence[Column[Any]], values: list[dict[str, Any]]) -> list[
        tuple[Any, str, Any]]:
    """Blank each reference to a row of the same table not written yet; return them to fill in after the table."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not own or len(key) != 1:
        return []
    held: list[tuple[Any, str, Any]] = []
    for row in values:
        row_id = row[key[0].name]
        for column in own:
            if row[column] is not None and row[column] > row_id:  # rows are written in id order
                held.append((row_id, column, row[column]))
                row[column] = None
    return held


async def _reset_sequences(writing: AsyncConnection) -> None:
    """Set each table's id sequence past the highest id copied (PostgreSQL; a table without one is left)."""
    for table in tables():
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, Integer):  # a text key (data_key.purpose) has no sequence
            continue
        sequence = func.pg_get_serial_sequence(table.name, key[0].name)
        await writing.execute(
            select(func.setval(sequence, func.coalesce(func.max(key[0]), 0) + 1, False)).select_from(table)
        )
