"""Staff commands of the foundation: /invite, /unbind, /alerts, and /bindgroup in a group chat."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.helpers import create_deep_linked_url

from bot.arguments import NOTE_CHARS, VALUE_CHARS, Arguments
from bot.auth import ADMIN, STAFF, serves
from bot.context import CHANNEL, BotContext
from services.people import accounts, groups, orgs
from services.platform.roles import InviteRole

# The roles as staff write them in Chinese (and English), for /invite.
ROLE_WORDS = {"专家": "expert", "评审专家": "expert", "社会监督员": "supervisor", "监督员": "supervisor",
              "工作人员": "staff"}


@serves(STAFF, private_only=True)
async def invite(update: Update, context: BotContext) -> None:
    """/invite <expert|supervisor|staff> <person-id>: a one-time code and deep link for that person."""
    message = update.effective_message
    assert message is not None and context.actor is not None
    args = Arguments(context.args, "invite.usage")
    args.expect(2, 2)
    role, person_id = args.word(0, tuple(InviteRole), aliases=ROLE_WORDS), args.record_id(1)
    settings = context.services.settings
    async with context.services.uow() as uow:
        issued = await accounts.create_invite(
            uow, actor=context.actor, role=role, person_id=person_id,
            ttl=timedelta(days=settings.invite_ttl_days),
        )
    link = create_deep_linked_url(context.services.bot_username, issued.code)
    expires = issued.expires_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    text = context.t(update, "invite.issued", person_id=issued.person_id, code=issued.code, link=link, expires=expires)
    if issued.already_bound:
        text += "\n" + context.t(update, "invite.already_bound")
    await message.reply_text(text)


@serves(STAFF, private_only=True)
async def unbind(update: Update, context: BotContext) -> None:
    """/unbind <person-id> [reason]: detach a lost or replaced account."""
    message = update.effective_message
    assert message is not None and context.actor is not None
    args = Arguments(context.args, "unbind.usage")
    args.expect(1)
    person_id, reason = args.record_id(0), args.text(1, NOTE_CHARS)
    async with context.services.uow() as uow:
        count = await accounts.unbind_person(uow, actor=context.actor, person_id=person_id, reason=reason)
    await message.reply_text(context.t(update, "unbind.done", person_id=person_id, count=count))


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


async def group_migrated(update: Update, context: BotContext) -> None:
    """Telegram upgraded a group to a supergroup (a new chat id; the old one refuses messages): a binding made by
    /bindgroup follows it, so the unit's alerts keep arriving. Telegram says it in both chats; once is enough."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    async with context.services.uow() as uow:
        await groups.chat_migrated(uow, channel=CHANNEL, old_chat_id=str(old), new_chat_id=str(new))


async def bot_membership(update: Update, context: BotContext) -> None:
    """The bot's own membership of a chat changed: removed from a bound staff group, that group's binding ends and
    the unit's alerts go to its staff privately (services.people.groups.bot_removed). Being added needs nothing:
    an admin binds the group with /bindgroup."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    if change.new_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        async with context.services.uow() as uow:
            await groups.bot_removed(uow, channel=CHANNEL, chat_id=str(change.chat.id))


@serves(ADMIN)
async def bindgroup(update: Update, context: BotContext) -> None:
    """/bindgroup <org unit>: this group chat receives that org unit's alerts."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None and context.actor is not None
    if chat.type == ChatType.PRIVATE:
        await message.reply_text(context.t(update, "group.groups_only"))
        return
    args = Arguments(context.args, "group.usage")
    args.expect(1, 1)
    org = args.text(0, VALUE_CHARS)
    async with context.services.uow() as uow:
        await groups.bind_group(
            uow, actor=context.actor, channel=CHANNEL, chat_id=str(chat.id), title=chat.title, org=org,
            language=context.language_for(update),
        )
