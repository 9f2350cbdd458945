"""``python -m bot records ...``: work records and the credit file from the command line, the same services as the
bot's ``/workrecordexport`` and ``/record`` (:mod:`services.records.work_records`, :mod:`services.records.credit`).
Wired into
:mod:`bot.cli` by :func:`register`.

- ``records export ACTIVITY --as STAFF --out FILE.docx`` — the work record in the annex-4 layout (000 §25)
- ``records file EXPERT --as STAFF`` — an expert's credit file
- ``records sweep`` — open, remind and escalate work records and record slot events now (what the scheduler does)
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.settings import Settings
from services.people.accounts import staff_actor
from services.records import credit, work_records
from storage.uow import UnitOfWorkFactory


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``records`` command to the command line's sub-commands."""
    records = commands.add_parser("records", help="work records (annex 4) and credit files (000 §25)")
    actions = records.add_subparsers(dest="records_command", required=True)
    export = actions.add_parser("export", help="write an activity's work record (annex 4, DOCX)")
    export.add_argument("activity_id", type=int)
    export.add_argument("--as", dest="as_id", type=int, required=True, help="person id of the organizer's staff")
    export.add_argument("--out", required=True, metavar="FILE")
    export.set_defaults(handler=_export)
    shown = actions.add_parser("file", help="print an expert's credit file")
    shown.add_argument("expert_id", type=int)
    shown.add_argument("--as", dest="as_id", type=int, required=True, help="person id of a staff member")
    shown.set_defaults(handler=_file)
    actions.add_parser("sweep", help="run the work-record and credit sweeps once").set_defaults(handler=_sweep)


async def _run(settings: Settings, work: object) -> object:
    from bot.cli import _with_uow

    return await _with_uow(settings, work)  # type: ignore[arg-type]


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError

    async def work(uow_factory: UnitOfWorkFactory) -> bytes:
        async with uow_factory() as uow:
            _, data = await work_records.export_docx(uow, actor=await staff_actor(uow, args.as_id),
                                                     activity_id=args.activity_id)
        return data

    data = await _run(settings, work)
    assert isinstance(data, bytes)
    out = Path(args.out)
    try:
        await asyncio.to_thread(out.write_bytes, data)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None
    print(f"work record of activity {args.activity_id} written to {out} ({len(data)} bytes)")
    return 0


async def _file(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> list[str]:
        async with uow_factory(readonly=True) as uow:
            found = await credit.credit_file(uow, actor=await staff_actor(uow, args.as_id), person_id=args.expert_id)
        lines = [f"expert {found.person_id}: total {found.total:+d}, {len(found.events)} event(s)"]
        lines += [f"  {e.occurred_at.astimezone(settings.zone):%Y-%m-%d} {e.kind} {e.points:+d} {e.source} {e.note}"
                  for e in found.events]
        return lines

    lines = await _run(settings, work)
    assert isinstance(lines, list)
    print("\n".join(lines))
    return 0


async def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> str:
        counts = await work_records.sweep(uow_factory)
        added = await credit.sweep_slots(uow_factory)
        return ", ".join(f"{k} {v}" for k, v in counts.items()) + f", credit events {added}"

    print(await _run(settings, work))
    return 0
