"""End to end: experts turning 65 ask to stay (000 §22); staff grant one until a date and refuse the other with
the /extensions buttons; the granted expert is not exited by the daily job and is drawn until the end date, staff
are reminded a month before it ends, and the expert is exited after it (issue 14, "Extension past 65")."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from bot.emulator import BotApiEmulator
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.roles import SYSTEM_CLI
from storage.activities import ActivityMember
from storage.models import Expert
from tests.builders import add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import Chat, bind, data_of, emulator_without_limits, zh

__all__ = ["emulator_without_limits"]


async def _state(bot: BotHarness, expert_id: int) -> tuple[str, str | None]:
    async with bot.uow() as u:
        record = await u.session.get(Expert, expert_id)
    assert record is not None
    return record.state, record.end_reason


async def test_a_granted_extension_keeps_a_65_year_old_drawable_until_its_end(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        async with bot.uow() as u:
            today = u.today()  # the bureau's day (Shanghai), as the daily job reads it
        turning = date(today.year - 65, today.month, today.day) + timedelta(days=3)  # 65 in three days
        old = {"birth_date": turning, "categories": ["clinical"], "term_end": today + timedelta(days=700)}
        granted, refused, *others = await add_pool(bot.uow, org.div1_id, [
            {**old, "name": "甲专家"}, {**old, "name": "乙专家"}, {"categories": ["clinical"]},
            {"categories": ["clinical"]}])
        await bind(bot, emulator, granted, 60, "expert")
        await bind(bot, emulator, refused, 61, "expert")
        await bind(bot, emulator, org.admin_id, 62, "staff")  # div1 has no chat: the bureau admin is alerted
        expert, other, staff = Chat(emulator, 60), Chat(emulator, 61), Chat(emulator, 62)
        await expert.command("/extend", expect=zh("pool.extension_requested"))
        await other.command("/extend", expect=zh("pool.extension_requested"))
        await staff.received(f"（编号 {refused}）申请年满65周岁后延期留库")

        until = today + timedelta(days=60)
        await staff.command("/extensions", f"{granted} {until}", expect=zh(
            "extension.decided", person_id=granted, until=until, decision_key="extension.decision.grant_extension"))
        await expert.received(zh("lifecycle.extension_granted", until=until.isoformat()))
        item = await staff.command("/extensions", expect=f"编号 {refused}")
        assert f"编号 {granted}" not in (item.text or "")  # decided: no longer pending
        assert f"出生于 {turning.year} 年" in (item.text or "") and turning.isoformat() not in (item.text or "")
        await staff.alert(item.message_id, data_of(item, f"extr:{refused}"))
        await other.received(zh("lifecycle.extension_refused", note="-"))
        await staff.received(zh("extension.decided", person_id=refused, until="-",
                                decision_key="extension.decision.refuse_extension"))  # the item, edited in place

        job = bot.running.scheduler.get_job("expert_pool_daily")
        assert job is not None
        bot.clock.advance(timedelta(days=4))  # both are 65 now
        await job.func()
        assert await _state(bot, granted) == ("active", None)
        assert await _state(bot, refused) == ("exited", "age_limit")

        async with bot.uow() as u:
            start = u.now() + timedelta(days=10)
            activity = await activities.create_activity(u, actor=staff_actor(org.div1_staff_id, org.div1_id),
                                                        data=ActivityInput(
                org="div1", kind="special_inspection", title="专项检查", starts_at=start,
                ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
                requirements=(RequirementInput("clinical", 3, 0),)))
            await draws.set_approval(u, actor=SYSTEM_CLI, org="div1", enabled=False)
        await staff.command("/draw", str(activity.id), expect="甲专家")
        async with bot.uow() as u:
            drawn = {m.person_id for m in (await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == activity.id))).all()}
        assert drawn == {granted, *others}

        bot.clock.advance(timedelta(days=30))  # 26 days before the end
        await job.func()
        await staff.received(zh("lifecycle.extension_ending_staff", name="甲专家", person_id=granted,
                                until=until.isoformat()))
        await expert.received(zh("lifecycle.extension_ending", until=until.isoformat()))
        bot.clock.advance(timedelta(days=26))  # the extension's last day
        await job.func()
        assert await _state(bot, granted) == ("active", None)
        bot.clock.advance(timedelta(days=1))
        await job.func()
        assert await _state(bot, granted) == ("exited", "age_limit")
