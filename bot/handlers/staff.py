"""Staff commands of the foundation: /invite, /unbind, /alerts, and /bindgroup in a group chat."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.constants import ChatType
from telegram.helpers import create_deep_linked_url

from bot.auth import ADMIN, STAFF, serves
from bot.context import CHANNEL, BotContext
from services.people import accounts, groups, orgs
from services.platform.errors import InvalidInput


def _person_id(raw: str) -> int:
    if not raw.isdigit():
        raise InvalidInput("person id must be a number", field="person_id")
    return int(raw)


@serves(STAFF, private_only=True)
async def invite(update: Update, context: BotContext) -> None:
    """/invite <expert|supervisor|staff> <person-id>: a one-time code and deep link for that person."""
    message = update.effective_message
    assert message is not None and context.actor is not None
    args = context.args or []
    if len(args) != 2:
        await message.reply_text(context.t(update, "invite.usage"))
        return
    settings = context.services.settings
    async with context.services.uow() as uow:
        issued = await accounts.create_invite(
            uow, actor=context.actor, role=args[0].lower(), person_id=_person_id(args[1]),
            ttl=timedelta(days=settings.invite_ttl_days),
        )
    link = create_deep_linked_url(context.services.bot_username, issued.code)
    expires = issued.expires_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    await message.reply_text(
        context.t(update, "invite.issued", person_id=issued.person_id, code=issued.code, link=link, expires=expires)
    )


@serves(STAFF, private_only=True)
async def unbind(update: Update, context: BotContext) -> None:
    """/unbind <person-id> [reason]: detach a lost or replaced account."""
    message = update.effective_message
    assert message is not None and context.actor is not None
    args = context.args or []
    if not args:
        await message.reply_text(context.t(update, "unbind.usage"))
        return
    async with context.services.uow() as uow:
        count = await accounts.unbind_person(
            uow, actor=context.actor, person_id=_person_id(args[0]), reason=" ".join(args[1:])
        )
    await message.reply_text(context.t(update, "unbind.done", person_id=args[0], count=count))


@serves(STAFF, private_only=True)
async def alerts(update: Update, context: BotContext) -> None:
    """/alerts on|off: also receive the org unit's alerts in this private chat."""
    message = update.effective_message
    assert message is not None and context.actor is not None
    args = [a.lower() for a in context.args or []]
    if args not in (["on"], ["off"]):
        await message.reply_text(context.t(update, "alerts.usage"))
        return
    async with context.services.uow() as uow:
        result = await orgs.set_alerts_opt_in(uow, actor=context.actor, enabled=args == ["on"])
    await message.reply_text(context.t(update, "alerts.on" if result.alerts_opt_in else "alerts.off"))


@serves(ADMIN)
async def bindgroup(update: Update, context: BotContext) -> None:
    """/bindgroup <org unit>: this group chat receives that org unit's alerts."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None and context.actor is not None
    if chat.type == ChatType.PRIVATE:
        await message.reply_text(context.t(update, "group.groups_only"))
        return
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(context.t(update, "group.usage"))
        return
    async with context.services.uow() as uow:
        await groups.bind_group(
            uow, actor=context.actor, channel=CHANNEL, chat_id=str(chat.id), title=chat.title, org=args[0],
            language=context.language_for(update),
        )
