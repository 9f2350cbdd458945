"""Applying checked rows of an expert table inside the import's transaction: experts created or updated, the
institutions they name created once per file, the work history kept for the recusal rule."""

from __future__ import annotations

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
from storage.uow import UnitOfWork


class Writer:
    """Applies checked rows inside the caller's transaction, creating each new institution once per file."""

    def __init__(self, uow: UnitOfWork, actor: Actor, report: ImportReport, today: date,
                 override_reason: str | None = None) -> None:
        self.uow, self.actor, self.report, self.today = uow, actor, report, today
        self.override_reason = override_reason
        self.now = uow.now()
        self.made: dict[tuple[str, str], Institution] = {}
        self.history = HistoryWriter(uow, report, today)

    async def _audit(self, action: str, object_type: str, object_id: int, details: dict[str, Any]) -> None:
        await audit.record(self.uow, at=self.now, actor=self.actor.label, action=action, object_type=object_type,
                           object_id=object_id, details=details)

    async def institution(self, ref: InstitutionRef | None, row: Row, which: str) -> int | None:
        """The id of the institution ``ref`` names, creating it (or giving it its code) the first time, with a
        note on ``row``."""
        if ref is None:
            return None
        if ref.institution_id is not None and not ref.add_code:
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
            await self.uow.session.flush()
            await self._audit("institution.updated", "institution", target.id,
                              {"fields": ["credit_code"], "source": "expert_import"})
            row.note(f"{which}_code", "institution_code_added",
                     f"credit code {ref.code} given to {ref.name!r} in the directory")
        else:
            target = Institution(name=ref.name, credit_code=ref.code, kind="other", created_at=self.now,
                                 updated_at=self.now)
            self.uow.session.add(target)
            await self.uow.session.flush()
            assert target.id is not None
            await self._audit("institution.created", "institution", target.id,
                              {"name": ref.name, "credit_code": ref.code, "kind": "other", "source": "expert_import"})
            self.report.institutions_created += 1
            row.note(f"{which}_name", "institution_created",
                     f"{ref.name!r} added to the directory with credit code {ref.code} (kind: other)" if ref.code
                     else f"{ref.name!r} was not in the directory; added without credit code (kind: other), "
                          "please check it")
        if ref.code is not None:
            self.made[("code", ref.code)] = target
        self.made[("name", ref.name)] = target
        return target.id

    async def apply(self, plan: Plan) -> None:
        values = {k: v for k, v in plan.row.values.items() if k in DIRECT}
        values["birth_date"] = plan.birth_date
        for key, which, ref in (("employer_id", "employer", plan.employer),
                                ("recommending_unit_id", "recommending", plan.recommending)):
            institution_id = await self.institution(ref, plan.row, which)
            if institution_id is not None:
                values[key] = institution_id
        if plan.existing is None:
            person_id = await self._create(plan, values)
        else:
            person_id = await self._update(plan, values)
        await self.history.apply(plan.row, person_id)
        if plan.admitted_by_override:
            await self._audit("expert.admitted_ineligible", "person", person_id, {
                "reasons": [issue.code.removeprefix("ineligible_") for issue in plan.ineligible],
                "articles": [issue.article for issue in plan.ineligible], "reason": self.override_reason,
                "source": self.report.source, "row": plan.row.number})
            self.report.admitted_ineligible += 1

    async def _create(self, plan: Plan, values: dict[str, Any]) -> int:
        person = await self.uow.people.add(Person(name=plan.name, created_at=self.now))
        assert person.id is not None
        expert = Expert(person_id=person.id, org_unit_id=plan.org_unit_id, id_number=plan.id_number,
                        state=plan.state.value, created_at=self.now, updated_at=self.now, **values)
        if plan.term is not None:
            expert.term_start, expert.term_end = plan.term
        if plan.state is ExpertState.PUBLIC_NOTICE:
            expert.notice_ends_on = default_calendar().add_working_days(self.today, NOTICE_WORKING_DAYS)
        await self.uow.people.add_role_row(expert)
        if expert.employer_id is not None:
            await self._employment(expert, None)
        await self._audit("expert.created", "person", person.id, {
            "org_unit_id": plan.org_unit_id, "state": expert.state, "fields": sorted(["name", "id_number", *values]),
            "source": self.report.source, "row": plan.row.number})
        self.report.created += 1
        self.report.created_ids.append(person.id)
        return person.id

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
        await self._audit("expert.updated", "person", expert.person_id,
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
