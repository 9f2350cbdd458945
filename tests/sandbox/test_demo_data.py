"""The demo-data generator: what it makes, who is bound, idempotency and a clean audit trail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from services.demo import demo
from services.people import orgs
from services.platform import audit
from services.platform.clock import FixedClock
from services.platform.errors import Conflict
from services.platform.roles import SYSTEM_CLI, Role
from storage.db import create_engine, create_session_factory
from storage.models import Account, AuditEntry, Expert, OrgUnit, Person, Staff, StaffChat, Supervisor
from storage.uow import UnitOfWorkFactory
from tests.conftest import T0

README_CHART = Path(__file__).resolve().parents[2] / "docs" / "stats-chart.png"


async def test_the_demo_has_a_bureau_three_divisions_staff_experts_supervisors_and_group_chats(
    uow_factory: UnitOfWorkFactory,
) -> None:
    data = await demo.generate(uow_factory)
    assert data.created
    async with uow_factory() as uow:
        units = (await uow.session.exec(select(OrgUnit))).all()
        staff = (await uow.session.exec(select(Staff))).all()
        experts = (await uow.session.exec(select(Expert))).all()
        supervisors = (await uow.session.exec(select(Supervisor))).all()
        chats = (await uow.session.exec(select(StaffChat))).all()
    assert sorted(u.code for u in units) == ["bureau", "div1", "div2", "div8"]
    assert {u.code: u.kind for u in units}["bureau"] == "bureau"
    assert Counter(s.role for s in staff) == {"admin": 1, "staff": 2}
    assert len(experts) == 300 and len(supervisors) == 10
    division_ids = {u.id for u in units if u.kind == "division"}
    assert {e.org_unit_id for e in experts} == division_ids  # spread over every division
    assert len(chats) == 3 and {c.org_unit_id for c in chats} == division_ids
    assert all(int(c.chat_id) < 0 and c.bound_by_person_id == data.admin_id for c in chats)


async def test_everyone_but_one_expert_is_bound_to_a_recognisable_demo_account(
    uow_factory: UnitOfWorkFactory,
) -> None:
    data = await demo.generate(uow_factory)
    async with uow_factory() as uow:
        people = (await uow.session.exec(select(Person))).all()
        accounts = (await uow.session.exec(select(Account).where(col(Account.unbound_at).is_(None)))).all()
        playable, unbound = await demo.personas(uow)
    bound = {a.person_id: a for a in accounts}
    assert len(people) == 313 and len(bound) == 312
    (left_out,) = [p for p in people if p.id not in bound]
    assert left_out.id == data.unbound_person_id and left_out.name == demo.UNBOUND_EXPERT_NAME
    for person_id, account in bound.items():
        assert account.channel == "telegram"
        assert account.external_user_id == account.chat_id == str(demo.DEMO_USER_BASE + person_id)
    assert str(demo.NEW_USER_ID) not in {a.external_user_id for a in accounts}
    assert [u.person_id for u in unbound] == [data.unbound_person_id] and unbound[0].roles == (Role.EXPERT,)
    assert playable[0].roles == (Role.ADMIN, Role.STAFF) and playable[0].org_unit_code == "bureau"
    assert len(playable) == 312


async def test_the_same_seed_gives_the_same_people(
    uow_factory: UnitOfWorkFactory, sqlite_template: Path, tmp_path: Path
) -> None:
    await demo.generate(uow_factory)
    other = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, other)
    engine = create_engine(f"sqlite+aiosqlite:///{other}")
    try:
        await demo.generate(UnitOfWorkFactory(create_session_factory(engine), clock=FixedClock(T0)))
        names = [await _names(UnitOfWorkFactory(create_session_factory(engine))), await _names(uow_factory)]
    finally:
        await engine.dispose()
    assert names[0] == names[1]
    assert len(set(names[0])) == len(names[0])  # unique names: people are easy to tell apart


async def _names(uow_factory: UnitOfWorkFactory) -> list[str]:
    async with uow_factory() as uow:
        people = (await uow.session.exec(select(Person).order_by(col(Person.id)))).all()
        return [await uow.people.name_of(p) for p in people]  # a supervisor's name is kept in supervisor.name


async def test_running_it_again_does_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await demo.generate(uow_factory)
    async with uow_factory() as uow:
        before = len((await uow.session.exec(select(AuditEntry))).all())
    again = await demo.generate(uow_factory)
    assert not again.created
    async with uow_factory() as uow:
        assert len((await uow.session.exec(select(AuditEntry))).all()) == before


async def test_a_database_with_other_data_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await orgs.add_org_unit(uow, actor=SYSTEM_CLI, code="bureau", name="某医保局", kind="bureau")
    with pytest.raises(Conflict):
        await demo.generate(uow_factory)


async def test_every_change_is_in_an_intact_audit_chain(uow_factory: UnitOfWorkFactory) -> None:
    await demo.generate(uow_factory, plan=demo.DemoPlan(history=False))  # the history's own: the test below
    async with uow_factory() as uow:
        report = await audit.verify_chain(uow)
        actions = Counter(e.action for e in (await uow.session.exec(select(AuditEntry))).all())
    assert report.ok and report.checked == sum(actions.values())
    assert actions == {
        "org_unit.created": 4, "staff.created": 3, "expert.created": 300, "supervisor.created": 10,
        "account.bound": 312, "staff_chat.bound": 3, "institution.created": 30, "expert.history_added": 43,
        # the generated roster is imported with the audited override (000 §8–§9 at import, issue 14)
        "expert.admitted_ineligible": 54,
        # the drawn demo activity (issue 13): filed, approved, drawn, three principals invited, one unreachable
        "activity.created": 1, "draw.requested": 1, "draw.approved": 1, "draw.drawn": 1,
        "invitation.sent": 3, "invitation.unreachable": 1,
        "pool.share_granted": 1,  # div8 lends its pool to div1 (003 三(八), issue 14)
    }


async def test_the_demo_activity_lists_the_unbound_expert_to_call(uow_factory: UnitOfWorkFactory) -> None:
    from storage.activities import ActivityMember
    from storage.models import OutboxMessage

    data = await demo.generate(uow_factory)
    async with uow_factory() as uow:
        slot = (await uow.session.exec(select(ActivityMember).where(
            ActivityMember.person_id == data.unbound_person_id))).one()
        alerts = (await uow.session.exec(select(OutboxMessage).where(
            OutboxMessage.message_key == "invite.staff.to_call"))).all()
    assert (slot.status, slot.role, slot.contact) == ("invited", "principal", "phone")
    assert alerts and all(demo.UNBOUND_EXPERT_NAME in a.params["lines"] for a in alerts)


async def test_demo_experts_cover_the_categories_employers_chiefs_and_ages(uow_factory: UnitOfWorkFactory) -> None:
    from datetime import date

    from services.platform.identifiers import validate_id_number
    from storage.pool import ExpertEmployment, Institution

    await demo.generate(uow_factory)
    async with uow_factory() as uow:
        experts = (await uow.session.exec(select(Expert))).all()
        directory = (await uow.session.exec(select(Institution))).all()
        past = (await uow.session.exec(select(ExpertEmployment).where(ExpertEmployment.end_date != None))).all()  # noqa: E711
    assert len(directory) == 30 and sum(i.designated for i in directory) >= 20
    assert Counter(c for e in experts for c in e.categories).keys() == {"supervision", "clinical", "informatics",
                                                                         "management"}
    assert len({e.employer_id for e in experts}) >= 15
    assert sum(e.is_chief for e in experts) >= 5
    assert all(e.id_number and validate_id_number(e.id_number, today=date(2026, 11, 23)) for e in experts)
    assert sum(1 for e in experts if e.birth_date and e.birth_date <= date(1962, 12, 31)) >= 3  # close to 65
    assert len(past) >= 10


def test_the_demo_data_command_fills_a_database_once(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env["DATABASE_URL"] = database_url

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "demo-data"], env=env, capture_output=True, text=True,
                              timeout=120, check=False)

    first = run()
    assert first.returncode == 0, first.stderr
    assert "300 experts" in first.stdout
    second = run()
    assert second.returncode == 0, second.stderr
    assert "already" in second.stdout


async def test_the_divisions_keep_their_own_pools_and_one_is_lent(uow_factory: UnitOfWorkFactory) -> None:
    from services.pool.pools import drawable_pools
    from storage.models import Expert, OrgUnit

    data = await demo.generate(uow_factory)
    async with uow_factory(readonly=True) as uow:
        units = {u.code: u.id for u in (await uow.session.exec(select(OrgUnit))).all()}
        pools = {e.org_unit_id for e in (await uow.session.exec(select(Expert))).all()}
        div1 = await drawable_pools(uow, data.org_unit_ids["div1"], uow.today())
        div2 = await drawable_pools(uow, data.org_unit_ids["div2"], uow.today())
    assert {units["div1"], units["div2"], units["div8"]} <= pools
    assert div1.units == {units["div1"], units["div8"]} and div2.units == {units["div2"]}


# --- the year of history behind /stats and the charts (issue 17) --------------------------------------------------


async def _admin(uow_factory: UnitOfWorkFactory, data: demo.DemoData) -> Any:
    from services.people import accounts

    assert data.admin_id is not None
    async with uow_factory() as uow:
        return await accounts.identify(uow, channel="telegram", external_user_id=str(demo.demo_user_id(data.admin_id)))


async def test_stats_of_each_of_the_last_eleven_months_have_activities_answers_and_leads(
    uow_factory: UnitOfWorkFactory,
) -> None:
    from services.insight import period, stats

    data = await demo.generate(uow_factory)
    admin = await _admin(uow_factory, data)
    async with uow_factory(readonly=True) as uow:
        month = period.parse(None, today=uow.today())
        year: list[stats.Stats] = []
        for _ in range(11):
            month = month.before()
            year.append(await stats.unit_stats(uow, actor=admin, period=month))
    for found in year:  # every past month, across the bureau's three divisions
        assert found.activities.held > 0 and found.invitations.invited > 0, found.period.label
        assert found.invitations.outcomes.get("accepted", 0) > 0 and found.invitations.median_hours is not None
        assert found.leads.received > 0 and len(found.leads.by_unit) >= 2, found.period.label
    totals = Counter[str]()
    for found in year:
        totals.update(found.invitations.outcomes)
        totals.update({"backups": found.invitations.backups_called, "offered": found.leads.rewards_offered,
                       "claimed": found.leads.rewards_claimed, "cancelled": found.activities.cancelled})
        totals.update({f"lead.{state}": n for state, n in found.leads.by_state.items()})
    assert {"declined", "recused", "no_answer", "backups", "offered", "claimed", "cancelled"} <= set(+totals)
    assert {"lead.closed", "lead.not_accepted", "lead.substantiated", "lead.unsubstantiated", "lead.investigating"} \
        <= set(+totals)
    now = year[0]
    assert now.leads.median_days_to_decision is not None
    assert now.pool.by_state.get("removed", 0) > 0 and now.pool.by_state.get("exited", 0) > 0
    assert now.pool.terms_ending > 0 and now.leads.overdue_now > 0


async def test_every_chart_of_the_demo_year_has_bars_in_each_month_and_renders_non_blank(
    uow_factory: UnitOfWorkFactory,
) -> None:
    import io

    from PIL import Image

    from services.documents import charts
    from services.insight import period, series

    data = await demo.generate(uow_factory)
    admin = await _admin(uow_factory, data)
    async with uow_factory(readonly=True) as uow:
        last = period.parse(None, today=uow.today()).before()
        leads = await series.leads_by_month(uow, actor=admin, unit=None, last=last)
        invitations = await series.invitations_by_month(uow, actor=admin, unit=None, last=last)
        _, answers = await series.answer_times(uow, actor=admin, unit=None, asked=period.year(last.first.year - 1))
        _, pool = await series.pool_now(uow, actor=admin, unit=None)
    for monthly in (leads, invitations):
        assert all(sum(values[i] for values in monthly.counts.values()) > 0 for i in range(12)), monthly.counts
    assert sum(1 for n in answers.values() if n) >= 3  # answers spread over the buckets
    drawn = [charts.BarChart("leads", leads.months, [(k, [float(v) for v in vs]) for k, vs in leads.counts.items()]),
             charts.BarChart("answers", list(answers), [("n", [float(v) for v in answers.values()])]),
             charts.BarChart("pool", list(pool.by_category), [("n", [float(v) for v in pool.by_category.values()])])]
    for chart in drawn:
        image = Image.open(io.BytesIO(charts.render(chart))).convert("RGB")
        assert len(image.getcolors(maxcolors=1 << 20) or []) > 10, chart.title  # bars, axes, labels


async def test_the_readme_chart_is_the_demo_years_leads_as_the_bot_draws_them(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    """The chart in the README (docs/stats-chart.png): the demo's leads per month by state, labelled in Chinese as
    the bot sends it; ``UPDATE_SCREENSHOT=1`` replaces the committed picture with this one."""
    import io

    from PIL import Image

    from bot.handlers.insight_charts import monthly_chart
    from messages import translate
    from services.documents import charts
    from services.insight import period, series

    data = await demo.generate(uow_factory)
    admin = await _admin(uow_factory, data)
    async with uow_factory(readonly=True) as uow:
        last = period.parse(None, today=uow.today()).before()
        leads = await series.leads_by_month(uow, actor=admin, unit=None, last=last)
    png = charts.render(monthly_chart("leads", leads, lambda key, **p: translate("zh", key, **p)))
    (tmp_path / "stats-chart.png").write_bytes(png)
    assert len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or []) > 10
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        README_CHART.write_bytes(png)
    assert README_CHART.read_bytes().startswith(b"\x89PNG")


async def test_the_history_draws_verify_like_any_other_draw(uow_factory: UnitOfWorkFactory) -> None:
    from services.draws import draws
    from storage.activities import DrawRecord

    await demo.generate(uow_factory)
    async with uow_factory(readonly=True) as uow:
        ids = (await uow.session.exec(select(DrawRecord.id).order_by(col(DrawRecord.id)))).all()
        reports = [await draws.verify_draw(uow, int(i or 0)) for i in ids[::7]]
    assert len(ids) > 50 and reports
    assert all(r.ok for r in reports), [(r.draw_id, r.problems) for r in reports if not r.ok]


async def test_the_history_leaves_the_sweeps_nothing_to_send(uow_factory: UnitOfWorkFactory) -> None:
    from services.records import credit

    await demo.generate(uow_factory)
    assert await credit.sweep_slots(uow_factory) == 0  # every unanswered invitation already has its event


async def test_the_history_is_audited_in_the_same_intact_chain_with_the_times_things_happened(
    uow_factory: UnitOfWorkFactory,
) -> None:
    data = await demo.generate(uow_factory)
    assert data.history is not None
    async with uow_factory() as uow:
        report = await audit.verify_chain(uow)
        entries = (await uow.session.exec(select(AuditEntry))).all()
        now = uow.now()
    actions = Counter(e.action for e in entries)
    assert report.ok and report.checked == len(entries)
    assert actions["activity.created"] == data.history.activities + 1  # and the demo activity
    assert actions["lead.submitted"] == data.history.leads > 100
    assert actions["invitation.sent"] == data.history.slots + 3
    assert {"lead.accepted", "lead.not_accepted", "lead.rewarded", "expert.removed", "excellence.published",
            "credit.event", "invitation.expired", "invitation.declined"} <= set(actions)
    history = [e for e in entries if e.action == "lead.submitted"]
    assert min(e.at for e in history) < now - timedelta(days=330) and max(e.at for e in history) < now
    assert all(e.actor.startswith("supervisor:S-") for e in history)  # the pseudonym, never the person
