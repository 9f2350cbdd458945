"""``/letter <slot id>``: the letter to an expert's employer (000 §19, 001 §12), sent to staff as a document with a
button ``ltr:sent:<slot id>`` that records it sent (``services.invitations.employer_letters``).

The outbox carries text messages only, so the file goes straight back with ``reply_document``. Only the
organizer's line of staff get it or record it; to anyone else (a forged or foreign press included) the slot does
not exist, and a slot whose expert has not accepted is refused, through the global error handler.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.auth import STAFF, serves
from bot.context import BotContext
from services.invitations import employer_letters
from storage.activities import ActivityMember

PREFIX = "ltr:"
SENT = f"{PREFIX}sent:"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _slot(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


@serves(STAFF, private_only=True)
async def send_letter(update: Update, context: BotContext) -> None:
    """/letter <slot id>: the DOCX letter with the "sent" button."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    slot = _slot(args[0]) if len(args) == 1 else None
    if slot is None:
        await message.reply_text(context.t(update, "letter.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        file_name, data = await employer_letters.letter(uow, actor=actor, member_id=slot)
        member = await uow.session.get(ActivityMember, slot)
        informed = member.employer_informed_at if member is not None else None
        zone = uow.zone
    caption = context.t(update, "letter.caption", member_id=slot)
    if informed is not None:
        caption += "\n" + context.t(update, "letter.already_sent", member_id=slot,
                                    at=informed.astimezone(zone).strftime(TIME_FORMAT))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(context.t(update, "letter.button.sent"),
                                                           callback_data=f"{SENT}{slot}")]])
    await message.reply_document(data, filename=file_name, caption=caption, reply_markup=keyboard)


@serves(STAFF, private_only=True)
async def pressed(update: Update, context: BotContext) -> None:
    """``ltr:sent:<slot id>``: record the letter sent and answer with the recorded time."""
    query, actor = update.callback_query, context.actor
    assert query is not None and query.data is not None and actor is not None
    slot = _slot(query.data.removeprefix(SENT)) if query.data.startswith(SENT) else None
    if slot is None:
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    async with context.services.uow() as uow:
        member = await employer_letters.mark_sent(uow, actor=actor, member_id=slot)
        zone = uow.zone
    at = member.employer_informed_at
    assert at is not None
    await query.answer(context.t(update, "letter.sent_done", member_id=slot,
                                 at=at.astimezone(zone).strftime(TIME_FORMAT)), show_alert=True)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The /letter command and its button."""
    application.add_handler(CommandHandler("letter", send_letter))
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
