"""``python -m bot db copy --to postgresql://…`` (issue 19): move an embedded installation (SQLite, ``DATABASE_URL``)
to an empty PostgreSQL database, then check the copy: the rows of every table and the audit chain (000 §25: records
kept and traceable). Stop the bot first: rows written after the copy's snapshot are not copied.

The target is migrated first when it has no schema at all; a target at another revision, or holding any row, is
refused. The copy itself is ``storage/copy.py``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import Settings
from services.platform import audit
from storage import copy, migrate
from storage.db import DatabaseUnavailable, create_engine, create_session_factory, is_sqlite, probe
from storage.uow import UnitOfWorkFactory


def register(db: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db copy``."""
    made = db.add_parser("copy", help="copy this SQLite database (DATABASE_URL) into an empty PostgreSQL one")
    made.add_argument("--to", required=True, metavar="URL", help="the target, postgresql://user:password@host/db")
    made.add_argument("--batch", type=int, default=copy.BATCH, help=f"rows per batch (default {copy.BATCH})")
    made.set_defaults(handler=_copy)


async def _copy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError

    source, target = settings.database_url, _target_url(args.to)
    if not is_sqlite(source):
        raise CliError("db copy reads an SQLite database: DATABASE_URL is not one")
    if not 1 <= args.batch <= 100_000:
        raise CliError("--batch must be from 1 to 100000")
    await _check_schemas(source, target)
    source_engine, target_engine = create_engine(source), create_engine(target)
    try:
        report = await copy.copy_database(source_engine, target_engine, batch=args.batch, progress=_progress)
        async with target_engine.connect() as connection:
            counts = await copy.count_rows(connection)
        uow = UnitOfWorkFactory(create_session_factory(target_engine))
        async with uow(readonly=True) as unit:
            chain = await audit.verify_chain(unit)
    except copy.CopyError as error:
        raise CliError(str(error)) from None
    finally:
        await source_engine.dispose()
        await target_engine.dispose()
    return _verdict(report.rows, counts, chain)


def _target_url(raw: str) -> str:
    from bot.cli import CliError

    url = "postgresql+asyncpg://" + raw.split("://", 1)[1] if raw.startswith(("postgresql://", "postgres://")) else raw
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend != "postgresql" or not url.startswith("postgresql+asyncpg://"):
        raise CliError("--to must be a postgresql:// URL")
    return url


async def _check_schemas(source: str, target: str) -> None:
    """Both databases reachable; the source at the code's revision; the target at it too (migrated if bare)."""
    from bot.cli import CliError

    for name, url in (("DATABASE_URL", source), ("--to", target)):
        try:
            await probe(url)
        except DatabaseUnavailable as error:
            raise CliError(f"{name}: {error}") from None
    head = migrate.head_revision()
    at = await asyncio.to_thread(migrate.current_revision, source)
    if at != head:
        raise CliError(f"DATABASE_URL: schema is at {at or 'nothing'}, code needs {head}; "
                       "run: python -m bot db upgrade")
    at = await asyncio.to_thread(migrate.current_revision, target)
    if at is None:
        await asyncio.to_thread(migrate.upgrade, target)
        print(f"target migrated to revision {head}")
    elif at != head:
        raise CliError(f"--to: schema is at {at}, code needs {head}; "
                       "upgrade it: DATABASE_URL=<target> python -m bot db upgrade")


def _progress(table: str, copied: int, total: int) -> None:
    """One line per batch: the table and how far it is."""
    print(f"  {table}: {copied}/{total}", file=sys.stdout, flush=True)


def _verdict(copied: dict[str, int], counts: dict[str, int], chain: audit.ChainReport) -> int:
    """Print the checks; 0 when every table's rows arrived and the audit chain is intact."""
    wrong = {name: (n, counts.get(name, 0)) for name, n in copied.items() if counts.get(name, 0) != n}
    print(f"copied {sum(copied.values())} rows in {len(copied)} tables")
    for name, (expected, found) in sorted(wrong.items()):
        print(f"  row count differs in {name}: copied {expected}, target has {found}")
    print(f"row counts: {'all equal' if not wrong else f'{len(wrong)} table(s) differ'}")
    expected_entries = copied.get("audit_entry", 0)
    intact = chain.ok and chain.checked == expected_entries
    print(f"audit chain on the target {'intact' if intact else 'BROKEN'}: {chain.checked} of {expected_entries} "
          f"entries checked" + ("" if chain.ok else f" ({chain.reason} at entry {chain.first_bad_id})"))
    return 0 if intact and not wrong else 1
