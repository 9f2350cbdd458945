"""``python -m bot export leads|activities|audit|credit …`` (issue 17): the registers as XLSX or CSV, each run as a
staff member (``--as``) so the unit scope and the masking rules are the bot's own; labels in ``--language``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.settings import Settings
from messages import LANGUAGES, translate
from services.insight import exports, period
from services.people.accounts import staff_actor
from services.platform.tables import write_table
from storage.uow import UnitOfWorkFactory

KINDS = ("leads", "activities", "audit")


def register(exported: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the registers to the ``export`` command."""
    for kind in KINDS:
        sub = exported.add_parser(kind, help=f"export the {kind} of a month or year (XLSX or CSV by extension)")
        sub.add_argument("file", help="the .xlsx or .csv file to write")
        sub.add_argument("--as", dest="as_id", type=int, required=True, help="the staff member's person id")
        sub.add_argument("--period", help="2026-11 (a month) or 2026 (a year); default: this month")
        sub.add_argument("--language", choices=LANGUAGES, default="zh")
        sub.set_defaults(handler=_export, kind=kind)
    credit = exported.add_parser("credit", help="export an expert's credit file (XLSX or CSV by extension)")
    credit.add_argument("expert", type=int, help="the expert's person id")
    credit.add_argument("file", help="the .xlsx or .csv file to write")
    credit.add_argument("--as", dest="as_id", type=int, required=True, help="the staff member's person id")
    credit.add_argument("--language", choices=LANGUAGES, default="zh")
    credit.set_defaults(handler=_export, kind="credit")


async def build(uow_factory: UnitOfWorkFactory, args: argparse.Namespace) -> exports.Export:
    """The table asked for, read as the staff member named by ``--as``."""

    def label(key: str, **params: object) -> str:
        return translate(args.language, key, **params)

    async with uow_factory(readonly=True) as uow:
        actor = await staff_actor(uow, args.as_id)
        if args.kind == "credit":
            return await exports.credit_file(uow, actor=actor, person_id=args.expert, label=label)
        asked = period.parse(args.period, today=uow.today())
        maker = {"leads": exports.leads, "activities": exports.activities, "audit": exports.audit_trail}[args.kind]
        return await maker(uow, actor=actor, period=asked, label=label)


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> exports.Export:
        return await build(uow_factory, args)

    table: exports.Export = await _with_uow(settings, work)
    await asyncio.to_thread(write_table, Path(args.file), table.headers, table.rows, title=table.title)
    print(f"{len(table.rows)} row(s) written to {args.file}")
    return 0


def register_reports(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``report monthly|yearly``: the monthly tables (XLSX) and the yearly report (DOCX) of a unit."""
    kinds = commands.add_parser("report", help="the monthly tables or the yearly report of a unit").add_subparsers(
        dest="report_command", required=True)
    monthly = kinds.add_parser("monthly", help="the monthly statistical tables (XLSX), one sheet per table")
    monthly.add_argument("--unit", required=True, help="org unit code (its subtree is counted, unit by unit)")
    monthly.add_argument("--month", required=True, help="the month, e.g. 2026-11")
    monthly.add_argument("--out", required=True, help="the .xlsx file to write")
    monthly.add_argument("--language", choices=LANGUAGES, default="zh")
    monthly.set_defaults(handler=_report, kind="monthly")
    yearly = kinds.add_parser("yearly", help="the yearly written report (DOCX) with its chart and lists")
    yearly.add_argument("--unit", required=True, help="org unit code")
    yearly.add_argument("--year", required=True, type=int, help="the year, e.g. 2026")
    yearly.add_argument("--out", required=True, help="the .docx file to write")
    yearly.add_argument("--language", choices=LANGUAGES, default="zh")
    yearly.set_defaults(handler=_report, kind="yearly")


async def _report(args: argparse.Namespace, settings: Settings) -> int:
    from bot import reports as files
    from bot.cli import _with_uow
    from services.insight import reports
    from services.people.orgs import unit_ref

    label = files.labeller(args.language)

    async def work(uow_factory: UnitOfWorkFactory) -> bytes:
        async with uow_factory(readonly=True) as uow:
            unit = await unit_ref(uow, args.unit)
            if args.kind == "monthly":
                sheets = await reports.monthly_sheets(uow, unit_id=unit.id, period=period.parse(
                    args.month, today=uow.today()), label=label)
                return await files.monthly_file(sheets)
            return await files.yearly_file(await reports.yearly(uow, unit_id=unit.id, year=args.year, label=label),
                                           label)

    data: bytes = await _with_uow(settings, work)
    await asyncio.to_thread(Path(args.out).write_bytes, data)
    print(f"{args.kind} report written to {args.out}")
    return 0


NOTICES = ("appointment", "removal", "excellence", "targets")


def register_notices(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``notice appointment|removal <expert>|excellence <year>|targets <draw>``: the public notices of ``/notice``
    (000 §10, §23, §20; 003 三(一)), the text to stdout and, with ``--out``, the same words as DOCX."""
    kinds = commands.add_parser("notice", help="a public notice: the text, and a DOCX with --out").add_subparsers(
        dest="notice_command", required=True)
    helps = {"appointment": "the experts in public notice (000 §10)", "removal": "a removed expert (000 §23)",
             "excellence": "a year's published excellent experts (000 §20)",
             "targets": "the results of an inspection-target draw (003 三(一))"}
    for kind in NOTICES:
        sub = kinds.add_parser(kind, help=helps[kind])
        if kind != "appointment":
            sub.add_argument("subject", type=int, help={"removal": "the expert's person id", "excellence": "the year",
                                                        "targets": "the target draw's id"}[kind])
        sub.add_argument("--as", dest="as_id", type=int, required=True, help="the staff member's person id")
        sub.add_argument("--out", help="also write the notice as this .docx file")
        sub.set_defaults(handler=_notice, kind=kind)


async def _notice(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow
    from services.documents import notices as documents
    from services.insight import notices

    async def work(uow_factory: UnitOfWorkFactory) -> documents.Notice:
        async with uow_factory(readonly=True) as uow:
            actor = await staff_actor(uow, args.as_id)
            if args.kind == "appointment":
                return await notices.appointment(uow, actor=actor)
            if args.kind == "removal":
                return await notices.removal(uow, actor=actor, person_id=args.subject)
            if args.kind == "excellence":
                return await notices.excellence(uow, actor=actor, year=args.subject)
            return await notices.targets(uow, actor=actor, draw_id=args.subject)

    found: documents.Notice = await _with_uow(settings, work)
    print(found.text())
    if args.out:
        await asyncio.to_thread(Path(args.out).write_bytes, documents.render(found))
        print(f"notice written to {args.out}")
    return 0
