"""Demo data for the sandbox, training and evaluation, made by the product's own services.

:func:`generate` fills an empty database with a bureau, its divisions, staff, experts, social
supervisors and staff group chats, one section at a time (a function per section, so a later
capability adds its own section: institutions, expert categories...). Everything goes through the
services that production uses, so the audit trail reads as if an operator had typed it all; names
come from a seeded :class:`random.Random`, so two runs give the same data.

A drawn activity (:mod:`services.demo.demo_activity`) has the unbound expert as a principal, so the staff's
"to contact by phone" alert shows in the sandbox (issue 13).

Every demo person but one is pre-bound to a demo Telegram account whose user id is
``DEMO_USER_BASE + person id``; the one left unbound (:data:`UNBOUND_EXPERT_NAME`) and the account
:data:`NEW_USER_ID`, which belongs to nobody, let a trainee walk through the invite flow.

:func:`personas` and :func:`staff_chats` list who can be played and which group chats exist.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import col, select

from services.demo import demo_history, demo_pool, demo_records
from services.demo.demo_activity import DEMO_TAG, add_demo_activity
from services.demo.demo_history import History
from services.people import accounts, groups, orgs
from services.platform import audit
from services.platform.errors import Conflict
from services.platform.roles import Actor, Role, person_actor_label
from services.pool import pools
from storage.activities import ActivityMember
from storage.models import Account, Expert, Person, Staff, StaffChat, Supervisor
from storage.uow import UnitOfWork, UnitOfWorkFactory

TELEGRAM = "telegram"
DEMO = Actor(label="demo")
DEMO_USER_BASE = 7_000_000
NEW_USER_ID = DEMO_USER_BASE
"""The demo account bound to nobody: it shows what a newcomer sees and redeems an invite."""
DEMO_SEED = 20_260_302

BUREAU = ("bureau", "新疆生产建设兵团医疗保障局")
DIVISIONS: tuple[tuple[str, str], ...] = (
    ("div1", "第一师医疗保障局"),
    ("div2", "第二师医疗保障局"),
    ("div8", "第八师医疗保障局"),
)
STAFF: tuple[tuple[str, str, str], ...] = (
    ("王海燕", "bureau", "admin"),
    ("李志刚", "div1", "staff"),
    ("马丽娜", "div8", "staff"),
)
UNBOUND_EXPERT_NAME = "赵新"

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚燕华飞玲桂红鹏辉建文斌宇浩凯秀英梅琳晨欣雪萍亮波宁婷俊峰鑫"
    "志海东岩晶颖丹阳成林瑞博思佳雯慧琪振国庆新春荣凤兰清云海蓉"
)


@dataclass(frozen=True)
class DemoPlan:
    """How much demo data to make."""

    experts: int = 300  # issue 20: enough that a draw of 3+2 chooses among many in each division
    supervisors: int = 10
    seed: int = DEMO_SEED
    history: bool = True  # issue 17: a year of activities, leads and pool changes behind /stats and the charts


@dataclass
class DemoData:
    """What :func:`generate` made (ids by section), or found when the demo data was already there."""

    created: bool
    org_unit_ids: dict[str, int] = field(default_factory=dict)
    staff_ids: list[int] = field(default_factory=list)
    admin_id: int | None = None
    expert_ids: list[int] = field(default_factory=list)
    supervisor_ids: list[int] = field(default_factory=list)
    unbound_person_id: int | None = None
    staff_chat_ids: list[int] = field(default_factory=list)
    institution_ids: list[int] = field(default_factory=list)
    accounts: dict[int, int] = field(default_factory=dict)
    """person id → demo Telegram user id"""
    history: History | None = None


def demo_user_id(person_id: int) -> int:
    """The demo Telegram user id of a person."""
    return DEMO_USER_BASE + person_id


def demo_group_chat_id(org_unit_id: int) -> int:
    """The demo group chat id of an org unit's staff chat (group chat ids are negative)."""
    return -(DEMO_USER_BASE + org_unit_id)


