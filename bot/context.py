"""The typed container of everything a handler may use, and the per-update context carrying it.

Wired once at start-up (:func:`bot.app.build_application`); handlers read ``context.services``
and ``context.actor`` instead of poking at ``bot_data`` dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.metrics import Metrics
from bot.settings import Settings
from messages import normalize_language, translate
from services.platform.clock import Clock
from services.platform.crypto import MasterKey
from services.platform.roles import Actor, Role
from services.platform.updates import DeliveryLedger
from storage.uow import UnitOfWorkFactory

CHANNEL = "telegram"


@dataclass
class BotServices:
    """What the front end is wired with."""

    settings: Settings
    uow: UnitOfWorkFactory
    clock: Clock
    metrics: Metrics
    ledger: DeliveryLedger
    bot_username: str = ""
    keys: MasterKey | None = None  # the master key (issue 19): evidence is written encrypted and read with it
    wake_dispatcher: Callable[[], None] = field(default=lambda: None)
    menus: dict[int, tuple[frozenset[Role], str]] = field(default_factory=dict)  # bot/menus.py: what each chat has
    questions: dict[int, int] = field(default_factory=dict)  # bot/questions.py: each chat's open question


class BotContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, plus the caller (set by the gate before any handler runs)."""

    actor: Actor | None = None

    @property
    def services(self) -> BotServices:
        """The wired services."""
        return services_of(self.application)

    def language_for(self, update: object) -> str:
        """The language to answer this update in."""
        return language_for(update, self.actor, self.services.settings.default_language)

    def t(self, update: object, key: str, **params: Any) -> str:
        """Translate ``key`` into the caller's language."""
        return translate(self.language_for(update), key, **params)


def language_for(update: object, actor: Actor | None, default: str) -> str:
    """The bound person's choice, else Telegram's language code, else the default."""
    if actor is not None and actor.language:
        return actor.language
    user = update.effective_user if isinstance(update, Update) else None
    return normalize_language(user.language_code if user else None, default)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> BotServices:
    """The services stored on the application at wiring time."""
    services = application.bot_data.get("services")
    if not isinstance(services, BotServices):
        raise RuntimeError("application was not wired with BotServices")
    return services
