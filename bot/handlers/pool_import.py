"""Staff send an expert table (XLSX or CSV, the annex-2 layout) to the bot: a progress message is
edited in place while it is imported, then the report follows, with the rejected rows as a file.

A caption of ``strict`` (or 严格) imports nothing unless every row is valid.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError

from bot.auth import STAFF, serves
from bot.context import BotContext
from bot.files import download
from messages import catalog
from services.platform.progress import ProgressGate, bar
from services.platform.tables import Issue
from services.pool import expert_io
from services.pool.expert_io import ImportReport

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
EXTENSIONS = ("xlsx", "csv")
SHOWN_REJECTIONS = 10
PROGRESS_EVERY = 3.0  # seconds between progress edits (Telegram allows about one edit a second per chat)
PROGRESS_ROWS = 100  # rows between progress edits


@serves(STAFF, private_only=True)
async def import_file(update: Update, context: BotContext) -> None:
    """An XLSX/CSV document from staff: import the experts it lists and report."""
    message, actor = update.effective_message, context.actor
    assert message is not None and message.document is not None and actor is not None
    document = message.document
    name = document.file_name or "experts.xlsx"
    if (document.file_size or 0) > MAX_BYTES:
        await message.reply_text(context.t(update, "import.too_large", limit_mb=MAX_BYTES // (1024 * 1024)))
        return
    strict = (message.caption or "").strip().lower() in ("strict", "严格")
    progress = await message.reply_text(context.t(update, "import.started", file=name))
    data = await download(update, context, message, document.file_id, name)
    if data is None:
        return
    tracker = _Progress(progress, context, update)
    async with context.services.uow() as uow:
        report = await expert_io.import_experts(uow, actor=actor, source=data, filename=name, strict=strict,
                                                on_progress=tracker.update)
    await _edit(progress, context.t(update, "import.refused" if report.refused else "import.summary",
                                    **_counts(report)))
    if report.rejected:
        await _send_rejections(message, context, update, report, name)
    if report.ineligible:
        await _send_ineligible(message, context, update, report)
    if report.history_unmatched:
        await _send_history(message, context, update, report)


class _Progress:
    """Edits the progress message in place, at most every :data:`PROGRESS_EVERY` seconds of the bot's clock and
    every :data:`PROGRESS_ROWS` rows (issue 21)."""

    def __init__(self, message: Message, context: BotContext, update: Update) -> None:
        self.message, self.context, self.source = message, context, update
        self.gate = ProgressGate(lambda: context.services.clock.now().timestamp(), every=PROGRESS_EVERY,
                                 min_rows=PROGRESS_ROWS)

    async def update(self, done: int, total: int) -> None:
        """Show how far the import is (the report replaces this at the end)."""
        if self.gate.due(done, total):
            await _edit(self.message, self.context.t(self.source, "import.progress", done=done, total=total,
                                                     bar=bar(done, total)))


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramError:  # progress is a courtesy: the import goes on, and the report follows
        logger.warning("could not update the import progress message", exc_info=True)


def _counts(report: ImportReport) -> dict[str, int]:
    return {"total": report.total, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "rejected": len(report.rejected), "valid": report.valid,
            "institutions": report.institutions_created}


def describe(language: str, issue: Issue) -> str:
    """One reason in the reader's language (the English message when the code has no translation); an
    eligibility reason (``ineligible_<code>``) in the words of the card's 入库条件, with its article."""
    words = catalog(language).get(f"import.code.{issue.code}")
    if words is None and issue.code.startswith("ineligible_"):
        words = catalog(language).get(f"pool.code.{issue.code.removeprefix('ineligible_')}")
    article = f"（{issue.article}）" if issue.article else ""
    return f"{issue.column}：{words or issue.message}{article if words else ''}"


async def _send_ineligible(message: Message, context: BotContext, update: Update, report: ImportReport) -> None:
    """The rows imported but not admitted (000 §8–§9), each reason with its article."""
    language = context.language_for(update)
    lines = [context.t(update, "import.ineligible_header", count=len(report.ineligible))]
    for item in report.ineligible:
        reasons = "；".join(describe(language, issue) for issue in item.reasons)
        lines.append(context.t(update, "import.rejection_line", row=item.row, reasons=reasons))
    await message.reply_text("\n".join(lines))  # bot/limits.py splits a long list


async def _send_history(message: Message, context: BotContext, update: Update, report: ImportReport) -> None:
    """Work-history periods kept but not matched to the directory, or not readable (000 annex 1, §15(一))."""
    lines = [context.t(update, "import.history_header", count=len(report.history_unmatched))]
    lines += [context.t(update, "import.history_line", row=item.row, text=item.text,
                        why_key=f"import.history.{item.code}") for item in report.history_unmatched]
    await message.reply_text("\n".join(lines))  # bot/limits.py splits a long list


async def _send_rejections(
    message: Message, context: BotContext, update: Update, report: ImportReport, name: str
) -> None:
    await send_rejections(message, context, update, report.rejected, name, keys="import", describe=describe,
                          write=lambda path, explain: expert_io.write_rejections(report, path, describe=explain))


async def send_rejections(
    message: Message, context: BotContext, update: Update, rejected: Sequence[Any], name: str, *, keys: str,
    describe: Callable[[str, Issue], str], write: Callable[[Path, Callable[[Issue], str]], object],
) -> None:
    """After an import: the first rejected rows (their ``row`` and ``reasons``) in a message, then every one of
    them in a file named after the imported one, as written by ``write``, to fix and send again. ``keys`` is the
    catalog prefix of the texts (``import``: the expert table; ``registry.import``: the supervisor registry)."""
    language = context.language_for(update)
    lines = [context.t(update, f"{keys}.rejections_header", count=len(rejected))]
    for item in rejected[:SHOWN_REJECTIONS]:
        reasons = "；".join(describe(language, issue) for issue in item.reasons)
        lines.append(context.t(update, f"{keys}.rejection_line", row=item.row, reasons=reasons))
    if len(rejected) > SHOWN_REJECTIONS:
        lines.append(context.t(update, f"{keys}.more_in_file", count=len(rejected) - SHOWN_REJECTIONS))
    await message.reply_text("\n".join(lines))  # bot/limits.py splits a long list
    suffix = ".csv" if name.lower().endswith(".csv") else ".xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"rejected{suffix}"
        write(path, lambda issue: describe(language, issue))
        await message.reply_document(path.read_bytes(), filename=f"{Path(name).stem}-rejected{suffix}",
                                     caption=context.t(update, f"{keys}.rejections_caption"))
