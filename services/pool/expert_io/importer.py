"""The expert import: read the file, load the directory once, check every row, then apply the valid ones (or,
strict, none when any row fails) in one transaction."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from sqlmodel import col, select

from services.people.orgs import get_unit, require_scope_over_units, subtree
from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.roles import Actor, Role
from services.platform.tables import Issue, RejectedRow
from services.pool.expert_io.admission import judge
from services.pool.expert_io.checks import Directory, Plan, Row, check_row, is_blank, parse_row
from services.pool.expert_io.columns import BY_HEADER, HEADER_OF, ColumnSpec
from services.pool.expert_io.sheet import ImportReport, Sheet, header_key, read_sheet
from services.pool.expert_io.writer import Writer
from storage.models import Expert, OrgUnit, Person
from storage.pool import Institution
from storage.types import hashed_match
from storage.uow import UnitOfWork

ProgressCallback = Callable[[int, int], Awaitable[None] | None]
_T = TypeVar("_T")


# --- the service --------------------------------------------------------------------------------------------


async def notify_progress(callback: ProgressCallback | None, done: int, total: int) -> None:
    if callback is None:
        return
    result = callback(done, total)
    if inspect.isawaitable(result):
        await result


def chunks(values: Sequence[_T], size: int = 500) -> Iterable[list[_T]]:
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


async def default_unit(uow: UnitOfWork, actor: Actor, org: str | None) -> OrgUnit:
    """``org``, else the actor's org unit, else (the system) the root of the tree; the actor must cover it."""
    if org:
        unit = await get_unit(uow, org)
    elif actor.staff_org_unit_id is not None:
        unit = await get_unit(uow, actor.staff_org_unit_id)
    else:
        roots = [u for u in await uow.org_units.all() if u.parent_id is None]
        if len(roots) != 1:
            raise InvalidInput("name the org unit whose pool to use", field="org")
        unit = roots[0]
    assert unit.id is not None
    await require_scope_over_units(uow, actor, {unit.id})
    return unit


async def load_directory(uow: UnitOfWork, actor: Actor, unit: OrgUnit, rows: list[Row],
                          default_recommending: str | None) -> Directory:
    units: dict[str, OrgUnit] = {}
    for u in await uow.org_units.all():
        units.update({u.code.lower(): u, u.name: u, str(u.id): u})
    scope = None if actor.person_id is None else await subtree(uow, actor.staff_org_unit_id or 0)
    experts: dict[str, tuple[Expert, Person]] = {}
    for chunk in chunks(sorted({r.values["id_number"] for r in rows if "id_number" in r.values})):
        found = await uow.session.exec(select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id))
                                       .where(hashed_match(Expert.id_number_hmac, Expert.id_number, chunk)))
        experts.update({e.id_number: (e, p) for e, p in found if e.id_number})
    by_code: dict[str, Institution] = {}
    codes = {r.values[f] for r in rows for f in ("employer_code", "recommending_code") if f in r.values}
    for chunk in chunks(sorted(codes)):
        found_codes = await uow.session.exec(select(Institution).where(col(Institution.credit_code).in_(chunk)))
        by_code.update({i.credit_code: i for i in found_codes if i.credit_code})
    by_name: dict[str, list[Institution]] = {}
    names = {r.values[f] for r in rows for f in ("employer_name", "recommending_name") if f in r.values}
    for chunk in chunks(sorted(names | ({default_recommending} if default_recommending else set()))):
        found_names = await uow.session.exec(
            select(Institution).where(col(Institution.name).in_(chunk)).order_by(col(Institution.id)))
        for institution in found_names:
            by_name.setdefault(institution.name, []).append(institution)
    unnumbered: dict[tuple[str, int], int] = {}
    for chunk in chunks(sorted({r.values["name"] for r in rows if "name" in r.values})):
        found_people = await uow.session.exec(
            select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id))
            .where(col(Expert.id_number).is_(None), col(Person.name).in_(chunk)))
        for expert, person in found_people:
            unnumbered[(person.name, expert.org_unit_id)] = unnumbered.get((person.name, expert.org_unit_id), 0) + 1
    return Directory(uow.today(), unit, scope, units, experts, by_code, by_name, unnumbered, default_recommending)


