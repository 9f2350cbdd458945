"""Lending a unit's expert pool to another unit (003 三(八)), for admins: ``/poolshare`` lists the grants,
``/poolshare <lending unit> <borrowing unit> <from> <to> [note]`` lends the pool of a unit the admin's unit covers,
``/poolshare revoke <id>`` ends a grant early. The rules are :mod:`services.pool.pools`."""

from __future__ import annotations

from telegram import Update

from bot.arguments import NOTE_CHARS, Arguments
from bot.auth import ADMIN, serves
from bot.context import BotContext
from services.pool import pools


@serves(ADMIN, private_only=True)
async def poolshare(update: Update, context: BotContext) -> None:
    """/poolshare [lender borrower from to [note] | revoke id]."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.staff_org_unit_id is not None
    args = Arguments(context.args, "share.usage")
    if args.values and args.values[0].lower() == "revoke":
        args.expect(2, 2)
        async with context.services.uow() as uow:
            share = await pools.revoke_share(uow, actor=actor, share_id=args.record_id(1))
        await message.reply_text(context.t(update, "share.revoked", share_id=share.id))
        return
    if args.values:
        args.expect(4)
        lender, borrower, starts_on, ends_on = args.values[0], args.values[1], args.day(2), args.day(3)
        async with context.services.uow() as uow:
            share = await pools.grant_share(uow, actor=actor, lender=lender, borrower=borrower,
                                            starts_on=starts_on, ends_on=ends_on, note=args.text(4, NOTE_CHARS))
        await message.reply_text(context.t(update, "share.granted", share_id=share.id, starts_on=starts_on,
                                           ends_on=ends_on))
        return
    async with context.services.uow(readonly=True) as uow:
        listed = await pools.shares(uow, actor=actor)
    lines = [context.t(update, "share.header")] + [context.t(
        update, "share.line", share_id=s.share_id, lender=s.lender, borrower=s.borrower, starts_on=s.starts_on,
        ends_on=s.ends_on, revoked=context.t(update, "share.revoked_mark") if s.revoked else "", note=s.note or "")
        for s in listed]
    await message.reply_text("\n".join(lines) if listed else context.t(update, "share.none"))
