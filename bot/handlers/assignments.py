"""An expert's own calendar (issue 13): ``/mine [page]`` lists the upcoming assignments, one message each with the
buttons that still apply (answer, withdraw, declare a conflict), then the past ones of the last twelve months a
page at a time; ``/ics <activity>`` sends the activity as an iCalendar file (:mod:`services.invitations.calendar`)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.arguments import Arguments
from bot.auth import BOUND, EXPERT, serves
from bot.context import BotContext
from bot.keyboards import keyboard
from services.invitations import calendar, mine
from services.invitations.mine import Assignment


def _params(line: Assignment) -> dict[str, object]:
    return {"activity_id": line.activity_id, "title": line.title, "start": line.start, "end": line.end,
            "place": line.place, "role_key": f"invite.role.{line.role}", "leader": line.leader,
            "contact": line.contact, "status_key": f"invite.status.{line.status}", "member_id": line.member_id}


@serves(EXPERT, private_only=True)
async def my_assignments(update: Update, context: BotContext) -> None:
    """/mine [page]: upcoming assignments with their buttons, then a page of the past year's."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "invite.mine.usage")
    args.expect(0, 1)
    page = args.record_id(0) if len(args) else 1
    async with context.services.uow(readonly=True) as uow:
        found = await mine.my_assignments(uow, actor=actor, page=page)
    language = context.language_for(update)
    if not found.upcoming and not found.past:
        await message.reply_text(context.t(update, "invite.mine.none"))
        return
    if page == 1:
        await message.reply_text(context.t(update, "invite.mine.upcoming_header", count=len(found.upcoming)))
        for line in found.upcoming:
            await message.reply_text(context.t(update, "invite.mine.item", **_params(line)),
                                     reply_markup=keyboard(language, line.buttons) if line.buttons else None)
    if found.past:
        lines = "\n".join(context.t(update, "invite.mine.past_item", **_params(line)) for line in found.past)
        more = context.t(update, "invite.mine.more", next=found.page + 1) if found.page < found.pages else ""
        await message.reply_text(context.t(update, "invite.mine.past", page=found.page, pages=found.pages,
                                           lines=lines, more=more))


@serves(BOUND, private_only=True)
async def ics(update: Update, context: BotContext) -> None:
    """/ics <activity>: the activity as a calendar file (for its experts and the organizer's staff)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "invite.ics.usage")
    args.expect(1, 1)
    activity_id = args.record_id(0)
    async with context.services.uow(readonly=True) as uow:
        data = await calendar.activity_ics(uow, actor=actor, activity_id=activity_id)
    await message.reply_document(data, filename=f"activity-{activity_id}.ics",
                                 caption=context.t(update, "invite.ics.caption", activity_id=activity_id))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's commands."""
    application.add_handler(CommandHandler("mine", my_assignments))
    application.add_handler(CommandHandler("ics", ics))