async def generate(uow_factory: UnitOfWorkFactory, *, plan: DemoPlan | None = None) -> DemoData:
    """Fill an empty database with demo data; do nothing if the demo data is already there.

    Raises :class:`Conflict` when the database holds other data (demo data never mixes with it).
    """
    plan = plan or DemoPlan()
    async with uow_factory() as uow:
        if await has_demo_data(uow):
            return DemoData(created=False)
        if await uow.org_units.all():
            raise Conflict("the database already holds org units; demo data goes into an empty database")
    rng = random.Random(plan.seed)  # noqa: S311 (names for demo data, not secrets)
    data = DemoData(created=True)
    await add_org_tree(uow_factory, data)
    await add_staff(uow_factory, data)
    await add_experts(uow_factory, data, rng, count=plan.experts)
    await add_pool_sharing(uow_factory)
    await add_supervisors(uow_factory, data, rng, count=plan.supervisors)
    await bind_demo_accounts(uow_factory, data)
    await add_staff_chats(uow_factory, data)
    if data.unbound_person_id is not None and data.admin_id is not None and len(data.staff_ids) > 1:
        await add_demo_activity(uow_factory, clerk_user=demo_user_id(data.staff_ids[1]),
                                admin_user=demo_user_id(data.admin_id), unbound_person_id=data.unbound_person_id)
    if plan.history and data.admin_id is not None and len(data.staff_ids) > 1:
        data.history = await add_history(uow_factory, data, random.Random(plan.seed + 1))  # noqa: S311
    return data


async def add_history(uow_factory: UnitOfWorkFactory, data: DemoData, rng: random.Random) -> History:
    """The past twelve months (:mod:`services.demo.demo_history`, :mod:`services.demo.demo_records`), in one
    transaction; the demo activity's roster and the unbound expert are left as they are."""
    assert data.admin_id is not None
    units = {code: data.org_unit_ids[code] for code, _ in DIVISIONS}
    history = History()
    admin = person_actor_label(data.admin_id)
    async with uow_factory() as uow:
        keep = {*(await uow.session.exec(select(ActivityMember.person_id))).all(), data.unbound_person_id or 0}
        await demo_history.add_activities(uow, rng, history, units=units, staff_id=data.staff_ids[1],
                                          admin_id=data.admin_id, leave_out=frozenset(keep))
        await demo_records.add_leads(uow, rng, history, units=units, staff_id=data.staff_ids[1])
        await demo_records.change_pool(uow, rng, history, expert_ids=data.expert_ids, keep=keep, admin=admin)
        await demo_records.publish_excellence(uow, history, units=units, admin=admin)
        await demo_history.write_entries(uow, history)
        await uow.commit()
    return history


async def has_demo_data(uow: UnitOfWork) -> bool:
    """Whether the demo bureau exists (the first thing :func:`generate` makes)."""
    bureau = await uow.org_units.by_code(BUREAU[0])
    return bureau is not None and bureau.name == BUREAU[1]


async def add_org_tree(uow_factory: UnitOfWorkFactory, data: DemoData) -> None:
    """The bureau and its divisions."""
    async with uow_factory() as uow:
        bureau = await orgs.add_org_unit(uow, actor=DEMO, code=BUREAU[0], name=BUREAU[1], kind="bureau")
    assert bureau.id is not None
    data.org_unit_ids[bureau.code] = bureau.id
    for code, name in DIVISIONS:
        async with uow_factory() as uow:
            unit = await orgs.add_org_unit(uow, actor=DEMO, code=code, name=name, kind="division",
                                           parent_code=BUREAU[0])
        assert unit.id is not None
        data.org_unit_ids[code] = unit.id


async def add_staff(uow_factory: UnitOfWorkFactory, data: DemoData) -> None:
    """The bureau's admin and the division staff."""
    for name, org, role in STAFF:
        async with uow_factory() as uow:
            person = await orgs.add_staff(uow, actor=DEMO, name=name, org=org, role=role)
        assert person.id is not None
        data.staff_ids.append(person.id)
        if role == "admin" and data.admin_id is None:
            data.admin_id = person.id


