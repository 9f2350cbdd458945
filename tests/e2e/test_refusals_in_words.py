"""End to end through the emulator: an expert's buttons speak plain words and a refused press says why (issue 13):
Decline and Recuse ask their question in words, the reasons carry no article numbers, a press after the deadline
is told the deadline passed, a press on an answered invitation is told it was answered, a staff-only button
pressed by an expert is "not permitted"."""

from __future__ import annotations

from datetime import timedelta

from bot.emulator import BotApiEmulator, buttons
from services.invitations import invitations
from tests.e2e.talk import emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_invitations import _principals, _world, running_bot


async def test_questions_in_words_plain_labels_and_refusals_that_say_why(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=0, pool=3, inspected=False)
        p1, p2, _ = await _principals(world)
        user1 = world.user_of(p1)
        slot1, slot2 = (await world.slot_of(p1)).id, (await world.slot_of(p2)).id
        invitation = await world.invitation(p1)
        await world.press(p1, invitation, f"inv:d:{slot1}")
        await emulator.wait_for(lambda: zh("invite.ask_decline_reason") in (world._fresh(user1, invitation.message_id)
                                                                              .text or ""))
        labels = [label for row in buttons(world._fresh(user1, invitation.message_id)) for label, _ in row]
        assert zh("invite.choice.field") in labels and not any("第" in label for label in labels)
        await world.press(p1, invitation, f"inv:b:{slot1}")  # back: the question goes, the answers return
        await emulator.wait_for(lambda: zh("invite.ask_decline_reason") not in (
            world._fresh(user1, invitation.message_id).text or ""))
        await world.press(p1, invitation, f"inv:r:{slot1}")
        await emulator.wait_for(lambda: zh("invite.ask_recusal_ground") in (
            world._fresh(user1, invitation.message_id).text or ""))
        labels = [label for row in buttons(world._fresh(user1, invitation.message_id)) for label, _ in row]
        assert not any("第" in label for label in labels)

        # an expert pressing a staff-only button: not permitted
        assert await world.press(p1, invitation, f"inv:rm:{slot1}") == zh("auth.not_permitted")
        # accepted, then pressed again: already answered
        assert await world.press(p1, invitation, f"inv:a:{slot1}") == zh("invite.done_accept")
        assert await world.press(p1, invitation, f"inv:a:{slot1}") == zh("invite.refused_reason.answered")
        # the deadline passes and the sweep expires p2's invitation: a late press is told so
        invitation2 = await world.invitation(p2)
        bot.clock.advance(timedelta(days=8, hours=1))
        await invitations.sweep(bot.uow)
        assert await world.status(p2) == "expired"
        assert await world.press(p2, invitation2, f"inv:a:{slot2}") == zh("invite.refused_reason.expired")
