"""``/letter <slot id>``: the letter to an expert's employer (000 §19, 001 §12), sent to staff as a document with a
button (:class:`services.invitations.actions.MarkLetterSent`, ``ltr:sent:<slot id>``) that records it sent
(``services.invitations.employer_letters``).

The outbox carries text messages only, so the file goes straight back with ``reply_document``. Only the
organizer's line of staff get it or record it; to anyone else (a forged or foreign press included) the slot does
not exist, and a slot whose expert has not accepted is refused, through the global error handler.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.auth import STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard
from services.invitations import employer_letters
from services.invitations.actions import MarkLetterSent
from services.platform.actions import parse_id
from services.platform.notify import Button


@serves(STAFF, private_only=True)
async def send_letter(update: Update, context: BotContext) -> None:
    """/letter <slot id>: the DOCX letter with the "sent" button."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    slot = parse_id(args[0]) if len(args) == 1 else None
    if slot is None:
        await message.reply_text(context.t(update, "letter.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        letter = await employer_letters.letter_file(uow, actor=actor, member_id=slot)
    caption = context.t(update, "letter.caption", member_id=slot)
    if letter.sent_at is not None:
        caption += "\n" + context.t(update, "letter.already_sent", member_id=slot, at=letter.sent_at)
    markup = keyboard(context.language_for(update), [[Button("letter.button.sent", MarkLetterSent(slot))]])
    await message.reply_document(letter.data, filename=letter.file_name, caption=caption, reply_markup=markup)


@buttons.on(MarkLetterSent, audience=STAFF, private_only=True)
async def on_mark_sent(press: Press, action: MarkLetterSent) -> None:
    """Record the letter sent and answer with the recorded time."""
    async with press.context.services.uow() as uow:
        sent = await employer_letters.mark_sent(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer("letter.sent_done", alert=True, member_id=action.slot_id, at=sent.local_time)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The /letter command (its button registers with :mod:`bot.buttons`)."""
    application.add_handler(CommandHandler("letter", send_letter))
