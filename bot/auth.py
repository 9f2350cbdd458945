"""Who may call what: the gate that runs before every handler, and the role declaration.

The gate (handler group -10) drops redelivered updates and identifies the caller once per update.
Every handler declares its audience with :func:`serves`; the check lives here, not in handlers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.context import CHANNEL, BotContext
from services.people import accounts
from services.platform import intake
from services.platform.roles import Actor, Role

logger = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]

ANYONE: Final = frozenset[Role]()
BOUND: Final = frozenset(Role)
STAFF: Final = frozenset({Role.STAFF, Role.ADMIN})
ADMIN: Final = frozenset({Role.ADMIN})
EXPERT: Final = frozenset({Role.EXPERT})
SUPERVISOR: Final = frozenset({Role.SUPERVISOR})


async def gate(update: Update, context: BotContext) -> None:
    """Skip an update already handled; identify the caller for the handlers that follow."""
    services = context.services
    if not intake.is_storable_update_id(update.update_id):  # refused at intake; never let it reach the ledger
        logger.error("update id %.40r refused: not an integer in [0, 2^63)", update.update_id)
        raise ApplicationHandlerStop
    kind = _kind(update)
    user = update.effective_user
    async with services.uow(readonly=True, snapshot=False) as uow:  # independent lookups: no transaction needed
        if not await services.ledger.first_delivery(uow, update.update_id):
            services.metrics.updates_duplicate.inc()
            logger.info("update %s delivered again; skipped", update.update_id)
            raise ApplicationHandlerStop
        if user is None:
            context.actor = Actor(label="unknown")
        else:
            context.actor = await accounts.identify(uow, channel=CHANNEL, external_user_id=str(user.id))
    services.metrics.updates_handled.labels(kind=kind).inc()


def _kind(update: Update) -> str:
    if update.callback_query is not None:
        return "callback"
    if update.message is not None:
        return "message"
    return "other"


def admits(audience: frozenset[Role], actor: Actor) -> bool:
    """Whether ``actor`` is in ``audience`` (``ANYONE`` admits everyone, even the unbound)."""
    return not audience or actor.has_any(audience)


def serves(audience: frozenset[Role], *, private_only: bool = False) -> Callable[[Callback], Callback]:
    """Declare who a handler serves: ``ANYONE``, ``BOUND`` (any role) or a set of roles, and
    whether it works only in a private chat (anything personal or secret: codes, profiles)."""

    def decorate(callback: Callback) -> Callback:
        @functools.wraps(callback)
        async def guarded(update: Update, context: BotContext) -> Any:
            actor = context.actor or Actor(label="unknown")
            chat = update.effective_chat
            if private_only and chat is not None and chat.type != ChatType.PRIVATE:
                await deny(update, context, "auth.private_only")
                return None
            if audience and not actor.is_bound:
                await deny(update, context, "auth.unbound")
                return None
            if not admits(audience, actor):
                await deny(update, context, "auth.not_permitted")
                return None
            return await callback(update, context)

        guarded.audience = audience  # type: ignore[attr-defined]
        guarded.private_only = private_only  # type: ignore[attr-defined]
        return guarded

    return decorate


CALLBACK_ANSWER_LIMIT = 200  # characters Telegram shows in a button's alert


def fit_callback_answer(text: str) -> str:
    """Shorten a text to what a callback-query answer can carry."""
    return text if len(text) <= CALLBACK_ANSWER_LIMIT else text[: CALLBACK_ANSWER_LIMIT - 1] + "…"


async def deny(update: Update, context: BotContext, key: str) -> None:
    """Tell the caller why nothing happened (as a button answer or a message)."""
    text = context.t(update, key)
    if update.callback_query is not None:
        await update.callback_query.answer(fit_callback_answer(text), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
