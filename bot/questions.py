"""A question's buttons live as long as the question (issue 20): each private chat has at most one open question
of a guided flow with live buttons. :func:`ask` sends a question with its keyboard and first takes the buttons off
the chat's previous question (answered by now, by a button or by typing); ``/cancel`` and the end of a flow
:func:`retire` the last one. A button that survives anyway (another process sent it, or the bot restarted and forgot
which message asked) is refused as stale by its dialog stamp, never acted on.

Which message holds the chat's open question is kept in the process (``BotServices.questions``): losing it costs
one leftover keyboard, never a wrong answer.
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message
from telegram.error import TelegramError

from bot.context import BotContext

logger = logging.getLogger(__name__)


async def ask(context: BotContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> Message:
    """Send ``text`` with ``markup`` as the chat's open question, retiring the previous one."""
    await retire(context, chat_id)
    sent = await context.bot.send_message(chat_id, text, reply_markup=markup)
    if markup is not None and markup.inline_keyboard:
        context.services.questions[chat_id] = sent.message_id
    return sent


def remember(context: BotContext, chat_id: int, message_id: int) -> None:
    """``message_id`` (edited in place, say) now holds the chat's open question."""
    previous = context.services.questions.get(chat_id)
    if previous is not None and previous != message_id:
        logger.debug("question %s of chat %s replaced by %s", previous, chat_id, message_id)
    context.services.questions[chat_id] = message_id


async def retire(context: BotContext, chat_id: int) -> None:
    """Take the buttons off the chat's open question, if it has one (a failed edit is only logged: the message may
    be gone, too old to edit, or already without buttons)."""
    message_id = context.services.questions.pop(chat_id, None)
    if message_id is None:
        return
    try:
        await context.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)
    except TelegramError as error:
        logger.info("buttons of question %s in chat %s not removed (%s)", message_id, chat_id, error)
