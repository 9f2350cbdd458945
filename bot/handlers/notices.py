"""``/notice``: the public notices of issue 17 (000 §10, §20, §23; 003 三(一)), sent as a plain text ready for a
channel or a notice board and as a DOCX file with the same words."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.arguments import Arguments
from bot.auth import STAFF, serves
from bot.context import BotContext
from services.documents import notices as documents
from services.insight import notices

KINDS = ("appointment", "removal", "excellence", "targets")


@serves(STAFF, private_only=True)
async def notice(update: Update, context: BotContext) -> None:
    """/notice appointment | removal <expert> | excellence <year> | targets <draw>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "notice.usage")
    args.expect(1, 2)
    kind = args.word(0, KINDS, aliases={"公示": "appointment", "解聘": "removal", "优秀": "excellence",
                                        "抽查": "targets"})
    if kind != "appointment":
        args.expect(2, 2)
    async with context.services.uow(readonly=True) as uow:
        if kind == "appointment":
            found = await notices.appointment(uow, actor=actor)
        elif kind == "removal":
            found = await notices.removal(uow, actor=actor, person_id=args.record_id(1))
        elif kind == "excellence":
            found = await notices.excellence(uow, actor=actor, year=args.record_id(1))
        else:
            found = await notices.targets(uow, actor=actor, draw_id=args.record_id(1))
    await message.reply_text(found.text())  # bot/limits.py splits a long notice
    await message.reply_document(documents.render(found), filename=f"notice-{kind}.docx",
                                 caption=context.t(update, "notice.file"))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/notice."""
    application.add_handler(CommandHandler("notice", notice))
