"""/retention hold <lead> <day|reason> [reason] and /retention release <lead>: staff of a lead's line — those the
retention warning reaches — postpone its pending deletions or end the hold (``services.leads.retention_hold``)."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.arguments import NOTE_CHARS, Arguments
from bot.auth import STAFF, serves
from bot.context import BotContext
from services.leads import retention_hold
from services.leads.lead_rules import parse_number


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None


@serves(STAFF, private_only=True)
async def retention(update: Update, context: BotContext) -> None:
    """/retention hold <lead> <day|reason> [reason] | /retention release <lead>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "retention.usage")
    args.expect(2)
    verb = args.word(0, ("hold", "release"), aliases={"暂缓": "hold", "解除": "release"})
    lead_id = parse_number(args.values[1])
    if lead_id is None:
        raise args.refuse()
    async with context.services.uow() as uow:
        if verb == "release":
            args.expect(2, 2)
            done = await retention_hold.release(uow, actor=actor, lead_id=lead_id)
        else:
            args.expect(3)
            until = _day(args.values[2])
            reason = args.text(3 if until is not None else 2, NOTE_CHARS)
            done = await retention_hold.hold(uow, actor=actor, lead_id=lead_id, until=until, reason=reason)
    kinds = context.t(update, "retention.kinds_separator").join(
        context.t(update, f"retention.kind.{kind}") for kind in done.kinds)
    key = "retention.released" if verb == "release" else (
        "retention.held_until" if done.until is not None else "retention.held_open")
    await message.reply_text(context.t(update, key, number=done.number, until=done.until, kinds=kinds))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Group 0: /retention."""
    application.add_handler(CommandHandler("retention", retention))
