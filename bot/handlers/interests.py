"""Expert self-service beyond the profile: the institution directory, declared interests (000 §15),
the request to leave the pool (000 §21) and to stay past 65 (000 §22)."""

from __future__ import annotations

from telegram import Update

from bot.arguments import NOTE_CHARS, SEARCH_CHARS, Arguments, echo
from bot.auth import BOUND, EXPERT, serves
from bot.context import BotContext
from services.institutions import institutions
from services.pool import expert_changes, expert_interests, lifecycle


@serves(BOUND, private_only=True)
async def search_institutions(update: Update, context: BotContext) -> None:
    """/institutions <words>: find an institution's id in the directory."""
    message = update.effective_message
    assert message is not None
    words = Arguments(context.args, "directory.usage").text(0, SEARCH_CHARS, required=True)
    async with context.services.uow(readonly=True) as uow:
        found = await institutions.find(uow, words)
    if not found:
        await message.reply_text(context.t(update, "directory.empty_for", words=echo(words)))
        return
    lines = [context.t(update, "directory.header", count=len(found))]
    lines += [context.t(update, "directory.line", id=i.id, name=i.name, code=i.credit_code or "-") for i in found]
    await message.reply_text("\n".join(lines))


@serves(EXPERT, private_only=True)
async def declare(update: Update, context: BotContext) -> None:
    """/interest <institution id> <interest|dispute|worked|other> [note]: declare a conflict of interest."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "interest.usage")
    args.expect(2)
    institution_id, kind = args.record_id(0), args.word(1, expert_interests.INTEREST_KINDS)
    note = args.text(2, NOTE_CHARS)
    async with context.services.uow() as uow:
        interest = await expert_interests.declare_interest(uow, actor=actor, institution_id=institution_id, kind=kind,
                                                  note=note)
    await message.reply_text(context.t(update, "interest.declared", id=interest.id,
                                       kind_key=f"interest.kind.{interest.kind}"))


@serves(EXPERT, private_only=True)
async def list_interests(update: Update, context: BotContext) -> None:
    """/interests: my current declarations."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    async with context.services.uow(readonly=True) as uow:
        found = await expert_interests.interests(uow, actor=actor, expert_id=actor.person_id)
    if not found:
        await message.reply_text(context.t(update, "interest.none"))
        return
    lines = [context.t(update, "interest.header")]
    lines += [context.t(update, "interest.line", id=i.id, institution=i.institution,
                        kind_key=f"interest.kind.{i.kind}", on=i.declared_on) for i in found]
    await message.reply_text("\n".join(lines))


@serves(EXPERT, private_only=True)
async def withdraw(update: Update, context: BotContext) -> None:
    """/withdraw <declaration id>: withdraw a declaration (it stays in the history)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "interest.withdraw_usage")
    args.expect(1, 1)
    interest_id = args.record_id(0)
    async with context.services.uow() as uow:
        interest = await expert_interests.withdraw_interest(uow, actor=actor, interest_id=interest_id)
    await message.reply_text(context.t(update, "interest.withdrawn", id=interest.id))


@serves(EXPERT, private_only=True)
async def quit_pool(update: Update, context: BotContext) -> None:
    """/quit <reason>: ask to leave the pool (000 §21); staff confirm it under /changes."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    reason = Arguments(context.args, "pool.quit_usage").text(0, NOTE_CHARS, required=True)
    async with context.services.uow() as uow:
        await expert_changes.request_change(uow, actor=actor, field_name="exit", value=reason)
    await message.reply_text(context.t(update, "pool.quit_requested"))


@serves(EXPERT, private_only=True)
async def extend(update: Update, context: BotContext) -> None:
    """/extend: ask to stay in the pool past 65 (000 §22); staff decide at the review."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    async with context.services.uow() as uow:
        await lifecycle.request_extension(uow, actor=actor, expert_id=actor.person_id)
    await message.reply_text(context.t(update, "pool.extension_requested"))
