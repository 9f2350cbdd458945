"""End to end through the emulator: the reminder the day before the start at the configured local hour, with the
time, the place, the leader and the staff contact; ``/ics`` sends the activity as a calendar file; a reminder that
carried the answer buttons loses them once the invitation is answered (issue 13)."""

from __future__ import annotations

from datetime import timedelta

from bot.emulator import BotApiEmulator, buttons
from services.invitations import eve, invitations
from storage.activities import Activity
from tests.e2e.talk import emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_invitations import ADMIN, _principals, _world, running_bot


async def test_the_eve_reminder_comes_once_at_the_local_hour_and_ics_sends_the_calendar_file(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=0, pool=3, inspected=False)
        p1, p2, p3 = await _principals(world)
        await world.accept_and_sign(p1)
        slot2 = (await world.slot_of(p2)).id
        await world.press(p2, await world.invitation(p2), f"inv:a:{slot2}")  # accepted, not signed

        # a reminder to p3 with the answer buttons; p3 then accepts: the reminder loses its buttons too
        bot.clock.advance(timedelta(hours=2, minutes=1))
        await invitations.sweep(bot.uow)
        user3 = world.user_of(p3)
        await emulator.wait_for(lambda: any("⏰" in (m.text or "") for m in emulator.messages(user3)))
        reminder = next(m for m in emulator.messages(user3) if "⏰" in (m.text or ""))
        assert buttons(reminder)
        slot3 = (await world.slot_of(p3)).id
        assert await world.press(p3, reminder, f"inv:a:{slot3}") == zh("invite.done_accept")
        await emulator.wait_for(lambda: world._fresh(user3, reminder.message_id).reply_markup is None)
        assert "已接受" in (world._fresh(user3, reminder.message_id).text or "")

        async with bot.uow() as u:
            activity = await u.session.get(Activity, world.activity_id)
            assert activity is not None
            local_start = activity.starts_at.astimezone(u.zone)
        eve_at = (local_start - timedelta(days=1)).replace(hour=18, minute=0)
        bot.clock.advance(eve_at - timedelta(minutes=1) - bot.clock.now())
        assert await eve.eve_sweep(bot.uow) == 0  # 17:59 the day before: not yet
        bot.clock.advance(timedelta(minutes=1))
        assert await eve.eve_sweep(bot.uow) == 3
        assert await eve.eve_sweep(bot.uow) == 0  # once
        user1 = world.user_of(p1)
        await emulator.wait_for(lambda: any("明天的活动提醒" in (m.text or "") for m in emulator.messages(user1)))
        note = next(m.text or "" for m in emulator.messages(user1) if "明天的活动提醒" in (m.text or ""))
        assert "定点医院日常检查" in note and "联系人（工作人员）：王管理" in note
        assert local_start.strftime("%Y-%m-%d %H:%M") in note

        await emulator.user(user1).send_command("/ics", str(world.activity_id))
        await emulator.wait_for(lambda: any(m.document is not None for m in emulator.messages(user1)))
        sent = next(m for m in emulator.messages(user1) if m.document is not None)
        assert sent.document is not None and sent.document.file_name == f"activity-{world.activity_id}.ics"
        text = sent.document.data.decode("utf-8")
        assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
        start_utc = activity.starts_at.strftime("%Y%m%dT%H%M%SZ")
        assert f"DTSTART:{start_utc}\r\n" in text and "SUMMARY:定点医院日常检查" in text
        # staff of the organizer may have it too
        await emulator.user(ADMIN).send_command("/ics", str(world.activity_id))
        await emulator.wait_for(lambda: any(m.document is not None for m in emulator.messages(ADMIN)))

        # at the start the assignment's buttons (withdraw, declare a conflict) go: the question has expired
        invitation = await world.invitation(p1)
        assert buttons(world._fresh(user1, invitation.message_id))
        bot.clock.advance(activity.starts_at - bot.clock.now() + timedelta(minutes=1))
        await invitations.sweep(bot.uow)
        await emulator.wait_for(lambda: world._fresh(user1, invitation.message_id).reply_markup is None)
        assert "已接受并签署承诺书" in (world._fresh(user1, invitation.message_id).text or "")
