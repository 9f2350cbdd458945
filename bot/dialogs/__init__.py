"""Guided conversations: one router for the typed text, files and ``/cancel`` of every multi-step flow.

A flow keeps its state in the ``dialog`` row of the account (:mod:`services.platform.dialogs`); each flow is a module
here that registers a :class:`Flow` with :func:`register`. The router (registered once, before the commands) reads
the caller's dialog once per message and hands the message to the flow it belongs to; with no open dialog, or a
flow that takes no such message, the message goes on to the commands and the fallbacks. A handled message stops
there. ``/cancel`` ends any open dialog, with the flow's own words.

Buttons of a flow carry the dialog's ``token`` and ``seq`` (their actions, in the topic's ``actions`` module), so a
button from an older step or an earlier conversation is refused as stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, CommandHandler, MessageHandler, filters

from bot import questions
from bot.auth import BOUND, deny
from bot.context import BotContext
from services.platform import dialogs
from services.platform.dialogs import DialogState
from services.platform.roles import Actor, Role

Step = Callable[[Update, BotContext, DialogState], Awaitable[bool | None]]
"""Handles one message of the flow; returns normally when it consumed the message, ``False`` when the message is
not the flow's after all (it goes on to the commands and the fallbacks)."""


@dataclass(frozen=True)
class Flow:
    """A multi-step conversation: its ``name`` (the dialog row's flow), what it does with text and files, and what
    ``/cancel`` says (``cancelled_key``; the router clears the row)."""

    name: str
    on_text: Step | None = None
    on_file: Step | None = None
    cancelled_key: str = "dialog.cancelled"
    aliases: tuple[str, ...] = field(default=())
    audience: frozenset[Role] = frozenset()  # who may answer it (empty: whoever opened it)


_FLOWS: dict[str, Flow] = {}

FILES = filters.Document.ALL | filters.PHOTO | filters.VIDEO | filters.AUDIO | filters.VOICE


def register(flow: Flow) -> Flow:
    """Make ``flow`` known to the router (once per name)."""
    for name in (flow.name, *flow.aliases):
        if name in _FLOWS and _FLOWS[name] is not flow:
            raise RuntimeError(f"dialog flow {name!r} registered twice")
        _FLOWS[name] = flow
    return flow


def flows() -> dict[str, Flow]:
    """The registered flows by name."""
    return dict(_FLOWS)


def _account(update: Update, context: BotContext) -> tuple[Actor, int, Message] | None:
    actor, chat, message = context.actor, update.effective_chat, update.effective_message
    if actor is None or actor.account_id is None or chat is None or chat.type != ChatType.PRIVATE or message is None:
        return None
    return actor, actor.account_id, message


async def _open_dialog(update: Update, context: BotContext) -> DialogState | None:
    found = _account(update, context)
    if found is None:
        return None
    async with context.services.uow(readonly=True, snapshot=False) as uow:
        return await dialogs.current(uow, found[1])


async def _route(update: Update, context: BotContext, step_of: Callable[[Flow], Step | None]) -> None:
    """Hand the message to the open dialog's flow, when it takes this kind of message; the flow's audience is
    checked here, once, as :func:`bot.auth.serves` checks a command's."""
    state = await _open_dialog(update, context)
    flow = _FLOWS.get(state.flow) if state is not None else None
    step = step_of(flow) if flow is not None else None
    if state is None or flow is None or step is None:
        return
    if flow.audience and not (context.actor is not None and context.actor.has_any(flow.audience)):
        await deny(update, context, "auth.not_permitted")
    elif await step(update, context, state) is False:
        return
    raise ApplicationHandlerStop


async def on_text(update: Update, context: BotContext) -> None:
    """Typed text: to the open dialog's flow, when it takes text."""
    await _route(update, context, lambda flow: flow.on_text)


async def on_file(update: Update, context: BotContext) -> None:
    """A photo, document or recording: to the open dialog's flow, when it takes files."""
    await _route(update, context, lambda flow: flow.on_file)


async def on_cancel(update: Update, context: BotContext) -> None:
    """/cancel: end the open dialog, whatever its flow, with that flow's words (a flow this version does not know is
    ended too); without one, say there is nothing to cancel."""
    chat, message, actor = update.effective_chat, update.effective_message, context.actor
    if chat is None or chat.type != ChatType.PRIVATE or message is None:
        return
    if actor is None or actor.account_id is None:
        await deny(update, context, "auth.unbound")
        raise ApplicationHandlerStop
    async with context.services.uow() as uow:
        state = await dialogs.current(uow, actor.account_id, idle_limit=None)
        if state is not None:
            await dialogs.clear(uow, actor.account_id)
            await uow.commit()
    await questions.retire(context, chat.id)
    flow = _FLOWS.get(state.flow) if state is not None else None
    key = "dialog.nothing_to_cancel" if state is None else flow.cancelled_key if flow else "dialog.cancelled"
    await message.reply_text(context.t(update, key))
    raise ApplicationHandlerStop


on_cancel.audience = BOUND  # type: ignore[attr-defined]  # /cancel in the command table (bot/commands.py)
on_cancel.private_only = True  # type: ignore[attr-defined]

ROUTER_GROUP = -1
"""The handler group of the router: after the gate (-10), before the commands (0)."""


def handlers() -> list[MessageHandler[BotContext, None] | CommandHandler[BotContext, None]]:
    """The router's three handlers (text, files, ``/cancel``), for :func:`bot.app.register_handlers`."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("cancel", on_cancel, filters=private),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_text),
        MessageHandler(private & FILES, on_file),
    ]
