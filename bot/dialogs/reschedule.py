"""``/reschedule <activity>`` guided (flow ``reschedule``; the rules: :mod:`services.invitations.reschedule_dialog`):
each typed time answers the open question; ``/cancel`` leaves the activity as it was."""

from __future__ import annotations

from telegram import Update

from bot import dialogs
from bot.auth import STAFF
from bot.context import BotContext
from services.invitations import reschedule_dialog
from services.invitations.cancellation import Rescheduled
from services.invitations.reschedule_dialog import Ask
from services.platform.dialogs import DialogState


async def ask(update: Update, context: BotContext, turn: Ask) -> None:
    """The question of ``turn`` (after the reason its last answer was refused, if it was)."""
    message = update.effective_message
    assert message is not None
    text = context.t(update, f"invite.change.ask_{turn.step}", example=turn.example,
                     zone=str(context.services.settings.zone))
    if turn.reason_key:
        text = context.t(update, turn.reason_key) + "\n" + text
    await message.reply_text(text)


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """A typed time."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and message is not None
    del state
    async with context.services.uow() as uow:
        result = await reschedule_dialog.answer(uow, actor=actor, text=message.text or "")
    if isinstance(result, Ask):
        await ask(update, context, result)
    elif isinstance(result, Rescheduled):
        await message.reply_text(context.t(update, "invite.change.reschedule_done", activity_id=result.activity_id,
                                           start=result.start, end=result.end, asked=result.asked,
                                           conflicts=result.conflicts))


FLOW = dialogs.register(dialogs.Flow(name=reschedule_dialog.FLOW, on_text=on_text, audience=STAFF,
                                     cancelled_key="invite.change.reschedule_cancelled"))
