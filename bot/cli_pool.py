"""Expert-pool commands of the command line: ``import experts FILE`` and ``export experts FILE``
(see :mod:`services.pool.expert_io` for the columns and rules), and ``import institutions FILE`` and
``export institutions FILE`` for the institution directory (:mod:`services.institutions.institution_io`).
Wired into :mod:`bot.cli` by :func:`register`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot import cli_insight
from bot.settings import Settings
from services.institutions import institution_io
from services.platform.progress import ProgressGate, bar
from services.platform.roles import SYSTEM_CLI
from services.pool import expert_io
from services.pool.lifecycle import ExpertState
from storage.uow import UnitOfWorkFactory

SHOWN_ISSUES = 20
PROGRESS_EVERY = 0.5  # seconds between redraws of the progress bar


class ProgressLine:
    """The import's progress bar on one line of ``stream`` (standard error), redrawn in place at most every
    :data:`PROGRESS_EVERY` seconds of ``clock``; only on a terminal, so redirected output stays clean (issue 21)."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.gate = ProgressGate(clock, every=PROGRESS_EVERY)
        self.shown = self.stream.isatty()
        self.width = 0

    def update(self, done: int, total: int) -> None:
        """Redraw the bar if it is due."""
        if self.shown and self.gate.due(done, total):
            line = f"importing {bar(done, total)} {done:,}/{total:,} rows"
            self.width = max(self.width, len(line))
            self.stream.write("\r" + line.ljust(self.width))
            self.stream.flush()

    def close(self) -> None:
        """Clear the line (the report follows)."""
        if self.shown and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` and ``export`` commands to the command line's sub-commands."""
    imports = commands.add_parser("import", help="import records from a file").add_subparsers(
        dest="import_command", required=True)
    experts_in = imports.add_parser(
        "experts", help="import expert records from XLSX or CSV (annex 2 layout plus annex 1 columns)")
    experts_in.add_argument("file", help="the .xlsx or .csv file (UTF-8 or GB18030)")
    experts_in.add_argument("--org", help="org unit code of the pool for rows without 所属单位 (default: the bureau)")
    experts_in.add_argument("--strict", action="store_true", help="import nothing if any row is rejected")
    experts_in.add_argument("--rejections", metavar="OUT", help="write the rejected rows with a 原因 column to "
                                                                "OUT (.xlsx or .csv) to fix and import again")
    experts_in.add_argument("--admit-ineligible", action="store_true",
                            help="keep rows that fail the eligibility rules (000 §8-§9) as they say, for rosters "
                                 "appointed before these rules (audited; needs --reason; never a term past 65)")
    experts_in.add_argument("--reason", help="why ineligible rows are admitted (with --admit-ineligible)")
    experts_in.set_defaults(handler=_import_experts)
    institutions_in = imports.add_parser(
        "institutions", help="import the institution directory from XLSX or CSV (机构名称, 统一社会信用代码, ...)")
    institutions_in.add_argument("file", help="the .xlsx or .csv file (UTF-8 or GB18030)")
    institutions_in.add_argument("--strict", action="store_true", help="import nothing if any row is rejected")
    institutions_in.add_argument("--rejections", metavar="OUT", help="write the rejected rows with a 原因 column "
                                                                     "to OUT (.xlsx or .csv) to fix and import again")
    institutions_in.set_defaults(handler=_import_institutions)

    exports = commands.add_parser("export", help="export records to a file").add_subparsers(
        dest="export_command", required=True)
    cli_insight.register(exports)  # leads, activities, audit, credit (issue 17)
    experts_out = exports.add_parser("experts", help="export experts in the annex 2 layout (XLSX or CSV)")
    experts_out.add_argument("file", help="the .xlsx or .csv file to write")
    experts_out.add_argument("--org", help="org unit code (its subtree is exported; default: every pool)")
    experts_out.add_argument("--state", action="append", choices=[*(s.value for s in ExpertState), "all"],
                             help="states to export, repeatable (default: active)")
    experts_out.set_defaults(handler=_export_experts)
    institutions_out = exports.add_parser("institutions", help="export the institution directory (XLSX or CSV)")
    institutions_out.add_argument("file", help="the .xlsx or .csv file to write")
    institutions_out.add_argument("--org", help="org unit code (its subtree's institutions; default: all)")
    institutions_out.set_defaults(handler=_export_institutions)


def describe(report: expert_io.ImportReport) -> str:
    """The one-paragraph summary of an import."""
    if report.refused:
        return (f"{report.source}: strict mode, {len(report.rejected)} of {report.total} rows rejected; "
                f"nothing was imported (pool {report.org_code}).")
    made = f"; {report.institutions_created} institution(s) added to the directory" \
        if report.institutions_created else ""
    ineligible = f"; {len(report.ineligible)} not eligible (000 §8-§9)" if report.ineligible else ""
    admitted = f", {report.admitted_ineligible} of them admitted by override" if report.admitted_ineligible else ""
    return (f"{report.source}: {report.total} rows into pool {report.org_code}: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, {len(report.rejected)} rejected"
            f"{ineligible}{admitted}{made}.")


def describe_institutions(report: institution_io.InstitutionImportReport) -> str:
    """The one-paragraph summary of an institution import."""
    if report.refused:
        return (f"{report.source}: strict mode, {len(report.rejected)} of {report.total} rows rejected; "
                "nothing was imported.")
    return (f"{report.source}: {report.total} institution rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.rejected)} rejected.")


def _issue_lines(report: expert_io.ImportReport | institution_io.InstitutionImportReport) -> list[str]:
    lines = [f"  rejected row {row.row}: " + "; ".join(f"{i.column}: {i.message}" for i in row.reasons)
             for row in report.rejected]
    lines += [f"  not eligible row {row.row} (new experts: under review, no term, unless admitted): "
              + "; ".join(f"{i.column}: {i.message}" for i in row.reasons)
              for row in getattr(report, "ineligible", ())]
    lines += [f"  work history row {item.row}: {item.text} ({item.code}; kept, recuses nobody until corrected)"
              for item in getattr(report, "history_unmatched", ())]
    lines += [f"  note row {note.row}, {note.column}: {note.message}" for note in report.notes]
    if len(lines) > SHOWN_ISSUES:
        lines = [*lines[:SHOWN_ISSUES], f"  ... and {len(lines) - SHOWN_ISSUES} more (use --rejections OUT)"]
    return lines


async def _import_experts(args: argparse.Namespace, settings: Settings) -> int:
    """import experts FILE: apply the valid rows (or, --strict, all or nothing) and report."""
    from bot.cli import CliError, _with_uow

    path = Path(args.file)
    rejections = Path(args.rejections) if args.rejections else None
    if rejections is not None and rejections.suffix.lower() not in (".xlsx", ".csv"):
        raise CliError("--rejections must name a .xlsx or .csv file")
    if args.admit_ineligible and not (args.reason or "").strip():
        raise CliError("--admit-ineligible needs --reason (it is recorded in the audit trail)")
    override = args.reason if args.admit_ineligible else None

    progress = ProgressLine()

    async def work(uow_factory: UnitOfWorkFactory) -> expert_io.ImportReport:
        async with uow_factory() as uow:
            return await expert_io.import_experts(uow, actor=SYSTEM_CLI, source=path, org=args.org,
                                                  strict=args.strict, admit_ineligible=override,
                                                  on_progress=progress.update)

    try:
        report: expert_io.ImportReport = await _with_uow(settings, work)
    finally:
        progress.close()
    print(describe(report))
    for line in _issue_lines(report):
        print(line)
    if rejections is not None and report.rejected:
        count = await asyncio.to_thread(expert_io.write_rejections, report, rejections)
        print(f"{count} rejected row(s) written to {rejections}")
    return 1 if report.refused else 0


async def _export_experts(args: argparse.Namespace, settings: Settings) -> int:
    """export experts FILE: write the pool in the annex 2 layout."""
    from bot.cli import _with_uow

    states = [s.value for s in ExpertState] if args.state and "all" in args.state else (args.state or ["active"])

    async def work(uow_factory: UnitOfWorkFactory) -> expert_io.ExportResult:
        async with uow_factory() as uow:
            return await expert_io.export_experts(uow, actor=SYSTEM_CLI, path=Path(args.file), org=args.org,
                                                  states=states)

    result: expert_io.ExportResult = await _with_uow(settings, work)
    shown = "in full" if result.full_id_numbers else "masked"
    print(f"{result.count} expert(s) ({', '.join(states)}) written to {result.path}; ID numbers {shown}")
    return 0


async def _import_institutions(args: argparse.Namespace, settings: Settings) -> int:
    """import institutions FILE: apply the valid rows (or, --strict, all or nothing) and report."""
    from bot.cli import CliError, _with_uow

    path = Path(args.file)
    rejections = Path(args.rejections) if args.rejections else None
    if rejections is not None and rejections.suffix.lower() not in (".xlsx", ".csv"):
        raise CliError("--rejections must name a .xlsx or .csv file")

    async def work(uow_factory: UnitOfWorkFactory) -> institution_io.InstitutionImportReport:
        async with uow_factory() as uow:
            return await institution_io.import_institutions(uow, actor=SYSTEM_CLI, source=path, strict=args.strict)

    report: institution_io.InstitutionImportReport = await _with_uow(settings, work)
    print(describe_institutions(report))
    for line in _issue_lines(report):
        print(line)
    if rejections is not None and report.rejected:
        count = await asyncio.to_thread(institution_io.write_rejections, report, rejections)
        print(f"{count} rejected row(s) written to {rejections}")
    return 1 if report.refused else 0


async def _export_institutions(args: argparse.Namespace, settings: Settings) -> int:
    """export institutions FILE: write the directory (or an org unit's part of it)."""
    from bot.cli import _with_uow

    path = Path(args.file)

    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            return await institution_io.export_institutions(uow, actor=SYSTEM_CLI, path=path, org=args.org)

    count: int = await _with_uow(settings, work)
    print(f"{count} institution(s) written to {path}")
    return 0
