"""Writing expert tables: the annex-2 export and the file of rejected rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import and_, col, or_, select

from services.people.orgs import subtree
from services.platform import audit
from services.platform.errors import InvalidInput, PermissionDenied
from services.platform.identifiers import (
    mask_id_number,
)
from services.platform.roles import Actor
from services.platform.tables import REASON_HEADER, SOURCE_ROW_HEADER, Cell, Issue, TableWriter
from services.platform.tables import write_table as _write_table
from services.pool.expert_io.columns import (
    CATEGORY_LABELS,
    DEGREE_LABELS,
    DIRECT,
    EXPORTED,
    GENDER_LABELS,
    POST_LEVEL_LABELS,
    STATE_LABELS,
    SUBCATEGORY_LABELS,
    TITLE,
    TITLE_LEVEL_LABELS,
)
from services.pool.expert_io.importer import chunks, default_unit
from services.pool.expert_io.sheet import ImportReport
from services.pool.experts import sees_full_id_numbers
from services.pool.lifecycle import ExpertState
from storage.models import Expert, OrgUnit, Person
from storage.pool import Institution
from storage.uow import UnitOfWork

# --- rejections file ----------------------------------------------------------------------------------------


def write_rejections(report: ImportReport, path: Path, *, describe: Callable[[Issue], str] | None = None) -> int:
    """Write the rejected rows as they were read, after a 原因 column (each reason as "column：message", or as
    ``describe`` words it) and a 原行号 column, as XLSX or CSV by ``path``'s extension. Returns the row count."""
    explain = describe or (lambda issue: f"{issue.column}：{issue.message}")
    headers = [REASON_HEADER, SOURCE_ROW_HEADER, *report.headers]
    rows: list[list[Cell]] = [
        ["；".join(explain(issue) for issue in rejected.reasons), rejected.row, *rejected.cells]
        for rejected in report.rejected
    ]
    _write_table(path, headers, rows, title=None)
    return len(rows)


# --- export -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    count: int
    full_id_numbers: bool


def _labels(codes: Iterable[str], labels: dict[Any, str]) -> str:
    return "、".join(labels.get(code, code) for code in codes)


def _export_values(expert: Expert, person: Person, institutions: dict[int, Institution], units: dict[int, OrgUnit],
                   full: bool) -> dict[str, Cell]:
    employer = institutions.get(expert.employer_id or 0)
    recommending = institutions.get(expert.recommending_unit_id or 0)

    def label(value: str | None, labels: dict[Any, str]) -> str | None:
        return labels.get(value, value) if value else None

    def yes(value: bool) -> str:
        return "是" if value else "否"

    values: dict[str, Cell] = {name: getattr(expert, name) for name in DIRECT if not isinstance(
        getattr(expert, name), list | bool)}
    values.update({name: yes(getattr(expert, name)) for name in DIRECT if isinstance(getattr(expert, name), bool)})
    values.update(
        name=person.name, gender=label(expert.gender, GENDER_LABELS),
        employment=" ".join(v for v in (employer.name if employer else None, expert.post, expert.title) if v),
        highest_degree=label(expert.highest_degree, DEGREE_LABELS),
        id_number=(expert.id_number if full else mask_id_number(expert.id_number)) if expert.id_number else None,
        contact=" ".join(v for v in (expert.mobile, expert.email) if v),
        # the birth date is what a masked ID number hides: the year only, as on the card (issue 14, staff views)
        birth_date=expert.birth_date if full or expert.birth_date is None else str(expert.birth_date.year),
        employer_name=employer.name if employer else None, employer_code=employer.credit_code if employer else None,
        post_level=label(expert.post_level, POST_LEVEL_LABELS),
        title_level=label(expert.title_level, TITLE_LEVEL_LABELS),
        categories=_labels(expert.categories, CATEGORY_LABELS),
        clinical_subcategories=_labels(expert.clinical_subcategories, SUBCATEGORY_LABELS),
        specialty_tags="、".join(expert.specialty_tags),
        recommending_name=recommending.name if recommending else None,
        recommending_code=recommending.credit_code if recommending else None,
        education="\n".join(str(item.get("text", "")) for item in expert.education),
        org=units[expert.org_unit_id].code if expert.org_unit_id in units else None,
        state=label(expert.state, STATE_LABELS), term_start=expert.term_start, term_end=expert.term_end,
    )
    return values


