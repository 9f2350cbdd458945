"""Button presses: one callback-query handler for every button.

The data is parsed once by the codec (:func:`services.buttons.parse`); a refusal or an action nobody handles gets
the stale-button answer. Each action type has one small function, registered with :func:`on` together with who may
press it; the check runs here, before the function, with the same answers as :func:`bot.auth.serves`.

A press may come without its message (too old, or inaccessible): :attr:`Press.message` is then None and
:meth:`Press.edit_buttons` does nothing. Edits of a message that vanished or did not change are not errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.auth import deny, fit_callback_answer
from bot.context import CHANNEL, BotContext
from bot.keyboards import Row, keyboard
from services.platform.actions import Action, Refusal, parse
from services.platform.notify import MessageRef
from services.platform.roles import Actor, Role

logger = logging.getLogger(__name__)

A = TypeVar("A", bound=Action)
QUESTION_MARK = "❓"
"""Starts the question :meth:`Press.ask` shows under a message's text."""


@dataclass(frozen=True)
class Press:
    """A button press: who pressed, on which message (when Telegram still says), and ways to answer."""

    update: Update
    context: BotContext
    query: CallbackQuery
    actor: Actor

    @property
    def message(self) -> Message | None:
        """The message the button is on, or None when it is no longer accessible."""
        message = self.query.message
        return message if isinstance(message, Message) else None

    @property
    def language(self) -> str:
        """The presser's language."""
        return self.context.language_for(self.update)

    @property
    def shown_in(self) -> MessageRef | None:
        """The pressed message as the outbox addresses it (to edit it in place), or None."""
        message = self.message
        if message is None:
            return None
        return MessageRef(channel=CHANNEL, address=str(message.chat_id), message_id=str(message.message_id))

    @property
    def in_private_chat(self) -> bool:
        """Whether the button was pressed in a private chat."""
        message = self.message
        return message is not None and message.chat.type == ChatType.PRIVATE

    def t(self, key: str, **params: Any) -> str:
        """``key`` in the presser's language."""
        return self.context.t(self.update, key, **params)

    async def answer(self, key: str | None = None, *, alert: bool = False, **params: Any) -> None:
        """Answer the press (the small notice over the chat); without a key, just stop the spinner."""
        text = fit_callback_answer(self.t(key, **params)) if key else None
        await self.query.answer(text, show_alert=alert)

    async def edit_buttons(self, rows: list[Row] | None) -> None:
        """Replace the message's buttons (None removes them); a vanished or unchanged message is left alone."""
        if self.message is None:
            return
        markup = keyboard(self.language, rows) if rows else InlineKeyboardMarkup([])
        try:
            await self.query.edit_message_reply_markup(markup)
        except BadRequest as error:
            logger.info("buttons not replaced: %s", error.message)

    async def edit_text(self, text: str, rows: Sequence[Row] | None = None) -> None:
        """Replace the message's text and its buttons (``rows``; None: they go); a vanished or unchanged message is
        left alone."""
        if self.message is None:
            return
        try:
            await self.query.edit_message_text(text, reply_markup=keyboard(self.language, rows) if rows else None)
        except BadRequest as error:
            logger.info("message not edited: %s", error.message)

    async def ask(self, question_key: str | None, rows: Sequence[Row], **params: Any) -> None:
        """Show a question under the message's own text (the text before any earlier question) with new buttons;
        ``question_key`` None takes the question away. A vanished or unchanged message is left alone."""
        if self.message is None:
            return
        text = (self.message.text or "").split(QUESTION_MARK)[0].rstrip()
        if question_key is not None:
            text = f"{text}\n\n{QUESTION_MARK}{self.t(question_key, **params)}"
        try:
            await self.query.edit_message_text(text, reply_markup=keyboard(self.language, rows) if rows else None)
        except BadRequest as error:
            logger.info("question not shown: %s", error.message)

    async def reply(self, key: str, **params: Any) -> None:
        """Send a new message to the chat the button was pressed in."""
        chat = self.update.effective_chat
        if chat is not None:
            await self.context.bot.send_message(chat.id, self.t(key, **params))


ButtonHandler = Callable[[Press, A], Awaitable[None]]


@dataclass(frozen=True)
class _Route(Generic[A]):
    handler: ButtonHandler[A]
    audience: frozenset[Role]
    private_only: bool


_ROUTES: dict[type[Action], _Route[Any]] = {}


def on(action: type[A], *, audience: frozenset[Role], private_only: bool = False,
       ) -> Callable[[ButtonHandler[A]], ButtonHandler[A]]:
    """Register the function that handles ``action``, and who may press it (``bot.auth`` audiences)."""

    def register(handler: ButtonHandler[A]) -> ButtonHandler[A]:
        if action in _ROUTES:
            raise RuntimeError(f"{action.__name__} already has a handler")
        _ROUTES[action] = _Route(handler, audience, private_only)
        return handler

    return register


def routes() -> dict[type[Action], tuple[frozenset[Role], bool]]:
    """Each handled action with its audience and whether it is private-only (tests, documentation)."""
    return {action: (route.audience, route.private_only) for action, route in _ROUTES.items()}


async def pressed(update: Update, context: BotContext) -> None:
    """Every button: parse, check who is asking, hand the typed action to its function."""
    query = update.callback_query
    if query is None:
        return
    action = parse(query.data)
    route = None if isinstance(action, Refusal) else _ROUTES.get(type(action))
    if route is None or isinstance(action, Refusal):
        logger.info("button not understood: %r", query.data)
        await query.answer(fit_callback_answer(context.t(update, "button.stale")), show_alert=True)
        return
    actor = context.actor or Actor(label="unknown")
    message = query.message
    if route.private_only and (not isinstance(message, Message) or message.chat.type != ChatType.PRIVATE):
        await deny(update, context, "auth.private_only")
    elif route.audience and not actor.is_bound:
        await deny(update, context, "auth.unbound")
    elif route.audience and not actor.has_any(route.audience):
        await deny(update, context, "auth.not_permitted")
    else:
        await route.handler(Press(update, context, query, actor), action)
