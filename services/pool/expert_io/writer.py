"""Applying checked rows of an expert table inside the import's transaction: experts created or updated, the
institutions they name created once per file, the work history kept for the recusal rule.

New experts are written in batches (issue 21): the people, the experts and their first work-history periods go to
the database as three multi-row inserts per :data:`BATCH` rows, and every audit entry of the batch is chained in
one :func:`services.platform.audit.record_many` call, in row order, as if each row had been written on its own
(the chain verifies the same way). A new expert has no work history yet, so none is read for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select

from services.platform import audit
from services.platform.roles import Actor
from services.platform.workdays import default_calendar
from services.pool.expert_io.checks import InstitutionRef, Plan, Row
from services.pool.expert_io.columns import DIRECT
from services.pool.expert_io.history import HistoryWriter
from services.pool.expert_io.sheet import ImportReport
from services.pool.lifecycle import NOTICE_WORKING_DAYS, ExpertState
from storage.models import Expert, Person
from storage.pool import ExpertEmployment, Institution
from storage.repositories import insert_rows
from storage.uow import UnitOfWork

BATCH = 500
"""New experts written per round of inserts."""


@dataclass(frozen=True)
class _ForNew:
    """An audit entry about the ``slot``-th new expert of the batch, whose person id the insert gives."""

    slot: int
    action: str
    details: dict[str, Any]


class Writer:
    """Applies checked rows inside the caller's transaction, creating each new institution once per file; call
    :meth:`finish` after the last row (it writes what is still batched)."""

    def __init__(self, uow: UnitOfWork, actor: Actor, report: ImportReport, today: date,
                 override_reason: str | None = None) -> None:
        self.uow, self.actor, self.report, self.today = uow, actor, report, today
        self.override_reason = override_reason
        self.now = uow.now()
        self.made: dict[tuple[str, str], Institution] = {}
        self.names: dict[int, str] = {}
        self._entries: list[audit.Pending | _ForNew] = []
        self._new: list[tuple[Plan, dict[str, Any]]] = []
        self._template = {key: value for key, value in Expert(
            person_id=0, org_unit_id=0, created_at=self.now, updated_at=self.now).model_dump().items()}
        self.history = HistoryWriter(uow, report, today)  # the annex-1 work-history column (issue 14)
        self._histories: list[tuple[int, Row]] = []  # new experts' rows, applied once they have an id

    def _audit(self, action: str, object_type: str, object_id: int, details: dict[str, Any]) -> None:
        self._entries.append(audit.Pending(self.now, self.actor.label, action, object_type, object_id, details))

    async def institution(self, ref: InstitutionRef | None, row: Row, which: str) -> int | None:
        """The id of the institution ``ref`` names, creating it (or giving it its code) the first time, with a
        note on ``row``."""
        if ref is None:
            return None
        if ref.institution_id is not None and not ref.add_code:
            self.names[ref.institution_id] = ref.name
            return ref.institution_id
        if ref.code is not None and ("code", ref.code) in self.made:
            return self.made[("code", ref.code)].id
        same_name = self.made.get(("name", ref.name))
        if ref.code is None and same_name is not None:
            return same_name.id
        target = same_name if same_name is not None and same_name.credit_code is None else None
        if target is None and ref.add_code and ref.institution_id is not None:
            target = await self.uow.session.get(Institution, ref.institution_id)
        if target is not None and target.id is not None and target.credit_code is None:
            target.credit_code, target.updated_at = ref.code, self.now
            self.uow.session.add(target)
            self._audit("institution.updated", "institution", target.id,
                        {"fields": ["credit_code"], "source": "expert_import"})
            row.note(f"{which}_code", "institution_code_added",
                     f"credit code {ref.code} given to {ref.name!r} in the directory")
        else:
            target = Institution(name=ref.name, credit_code=ref.code, kind="other", created_at=self.now,
                                 updated_at=self.now)
            self.uow.session.add(target)
            await self.uow.session.flush()
            assert target.id is not None
            self._audit("institution.created", "institution", target.id,
                        {"name": ref.name, "credit_code": ref.code, "kind": "other", "source": "expert_import"})
            self.report.institutions_created += 1
            row.note(f"{which}_name", "institution_created",
                     f"{ref.name!r} added to the directory with credit code {ref.code} (kind: other)" if ref.code
                     else f"{ref.name!r} was not in the directory; added without credit code (kind: other), "
                          "please check it")
        if ref.code is not None:
            self.made[("code", ref.code)] = target
        self.made[("name", ref.name)] = target
        assert target.id is not None
        self.names[target.id] = target.name
        return target.id

    async def apply(self, plan: Plan) -> None:
        values = {k: v for k, v in plan.row.values.items() if k in DIRECT}
        values["birth_date"] = plan.birth_date
        for key, which, ref in (("employer_id", "employer", plan.employer),
                                ("recommending_unit_id", "recommending", plan.recommending)):
            institution_id = await self.institution(ref, plan.row, which)
            if institution_id is not None:
                values[key] = institution_id
        override: dict[str, Any] | None = None
        if plan.admitted_by_override:
            override = {"reasons": [issue.code.removeprefix("ineligible_") for issue in plan.ineligible],
                        "articles": [issue.article for issue in plan.ineligible], "reason": self.override_reason,
                        "source": self.report.source, "row": plan.row.number}
            self.report.admitted_ineligible += 1
        if plan.existing is None:
            self._create(plan, values, override)
        else:
            person_id = await self._update(plan, values)
            await self.history.apply(plan.row, person_id)
            if override is not None:
                self._audit("expert.admitted_ineligible", "person", person_id, override)
        if len(self._entries) >= BATCH:
            await self.flush()

    def _create(self, plan: Plan, values: dict[str, Any], override: dict[str, Any] | None) -> None:
        """Queue a new expert (written by :meth:`flush`) and its audit entries, in their place in the chain."""
        record = dict(self._template, org_unit_id=plan.org_unit_id, id_number=plan.id_number, state=plan.state.value,
                      **values)
        if plan.term is not None:
            record["term_start"], record["term_end"] = plan.term
        if plan.state is ExpertState.PUBLIC_NOTICE:
            record["notice_ends_on"] = default_calendar().add_working_days(self.today, NOTICE_WORKING_DAYS)
        slot = len(self._new)
        self._new.append((plan, record))
        self._histories.append((slot, plan.row))
        self._entries.append(_ForNew(slot, "expert.created", {
            "org_unit_id": plan.org_unit_id, "state": record["state"], "fields": sorted(["name", "id_number", *values]),
            "source": self.report.source, "row": plan.row.number}))
        if override is not None:
            self._entries.append(_ForNew(slot, "expert.admitted_ineligible", override))

    async def flush(self) -> None:
        """Write the queued new experts (people, experts, work history: one multi-row insert each) and chain the
        batch's audit entries in row order."""
        session = self.uow.session
        people: list[int] = []
        if self._new:
            people = await insert_rows(session, Person, [{"name": plan.name, "created_at": self.now}
                                                         for plan, _ in self._new], return_ids=True)
            await insert_rows(session, Expert, [dict(record, person_id=person_id)
                                                for (_, record), person_id in zip(self._new, people, strict=True)])
            periods = [{"expert_id": person_id, "institution_id": record["employer_id"],
                        "institution_name": self.names[record["employer_id"]], "post": record.get("post")}
                       for (_, record), person_id in zip(self._new, people, strict=True)
                       if record.get("employer_id") is not None]
            await insert_rows(session, ExpertEmployment, periods)
            self.report.created += len(people)
            self.report.created_ids.extend(people)
            for slot, row in self._histories:
                await self.history.apply(row, people[slot])
        self._histories.clear()
        entries = [entry if isinstance(entry, audit.Pending) else audit.Pending(
            self.now, self.actor.label, entry.action, "person", people[entry.slot], entry.details)
            for entry in self._entries]
        await audit.record_many(self.uow, entries)
        self._new.clear()
        self._entries.clear()

    async def _update(self, plan: Plan, values: dict[str, Any]) -> int:
        assert plan.existing is not None
        expert, person = plan.existing
        values["org_unit_id"] = plan.org_unit_id
        changed = [key for key, value in values.items() if getattr(expert, key) != value]
        if plan.name != person.name:
            person.name = plan.name
            self.uow.session.add(person)
            changed.append("name")
        if not changed:
            self.report.unchanged += 1
            return expert.person_id
        previous_employer = expert.employer_id
        for key in changed:
            if key != "name":
                setattr(expert, key, values[key])
        expert.updated_at = self.now
        self.uow.session.add(expert)
        if expert.employer_id != previous_employer:
            await self._employment(expert, previous_employer)
        self._audit("expert.updated", "person", expert.person_id,
                    {"fields": sorted(changed), "source": self.report.source, "row": plan.row.number})
        self.report.updated += 1
        self.report.updated_ids.append(expert.person_id)
        return expert.person_id

    async def _employment(self, expert: Expert, previous_employer: int | None) -> None:
        """Close the open work-history periods elsewhere (recording the previous employer if it had none) and
        open one at the current employer: the two-year recusal rule (000 §15(一)) reads this history."""
        session = self.uow.session
        periods = (await session.exec(select(ExpertEmployment).where(
            ExpertEmployment.expert_id == expert.person_id, col(ExpertEmployment.end_date).is_(None)))).all()
        if previous_employer is not None and not any(p.institution_id == previous_employer for p in periods):
            previous = await session.get(Institution, previous_employer)
            if previous is not None:
                session.add(ExpertEmployment(expert_id=expert.person_id, institution_id=previous.id,
                                             institution_name=previous.name, end_date=self.today))
        for period in periods:
            if period.institution_id != expert.employer_id:
                period.end_date = self.today
                session.add(period)
        if not any(p.institution_id == expert.employer_id for p in periods):
            current = await session.get(Institution, expert.employer_id)
            assert current is not None
            session.add(ExpertEmployment(expert_id=expert.person_id, institution_id=current.id,
                                         institution_name=current.name, post=expert.post))
        await session.flush()