BATCH = 1_000
"""Experts read, turned into rows and written per batch, so an export's memory does not grow with the pool."""


async def _batches(uow: UnitOfWork, query: Any) -> AsyncIterator[list[tuple[Expert, Person]]]:
    """The experts ``query`` selects in (org unit, person) order, :data:`BATCH` at a time by keyset (one short
    query per batch on either database); each batch leaves the session once the caller is done with it."""
    after: tuple[int, int] | None = None
    while True:
        page = query
        if after is not None:
            page = page.where(or_(col(Expert.org_unit_id) > after[0],
                                  and_(col(Expert.org_unit_id) == after[0], col(Expert.person_id) > after[1])))
        found = [(e, p) for e, p in await uow.session.exec(
            page.order_by(col(Expert.org_unit_id), col(Expert.person_id)).limit(BATCH))]
        if not found:
            return
        yield found
        for expert, person in found:
            uow.session.expunge(expert)
            uow.session.expunge(person)
        after = (found[-1][0].org_unit_id, found[-1][0].person_id)


async def _institutions(uow: UnitOfWork, ids: set[int], known: dict[int, Institution]) -> None:
    """Add the institutions of ``ids`` not yet in ``known``."""
    for chunk in chunks(sorted(ids - known.keys())):
        found_institutions = await uow.session.exec(select(Institution).where(col(Institution.id).in_(chunk)))
        known.update({i.id: i for i in found_institutions if i.id is not None})


async def export_experts(
    uow: UnitOfWork,
    *,
    actor: Actor,
    path: Path,
    org: str | None = None,
    states: Sequence[str] = ("active",),
) -> ExportResult:
    """Write the experts of ``org``'s subtree (default: the actor's org unit; everything for the system) in the
    given states to ``path`` (.xlsx or .csv) in the annex-2 layout, and record the export in the audit trail.
    Streams: a batch of experts is read, turned into rows and written at a time (issue 21)."""
    wanted = [ExpertState(s).value for s in states if s in {x.value for x in ExpertState}]
    if len(wanted) != len(list(states)) or not wanted:
        raise InvalidInput(f"states must be some of {', '.join(s.value for s in ExpertState)}", field="states")
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise InvalidInput("the file name must end in .xlsx or .csv", field="file")
    scope_unit: OrgUnit | None = None
    if org is not None or actor.person_id is not None:
        if org is None and actor.staff_org_unit_id is None:
            raise PermissionDenied("only staff may do this")
        scope_unit = await default_unit(uow, actor, org)
    query = select(Expert, Person).join(Person, col(Person.id) == col(Expert.person_id)).where(
        col(Expert.state).in_(wanted))
    if scope_unit is not None:
        assert scope_unit.id is not None
        query = query.where(col(Expert.org_unit_id).in_(await subtree(uow, scope_unit.id)))
    institutions: dict[int, Institution] = {}
    units = {u.id: u for u in await uow.org_units.all() if u.id is not None}
    full = sees_full_id_numbers(actor)
    title = TITLE if path.suffix.lower() == ".xlsx" else None
    writer = await asyncio.to_thread(TableWriter, path, [spec.header for spec in EXPORTED], title=title)
    try:
        async for batch in _batches(uow, query):
            await _institutions(uow, {i for e, _ in batch for i in (e.employer_id, e.recommending_unit_id)
                                      if i is not None}, institutions)
            rows: list[list[Cell]] = []
            for expert, person in batch:
                values = _export_values(expert, person, institutions, units, full)
                values["seq"] = writer.count + len(rows) + 1
                rows.append([values.get(spec.field) for spec in EXPORTED])
            await asyncio.to_thread(writer.extend, rows)
    finally:
        await asyncio.to_thread(writer.close)
    await audit.record(uow, at=uow.now(), actor=actor.label, action="expert.exported", object_type="org_unit",
                       object_id=scope_unit.id if scope_unit is not None and scope_unit.id is not None else "all",
                       details={"count": writer.count, "states": wanted, "full_id_numbers": full,
                                "format": path.suffix.lower().lstrip(".")})
    await uow.commit()
    return ExportResult(path, writer.count, full)