async def add_experts(uow_factory: UnitOfWorkFactory, data: DemoData, rng: random.Random, *, count: int) -> None:
    """The institution directory, then experts imported through the annex-2 import (validated like real
    records), spread over the divisions' pools and the categories, a few with a past employer; the last
    one stays unbound (for the invite flow)."""
    directory = await demo_pool.add_institutions(uow_factory, DEMO, rng)
    data.institution_ids = [i.id for i in directory]
    names = _names(rng, count - 1, taken={name for name, _, _ in STAFF} | {UNBOUND_EXPERT_NAME})
    if count > 0:
        names.append(UNBOUND_EXPERT_NAME)
    async with uow_factory() as uow:
        today = uow.today()
    rows = demo_pool.expert_rows(rng, names, [code for code, _ in DIVISIONS], directory, today=today)
    if rows:
        rows[-1]["专业标签"] = DEMO_TAG  # the demo activity's first line draws exactly this expert
        rows[-1]["所属单位"] = DIVISIONS[0][0]  # in the organizer's own pool (001 §7: a unit draws from its pool)
    data.expert_ids = await demo_pool.import_experts(uow_factory, DEMO, rows)
    if data.expert_ids:
        data.unbound_person_id = data.expert_ids[-1]
    await demo_pool.add_past_employers(uow_factory, DEMO, rng, data.expert_ids[:-1], directory)


SHARING = ("div8", "div1", 365, "第八师专家库支援第一师跨区域检查（003 三(八)）")
"""The demo's one lent pool: lender, borrower, days from today, note."""


async def add_pool_sharing(uow_factory: UnitOfWorkFactory) -> None:
    """Each division keeps its own pool (001 §5, §7); one of them lends its pool to another for a year."""
    lender, borrower, days, note = SHARING
    async with uow_factory() as uow:
        today = uow.today()
        await pools.grant_share(uow, actor=DEMO, lender=lender, borrower=borrower, starts_on=today,
                                ends_on=today + timedelta(days=days), note=note)


async def add_supervisors(
    uow_factory: UnitOfWorkFactory, data: DemoData, rng: random.Random, *, count: int
) -> None:
    """Social supervisors, a few per division."""
    async with uow_factory() as uow:
        taken = {person.name for person in await _people(uow)}
    divisions = [code for code, _ in DIVISIONS]
    for index, name in enumerate(_names(rng, count, taken=taken)):
        async with uow_factory() as uow:
            person = await orgs.add_member(uow, actor=DEMO, kind="supervisor", name=name,
                                           org=divisions[index % len(divisions)])
        assert person.id is not None
        data.supervisor_ids.append(person.id)


async def bind_demo_accounts(uow_factory: UnitOfWorkFactory, data: DemoData) -> None:
    """Bind every demo person but the unbound expert to a demo Telegram account (no invite, no welcome)."""
    for person_id in (*data.staff_ids, *data.expert_ids, *data.supervisor_ids):
        if person_id == data.unbound_person_id:
            continue
        async with uow_factory() as uow:
            data.accounts[person_id] = await bind_demo_account(uow, person_id=person_id)


async def bind_demo_account(uow: UnitOfWork, *, person_id: int) -> int:
    """Bind ``person_id`` to their demo Telegram account and record it; returns the user id."""
    user_id = demo_user_id(person_id)
    now = uow.now()
    account = await uow.accounts.add(
        Account(channel=TELEGRAM, external_user_id=str(user_id), chat_id=str(user_id), person_id=person_id,
                bound_at=now)
    )
    await audit.record(
        uow, at=now, actor=DEMO.label, action="account.bound", object_type="person", object_id=person_id,
        details={"account_id": account.id, "channel": TELEGRAM, "demo": True},
    )
    await uow.commit()
    return user_id


async def add_staff_chats(uow_factory: UnitOfWorkFactory, data: DemoData) -> None:
    """One staff group chat per division, bound by the admin as /bindgroup would."""
    if data.admin_id is None:
        return
    async with uow_factory() as uow:
        admin = await accounts.identify(uow, channel=TELEGRAM, external_user_id=str(demo_user_id(data.admin_id)))
    for code, name in DIVISIONS:
        unit_id = data.org_unit_ids[code]
        async with uow_factory() as uow:
            bound = await groups.bind_group(
                uow, actor=admin, channel=TELEGRAM, chat_id=str(demo_group_chat_id(unit_id)),
                title=f"{name}工作群", org=code, language="zh",
            )
        data.staff_chat_ids.append(bound.staff_chat_id)


