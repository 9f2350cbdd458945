"""Reading what the bot or a CLI subprocess wrote encrypted (issue 19): bind to a test's own engine the column cipher
of the database, opened with the key the bot uses for it (``EVIDENCE_KEY``/``EVIDENCE_KEY_FILE``, else its default
key file), so a test reads decrypted values and looks ID numbers and mobiles up through their keyed hashes as the
product does."""

from __future__ import annotations

from bot import keys
from bot.settings import Settings
from services.platform import column_keys
from storage.types import bind_cipher
from storage.uow import UnitOfWorkFactory


async def unlock_like_the_bot(uow_factory: UnitOfWorkFactory, database_url: str) -> None:
    """Bind the database's column cipher to ``uow_factory``'s engine (the key must exist: the bot or CLI ran)."""
    master = keys.configured_key(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    assert master is not None, "no key: the bot or a CLI command must have run on this database first"
    async with uow_factory(readonly=True) as uow:
        unlocked = await column_keys.unlock(uow, master)
    bind_cipher(uow_factory.session_factory.kw["bind"], unlocked.cipher)
