"""Files people send: downloaded through the Bot API where a failure is ordinary input, not a bug.

``get_file`` refuses a file_id that is malformed, foreign or expired (``BadRequest``) and the standard Bot API does
not hand out files over 20 MB; a network failure may interrupt the download. Each is answered with one message
asking for the file again, and nothing already accepted is lost.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError

from bot.context import BotContext

logger = logging.getLogger(__name__)

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the standard Bot API's limit for bots' downloads
SHOWN_NAME = 60  # characters of a file name repeated back


def shown_name(name: str) -> str:
    """A file name as it is repeated back to the sender (bounded)."""
    return name if len(name) <= SHOWN_NAME else name[: SHOWN_NAME - 1] + "…"


async def download(update: Update, context: BotContext, message: Message, file_id: str, name: str) -> bytes | None:
    """The file's bytes, or None after telling the sender it could not be fetched."""
    try:
        telegram_file = await context.bot.get_file(file_id)
        if (telegram_file.file_size or 0) > DOWNLOAD_LIMIT:
            raise TelegramError("file is too big")
        return bytes(await telegram_file.download_as_bytearray())
    except TelegramError as error:
        logger.info("could not download a file (%s)", error.message)
        await message.reply_text(context.t(update, "file.download_failed", name=shown_name(name),
                                           limit_mb=DOWNLOAD_LIMIT // (1024 * 1024)))
        return None
