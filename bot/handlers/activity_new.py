"""Staff create an activity (/newactivity) and read activities (/activities, /activity <id>). Issue "Activities and
draws".

The conversation itself is a flow of the dialog router (:mod:`bot.dialogs.new_activity`; its steps and rules:
:mod:`services.activities.new_activity`); its state lives in the ``dialog`` table, so it survives a restart.
``/cancel`` is the router's.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.auth import STAFF, serves
from bot.context import BotContext
from bot.dialogs import new_activity as new_activity_dialog
from bot.handlers import insight
from messages import translate
from services.activities import activities, new_activity
from services.invitations.invitations import roster_lines
from services.platform import dialogs
from services.platform.actions import parse_id


@serves(STAFF, private_only=True)
async def start_new_activity(update: Update, context: BotContext) -> None:
    """/newactivity: start the guided creation of an activity (any open dialog is replaced)."""
    actor = context.actor
    assert actor is not None
    async with context.services.uow() as uow:
        turn = await new_activity.start(uow, actor=actor)
    await new_activity_dialog.show(update, context, turn)


@serves(STAFF, private_only=True)
async def list_activities(update: Update, context: BotContext) -> None:
    """/activities: upcoming and ongoing activities of the staff member's org subtree, soonest first; or
    /activities search <words>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    if context.args and context.args[0].lower() in insight.SEARCH_WORDS:
        await insight.search(update, context, "activities")
        return
    async with context.services.uow(readonly=True) as uow:
        found = await activities.summaries(uow, actor=actor)
        zone = uow.zone
    if not found:
        await message.reply_text(context.t(update, "newact.list_empty"))
        return
    lines = [context.t(update, "newact.list_header", zone=str(zone))]
    lines += [context.t(update, "newact.list_line", id=a.id, starts=dialogs.format_local(a.starts_at, zone),
                        kind_key=f"newact.kind.{a.kind}", title=a.title, status_key=f"newact.status.{a.status}")
              for a in found]
    await message.reply_text("\n".join(lines))


@serves(STAFF, private_only=True)
async def show_activity(update: Update, context: BotContext) -> None:
    """/activity <id>: the activity card (organizer's line of staff), with the live roster once drawn."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    activity_id = parse_id(args[0].lstrip("#")) if len(args) == 1 else None
    if activity_id is None:
        await message.reply_text(context.t(update, "newact.show_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        shown = await activities.view(uow, actor=actor, activity_id=activity_id)
        card, zone = activities.card_of(shown), uow.zone
        lines = await roster_lines(uow, shown) if card.status == "drawn" else []
    text = new_activity_dialog.card(card, _translator(update, context), zone)
    if lines:  # the live roster (issue: invitations, "Staff view")
        text += "\n\n" + context.t(update, "invite.roster.title") + "\n" + translate(
            context.language_for(update), "invite.roster.only_lines", roster_lines=lines)
    await message.reply_text(text)


def _translator(update: Update, context: BotContext) -> Any:
    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)
    return t


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's commands (group 0, before the fallbacks); the dialog is on the router."""
    application.add_handler(CommandHandler("newactivity", start_new_activity))
    application.add_handler(CommandHandler("activities", list_activities))
    application.add_handler(CommandHandler("activity", show_activity))
