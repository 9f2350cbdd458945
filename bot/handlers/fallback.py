"""What answers when nothing else did: unknown commands, free text (maybe an invite code),
and other kinds of message (a button nobody recognises is answered by ``bot.buttons``). Every private message
gets an answer."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.auth import ANYONE, serves
from bot.context import BotContext
from bot.handlers.common import redeem
from services.people.accounts import looks_like_code


def _is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


@serves(ANYONE)
async def unknown_command(update: Update, context: BotContext) -> None:
    """A command no handler took."""
    message = update.effective_message
    assert message is not None
    if not _is_private(update):
        text = message.text or ""
        first = text.split(maxsplit=1)[0] if text.strip() else ""
        username = context.services.bot_username
        if not username or not first.lower().endswith("@" + username.lower()):
            return  # a command meant for another bot in the group
    actor = context.actor
    key = "fallback.unknown_command" if actor is not None and actor.is_bound else "auth.unbound"
    await message.reply_text(context.t(update, key))


@serves(ANYONE)
async def text_message(update: Update, context: BotContext) -> None:
    """Free text in a private chat: an invite code from someone unbound, otherwise a hint."""
    message = update.effective_message
    assert message is not None
    if not _is_private(update):
        return
    actor = context.actor
    text = (message.text or "").strip()
    if (actor is None or not actor.is_bound) and looks_like_code(text):
        await redeem(update, context, text)
        return
    key = "fallback.not_understood" if actor is not None and actor.is_bound else "auth.unbound"
    await message.reply_text(context.t(update, key))


@serves(ANYONE)
async def other_message(update: Update, context: BotContext) -> None:
    """A photo, sticker, file... that no flow is waiting for."""
    message = update.effective_message
    if message is None or not _is_private(update):
        return
    actor = context.actor
    key = "fallback.not_expected" if actor is not None and actor.is_bound else "auth.unbound"
    await message.reply_text(context.t(update, key))



async def edited_message(update: Update, context: BotContext) -> None:
    """Someone edited a message they had sent (Telegram sends the new text as an ``edited_message``). It is not read
    as a new message: an edited "/accept" must not accept again, an answer corrected after the dialog moved on
    must not answer the question now asked. In a private chat they are told so, once per edit; nothing else runs."""
    message = update.edited_message
    if message is not None and _is_private(update) and context.actor is not None:
        await message.reply_text(context.t(update, "fallback.edited"))
    raise ApplicationHandlerStop
