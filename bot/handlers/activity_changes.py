"""Staff cancel or reschedule a drawn activity: /cancelactivity <id> <reason> and
/reschedule <id> <start> <end> [<answer by>] (issue 13, "Cancel and reschedule"; the rules:
:mod:`services.invitations.cancellation`). Refusals (not the organizer's line, cancelled, started, bad times) are
domain errors the global error handler answers."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.arguments import NOTE_CHARS, Arguments
from bot.auth import STAFF, serves
from bot.context import BotContext
from bot.dialogs import reschedule as reschedule_flow
from services.invitations import cancellation, reschedule_dialog


@serves(STAFF, private_only=True)
async def cancel_activity(update: Update, context: BotContext) -> None:
    """/cancelactivity <activity> <reason>: every expert concerned is told, no penalty, the roster shows it."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "invite.change.cancel_usage")
    activity_id = args.record_id(0)
    reason = args.text(1, NOTE_CHARS, required=True)
    async with context.services.uow() as uow:
        done = await cancellation.cancel_activity(uow, actor=actor, activity_id=activity_id, reason=reason)
    await message.reply_text(context.t(update, "invite.change.cancel_done", activity_id=done.activity_id,
                                       told=done.told))


@serves(STAFF, private_only=True)
async def reschedule(update: Update, context: BotContext) -> None:
    """/reschedule <activity> <start> <end> [<answer by>] (each time as two words: day and hour)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "invite.change.reschedule_usage")
    if len(args) == 1:  # guided: the times are asked one by one
        async with context.services.uow() as uow:
            turn = await reschedule_dialog.start(uow, actor=actor, activity_id=args.record_id(0))
        await reschedule_flow.ask(update, context, turn)
        return
    if len(args) not in (5, 7):
        raise args.refuse()
    activity_id = args.record_id(0)
    times = [" ".join(args.values[i:i + 2]) for i in range(1, len(args), 2)]
    async with context.services.uow() as uow:
        done = await cancellation.reschedule_typed(uow, actor=actor, activity_id=activity_id, start=times[0],
                                                   end=times[1], deadline=times[2] if len(times) > 2 else None)
    await message.reply_text(context.t(update, "invite.change.reschedule_done", activity_id=done.activity_id,
                                       start=done.start, end=done.end, asked=done.asked, conflicts=done.conflicts))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's commands (group 0, before the fallbacks)."""
    application.add_handler(CommandHandler("cancelactivity", cancel_activity))
    application.add_handler(CommandHandler("reschedule", reschedule))
