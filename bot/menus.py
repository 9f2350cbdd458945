"""Telegram's "/" command menu, per chat: each bound person sees the commands of their roles, in their language
(issue 20), set with ``setMyCommands`` and a ``BotCommandScopeChat``; everyone else sees the default menu that
:func:`bot.app.publish_commands` sets at start-up (/start, /help, /whoami).

The gate calls :func:`refresh` for every update from a private chat. What each chat was last given (roles and
language) is remembered in the process and, for a bound account, on the account (``account.menu``, read with the
caller's identity at no extra statement), so the Bot API is called only when it changes: at binding, after a role
or language change (made in the bot or on the CLI); not once per chat after a restart (issue 21: every first
Accept after a restart carried a ``setMyCommands``). A failed call is logged and tried again with the chat's next
update; it never stops the update's own handling.
"""

from __future__ import annotations

import logging
from typing import Final

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.commands import menu_for
from bot.context import CHANNEL, BotContext
from messages import translate
from services.people import accounts
from services.platform.roles import Role

logger = logging.getLogger(__name__)

MAX_COMMANDS: Final = 100  # Bot API: at most 100 commands per menu


async def refresh(update: Update, context: BotContext) -> None:
    """Give this private chat the menu of the caller's roles and language, if it does not have it yet."""
    chat, actor = update.effective_chat, context.actor
    if chat is None or chat.type != ChatType.PRIVATE or actor is None:
        return
    language = context.language_for(update)
    wanted = (actor.roles, language)
    shown = context.services.menus
    if shown.get(chat.id) == wanted or (not actor.roles and chat.id not in shown):
        shown.setdefault(chat.id, wanted)  # unbound and never given a menu here: the default menu applies
        return
    if actor.roles and chat.id not in shown and actor.menu == fingerprint(*wanted):
        shown[chat.id] = wanted  # given before this process started, and nothing changed since
        return
    try:
        if actor.roles:
            commands = [BotCommand(c.name, translate(language, c.description_key)) for c in menu_for(actor)]
            await context.bot.set_my_commands(commands[:MAX_COMMANDS], scope=BotCommandScopeChat(chat.id))
        else:  # unbound since: back to the default menu
            await context.bot.delete_my_commands(scope=BotCommandScopeChat(chat.id))
    except TelegramError as error:
        logger.warning("command menu of chat %s not updated (%s); tried again with its next update", chat.id, error)
        return
    shown[chat.id] = wanted
    if actor.roles and actor.menu != fingerprint(*wanted):
        await _remember(context, fingerprint(*wanted))


def fingerprint(roles: frozenset[Role], language: str) -> str:
    """What a menu is made of, as recorded on the account: its roles and language (e.g. ``expert|zh``)."""
    return f"{','.join(sorted(role.value for role in roles))}|{language}"


async def _remember(context: BotContext, menu: str) -> None:
    """Record the menu on the account; a failure only means it is set again after the next restart."""
    actor = context.actor
    if actor is None:
        return
    try:
        async with context.services.uow() as uow:
            await accounts.remember_menu(uow, actor=actor, menu=menu)
    except Exception:  # the menu is set; not recording it costs one more call after a restart
        logger.warning("menu of account %s not recorded; set again after a restart", actor.account_id, exc_info=True)


async def after_change(update: Update, context: BotContext) -> None:
    """After the caller's binding or language changed in this update: identify them again and refresh the menu at
    once (the gate identified them before the change)."""
    user = update.effective_user
    if user is None:
        return
    async with context.services.uow(readonly=True, snapshot=False) as uow:
        context.actor = await accounts.identify(uow, channel=CHANNEL, external_user_id=str(user.id))
    await refresh(update, context)
