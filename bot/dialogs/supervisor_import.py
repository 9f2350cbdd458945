"""The registry table awaited after ``/supervisors_import`` (flow ``supervisor_import``, 002 §3–§7): the next
document within an hour is imported (``bot/handlers/supervisor_files.py``); anything else, or a document after the
hour, goes on to the other handlers. /cancel stops waiting."""

from __future__ import annotations

from telegram import Update

from bot import dialogs
from bot.context import BotContext
from bot.handlers import supervisor_files
from services.platform import dialogs as dialog_rows
from services.platform.dialogs import DialogState


async def on_file(update: Update, context: BotContext, state: DialogState) -> bool | None:
    """A document while the import waits: imported; other files, or a wait past its hour, are not this flow's."""
    actor, message = context.actor, update.effective_message
    if actor is None or actor.account_id is None or message is None or message.document is None:
        return False
    async with context.services.uow(readonly=True) as uow:
        waiting = await dialog_rows.current(uow, actor.account_id, flow=supervisor_files.FLOW,
                                            idle_limit=supervisor_files.WAITING)
    if waiting is None:
        return False
    await supervisor_files.import_file(update, context)
    return None


dialogs.register(dialogs.Flow(name=supervisor_files.FLOW, on_file=on_file))
