"""``/export leads|activities|audit [period]`` and ``/export credit <expert>`` (issue 17): a register as an XLSX
file, read within the caller's line and masking rules (services/insight/exports.py), written off the event loop."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.arguments import Arguments
from bot.auth import STAFF, serves
from bot.context import BotContext
from services.insight import exports, period
from services.platform.tables import write_table

KINDS = ("leads", "activities", "audit", "credit")


def _xlsx(table: exports.Export) -> bytes:
    with tempfile.TemporaryDirectory(prefix="fundwatch-export-") as folder:
        path = Path(folder) / "export.xlsx"
        write_table(path, table.headers, table.rows, title=table.title)
        return path.read_bytes()


@serves(STAFF, private_only=True)
async def export(update: Update, context: BotContext) -> None:
    """/export <leads|activities|audit> [2026-11|2026] or /export credit <expert id>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "export.usage")
    args.expect(1, 2)
    kind = args.word(0, KINDS, aliases={"线索": "leads", "活动": "activities", "审计": "audit", "信用": "credit"})

    def label(key: str, **params: object) -> str:
        return context.t(update, key, **params)

    async with context.services.uow(readonly=True) as uow:
        if kind == "credit":
            args.expect(2, 2)
            table = await exports.credit_file(uow, actor=actor, person_id=args.record_id(1), label=label)
        else:
            asked = period.parse(args.text(1, 7) or None, today=uow.today())
            maker = {"leads": exports.leads, "activities": exports.activities, "audit": exports.audit_trail}[kind]
            table = await maker(uow, actor=actor, period=asked, label=label)
    data = await asyncio.to_thread(_xlsx, table)
    await message.reply_document(data, filename=f"{kind}.xlsx",
                                 caption=context.t(update, "export.sent", title=table.title, count=len(table.rows)))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/export."""
    application.add_handler(CommandHandler("export", export))
