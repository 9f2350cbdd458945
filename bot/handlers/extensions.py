"""Staff decide requests to stay in the pool past 65 (000 §22): ``/extensions`` lists the pending ones, each with a
grant button (until the date offered) and a refuse button; ``/extensions <expert id> <until date>`` grants until
another date and ``/extensions <expert id> refuse [reason]`` refuses. The pressed message becomes the decision."""

from __future__ import annotations

from datetime import date

from telegram import Update

from bot import buttons
from bot.arguments import NOTE_CHARS, Arguments
from bot.auth import STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard as buttons_keyboard
from services.platform.notify import Button
from services.pool import extensions
from services.pool.actions import GrantExtension, RefuseExtension

SHOWN = 20


def _packed(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


@serves(STAFF, private_only=True)
async def extensions_command(update: Update, context: BotContext) -> None:
    """/extensions [expert id (until date | refuse [reason])]: the pending requests, or one decision."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "extension.usage")
    if args.values:
        args.expect(2)
        expert_id = args.record_id(0)
        refuse = args.values[1].lower() in ("refuse", "不同意")
        until, note = (None, args.text(2, NOTE_CHARS)) if refuse else (args.day(1), "")
        async with context.services.uow() as uow:
            await extensions.decide_extension(uow, actor=actor, expert_id=expert_id, until=until, note=note)
        decision = "refuse_extension" if refuse else "grant_extension"
        await message.reply_text(context.t(update, "extension.decided", person_id=expert_id, until=until or "-",
                                           decision_key=f"extension.decision.{decision}"))
        return
    async with context.services.uow(readonly=True) as uow:
        pending = await extensions.pending_extensions(uow, actor=actor)
    if not pending:
        await message.reply_text(context.t(update, "extension.none"))
        return
    for item in pending[:SHOWN]:
        keyboard = buttons_keyboard(context.language_for(update), [[
            Button("extension.grant", GrantExtension(item.person_id, _packed(item.offered_until)),
                   {"until": item.offered_until.isoformat()}),
            Button("extension.refuse", RefuseExtension(item.person_id))]])
        await message.reply_text(context.t(
            update, "extension.item", person_id=item.person_id, name=item.name,
            birth_year=item.birth_date.year if item.birth_date else "-",
            term_end=item.term_end or "-"), reply_markup=keyboard)
    if len(pending) > SHOWN:
        await message.reply_text(context.t(update, "extension.more", total=len(pending), shown=SHOWN))


@buttons.on(GrantExtension, audience=STAFF)
async def grant_pressed(press: Press, action: GrantExtension) -> None:
    """Grant until the date the button offered."""
    try:
        until = date(action.until // 10_000, action.until // 100 % 100, action.until % 100)
    except ValueError:  # a crafted press: no such day
        await press.answer("error.invalid_input")
        return
    async with press.context.services.uow() as uow:
        await extensions.decide_extension(uow, actor=press.actor, expert_id=action.expert_id, until=until,
                                          shown_in=press.shown_in, language=press.language)
    await press.answer("extension.decided", person_id=action.expert_id, until=until,
                       decision_key="extension.decision.grant_extension")


@buttons.on(RefuseExtension, audience=STAFF)
async def refuse_pressed(press: Press, action: RefuseExtension) -> None:
    """Refuse the request: the expert will be exited at 65 by the daily job."""
    async with press.context.services.uow() as uow:
        await extensions.decide_extension(uow, actor=press.actor, expert_id=action.expert_id, until=None,
                                          shown_in=press.shown_in, language=press.language)
    await press.answer("extension.decided", person_id=action.expert_id, until="-",
                       decision_key="extension.decision.refuse_extension")
