"""End to end: a division's draw takes from its own pool only and falls short rather than take another division's
experts; once the bureau's admin lends division 2's pool to division 1 (/poolshare), the draw takes them, the card
names the lending unit, the record keeps it and the lender's staff are alerted (issue 14, "Pools per unit and
sharing"; 001 §5, §7; 003 三(八))."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.emulator import BotApiEmulator
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.platform.roles import SYSTEM_CLI
from storage.activities import ActivityMember, DrawRecord
from tests.builders import add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits, zh

__all__ = ["emulator_without_limits"]


async def _activity(bot: BotHarness, staff_id: int, org_unit_id: int, title: str) -> int:
    async with bot.uow() as u:
        start = u.now() + timedelta(days=10)
        activity = await activities.create_activity(u, actor=staff_actor(staff_id, org_unit_id), data=ActivityInput(
            org="div1", kind="special_inspection", title=title, starts_at=start, ends_at=start + timedelta(days=1),
            response_deadline=start - timedelta(days=2), requirements=(RequirementInput("clinical", 3, 0),)))
    assert activity.id is not None
    return activity.id


async def test_a_division_draws_from_another_only_when_lent_and_the_record_names_the_lender(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        own = await add_pool(bot.uow, org.div1_id, [{"categories": ["clinical"], "name": "一师专家"}])
        lent = await add_pool(bot.uow, org.div2_id, [{"categories": ["clinical"], "name": f"二师专家{n}"}
                                                     for n in range(2)])  # with div1's: exactly the three
        async with bot.uow() as u:
            await draws.set_approval(u, actor=SYSTEM_CLI, org="div1", enabled=False)
        await bind(bot, emulator, org.div1_staff_id, 80, "staff")
        await bind(bot, emulator, org.admin_id, 81, "staff")
        staff, admin = Chat(emulator, 80), Chat(emulator, 81)
        first = await _activity(bot, org.div1_staff_id, org.div1_id, "一师自查")
        short = await staff.command("/draw", str(first), expect=zh("draw.card.short_header"))
        assert "二师专家" not in (short.text or "")

        async with bot.uow() as u:
            today = u.today()  # the bureau's day (Shanghai), as the draw judges a grant
        await admin.command("/poolshare", f"div2 div1 {today} {today + timedelta(days=30)} 跨师检查",
                            expect=zh("share.granted", share_id=1, starts_on=today,
                                      ends_on=today + timedelta(days=30)))
        listing = await admin.command("/poolshare", expect="第二师医保局 → 第一师医保局")
        assert (listing.text or "").startswith(zh("share.header")) and "跨师检查" in (listing.text or "")
        second = await _activity(bot, org.div1_staff_id, org.div1_id, "跨师检查")
        card = await staff.command("/draw", str(second), expect=zh("draw.card.lent", units="第二师医保局"))
        assert "二师专家" in (card.text or "")
        async with bot.uow() as u:
            drawn = {m.person_id for m in (await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == second))).all()}
            record = (await u.session.exec(select(DrawRecord).where(DrawRecord.activity_id == second))).one()
        assert drawn == {own[0], *lent}
        assert record.lending_unit_ids == [org.div2_id]
        # div2 has no staff of its own: its alert goes to the bureau's admin
        await admin.received(zh("share.used_staff", borrower="第一师医保局", title="跨师检查", count=2,
                                draw_id=record.id, share_id=1))

        await admin.command("/poolshare", "revoke 1", expect=zh("share.revoked", share_id=1))
        third = await _activity(bot, org.div1_staff_id, org.div1_id, "撤销后")
        await staff.command("/draw", str(third), expect=zh("draw.card.short_header"))
