"""End to end: an exited expert applies again (000 §10), is reviewed, approved, appointed and drawn, with the earlier
time in the pool on the card; a removed expert is refused with the reason and the end of the five-year bar
(001 §22) (issue 14, "Back into the pool")."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.emulator import BotApiEmulator
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.roles import SYSTEM_CLI
from storage.activities import ActivityMember
from storage.models import Expert
from tests.builders import add_pool, build_org, make_eligible, staff_actor
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits, zh

__all__ = ["emulator_without_limits"]


def _state(key: str) -> str:
    return zh(f"lifecycle.state.{key}")


async def test_an_exited_expert_is_readmitted_and_drawn(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await make_eligible(bot.uow, org.expert_id)
        others = await add_pool(bot.uow, org.div1_id, [{"categories": ["clinical"]}, {"categories": ["clinical"]}])
        await bind(bot, emulator, org.div1_staff_id, 90, "staff")
        await bind(bot, emulator, org.expert_id, 91, "expert")
        staff, expert_id = Chat(emulator, 90), org.expert_id
        async with bot.uow() as u:
            today = u.today()  # the bureau's day (Shanghai)
            record = await u.session.get(Expert, expert_id)
            assert record is not None
            record.state, record.term_start, record.term_end = "active", today, None
            u.session.add(record)
            await u.commit()
        await staff.command("/pool", f"{expert_id} exit 调离原岗位", expect=_state("exited"))
        await staff.command("/pool", f"{expert_id} readmit", expect=_state("applicant"))
        await Chat(emulator, 91).received(zh("lifecycle.readmitted"))
        await staff.command("/pool", f"{expert_id} review", expect=_state("under_review"))
        await staff.command("/pool", f"{expert_id} approve", expect=_state("public_notice"))
        bot.clock.advance(timedelta(days=10))
        await staff.command("/pool", f"{expert_id} appoint", expect=_state("active"))
        card = await staff.command("/expert", str(expert_id), expect="以往入库")
        assert f"{today} ~ {today} {_state('exited')}" in (card.text or "")
        assert f"/credit {expert_id}" in (card.text or "")

        async with bot.uow() as u:
            start = u.now() + timedelta(days=10)
            activity = await activities.create_activity(u, actor=staff_actor(org.div1_staff_id, org.div1_id),
                                                        data=ActivityInput(
                org="div1", kind="special_inspection", title="专项检查", starts_at=start,
                ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
                requirements=(RequirementInput("clinical", 3, 0),)))
            await draws.set_approval(u, actor=SYSTEM_CLI, org="div1", enabled=False)
        await staff.command("/draw", str(activity.id), expect="张专家")
        async with bot.uow() as u:
            drawn = {m.person_id for m in (await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == activity.id))).all()}
        assert drawn == {expert_id, *others}


async def test_a_removed_expert_is_refused_with_the_reason_and_the_end_of_the_bar(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await bind(bot, emulator, org.div1_staff_id, 90, "staff")
        staff = Chat(emulator, 90)
        await staff.command("/pool", f"{org.expert_id} remove 拒签承诺书", expect=_state("removed"))
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
        assert record is not None and record.barred_until is not None and record.ended_on is not None
        refused = zh("error.still_barred", reason="拒签承诺书", ended_on=record.ended_on.isoformat(),
                     barred_until=record.barred_until.isoformat())
        await staff.command("/pool", f"{org.expert_id} readmit", expect=refused)
        bot.clock.advance(record.barred_until - record.ended_on)  # the bar's last day has passed
        await staff.command("/pool", f"{org.expert_id} readmit", expect=_state("applicant"))
