"""``python -m bot keys``: the master key of encryption at rest (issue 19; ``services.platform.crypto``).

* ``keys new [--out FILE]``: a new master key (base64), printed or written to an owner-only file.
* ``keys status``: the key's id and what is still stored in clear.
* ``keys encrypt-existing``: encrypt the evidence files and the column values written before encryption, in place,
  with a progress bar; resumable (run it again after an interruption). A SQLite file is then rebuilt
  (``storage.compact``) so the replaced plaintext leaves no bytes behind.
* ``keys rotate --new-key-file F`` (or ``NEW_EVIDENCE_KEY``): re-wrap every data key (each evidence file's and the
  columns') under the new master key without rewriting any file or row; resumable. Stop the bot first, run it, then
  configure the new key (EVIDENCE_KEY / EVIDENCE_KEY_FILE) and start the bot again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from bot import keys
from bot.cli_pool import ProgressLine
from bot.settings import Settings
from services.leads import evidence, evidence_keys
from services.platform import column_keys, crypto
from storage.compact import compact_sqlite
from storage.uow import UnitOfWorkFactory


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keys`` and its subcommands."""
    parser = commands.add_parser("keys", help="the master key: new, status, encrypt-existing, rotate")
    sub = parser.add_subparsers(dest="keys_command", required=True)
    made = sub.add_parser("new", help="make a new master key (base64 of 32 random bytes)")
    made.add_argument("--out", help="write it to this file (owner-only; never over an existing file)")
    made.set_defaults(handler=_new)
    sub.add_parser("status", help="the key's id and what is still stored in clear").set_defaults(handler=_status)
    sub.add_parser("encrypt-existing", help="encrypt evidence files and columns written before encryption "
                   "(resumable)").set_defaults(handler=_encrypt_existing)
    rotate = sub.add_parser("rotate", help="re-wrap every data key under a new master key (resumable)")
    rotate.add_argument("--new-key-file", help="the new key's file (else the NEW_EVIDENCE_KEY variable)")
    rotate.set_defaults(handler=_rotate)


async def _new(args: argparse.Namespace, _settings: Settings) -> int:
    from bot.cli import CliError

    if args.out is None:
        print(crypto.new_key_text())
        return 0
    path = Path(args.out)
    if await asyncio.to_thread(path.exists):
        raise CliError(f"{path} exists: a key file is never overwritten")
    made = await asyncio.to_thread(crypto.create_key_file, path)
    print(f"master key {made.key_id} written to {path}")
    return 0


async def _status(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory(readonly=True) as uow:
            return await column_keys.count_plaintext(uow)

    plain_values = await _with_uow(settings, work)
    master = keys.configured_key(settings)
    assert master is not None  # unlocked by _with_uow
    files = await asyncio.to_thread(evidence_keys.bodies, Path(settings.evidence_dir))
    plain_files = sum(1 for path in files if not evidence.key_path(path).exists())
    print(f"master key {master.key_id}")
    print(f"evidence: {len(files)} file(s), {plain_files} not encrypted")
    print(f"columns: {plain_values} value(s) not encrypted")
    return 0


async def _encrypt_existing(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError, _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> int:
        progress = ProgressLine()
        try:
            return await column_keys.encrypt_existing(uow_factory, progress=progress.update)
        finally:
            progress.close()

    values = await _with_uow(settings, work)
    if values and not await asyncio.to_thread(compact_sqlite, settings.database_url):
        print("PostgreSQL keeps old row versions until vacuumed: run VACUUM FULL expert, supervisor, lead, person")
    master = keys.configured_key(settings)
    assert master is not None
    progress = ProgressLine()
    try:
        tally = await asyncio.to_thread(evidence_keys.encrypt_existing, Path(settings.evidence_dir), master,
                                        progress=progress.update)
    finally:
        progress.close()
    print(f"columns: {values} value(s) encrypted")
    print(f"evidence: {tally.changed} file(s) encrypted, {tally.skipped} already were, {len(tally.failed)} left "
          "as they are (not matching their name)")
    for path in tally.failed[:20]:
        print(f"  {path}")
    if tally.failed:
        raise CliError("some evidence files do not match their SHA-256 name: check them (python -m bot restore "
                       "verifies a backup), then run keys encrypt-existing again")
    return 0


def _new_key(args: argparse.Namespace) -> crypto.MasterKey:
    from bot.cli import CliError

    try:
        if args.new_key_file:
            return crypto.read_key_file(Path(args.new_key_file), source="--new-key-file")
        text = os.environ.get("NEW_EVIDENCE_KEY")
        if not text:
            raise CliError("give the new key: --new-key-file FILE or the NEW_EVIDENCE_KEY variable "
                           "(python -m bot keys new makes one)")
        return crypto.parse_key(text, source="NEW_EVIDENCE_KEY")
    except crypto.KeyProblem as problem:
        raise CliError(str(problem)) from None


async def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError, _with_uow

    new = _new_key(args)
    old = keys.configured_key(settings)
    if old is None:
        raise CliError("no current key configured (EVIDENCE_KEY or EVIDENCE_KEY_FILE): nothing to rotate from")
    progress = ProgressLine()
    try:
        tally = await asyncio.to_thread(evidence_keys.rotate, Path(settings.evidence_dir), old, new,
                                        progress=progress.update)
    finally:
        progress.close()
    if tally.failed:
        for path in tally.failed[:20]:
            print(f"  {path}")
        raise CliError(f"{len(tally.failed)} evidence key(s) are wrapped by neither key: nothing else was changed")

    async def work(uow_factory: UnitOfWorkFactory) -> bool:
        async with uow_factory() as uow:
            return await column_keys.rewrap(uow, old, new)

    rewrapped = await _with_uow(settings, work)
    print(f"evidence: {tally.changed} data key(s) re-wrapped, {tally.skipped} already under the new key")
    print(f"columns: data key {'re-wrapped' if rewrapped else 'already under the new key'}")
    print(f"now configure the new key (id {new.key_id}) as EVIDENCE_KEY or EVIDENCE_KEY_FILE and start the bot")
    return 0
