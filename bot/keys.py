"""The master key at start-up (issue 19; ``services.platform.crypto``): where it comes from, the default key file of
an embedded installation, and the refusal to run without it once encrypted data exists.

Order: ``EVIDENCE_KEY`` (base64), else ``EVIDENCE_KEY_FILE``, else the default key file ``fundwatch.key`` beside the
SQLite database (PostgreSQL: in ``./var``, the bot's own data folder). The default file is made on the first start
of a database that holds no encrypted data yet, with a warning: it suits the sandbox and a trial, and production
keeps the key elsewhere (a secret store, or a file on another volume than the database and its backups).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings, StartupError
from services.platform import column_keys, crypto
from storage import backup
from storage.types import bind_cipher
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)
KEY_FILE_NAME = "fundwatch.key"
DATA_FOLDER = Path("./var")  # the bot's own data folder (the default database's)


def default_key_file(settings: Settings) -> Path:
    """Where the embedded installation keeps its key unless told otherwise."""
    database = backup.sqlite_file(settings.database_url)
    return (database.parent if database is not None else DATA_FOLDER) / KEY_FILE_NAME


def configured_key(settings: Settings) -> crypto.MasterKey | None:
    """The key ``EVIDENCE_KEY`` or a key file names (None when neither is set and the default file is missing)."""
    if settings.evidence_key is not None:
        return crypto.parse_key(settings.evidence_key.get_secret_value(), source="EVIDENCE_KEY")
    if settings.evidence_key_file is not None:
        return crypto.read_key_file(Path(settings.evidence_key_file), source="EVIDENCE_KEY_FILE")
    path = default_key_file(settings)
    return crypto.read_key_file(path, source="EVIDENCE_KEY_FILE") if path.exists() else None


async def unlock(settings: Settings, engine: AsyncEngine, uow: UnitOfWorkFactory) -> crypto.MasterKey:
    """The master key, checked against the database, with the column cipher bound to ``engine``; the default key
    file is made when nothing is configured and nothing is encrypted yet. :class:`StartupError` (one line) when
    encrypted data exists and no key, or another key, is configured."""
    try:
        master = configured_key(settings)
        async with uow(readonly=True) as unit:
            present = await column_keys.has_encrypted_data(unit)
        if master is None and present:
            raise crypto.KeyProblem(
                "EVIDENCE_KEY: this database holds encrypted data and no key is configured (set EVIDENCE_KEY or "
                f"EVIDENCE_KEY_FILE; the default key file {default_key_file(settings)} is missing)")
        master = master or _made_default(settings)
        try:
            async with uow(readonly=present) as unit:
                unlocked = await column_keys.unlock(unit, master)
        except IntegrityError:  # another process made the data key first: use that one
            async with uow(readonly=True) as unit:
                unlocked = await column_keys.unlock(unit, master)
    except crypto.KeyProblem as problem:
        raise StartupError(str(problem)) from None
    bind_cipher(engine, unlocked.cipher)
    return master


def _made_default(settings: Settings) -> crypto.MasterKey:
    path = default_key_file(settings)
    master = crypto.create_key_file(path)
    logger.debug("made the master key file %s", path)  # start-up output stays one line if it then fails
    return master


def warn_if_default(settings: Settings) -> None:
    """Once the bot runs (a start-up failure stays one line): say that the key is the default file's."""
    if settings.evidence_key is None and settings.evidence_key_file is None:
        logger.warning("the master key is the default file %s, beside the database: fine for a trial; in production "
                       "keep it away from the database and its backups (EVIDENCE_KEY or EVIDENCE_KEY_FILE)",
                       default_key_file(settings))
