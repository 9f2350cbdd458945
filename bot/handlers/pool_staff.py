"""Staff moving experts through the life cycle: /due (reviews and notices coming up) and
/pool <id> <action> [reason] (each action is a service of ``services.pool.lifecycle``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot.auth import STAFF, serves
from bot.context import BotContext
from bot.handlers.pool import parse_day
from services.platform.errors import InvalidInput
from services.platform.roles import Actor
from services.pool import experts, lifecycle
from services.pool.lifecycle import ExitReason
from storage.models import Expert
from storage.uow import UnitOfWork

Move = Callable[[UnitOfWork, Actor, int, str], Awaitable[Expert]]

MOVES: dict[str, Move] = {
    "review": lambda uow, actor, expert_id, _: lifecycle.start_review(uow, actor=actor, expert_id=expert_id),
    "approve": lambda uow, actor, expert_id, _: lifecycle.approve(uow, actor=actor, expert_id=expert_id),
    "reject": lambda uow, actor, expert_id, reason: lifecycle.reject(uow, actor=actor, expert_id=expert_id,
                                                                     reason=reason),
    "objection": lambda uow, actor, expert_id, reason: lifecycle.record_objection(uow, actor=actor,
                                                                                 expert_id=expert_id, note=reason),
    "appoint": lambda uow, actor, expert_id, _: lifecycle.appoint(uow, actor=actor, expert_id=expert_id),
    "renew": lambda uow, actor, expert_id, _: lifecycle.renew(uow, actor=actor, expert_id=expert_id),
    "extend": lambda uow, actor, expert_id, _: lifecycle.request_extension(uow, actor=actor, expert_id=expert_id),
    "exit": lambda uow, actor, expert_id, reason: lifecycle.exit_pool(uow, actor=actor, expert_id=expert_id,
                                                                      reason=ExitReason.OTHER, note=reason),
    "remove": lambda uow, actor, expert_id, reason: lifecycle.remove(uow, actor=actor, expert_id=expert_id,
                                                                     reason=reason),
}


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
    """/pool <expert id> <action> [reason]: one life-cycle step, refused with the reason when not allowed."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) < 2 or not args[0].isdigit() or args[1].lower() not in MOVES:
        await message.reply_text(context.t(update, "move.usage", actions=" | ".join(MOVES)))
        return
    action, reason = args[1].lower(), " ".join(args[2:])
    if action in ("reject", "objection", "exit", "remove") and not reason.strip():
        raise InvalidInput("a reason is required", field="reason")
    async with context.services.uow() as uow:
        expert = await MOVES[action](uow, actor, int(args[0]), reason)
    await message.reply_text(context.t(update, "move.done", person_id=expert.person_id,
                                       state_key=f"lifecycle.state.{expert.state}"))


@serves(STAFF, private_only=True)
async def suspend(update: Update, context: BotContext) -> None:
    """/suspend <expert id> <start> <end> <reason>: not drawn over that period (a period, not a state)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) < 4 or not args[0].isdigit():
        await message.reply_text(context.t(update, "suspend.usage"))
        return
    start, end = parse_day(args[1], "start"), parse_day(args[2], "end")
    async with context.services.uow() as uow:
        period = await lifecycle.add_period(uow, actor=actor, expert_id=int(args[0]), kind="suspension",
                                            start=start, end=end, reason=" ".join(args[3:]))
    await message.reply_text(context.t(update, "suspend.done", person_id=period.expert_id, start=start, end=end))
