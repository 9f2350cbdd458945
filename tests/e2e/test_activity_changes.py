"""End to end through the emulator, the clock driven by the test: staff cancel or reschedule a drawn activity
(issue 13, "Cancel and reschedule"; 001 §19–§21, 000 §19). The world is the invitations tests' own."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from bot.emulator import BotApiEmulator, buttons
from services.invitations import invitations
from services.platform.dialogs import format_local
from services.records import credit, work_records
from storage.models import AuditEntry
from storage.pool import ExpertPeriod
from storage.records import CreditEvent, WorkRecord
from tests.e2e.talk import emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_invitations import ADMIN, World, _backups, _principals, _world, running_bot


async def _credit_events(world: World) -> int:
    async with world.bot.uow() as u:
        return int((await u.session.exec(select(func.count()).select_from(CreditEvent))).one())


async def _told(world: World, person_id: int, words: str) -> None:
    user = world.user_of(person_id)
    await world.emulator.wait_for(lambda: any(words in (m.text or "") for m in world.emulator.messages(user)))


async def _staff_reply(world: World, words: str) -> str:
    await world.emulator.wait_for(lambda: any(words in t for t in world.staff_texts()))
    return next(t for t in reversed(world.staff_texts()) if words in t)


async def test_a_cancelled_activity_tells_all_members_and_leaves_no_penalties(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=2, pool=5)
        p1, p2, p3 = await _principals(world)
        b1, b2 = await _backups(world)
        await world.accept_and_sign(p1)
        await world.press(p2, await world.invitation(p2), f"inv:a:{(await world.slot_of(p2)).id}")
        invitation3 = await world.invitation(p3)  # p3 stays invited
        assert [await world.status(p) for p in (p1, p2, p3)] == ["signed", "accepted", "invited"]

        await emulator.user(ADMIN).send_command("/cancelactivity", f"{world.activity_id} 被检查医院停业整顿")
        assert "已通知 3 名专家" in await _staff_reply(world, "已取消，已通知")
        for person in (p1, p2, p3):
            await _told(world, person, "被检查医院停业整顿")
        for backup in (b1, b2):  # backups never invited are not bothered
            assert not emulator.messages(world.user_of(backup))[1:]
        assert {m.status for m in await world.slots()} == {"cancelled"}
        assert all(m.due_at is None for m in await world.slots())
        closed = world._fresh(world.user_of(p3), invitation3.message_id)
        assert closed.reply_markup is None and "邀请已取消" in (closed.text or "")
        roster = next(m for m in emulator.messages(ADMIN) if "席位#" in (m.text or ""))
        await emulator.wait_for(lambda: "活动已取消" in (world._fresh(ADMIN, roster.message_id).text or ""))

        # an old button changes nothing (and says why); reminders, expiry and the work-record chase never start;
        # no credit event
        stale = await world.press(p3, invitation3, f"inv:a:{(await world.slot_of(p3)).id}")
        assert stale == zh("invite.refused_reason.cancelled")
        bot.clock.advance(timedelta(days=12))  # past the deadline, the start and the end
        report = await invitations.sweep(bot.uow)
        assert (report.reminded, report.expired, report.sign_reminded, report.unsigned_alerts) == (0, 0, 0, 0)
        assert await credit.sweep_slots(bot.uow) == 0
        assert (await work_records.sweep(bot.uow))["opened"] == 0
        async with bot.uow() as u:
            assert (await u.session.exec(select(WorkRecord))).first() is None
            cancelled = (await u.session.exec(select(AuditEntry).where(
                AuditEntry.action == "activity.cancelled"))).one()
        assert cancelled.details["reason"] == "被检查医院停业整顿"
        assert await _credit_events(world) == 0
        assert await world.status(p1) == "cancelled"


async def test_a_cancelled_activity_cannot_be_drawn_again(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=0, pool=3)
        await emulator.user(ADMIN).send_command("/cancelactivity", f"{world.activity_id} 计划调整")
        await _staff_reply(world, "已取消，已通知")
        await emulator.user(ADMIN).send_command("/draw", str(world.activity_id))
        assert zh("draw.refused.cancelled") in await _staff_reply(world, zh("draw.refused.cancelled"))
        await emulator.user(ADMIN).send_command("/cancelactivity", f"{world.activity_id} 再次取消")
        await _staff_reply(world, zh("invite.change.refused.cancelled"))
        members = len(await world.slots())
        assert members == 3  # nothing drawn again


async def test_a_reschedule_asks_each_expert_again_a_decline_goes_to_the_backup_without_penalty(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4, inspected=False)
        p1, p2, p3 = await _principals(world)
        (b1,) = await _backups(world)
        for person in (p1, p2, p3):
            await world.accept_and_sign(person)
        async with bot.uow() as u:
            start = u.now() + timedelta(days=12)
            zone = u.zone
        new = [format_local(moment, zone) for moment in (start, start + timedelta(days=1), start - timedelta(days=3))]
        await emulator.user(ADMIN).send_command("/reschedule", f"{world.activity_id} {' '.join(new)}")
        reply = await _staff_reply(world, "需重新确认")
        assert "3 名专家需重新确认" in reply and new[0] in reply
        assert [await world.status(p) for p in (p1, p2, p3)] == ["invited"] * 3

        def reconfirmation(person: int) -> int:
            return next(m.message_id for m in emulator.messages(world.user_of(person))
                        if "请重新确认" in (m.text or ""))

        for person in (p1, p2, p3):
            await _told(world, person, "请重新确认")
            message = world._fresh(world.user_of(person), reconfirmation(person))
            assert new[0] in (message.text or "") and buttons(message)
        # p1 reconfirms (and signs the new commitment), p2 declines: the backup is invited; p3 stays silent
        slot1, slot2 = (await world.slot_of(p1)).id, (await world.slot_of(p2)).id
        msg1 = world._fresh(world.user_of(p1), reconfirmation(p1))
        await world.press(p1, msg1, f"inv:a:{slot1}")
        user1 = world.user_of(p1)
        await emulator.wait_for(lambda: sum("承诺书" in (m.text or "") for m in emulator.messages(user1)) == 2)
        paper = [m for m in emulator.messages(user1) if "承诺书" in (m.text or "")][-1]
        await world.press(p1, paper, f"inv:s:{slot1}")
        msg2 = world._fresh(world.user_of(p2), reconfirmation(p2))
        await world.press(p2, msg2, f"inv:d:{slot2}")
        await world.press(p2, msg2, f"inv:dr:{slot2}:busy")
        await world.invitation(b1)
        assert [await world.status(p) for p in (p1, p2, b1)] == ["signed", "declined", "invited"]

        bot.clock.advance(timedelta(days=10))  # past the new deadline, before the new start
        for _ in range(3):
            await invitations.sweep(bot.uow)
        assert await world.status(p3) == "expired"
        await credit.sweep_slots(bot.uow)
        async with bot.uow() as u:
            kinds = (await u.session.exec(select(CreditEvent.person_id, CreditEvent.kind))).all()
        assert (p3, "no_response") not in kinds and (p2, "no_response") not in kinds
        assert (b1, "no_response") in kinds  # an ordinary invitation left unanswered still counts


async def test_a_member_on_leave_for_the_new_dates_is_released_and_the_backup_invited_without_penalty(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4, inspected=False)
        p1, p2, p3 = await _principals(world)
        (b1,) = await _backups(world)
        await world.accept_and_sign(p1)
        async with bot.uow() as u:
            start = u.now() + timedelta(days=20)
            zone = u.zone
            day = start.astimezone(zone).date()
            u.session.add(ExpertPeriod(expert_id=p1, kind="leave", start_date=day, end_date=day + timedelta(days=2),
                                       reason="年假", created_by="test", created_at=u.now()))
            await u.commit()
        new = [format_local(moment, zone) for moment in (start, start + timedelta(days=1))]
        await emulator.user(ADMIN).send_command("/reschedule", f"{world.activity_id} {' '.join(new)}")
        reply = await _staff_reply(world, "需重新确认")
        assert "2 名专家需重新确认" in reply and "1 名因时间冲突" in reply
        assert await world.status(p1) == "cancelled" and (await world.slot_of(p1)).reason == "reschedule_conflict"
        await world.invitation(b1)
        assert [await world.status(p) for p in (p2, p3, b1)] == ["invited"] * 3
        await _told(world, p1, "无需参加")
        await credit.sweep_slots(bot.uow)
        assert await _credit_events(world) == 0


async def test_a_guided_reschedule_asks_each_time_with_a_live_example_and_refuses_a_bad_one(
    emulator: BotApiEmulator, database_url: str
) -> None:
    """Issue 13: ``/reschedule <id>`` alone asks the start, end and answer-by time in turn (000 §19 checked at each
    step, the example computed from now); the members are then asked to reconfirm as with the one-line form."""
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4, inspected=False)
        for person in await _principals(world):
            await world.accept_and_sign(person)
        async with bot.uow() as u:
            start, zone = u.now() + timedelta(days=12), u.zone
        admin = emulator.user(ADMIN)
        await admin.send_command("/reschedule", str(world.activity_id))
        asked = await _staff_reply(world, "新的开始时间")
        assert "例如：" in asked and "2026-12-01" not in asked
        await admin.send_text(format_local(start - timedelta(days=30), zone))  # in the past: refused, same question
        await _staff_reply(world, zh("activity.invalid.starts_in_past"))
        await admin.send_text(format_local(start, zone))
        await _staff_reply(world, "新的结束时间")
        await admin.send_text(format_local(start + timedelta(days=1), zone))
        await _staff_reply(world, "重新确认的截止时间")
        await admin.send_text("-")  # the default deadline
        done = await _staff_reply(world, "需重新确认")
        assert "3 名专家需重新确认" in done and format_local(start, zone) in done
