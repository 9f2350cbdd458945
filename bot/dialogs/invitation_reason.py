"""The line of text behind an "other" decline reason or recusal ground (000 §15; 001 §17, §19).

The press on "other" opens the dialog (flow ``invitation``, step ``decline`` or ``recuse``:
:func:`services.invitations.invitations.ask_reason`); the next text of the account is the reason. The question is
answered once, whatever the outcome: the dialog row goes before the answer is recorded. ``/cancel`` drops it and
the invitation stays open.
"""

from __future__ import annotations

from telegram import Update

from bot import dialogs
from bot.context import BotContext
from services.invitations import invitations
from services.platform.dialogs import DialogState


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """The typed reason: record the decline or the recusal with it."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and actor.account_id is not None and message is not None and message.text is not None
    async with context.services.uow() as uow:
        await invitations.drop_reason_question(uow, account_id=actor.account_id)
    async with context.services.uow() as uow:
        answered = await invitations.answer_with_text(uow, actor=actor, step=state.step, data=state.data,
                                                      text=message.text)
    await message.reply_text(context.t(update, answered.message_key, **answered.params))


FLOW = dialogs.register(dialogs.Flow(name=invitations.REASON_FLOW, on_text=on_text,
                                     cancelled_key="invite.reason_cancelled"))
