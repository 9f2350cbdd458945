"""An expert's dated work history (000 annex 1): ``/history`` shows it; ``/history <from> <to|至今> <institution>
[post]`` asks staff to add or correct a period (approved in ``/changes``); the two-year recusal reads it
(000 §15(一))."""

from __future__ import annotations

from datetime import date

from telegram import Update

from bot.arguments import VALUE_CHARS, Arguments, echo
from bot.auth import EXPERT, serves
from bot.context import BotContext
from services.platform.errors import InvalidInput
from services.pool import history_changes
from services.pool.history_changes import HistoryLine
from services.pool.work_history import month_bound


def _bound(args: Arguments, index: int, *, end: bool) -> date | None:
    try:
        return month_bound(args.values[index], end=end)
    except InvalidInput:
        raise args.refuse("arguments.bad_date", value=echo(args.values[index])) from None


def _line(context: BotContext, update: Update, line: HistoryLine) -> str:
    return context.t(update, "history.line", start=line.start or "-",
                     end=line.end or context.t(update, "history.now"), institution=line.institution,
                     post=line.post or "-",
                     unmatched="" if line.institution_id else context.t(update, "history.unmatched"))


@serves(EXPERT, private_only=True)
async def history(update: Update, context: BotContext) -> None:
    """/history [from to institution post]: the expert's work history, or a period to add or correct."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    args = Arguments(context.args, "history.usage")
    if not args.values:
        async with context.services.uow(readonly=True) as uow:
            lines = await history_changes.history_of(uow, actor=actor, expert_id=actor.person_id)
        shown = [context.t(update, "history.header"), *(_line(context, update, line) for line in lines)]
        await message.reply_text("\n".join(shown) if lines else context.t(update, "history.none"))
        return
    args.expect(3)
    start, end = _bound(args, 0, end=False), _bound(args, 1, end=True)
    if start is None:
        raise args.refuse("arguments.bad_date", value=echo(args.values[0]))
    institution, post = args.values[2], args.text(3, VALUE_CHARS)
    async with context.services.uow() as uow:
        request = await history_changes.request_period(uow, actor=actor, institution=institution, start=start,
                                                       end=end, post=post)
    await message.reply_text(context.t(update, "history.requested", period=request.new_value["period"]))
