"""Staff moving experts through the life cycle: /due (reviews and notices coming up),
/pool <id> <step> [reason] (one step of ``services.pool.steps``) and /suspend."""

from __future__ import annotations

from telegram import Update

from bot.arguments import NOTE_CHARS, Arguments
from bot.auth import STAFF, serves
from bot.context import BotContext
from services.pool import experts, lifecycle
from services.pool.steps import Step, take_step


@serves(STAFF, private_only=True)
async def due(update: Update, context: BotContext) -> None:
    """/due: terms ending and public notices ending within a month."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        items = await experts.due_for_review(uow, actor=actor)
    if not items:
        await message.reply_text(context.t(update, "due.none"))
        return
    lines = [context.t(update, "due.header", count=len(items))]
    lines += [context.t(update, "due.line", person_id=i.person_id, name=i.name,
                        state_key=f"lifecycle.state.{i.state}", due_on=i.due_on) for i in items]
    await message.reply_text("\n".join(lines))


@serves(STAFF, private_only=True)
async def move(update: Update, context: BotContext) -> None:
    """/pool <expert id> <step> [reason]: one life-cycle step, refused with the reason when not allowed."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "move.usage", actions=" | ".join(Step))
    args.expect(2)
    expert_id, step = args.record_id(0), Step(args.word(1, tuple(Step)))
    reason = args.text(2, NOTE_CHARS)
    async with context.services.uow() as uow:
        taken = await take_step(uow, actor=actor, expert_id=expert_id, step=step, reason=reason)
    await message.reply_text(context.t(update, "move.done", person_id=taken.person_id,
                                       state_key=f"lifecycle.state.{taken.state}"))


@serves(STAFF, private_only=True)
async def suspend(update: Update, context: BotContext) -> None:
    """/suspend <expert id> <start> <end> <reason>: not drawn over that period (a period, not a state)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "suspend.usage")
    args.expect(4)
    expert_id, start, end = args.record_id(0), args.day(1), args.day(2)
    reason = args.text(3, NOTE_CHARS, required=True)
    async with context.services.uow() as uow:
        await lifecycle.add_period(uow, actor=actor, expert_id=expert_id, kind="suspension",
                                   start=start, end=end, reason=reason)
    await message.reply_text(context.t(update, "suspend.done", person_id=expert_id, start=start, end=end))
