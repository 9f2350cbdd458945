"""``/drawexport <draw id> [xlsx|docx]``: a draw record in the annex 3 layout, sent to staff as a document.

The outbox carries text messages only, so the file is sent straight back with ``reply_document``. Only the
organizer's line of staff get it (``services.draws.draws.get_draw``); anyone else is told the record does not exist.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.auth import STAFF, serves
from bot.context import BotContext
from services.draws import draw_export
from services.platform.actions import parse_id


@serves(STAFF, private_only=True)
async def export(update: Update, context: BotContext) -> None:
    """/drawexport <draw id> [xlsx|docx]: the draw record as a file."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = [a.strip().lower() for a in context.args or []]
    fmt = args[1].lstrip(".") if len(args) == 2 else "xlsx"
    draw_id = parse_id(args[0]) if 1 <= len(args) <= 2 else None
    if draw_id is None or fmt not in draw_export.FORMATS:
        await message.reply_text(context.t(update, "draw_export.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        data = await draw_export.export_draw(uow, actor=actor, draw_id=draw_id, fmt=fmt)
    await message.reply_document(data, filename=f"draw-{draw_id}.{fmt}",
                                 caption=context.t(update, "draw_export.caption", draw_id=draw_id,
                                                   format=fmt.upper()))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's handlers (group 0, before the fallbacks; group -1 for dialog text)."""
    application.add_handler(CommandHandler("drawexport", export))
