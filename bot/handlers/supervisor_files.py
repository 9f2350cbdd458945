"""The social supervisor registry as a file (002 §3–§7), over ``services.supervisors.supervisor_io``:

- an admin sends the registry table (XLSX or CSV, the layout of ``python -m bot supervisor import``) with the caption
  ``/supervisors_import`` (``/supervisors_import strict`` imports nothing unless every row is valid), or sends
  ``/supervisors_import [strict]`` first and the file next: a progress message is edited into the report, and the
  rejected rows follow as a file, as for the expert table (``bot/handlers/pool_import.py``);
- ``/supervisors_export [division code] [csv]`` sends the registry of the caller's line (ID numbers masked unless
  admin).

A document captioned with the command reaches :func:`import_file` through :data:`CAPTIONED` (a filter of the
document handler, registered ahead of the expert import); an awaited one through the ``supervisor_import`` flow of
the dialog router (``bot/dialogs/supervisor_import.py``).
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import timedelta
from pathlib import Path

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import filters

from bot.auth import ADMIN, STAFF, serves
from bot.context import BotContext
from bot.files import download
from bot.handlers.pool_import import send_rejections
from messages import translate
from services.platform import dialogs
from services.platform.errors import DomainError
from services.platform.tables import Issue, TableImportReport
from services.supervisors import supervisor_io

logger = logging.getLogger(__name__)

COMMAND = "/supervisors_import"
FLOW = "supervisor_import"
WAITING = timedelta(hours=1)  # how long the file is awaited after the command
MAX_BYTES = 5 * 1024 * 1024
EXTENSIONS = (".xlsx", ".csv")
STRICT_WORDS = ("strict", "严格")
CAPTIONED = filters.CaptionRegex(re.compile(r"^\s*/supervisors_import(?:@\S*)?(?:\s|$)", re.IGNORECASE))
"""A document whose caption is the import command (as :func:`caption_command` reads it)."""


def caption_command(caption: str | None) -> tuple[bool, bool]:
    """Whether a caption is the import command (``/supervisors_import[@bot] [strict]``), and whether strict. Pure."""
    words = (caption or "").split()
    if not words or words[0].split("@")[0].lower() != COMMAND:
        return False, False
    return True, any(word.lower() in STRICT_WORDS for word in words[1:])


def describe(language: str, issue: Issue) -> str:
    """One reason in the reader's language: the column's header, what is wrong, and the service's detail."""
    return translate(language, "registry.import.reason", column=supervisor_io.column_header(issue.column),
                     code_key=f"registry.import.code.{issue.code}", detail=issue.message)


@serves(ADMIN, private_only=True)
async def start_import(update: Update, context: BotContext) -> None:
    """/supervisors_import [strict]: the next XLSX/CSV document is the registry table."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.account_id is not None
    strict = any(word.lower() in STRICT_WORDS for word in context.args or [])
    async with context.services.uow() as uow:
        await dialogs.begin(uow, actor.account_id, flow=FLOW, step="file", data={"strict": strict})
        await uow.commit()
    await message.reply_text(context.t(update, "registry.import.send_file"))


@serves(ADMIN, private_only=True)
async def import_file(update: Update, context: BotContext) -> None:
    """The registry table from an admin: import it and report, with the rejected rows as a file."""
    message, actor = update.effective_message, context.actor
    assert message is not None and message.document is not None and actor is not None
    document = message.document
    name = document.file_name or "supervisors.xlsx"
    if not name.lower().endswith(EXTENSIONS):
        await message.reply_text(context.t(update, "registry.import.wrong_type"))
        return
    if (document.file_size or 0) > MAX_BYTES:
        await message.reply_text(context.t(update, "registry.import.too_large", limit_mb=MAX_BYTES // (1024 * 1024)))
        return
    _, strict = caption_command(message.caption)
    data = await download(update, context, message, document.file_id, name)
    if data is None:
        return  # a waiting import keeps waiting for the file
    if actor.account_id is not None:
        async with context.services.uow() as uow:
            waiting = await dialogs.current(uow, actor.account_id, flow=FLOW, idle_limit=None)
            if waiting is not None:
                strict = strict or bool(waiting.data.get("strict"))
                await dialogs.clear(uow, actor.account_id)
                await uow.commit()
    progress = await message.reply_text(context.t(update, "registry.import.started", file=name))
    try:
        async with context.services.uow() as uow:
            report = await supervisor_io.import_supervisors(uow, actor=actor, source=data, filename=name,
                                                            strict=strict)
    except DomainError as error:
        await _edit(progress, context.t(update, "registry.import.unreadable", file=name, detail=error.detail))
        return
    await _edit(progress, context.t(update, "registry.import.refused" if report.refused else "registry.import.summary",
                                    total=report.total, created=report.created, updated=report.updated,
                                    rejected=len(report.rejected), valid=report.valid))
    if report.rejected:
        await _send_rejections(message, context, update, report, name)


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramError:  # progress is a courtesy: the report follows anyway
        logger.warning("could not update the import progress message", exc_info=True)


async def _send_rejections(message: Message, context: BotContext, update: Update, report: TableImportReport,
                           name: str) -> None:
    await send_rejections(message, context, update, report.rejected, name, keys="registry.import", describe=describe,
                          write=lambda path, explain: supervisor_io.write_rejections(report, path, describe=explain))


@serves(STAFF, private_only=True)
async def export_file(update: Update, context: BotContext) -> None:
    """/supervisors_export [division code] [csv]: the registry of the caller's line as a file."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = [word.lower() for word in context.args or []]
    suffix = ".csv" if "csv" in args else ".xlsx"
    org = next((word for word in args if word not in ("csv", "xlsx")), None)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"supervisors{suffix}"
        async with context.services.uow(readonly=True) as uow:
            count = await supervisor_io.export_supervisors(uow, actor=actor, path=path, org=org)
        if count == 0:
            await message.reply_text(context.t(update, "registry.export.empty"))
            return
        await message.reply_document(path.read_bytes(), filename=f"supervisors{'-' + org if org else ''}{suffix}",
                                     caption=context.t(update, "registry.export.caption", count=count))
