"""``python -m bot supervisor ...``: the social supervisor registry (002 §3–§8) and the identity custodians of leads
(003 三(四)) from the command line, over the same services as the bot. Wired into :mod:`bot.cli` by :func:`register`.

- ``supervisor add --name N --id-number ID --org CODE [--source S] [--method M] [--certificate C] [--work-id W]
  [--mobile M] [--term-start YYYY-MM-DD]`` (prints the person id; an existing ID number updates the record)
- ``supervisor list [--org CODE]`` · ``supervisor end PERSON --reason R [--note TEXT]`` (002 §8 grounds)
- ``supervisor import FILE [--strict]`` · ``supervisor export FILE [--org CODE]`` (XLSX or CSV)
- ``supervisor custodian grant|revoke PERSON --org CODE`` · ``supervisor reveals`` (every identity reveal)
- ``supervisor sweep`` (term-end reminders and expiries, and lead deadlines, once)
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot.settings import Settings
from services.leads import lead_privacy, lead_triage
from services.platform.roles import SYSTEM_CLI
from services.supervisors import supervisor_io, supervisors
from services.supervisors.supervisors import AppointmentMethod, EndReason, Source, SupervisorInput
from storage.uow import UnitOfWorkFactory


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``supervisor`` command to the command line's sub-commands."""
    parser = commands.add_parser("supervisor", help="social supervisors (002) and lead identity custodians")
    actions = parser.add_subparsers(dest="supervisor_command", required=True)
    add = actions.add_parser("add", help="appoint (or update) a supervisor and print the person id")
    add.add_argument("--name", required=True)
    add.add_argument("--id-number", required=True)
    add.add_argument("--org", required=True, help="division code")
    add.add_argument("--source", default="other", choices=[s.value for s in Source], help="002 §4")
    add.add_argument("--method", default="open_selection", choices=[m.value for m in AppointmentMethod],
                     help="002 §6")
    add.add_argument("--certificate")
    add.add_argument("--work-id")
    add.add_argument("--mobile")
    add.add_argument("--term-start", type=date.fromisoformat)
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="the registry")
    listing.add_argument("--org")
    listing.set_defaults(handler=_list)
    end = actions.add_parser("end", help="terminate an appointment (002 §8)")
    end.add_argument("person_id", type=int)
    end.add_argument("--reason", required=True, choices=[r.value for r in EndReason])
    end.add_argument("--note", default="")
    end.set_defaults(handler=_end)
    imported = actions.add_parser("import", help="import a registry table (XLSX or CSV)")
    imported.add_argument("file", type=Path)
    imported.add_argument("--strict", action="store_true")
    imported.set_defaults(handler=_import)
    exported = actions.add_parser("export", help="export the registry (XLSX or CSV by extension)")
    exported.add_argument("file", type=Path)
    exported.add_argument("--org")
    exported.set_defaults(handler=_export)
    custodian = actions.add_parser("custodian", help="grant or revoke the identity custodian role")
    custodian.add_argument("action", choices=["grant", "revoke"])
    custodian.add_argument("person_id", type=int)
    custodian.add_argument("--org", required=True)
    custodian.set_defaults(handler=_custodian)
    actions.add_parser("reveals", help="every reveal of a reporter's identity").set_defaults(handler=_reveals)
    actions.add_parser("sweep", help="run the supervisor and lead sweeps once").set_defaults(handler=_sweep)


async def _run(settings: Settings, work: Any) -> Any:
    from bot.cli import _with_uow

    return await _with_uow(settings, work)


async def _add(args: argparse.Namespace, settings: Settings) -> int:
    data = SupervisorInput(name=args.name, id_number=args.id_number, org=args.org, source=args.source,
                           appointment_method=args.method, certificate_number=args.certificate,
                           work_id_number=args.work_id, mobile=args.mobile, term_start=args.term_start)

    async def work(uow_factory: UnitOfWorkFactory) -> tuple[int, bool]:
        async with uow_factory() as uow:
            return await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=data)

    person_id, created = await _run(settings, work)
    print(f"{person_id} {'created' if created else 'updated'}")
    return 0


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> Any:
        async with uow_factory(readonly=True) as uow:
            return await supervisors.list_supervisors(uow, actor=SYSTEM_CLI, org=args.org)

    for v in await _run(settings, work):
        print(f"{v.person_id}\t{v.name}\t{v.id_number}\t{v.org_code}\t{v.source}\t{v.appointment_method}\t"
              f"{v.certificate_number}\t{v.term_start}\t{v.term_end}\t{v.status}\t{v.end_reason}")
    return 0


async def _end(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> None:
        async with uow_factory() as uow:
            await supervisors.terminate(uow, actor=SYSTEM_CLI, person_id=args.person_id, reason=args.reason,
                                        note=args.note)

    await _run(settings, work)
    print(f"{args.person_id} ended ({supervisors.ARTICLE[EndReason(args.reason)]})")
    return 0


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    data = args.file.read_bytes()

    async def work(uow_factory: UnitOfWorkFactory) -> Any:
        async with uow_factory() as uow:
            return await supervisor_io.import_supervisors(uow, actor=SYSTEM_CLI, source=data,
                                                          filename=args.file.name, strict=args.strict)

    report = await _run(settings, work)
    print(f"rows {report.total}, valid {report.valid}, created {report.created}, updated {report.updated}, "
          f"rejected {len(report.rejected)}" + (" — strict: nothing imported" if report.refused else ""))
    for rejected in report.rejected:
        print(f"row {rejected.row}: " + "; ".join(f"{i.column} {i.message}" for i in rejected.reasons))
    return 1 if report.rejected else 0


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory(readonly=True) as uow:
            return await supervisor_io.export_supervisors(uow, actor=SYSTEM_CLI, path=args.file, org=args.org)

    print(f"{await _run(settings, work)} supervisors written to {args.file}")
    return 0


async def _custodian(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> None:
        async with uow_factory() as uow:
            if args.action == "grant":
                await lead_privacy.grant_custodian(uow, actor=SYSTEM_CLI, person_id=args.person_id, org=args.org)
            else:
                await lead_privacy.revoke_custodian(uow, actor=SYSTEM_CLI, person_id=args.person_id, org=args.org)

    await _run(settings, work)
    print(f"custodian {args.action}: person {args.person_id}, org {args.org}")
    return 0


async def _reveals(_args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> Any:
        async with uow_factory(readonly=True) as uow:
            return await lead_privacy.list_reveals(uow, actor=SYSTEM_CLI)

    for row in await _run(settings, work):
        print(f"{row.at}\t{row.number}\t{row.custodian}\t{row.reason}")
    return 0


async def _sweep(_args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> tuple[Any, Any]:
        return await supervisors.term_sweep(uow_factory), await lead_triage.sweep(uow_factory)

    terms, deadlines = await _run(settings, work)
    print(f"terms {terms}; leads {deadlines}")
    return 0
