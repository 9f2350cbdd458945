"""End to end through the emulator: a slot's states are final once the activity has started or its roster is
closed, the roster shows the work record's attendance and every reminder sent (issue 13)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.emulator import BotApiEmulator
from services.invitations import invitations
from services.pool import lifecycle
from services.records import credit, work_records
from storage.activities import Activity
from storage.records import CreditEvent
from tests.builders import staff_actor
from tests.e2e.talk import emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_invitations import ADMIN, _backups, _principals, _world, running_bot
from tests.services.test_work_records import Ended, answers


async def test_an_old_sign_button_pressed_after_the_start_changes_nothing_and_the_roster_shows_the_record(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4, inspected=False)
        p1, p2, p3 = await _principals(world)
        for person in (p1, p2, p3):
            await world.invitation(person)
        bot.clock.advance(timedelta(hours=2, minutes=1))
        await invitations.sweep(bot.uow)
        bot.clock.advance(timedelta(hours=4))
        await invitations.sweep(bot.uow)
        slot1 = (await world.slot_of(p1)).id
        assert await world.press(p1, await world.invitation(p1), f"inv:a:{slot1}") == zh("invite.done_accept")
        user1 = world.user_of(p1)
        await emulator.wait_for(lambda: any("承诺书" in (m.text or "") for m in emulator.messages(user1)))
        paper = next(m for m in emulator.messages(user1) if "承诺书" in (m.text or ""))
        await world.accept_and_sign(p2)

        bot.clock.advance(timedelta(days=12))  # the activity started and ended; p1 never signed
        admin = staff_actor(world.org.admin_id, world.org.bureau_id, admin=True)
        async with bot.uow() as u:
            await invitations.mark_attendance(u, actor=admin, member_id=slot1 or 0, value="absent_without_notice")
        assert await world.press(p1, paper, f"inv:s:{slot1}") == zh("invite.refused_reason.closed")
        slot3 = (await world.slot_of(p3)).id
        assert await world.press(p3, await world.invitation(p3), f"inv:a:{slot3}") == zh(
            "invite.refused_reason.closed")
        assert [await world.status(p) for p in (p1, p2, p3)] == ["accepted", "signed", "invited"]

        # the work record says p1 was absent with notice: /slots and /attendance show that, and the two
        # reminders p1 had before accepting are still counted
        await work_records.sweep(bot.uow)
        slots = {m.person_id: m for m in await world.slots()}
        ended = Ended(world.org, world.activity_id, admin, admin, [slots[p1], slots[p2]])
        async with bot.uow() as u:
            await work_records.submit(u, actor=admin, activity_id=world.activity_id, entries=answers(
                ended, s0={"attendance": "absent_with_notice"}), final_opinion="无", decision="consensus")
        await emulator.user(ADMIN).send_command("/slots", str(world.activity_id))
        await emulator.wait_for(lambda: f"席位#{slot1} " in world.staff_texts()[-1])
        line = next(ln for ln in world.staff_texts()[-1].splitlines() if f"席位#{slot1} " in ln)
        assert "提醒 2 次" in line and "请假缺席" in line
        await emulator.user(ADMIN).send_command("/attendance", str(world.activity_id))
        await emulator.wait_for(lambda: any(f"席位 #{slot1}）" in t for t in world.staff_texts()))
        sheet = next(t for t in world.staff_texts() if f"席位 #{slot1}）" in t)
        assert sheet.endswith("请假缺席")


async def test_a_removed_expert_cannot_accept_an_open_invitation_the_slot_closes_and_the_backup_is_invited(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=2, pool=5, inspected=False)
        p1, p2, _ = await _principals(world)
        b1, b2 = await _backups(world)
        invitation = await world.invitation(p1)
        await world.accept_and_sign(p2)
        admin = staff_actor(world.org.admin_id, world.org.bureau_id, admin=True)
        async with bot.uow() as u:
            await lifecycle.remove(u, actor=admin, expert_id=p1, reason="违反工作纪律")
        slot1 = (await world.slot_of(p1)).id
        assert await world.press(p1, invitation, f"inv:a:{slot1}") == zh("invite.refused_reason.pool_removed")
        assert await world.status(p1) == "invited"

        # a suspension over the activity's days closes a signed slot too
        async with bot.uow() as u:
            activity = await u.session.get(Activity, world.activity_id)
            assert activity is not None
            day = activity.starts_at.astimezone(u.zone).date()
            await lifecycle.add_period(u, actor=admin, expert_id=p2, kind="suspension", start=day, end=day)
        report = await invitations.sweep(bot.uow)
        assert report.closed_unavailable == 2
        closed = {p: await world.slot_of(p) for p in (p1, p2)}
        assert [(m.status, m.reason) for m in closed.values()] == [("cancelled", "pool_removed"),
                                                                   ("cancelled", "pool_suspended")]
        assert [await world.status(b) for b in (b1, b2)] == ["invited", "invited"]
        await emulator.wait_for(lambda: any("专家已解聘出库" in t for t in world.staff_texts()))
        assert (await invitations.sweep(bot.uow)).closed_unavailable == 0
        await credit.sweep_slots(bot.uow)
        async with bot.uow() as u:
            events = (await u.session.exec(select(CreditEvent).where(col(CreditEvent.person_id).in_((p1, p2))))).all()
        assert events == []
