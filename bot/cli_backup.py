"""``python -m bot backup`` and ``restore`` (issue 19): one archive with a consistent copy of the SQLite database,
the evidence folder and a manifest of SHA-256s (storage/backup.py); a restore goes into a new database file and an
empty folder, then checks the audit chain and every evidence file the database names."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot import keys
from bot.settings import Settings
from services.leads import evidence
from services.platform import audit
from storage import backup
from storage.uow import UnitOfWorkFactory


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` and ``restore``."""
    made = commands.add_parser("backup", help="archive the database and the evidence folder (SQLite, while running)")
    made.add_argument("--out", required=True, help="the archive to write (.tar.gz)")
    made.add_argument("--evidence-only", action="store_true",
                      help="only the evidence folder (PostgreSQL: back the database up with pg_dump)")
    made.set_defaults(handler=_backup)
    back = commands.add_parser("restore", help="restore an archive into a new database file and an empty folder")
    back.add_argument("archive", help="the .tar.gz written by backup")
    back.set_defaults(handler=_restore)


async def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError

    url = None if args.evidence_only else settings.database_url
    try:
        made = await asyncio.to_thread(backup.backup, url, settings.evidence_dir, Path(args.out),
                                       now=datetime.now(UTC))
    except backup.BackupError as error:
        raise CliError(str(error)) from None
    print(f"backup written to {args.out}: {'database and ' if url else ''}{made.evidence_count} evidence file(s)")
    return 0


async def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError, _with_uow

    try:
        made = await asyncio.to_thread(backup.restore, Path(args.archive), settings.database_url,
                                       settings.evidence_dir)
    except backup.BackupError as error:
        raise CliError(str(error)) from None
    print(f"restored the backup of {made.created_at}: {made.evidence_count} evidence file(s)")

    async def work(uow_factory: UnitOfWorkFactory) -> tuple[audit.ChainReport, tuple[int, list[str]]]:
        async with uow_factory(readonly=True) as uow:
            return await audit.verify_chain(uow), await evidence.verify_stored(
                uow, settings.evidence_dir, keys=keys.configured_key(settings))

    chain, (checked, problems) = await _with_uow(settings, work)
    print(f"audit chain {'intact' if chain.ok else 'BROKEN'}: {chain.checked} entries")
    print(f"evidence: {checked} file(s) checked, {len(problems)} missing or changed")
    for path in problems[:20]:
        print(f"  {path}")
    return 0 if chain.ok and not problems else 1


def daily(settings: Settings, *, now: datetime) -> list[Path]:
    """The daily backup (the bot's job, when BACKUP_DIR is set): one archive, then only BACKUP_KEEP kept."""
    assert settings.backup_dir is not None
    name = settings.backup_dir / f"fundwatch-{now:%Y%m%dT%H%M%SZ}.tar.gz"
    backup.backup(settings.database_url, settings.evidence_dir, name, now=now)
    return backup.prune(settings.backup_dir, keep=settings.backup_keep)
