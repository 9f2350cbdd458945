"""End to end through the emulator: after accepting (issue 13). The accepted invitation carries Withdraw and
Declare a conflict; a withdrawal the day before asks its reason in words, invites the backup, alerts staff and
records ``decline_after_accept``; a late conflict of interest declared from ``/mine`` asks its question in words
and records nothing negative; ``/mine`` lists the upcoming assignments with the leader and the staff contact."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.emulator import BotApiEmulator, buttons
from services.records import credit
from storage.activities import Activity
from storage.records import CreditEvent
from tests.e2e.talk import emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_invitations import _backups, _principals, _world, running_bot


async def test_a_withdrawal_the_day_before_invites_the_backup_and_records_decline_after_accept_a_late_recusal_not(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=2, pool=5, inspected=True)
        p1, p2, p3 = await _principals(world)
        b1, b2 = await _backups(world)
        for person in (p1, p2, p3):
            await world.accept_and_sign(person)
        user1, user2 = world.user_of(p1), world.user_of(p2)
        slot1, slot2 = (await world.slot_of(p1)).id, (await world.slot_of(p2)).id

        # /mine: the upcoming assignment with place, role, leader, staff contact and own state, and its buttons
        before = len(emulator.messages(user2))
        await emulator.user(user2).send_command("/mine")
        await emulator.wait_for(lambda: any("我的状态" in (m.text or "") for m in emulator.messages(user2)[before:]))
        item = next(m for m in emulator.messages(user2)[before:] if "我的状态" in (m.text or ""))
        assert "定点医院日常检查" in (item.text or "") and "已签署" in (item.text or "")
        assert "联系人（工作人员）：王管理" in (item.text or "")
        assert [d for row in buttons(item) for _, d in row] == [f"inv:w:{slot2}", f"inv:r:{slot2}"]

        async with bot.uow() as u:
            activity = await u.session.get(Activity, world.activity_id)
            assert activity is not None
            start = activity.starts_at
        bot.clock.advance(start - timedelta(hours=20) - bot.clock.now())  # the day before

        # p2 declares a conflict that arose late: the grounds come with the question in words
        await world.press(p2, item, f"inv:r:{slot2}")
        await emulator.wait_for(lambda: zh("invite.ask_recusal_ground") in (world._fresh(user2, item.message_id).text
                                                                              or ""))
        assert await world.press(p2, item, f"inv:rg:{slot2}:relative") == zh("invite.done_recusal")
        assert await world.status(p2) == "recused"

        # p1 withdraws from the invitation message: the reason is asked in words, then the slot closes
        invitation = await world.invitation(p1)
        assert [d for row in buttons(invitation) for _, d in row] == [f"inv:w:{slot1}", f"inv:r:{slot1}"]
        await world.press(p1, invitation, f"inv:w:{slot1}")
        await emulator.wait_for(lambda: any(zh("invite.ask_withdraw_reason") == m.text
                                            for m in emulator.messages(user1)))
        await emulator.user(user1).send_text("家中突发急事")
        await emulator.wait_for(lambda: any(zh("invite.done_withdraw", activity_id=world.activity_id) == m.text
                                            for m in emulator.messages(user1)))
        member = await world.slot_of(p1)
        assert (member.status, member.reason, member.reason_text) == ("withdrawn", "withdrawn_late", "家中突发急事")
        # the buttons went with the state (the edit travels through the outbox)
        await emulator.wait_for(lambda: world._fresh(user1, invitation.message_id).reply_markup is None)
        assert [await world.status(b) for b in (b1, b2)] == ["invited", "invited"]
        await emulator.wait_for(lambda: any("接受后退出" in t and "家中突发急事" in t for t in world.staff_texts()))

        await credit.sweep_slots(bot.uow)
        async with bot.uow() as u:
            events = (await u.session.exec(select(CreditEvent))).all()
        assert [(e.person_id, e.kind) for e in events] == [(p1, "decline_after_accept")]


async def test_a_withdrawal_well_before_the_start_records_nothing_and_needs_a_reason(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4, inspected=False)
        p1, _, _ = await _principals(world)
        await world.accept_and_sign(p1)
        slot1 = (await world.slot_of(p1)).id
        await world.press(p1, await world.invitation(p1), f"inv:w:{slot1}")
        user1 = world.user_of(p1)
        await emulator.wait_for(lambda: any(zh("invite.ask_withdraw_reason") == m.text
                                            for m in emulator.messages(user1)))
        await emulator.user(user1).send_text("工作调动")
        await emulator.wait_for(lambda: any("已退出活动" in (m.text or "") for m in emulator.messages(user1)))
        assert ((await world.slot_of(p1)).reason) == "withdrawn"
        await credit.sweep_slots(bot.uow)
        async with bot.uow() as u:
            assert (await u.session.exec(select(CreditEvent))).all() == []