def _names(rng: random.Random, count: int, *, taken: set[str]) -> list[str]:
    names: list[str] = []
    seen = set(taken)
    while len(names) < count:
        given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
        name = rng.choice(_SURNAMES) + given
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


# ---- who can be played in the sandbox ---------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """A person with an active account on a channel: who a trainee can act as."""

    user_id: str
    person_id: int
    name: str
    roles: tuple[Role, ...]
    org_unit_code: str
    org_unit_name: str


@dataclass(frozen=True)
class UnboundPerson:
    """A person without an active account (someone to invite)."""

    person_id: int
    name: str
    roles: tuple[Role, ...]
    org_unit_code: str
    org_unit_name: str


@dataclass(frozen=True)
class GroupChat:
    """A bound staff group chat."""

    chat_id: str
    title: str
    org_unit_code: str
    org_unit_name: str


async def personas(uow: UnitOfWork, *, channel: str = TELEGRAM) -> tuple[list[Persona], list[UnboundPerson]]:
    """Everyone with an active account on ``channel`` (staff first), and everyone without one."""
    units = {unit.id: unit for unit in await uow.org_units.all()}
    roles = await _roles(uow)
    bound: dict[int, str] = {}
    for account in await uow.session.exec(
        select(Account).where(Account.channel == channel, col(Account.unbound_at).is_(None))
    ):
        bound[account.person_id] = account.external_user_id
    playable: list[Persona] = []
    others: list[UnboundPerson] = []
    for person in await _people(uow):
        assert person.id is not None
        person_roles, unit_id = roles.get(person.id, ((), None))
        unit = units.get(unit_id)
        code, unit_name = (unit.code, unit.name) if unit is not None else ("", "")
        name = await uow.people.name_of(person)  # a supervisor's is kept encrypted in supervisor.name
        if person.id in bound:
            playable.append(Persona(bound[person.id], person.id, name, person_roles, code, unit_name))
        else:
            others.append(UnboundPerson(person.id, name, person_roles, code, unit_name))
    order = {Role.ADMIN: 0, Role.STAFF: 1, Role.SUPERVISOR: 2, Role.EXPERT: 3}
    playable.sort(key=lambda p: (min((order[r] for r in p.roles), default=9), p.person_id))
    return playable, others


async def staff_chats(uow: UnitOfWork, *, channel: str = TELEGRAM) -> list[GroupChat]:
    """The bound staff group chats on ``channel``."""
    units = {unit.id: unit for unit in await uow.org_units.all()}
    rows = await uow.session.exec(
        select(StaffChat).where(StaffChat.channel == channel, col(StaffChat.unbound_at).is_(None))
        .order_by(col(StaffChat.id))
    )
    chats = []
    for chat in rows:
        unit = units.get(chat.org_unit_id)
        chats.append(GroupChat(chat.chat_id, chat.title or chat.chat_id, unit.code if unit else "",
                               unit.name if unit else ""))
    return chats


async def _people(uow: UnitOfWork) -> Sequence[Person]:
    return (await uow.session.exec(select(Person).order_by(col(Person.id)))).all()


async def _roles(uow: UnitOfWork) -> dict[int, tuple[tuple[Role, ...], int | None]]:
    """person id → (roles, the org unit of their first role)."""
    found: dict[int, tuple[list[Role], int | None]] = {}

    def note(person_id: int, role_list: list[Role], unit_id: int) -> None:
        current, unit = found.get(person_id, ([], None))
        found[person_id] = (current + role_list, unit if unit is not None else unit_id)

    for staff in await uow.session.exec(select(Staff).where(col(Staff.active).is_(True))):
        note(staff.person_id, [Role.ADMIN, Role.STAFF] if staff.role == "admin" else [Role.STAFF], staff.org_unit_id)
    for supervisor in await uow.session.exec(select(Supervisor)):
        note(supervisor.person_id, [Role.SUPERVISOR], supervisor.org_unit_id)
    for expert in await uow.session.exec(select(Expert)):
        note(expert.person_id, [Role.EXPERT], expert.org_unit_id)
    return {person_id: (tuple(roles), unit) for person_id, (roles, unit) in found.items()}

