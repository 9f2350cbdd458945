"""Builders: the org tree and people most tests start from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.people import orgs
from services.platform.roles import SYSTEM_CLI
from storage.uow import UnitOfWorkFactory

if TYPE_CHECKING:
    from services.platform.roles import Actor
    from storage.leads import Lead


@dataclass
class Org:
    """A bureau with two divisions, an admin and a staff member at the bureau, staff in division 1."""

    bureau_id: int
    div1_id: int
    div2_id: int
    admin_id: int
    staff_id: int
    div1_staff_id: int
    expert_id: int
    supervisor_id: int
    div2_expert_id: int


async def build_org(uow: UnitOfWorkFactory) -> Org:
    """Create the standard org tree and people through the services."""
    async with uow() as u:
        bureau = await orgs.add_org_unit(u, actor=SYSTEM_CLI, code="bureau", name="兵团医疗保障局", kind="bureau")
    async with uow() as u:
        div1 = await orgs.add_org_unit(u, actor=SYSTEM_CLI, code="div1", name="第一师医保局", kind="division",
                                       parent_code="bureau")
    async with uow() as u:
        div2 = await orgs.add_org_unit(u, actor=SYSTEM_CLI, code="div2", name="第二师医保局", kind="division",
                                       parent_code="bureau")
    async with uow() as u:
        admin = await orgs.add_staff(u, actor=SYSTEM_CLI, name="王管理", org="bureau", role="admin")
    async with uow() as u:
        staff = await orgs.add_staff(u, actor=SYSTEM_CLI, name="李科员", org="bureau", role="staff")
    async with uow() as u:
        div1_staff = await orgs.add_staff(u, actor=SYSTEM_CLI, name="赵科员", org="div1", role="staff")
    async with uow() as u:
        expert = await orgs.add_member(u, actor=SYSTEM_CLI, kind="expert", name="张专家", org="div1")
    async with uow() as u:
        supervisor = await orgs.add_member(u, actor=SYSTEM_CLI, kind="supervisor", name="陈监督", org="div1")
    async with uow() as u:
        div2_expert = await orgs.add_member(u, actor=SYSTEM_CLI, kind="expert", name="孙专家", org="div2")
    ids = [bureau.id, div1.id, div2.id, admin.id, staff.id, div1_staff.id, expert.id, supervisor.id, div2_expert.id]
    assert all(i is not None for i in ids)
    return Org(*[int(i) for i in ids if i is not None])


async def make_eligible(uow: UnitOfWorkFactory, expert_id: int, **overrides: object) -> None:
    """Give an expert a complete record that meets every admission condition (a clinical senior doctor)."""
    from datetime import date

    from storage.models import Expert

    values: dict[str, object] = dict(
        birth_date=date(1975, 3, 4), work_start_date=date(1998, 7, 1), highest_degree="master",
        title="主任医师", title_level="senior", post_level="none", categories=["clinical"],
        clinical_subcategories=["medicine"],
    )
    values.update(overrides)
    async with uow() as u:
        expert = await u.session.get(Expert, expert_id)
        assert expert is not None
        for name, value in values.items():
            setattr(expert, name, value)
        u.session.add(expert)
        await u.commit()


def staff_actor(person_id: int, org_unit_id: int, *, admin: bool = False) -> Actor:
    """The actor of a bound staff member (as ``services.people.accounts.identify`` would make it)."""
    from services.platform.roles import Actor, Role

    roles = {Role.STAFF, Role.ADMIN} if admin else {Role.STAFF}
    return Actor(label=f"person:{person_id}", person_id=person_id, name=f"工作人员{person_id}",
                 roles=frozenset(roles), staff_org_unit_id=org_unit_id)


async def add_pool(uow: UnitOfWorkFactory, org_unit_id: int, specs: list[dict[str, object]]) -> list[int]:
    """Add active experts straight into the pool (fast, for draw tests): each spec overrides the defaults
    (a 46-year-old supervision expert with no employer)."""
    from datetime import date

    from storage.models import Expert, Person

    ids: list[int] = []
    async with uow() as u:
        now = u.now()
        for spec in specs:
            values: dict[str, object] = dict(categories=["supervision"], birth_date=date(1980, 1, 15),
                                             state="active", term_start=date(2025, 1, 1), term_end=date(2028, 1, 1))
            values.update(spec)
            name = str(values.pop("name", "专家"))
            person = Person(name=name, created_at=now)
            u.session.add(person)
            await u.session.flush()
            assert person.id is not None
            u.session.add(Expert(person_id=person.id, org_unit_id=org_unit_id, created_at=now, updated_at=now,
                                 **values))
            ids.append(person.id)
        await u.commit()
    return ids


async def add_institutions(uow: UnitOfWorkFactory, names: list[str]) -> list[int]:
    """Institutions in the directory (no credit code)."""
    from storage.pool import Institution

    ids: list[int] = []
    async with uow() as u:
        now = u.now()
        for name in names:
            row = Institution(name=name, kind="hospital", created_at=now, updated_at=now, designated=True)
            u.session.add(row)
            await u.session.flush()
            assert row.id is not None
            ids.append(row.id)
        await u.commit()
    return ids


async def lead_row(uow: UnitOfWorkFactory, lead_id: int) -> Lead:
    """The stored lead (services hand the front end plain values; tests look at the whole row)."""
    from storage.leads import Lead

    async with uow(readonly=True) as u:
        lead = await u.session.get(Lead, lead_id)
    assert lead is not None
    return lead