def map_columns(sheet: Sheet, report: ImportReport) -> tuple[list[tuple[int, ColumnSpec]], dict[str, str]]:
    mapping: list[tuple[int, ColumnSpec]] = []
    columns: dict[str, str] = {}
    for index, header in enumerate(sheet.headers):
        spec = BY_HEADER.get(header_key(header))
        if spec is None:
            if header:
                report.notes.append(Issue(sheet.header_row, header, "unknown_column", "column not recognized; ignored"))
        elif spec.field in columns:
            report.notes.append(Issue(sheet.header_row, header, "repeated_column",
                                      f"same column as {columns[spec.field]!r}; ignored"))
        else:
            columns[spec.field] = header
            mapping.append((index, spec))
    for required in ("name", "id_number"):
        if required not in columns:
            raise InvalidInput(f"the file has no {HEADER_OF[required]} column", field="file")
    return mapping, columns


async def _read_source(source: Path | bytes, filename: str | None) -> tuple[bytes, str | None]:
    """The file's bytes and name (a path's own name unless ``filename`` is given)."""
    if not isinstance(source, Path):
        return source, filename
    try:
        data = await asyncio.to_thread(source.read_bytes)
    except OSError as error:
        raise InvalidInput(f"cannot read {source}: {error.strerror}", field="file") from None
    return data, filename or source.name


def _plans(rows: list[Row], directory: Directory, sheet: Sheet, report: ImportReport) -> list[Plan]:
    """What to write for each valid row; each rejected row goes to the report with its reasons in column order,
    each row failing the eligibility rules to ``report.ineligible`` (strict: to the rejected rows)."""
    seen: dict[str, int] = {}
    plans: list[Plan] = []
    position = {header: index for index, header in reversed(list(enumerate(sheet.headers)))}
    for row in rows:
        plan = check_row(row, directory, seen)
        if plan is not None:
            judge(plan, directory)
            if plan.ineligible and report.strict and not plan.admitted_by_override:
                row.issues.extend(plan.ineligible)
                plan = None
        if plan is None:
            reasons = sorted(row.issues, key=lambda issue: position.get(issue.column, len(position)))
            report.rejected.append(RejectedRow(row.number, row.cells, tuple(reasons)))
        else:
            plans.append(plan)
            if plan.ineligible:
                report.ineligible.append(RejectedRow(row.number, row.cells, plan.ineligible))
    return plans


def _check_override(actor: Actor, admit_ineligible: str | None) -> str | None:
    """The override's reason, stripped; only admins and the system may use it, and only with a reason."""
    if admit_ineligible is None:
        return None
    if actor.person_id is not None and Role.ADMIN not in actor.roles:
        raise PermissionDenied("only an admin may admit ineligible experts")
    if not admit_ineligible.strip():
        raise InvalidInput("give the reason for admitting ineligible experts", field="reason")
    return admit_ineligible.strip()


async def import_experts(
    uow: UnitOfWork,
    *,
    actor: Actor,
    source: Path | bytes,
    filename: str | None = None,
    org: str | None = None,
    strict: bool = False,
    admit_ineligible: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import expert records from an XLSX or CSV file (a path, or its bytes with ``filename``) into the pool of
    ``org`` (default: the actor's org unit; the bureau for the system), in one transaction that this commits.
    See :mod:`services.pool.expert_io` for the columns and rules.

    ``on_progress(done, total)`` (plain or async) is called with ``done=0`` once the file is read and checked,
    then after each row is applied, ending with ``done == total``.

    Every row is judged by the eligibility rules (000 §8–§9, :mod:`.admission`); ``admit_ineligible`` (an
    admin's or the system's reason) keeps ineligible rows as they say, audited per expert."""
    override = _check_override(actor, admit_ineligible)
    data, filename = await _read_source(source, filename)
    unit = await default_unit(uow, actor, org)
    sheet = await asyncio.to_thread(read_sheet, data, filename or "upload")
    report = ImportReport(source=filename or "upload", org_code=unit.code, strict=strict, headers=sheet.headers)
    mapping, columns = map_columns(sheet, report)
    rows = [parse_row(n, cells, mapping, columns) for n, cells in sheet.rows if not is_blank(cells, mapping)]
    report.total = len(rows)
    directory = await load_directory(uow, actor, unit, rows, sheet.default_recommending)
    directory.admit_ineligible = override
    plans = _plans(rows, directory, sheet, report)
    report.valid = len(plans)
    done = len(report.rejected)
    await notify_progress(on_progress, 0 if plans else done, report.total)
    if strict and report.rejected:
        report.applied = False
        return report
    writer = Writer(uow, actor, report, directory.today, override)
    for plan in plans:
        await writer.apply(plan)
        report.notes.extend(plan.row.notes)
        done += 1
        await notify_progress(on_progress, done, report.total)
    await writer.flush()
    report.notes.sort(key=lambda issue: issue.row)
    await uow.commit()
    return report
