"""Evidence files sent in the lead dialogs (``lead`` and ``lead_more``): checked, downloaded at once and kept by the
product (``services.leads.evidence``: bytes on disk named by SHA-256); the dialog remembers only their hash, size,
type and path. Limits are explained when exceeded.

An album (items sharing a ``media_group_id``) gets one acknowledgement, edited as its items arrive; the dialog keeps
the album's group id, message id and files (``album``), so a restart between two items still edits the same message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError

from bot import questions
from bot.context import BotContext
from services.leads import evidence

logger = logging.getLogger(__name__)

Translate = Callable[..., str]
ALBUM = "album"  # dialog data: {"group": media_group_id, "message_id": acknowledgement or None, "files": [[name, kb]]}
ALBUM_LISTED, ALBUM_NAME_CHARS, MAX_TEXT = 10, 60, 4096  # names listed in an album acknowledgement; Telegram's limit
REFUSALS = {"too_large": "report.file_too_large", "type": "report.file_type", "too_many": "report.file_too_many"}


def is_evidence(message: Message) -> bool:
    """Whether the message carries a photo or a document (other files are not evidence here)."""
    return bool(message.photo) or message.document is not None


def accepted_types() -> str:
    """The accepted extensions, for the reporter."""
    return "、".join(e for e in evidence.ACCEPTED_EXTENSIONS if e not in ("jpeg",))


def megabytes(size: int) -> str:
    """A size in MB with at most one decimal."""
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def file_kb(size: int) -> int:
    """A file's size in whole KB as the acknowledgements show it (at least 1)."""
    return max(1, size // 1024)


def album_with(album: Any, group: str | None, item: dict[str, Any]) -> dict[str, Any] | None:
    """The album state after ``item`` arrived: None for a single file; the same album with one more file when
    ``group`` is the remembered album's; else a new album (no acknowledgement yet)."""
    if group is None:
        return None
    entry = [str(item["file_name"]), file_kb(int(item["size"]))]
    if isinstance(album, dict) and album.get("group") == group:
        return {"group": group, "message_id": album.get("message_id"), "files": [*album.get("files", []), entry]}
    return {"group": group, "message_id": None, "files": [entry]}


def _short_name(name: str) -> str:
    if len(name) <= ALBUM_NAME_CHARS:
        return name
    tail = name[-8:]  # keep the extension in sight
    return name[: ALBUM_NAME_CHARS - len(tail) - 1] + "…" + tail


def _telegram_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units; never fewer than len(text)


def album_text(t: Translate, files: list[Any], *, total: int) -> str:
    """The album's acknowledgement: how many files it brought, their names and sizes (the first
    ``ALBUM_LISTED``, then "and N more"), the dialog's total when earlier files were sent; under 4,096 characters."""
    count = len(files)
    shown = min(count, ALBUM_LISTED)
    while True:
        listed = t("report.album_separator").join(
            t("report.album_file", name=_short_name(str(name)), size=f"{int(size):,}") for name, size in files[:shown])
        if shown < count:
            listed = t("report.album_more", files=listed, more=count - shown)
        key = "report.album_received" if total == count else "report.album_received_total"
        text = t(key, count=count, files=listed, total=total)
        if _telegram_length(text) <= MAX_TEXT or shown <= 1:
            return text
        shown -= 1


async def acknowledge_album(context: BotContext, message: Message, message_id: Any, text: str,
                            markup: InlineKeyboardMarkup) -> int:
    """Edit the album's acknowledgement to ``text``, or send a new one when there is none yet or the edit fails
    (deleted, too old, not modified...); the id of the acknowledgement now showing."""
    if isinstance(message_id, int):
        try:
            await context.bot.edit_message_text(text, chat_id=message.chat_id, message_id=message_id,
                                                reply_markup=markup)
            questions.remember(context, message.chat_id, message_id)
            return message_id
        except TelegramError as error:
            logger.info("album acknowledgement %s not edited (%s); sending a new one", message_id, error)
    sent = await questions.ask(context, message.chat_id, text, markup)
    return sent.message_id


def _described(message: Message, count: int) -> tuple[str, int | None, str, str, str] | None:
    """(file id, size, kind, name, MIME type) of the message's photo or document."""
    if message.photo:
        photo = message.photo[-1]
        return photo.file_id, photo.file_size, "photo", f"photo-{count + 1}.jpg", "image/jpeg"
    if message.document is not None:
        document = message.document
        return (document.file_id, document.file_size, "document", (document.file_name or "file")[:200],
                document.mime_type or "")
    return None


async def take_file(update: Update, context: BotContext, message: Message, *, count: int) -> dict[str, Any] | None:
    """Check, download and store one file, with its caption; explain a refusal and return None."""
    settings = context.services.settings
    described = _described(message, count)
    if described is None:
        return None
    file_id, size, kind, name, mime = described
    try:
        evidence.check_file(file_name=name, size=size, max_bytes=settings.evidence_max_bytes, count_so_far=count,
                            max_files=settings.evidence_max_files, is_photo=kind == "photo")
        data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
        stored = evidence.store(Path(settings.evidence_dir), data, max_bytes=settings.evidence_max_bytes,
                                keys=context.services.keys)
    except evidence.EvidenceRefused as refused:
        await message.reply_text(context.t(update, REFUSALS[refused.reason], name=name, size_mb=megabytes(size or 0),
                                           limit_mb=megabytes(settings.evidence_max_bytes), types=accepted_types(),
                                           max_files=settings.evidence_max_files))
        return None
    except TelegramError:
        logger.warning("could not download an evidence file", exc_info=True)
        await message.reply_text(context.t(update, "report.file_failed", name=name))
        return None
    return {"kind": kind, "file_name": name, "mime_type": mime, "size": stored.size, "sha256": stored.sha256,
            "stored_path": stored.stored_path, "caption": evidence.caption_of(message.caption)}
