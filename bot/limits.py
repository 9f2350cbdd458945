"""Telegram's size limits, in one place, for everything the bot sends.

Every request passes :meth:`LimitedBot._do_post` (PTB's own hook under each Bot method), so a text built from user
input or a growing list can never be refused as too long, whichever handler or the outbox built it:

- a message over 4,096 characters is sent as numbered parts (split at line ends where possible), the buttons under
  the last part, which is what is returned (the outbox edits that one later);
- an edit over 4,096 characters keeps the first part in place and continues in new messages, the buttons under
  the last (an edit of an inline message, which has no chat, is cut with "…");
- a caption over 1,024 characters is cut and the whole text follows as a message;
- a file over the 50 MB a bot may upload is not sent: :class:`UploadTooLarge` says how big it was (the error handler
  tells the user to narrow it), instead of Telegram's bare 413 after the whole upload;
- a button's alert over 200 characters is cut, and answering a press Telegram no longer accepts (the query is too old
  after a restart or a backlog, or its id is unknown) is logged, not raised: the answer only stops a spinner.

Lengths are counted in UTF-16 code units, as Telegram counts entity offsets: never below its own count.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InputFile
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import BadRequest
from telegram.request import BaseRequest

from bot.tolerant import TolerantBot

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALERT_LIMIT = 200
PART_MARK = "（{index}/{total}）\n"  # before each part of a split message
PART_MARK_ROOM = 16
CUT_MARK = "…"
CAPTIONED = frozenset({"sendDocument", "sendPhoto", "sendVideo", "sendAudio", "sendVoice", "sendAnimation"})
UPLOAD_LIMIT = 50 * 1024 * 1024  # what the Bot API accepts from a bot (sendDocument and the like)


class UploadTooLarge(Exception):
    """A file over :data:`UPLOAD_LIMIT` was about to be sent; nothing was sent."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a file of {size} bytes is over the Bot API's upload limit of {UPLOAD_LIMIT} bytes")
        self.size = size


def _upload_size(data: JSONDict) -> int:
    """The largest file ``data`` uploads (bytes in memory; a file object by its remaining length)."""
    largest = 0
    for value in data.values():
        if not isinstance(value, InputFile):
            continue
        content = value.input_file_content
        if isinstance(content, bytes | bytearray):
            largest = max(largest, len(content))
    return largest


def utf16_len(text: str) -> int:
    """The length of ``text`` as Telegram measures it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, room: int) -> str:
    """The longest start of ``text`` within ``room`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > room:
            return text[:index]
    return text


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, with a mark when anything was cut."""
    if utf16_len(text) <= limit:
        return text
    return _prefix(text, limit - utf16_len(CUT_MARK)) + CUT_MARK


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` units each (room left for the part mark), cut at a line end where one
    falls in the second half of a part, else at a space, else anywhere."""
    room = limit - PART_MARK_ROOM
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > room:
        head = _prefix(rest, room)
        at = head.rfind("\n")
        if at < len(head) // 2:
            at = head.rfind(" ")
        if at < len(head) // 2:
            at = len(head)
        parts.append(head[:at].rstrip("\n"))
        rest = rest[at:].lstrip("\n")
    parts.append(rest)
    return parts


def numbered(parts: list[str]) -> list[str]:
    """Parts with their marks, when there is more than one."""
    if len(parts) == 1:
        return parts
    return [PART_MARK.format(index=i, total=len(parts)) + part for i, part in enumerate(parts, start=1)]


class LimitedBot(TolerantBot):
    """The bot, with every outgoing text fitted to Telegram's limits (module docstring)."""

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        timeouts: dict[str, Any] = {"read_timeout": read_timeout, "write_timeout": write_timeout,
                                    "connect_timeout": connect_timeout, "pool_timeout": pool_timeout}
        text = data.get("text")
        if endpoint == "sendMessage" and isinstance(text, str) and utf16_len(text) > TEXT_LIMIT:
            return await self._send_parts(data, numbered(split(text)), timeouts)
        if endpoint == "editMessageText" and isinstance(text, str) and utf16_len(text) > TEXT_LIMIT:
            return await self._edit_in_parts(data, text, timeouts)
        if endpoint == "answerCallbackQuery":
            return await self._answer(data, timeouts)
        if endpoint in CAPTIONED and (size := _upload_size(data)) > UPLOAD_LIMIT:
            raise UploadTooLarge(size)
        caption = data.get("caption")
        if endpoint in CAPTIONED | {"editMessageCaption"} and isinstance(caption, str) \
                and utf16_len(caption) > CAPTION_LIMIT:
            sent = await super()._do_post(endpoint, {**data, "caption": cut(caption, CAPTION_LIMIT)}, **timeouts)
            if endpoint in CAPTIONED and "chat_id" in data:
                follow = {"chat_id": data["chat_id"], "text": caption}
                await self._send_parts(follow, numbered(split(caption)), timeouts)
            return sent
        return await super()._do_post(endpoint, data, **timeouts)

    async def _send_parts(self, data: JSONDict, parts: list[str], timeouts: dict[str, Any],
                          ) -> bool | JSONDict | list[JSONDict]:
        """Each part as its own message; the buttons and the reply go with the last and the first."""
        sent: bool | JSONDict | list[JSONDict] = False
        for index, part in enumerate(parts):
            piece = {key: value for key, value in data.items() if key != "reply_markup" or index == len(parts) - 1}
            if index:
                piece.pop("reply_parameters", None)
                piece.pop("reply_to_message_id", None)
            sent = await super()._do_post("sendMessage", {**piece, "text": part}, **timeouts)
        return sent

    async def _edit_in_parts(self, data: JSONDict, text: str, timeouts: dict[str, Any],
                             ) -> bool | JSONDict | list[JSONDict]:
        if "chat_id" not in data:
            return await super()._do_post("editMessageText", {**data, "text": cut(text, TEXT_LIMIT)}, **timeouts)
        parts = numbered(split(text))
        first = {key: value for key, value in data.items() if key != "reply_markup"}
        edited = await super()._do_post("editMessageText", {**first, "text": parts[0]}, **timeouts)
        rest = {key: value for key, value in data.items() if key in ("chat_id", "reply_markup")}
        await self._send_parts(rest, parts[1:], timeouts)
        return edited

    async def _answer(self, data: JSONDict, timeouts: dict[str, Any]) -> bool | JSONDict | list[JSONDict]:
        text = data.get("text")
        if isinstance(text, str):
            data = {**data, "text": cut(text, ALERT_LIMIT)}
        try:
            return await super()._do_post("answerCallbackQuery", data, **timeouts)
        except BadRequest as refused:  # too old, or an id Telegram does not know: the press is still handled
            logger.info("button press not answered: %s", refused.message)
            return False
