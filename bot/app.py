"""Wiring: the PTB application with every handler, in one place.

Handler groups: -10 the gate (dedupe, identify); -9 the chat's command menu (:mod:`bot.menus`); -8 edited messages
(never read as new ones); -1 the dialog router; 0 the commands and flows, then, last in the same
group (the first match wins), the fallbacks that make sure every private message gets an answer.

The handler modules (and the services they import) are the bulk of start-up (issue 21): the runtime builds the
application ``deferred`` and loads them with :func:`load_handlers` once it is starting, off the event loop, while
the processor holds the updates that arrive meanwhile (in order); tests and tools get them registered at once.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import auth, buttons, dialogs, menus
from bot.commands import public_commands
from bot.context import CHANNEL, BotContext, BotServices
from bot.http import AiohttpRequest
from bot.limits import LimitedBot
from bot.processor import PerChatUpdateProcessor
from bot.ratelimit import TelegramRateLimiter
from messages import LANGUAGES, translate
from services.platform import intake

BotApplication = Application[Any, BotContext, Any, Any, Any, Any]


HANDLER_MODULES = (
    "services.buttons",  # every topic's actions, so that the codec knows every button
    "bot.dialogs.lead_more", "bot.dialogs.lead_staff", "bot.dialogs.supervisor_import", "bot.dialogs.invitation_reason",
    *(f"bot.handlers.{name}" for name in (
        "activity_changes", "activity_new", "assignments", "common", "draw_export", "draws", "exports", "extensions",
        "fallback", "history", "insight", "interests", "invitations", "lead_report", "leads", "letters", "notices",
        "pool", "pool_import", "pool_shares", "pool_staff", "records", "reports_staff", "retention", "slot_answers",
        "staff", "supervisor_files", "supervisors_staff", "targets")),
)
"""What :func:`register_handlers` needs: importing a module registers its buttons and dialog flows."""


def build_application(services: BotServices, *, webhook: bool = False, deferred: bool = False) -> BotApplication:
    """The application for ``services``; with ``webhook`` it has no updater (updates are fed in). ``deferred``: no
    handlers yet, updates held until :func:`load_handlers` has registered them."""
    settings = services.settings
    timeout = settings.request_timeout

    async def record_fetched(items: list[Any]) -> None:
        await intake.record_batch(services.uow, channel=CHANNEL, items=items)

    bot = LimitedBot(
        settings.token(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_file_base_url,
        request=AiohttpRequest(connection_pool_size=256, read_timeout=timeout, write_timeout=timeout,
                               connect_timeout=timeout, pool_timeout=timeout),
        get_updates_request=AiohttpRequest(connection_pool_size=2, read_timeout=timeout + 30, write_timeout=timeout,
                                           connect_timeout=timeout, pool_timeout=timeout),
        # A reply to a message that was deleted meanwhile is sent without the quote instead of failing.
        defaults=Defaults(allow_sending_without_reply=True),
        rate_limiter=TelegramRateLimiter(
            overall_per_second=settings.rate_overall_per_second,
            private_per_second=settings.rate_private_per_second,
            private_burst=settings.rate_private_burst,
            group_per_minute=settings.rate_group_per_minute,
        ),
        recorder=record_fetched,
    )
    processor = PerChatUpdateProcessor(64, on_processed=services.ledger.processed)
    builder = (
        Application.builder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(processor)
    )
    if webhook:
        builder = builder.updater(None)
    application: BotApplication = builder.build()
    application.bot_data["services"] = services
    if deferred:
        processor.hold()
    else:
        register_handlers(application)
    return application


def import_handler_modules() -> None:
    """Import every handler module (a thread may run this: nothing here touches the event loop)."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)


async def load_handlers(application: BotApplication) -> None:
    """Load the handler modules off the event loop, register them and let the held updates through. Should it
    fail (or be cancelled), the held updates are dropped unprocessed (the durable intake feeds them again at the
    next start) and the error raised."""
    processor = application.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    try:
        await asyncio.to_thread(import_handler_modules)
        register_handlers(application)
    except BaseException:
        processor.abandon()
        raise
    processor.release()


def register_handlers(application: BotApplication) -> None:
    """Every handler of the bot, with the group it runs in."""
    from bot.dialogs import lead_more, lead_staff, supervisor_import  # noqa: F401  (import registers the flows)
    from bot.errors import on_error
    from bot.handlers import (
        activity_changes,
        activity_new,
        assignments,
        common,
        draw_export,
        draws,
        exports,
        extensions,
        fallback,
        history,
        insight,
        interests,
        invitations,
        lead_report,
        leads,
        letters,
        notices,
        pool,
        pool_import,
        pool_shares,
        pool_staff,
        records,
        reports_staff,
        retention,
        slot_answers,
        staff,
        supervisor_files,
        supervisors_staff,
        targets,
    )

    application.add_handler(TypeHandler(Update, auth.gate), group=-10)
    application.add_handler(TypeHandler(Update, menus.refresh), group=-9)
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, fallback.edited_message), group=-8)
    for handler in dialogs.handlers():
        application.add_handler(handler, group=dialogs.ROUTER_GROUP)

    application.add_handler(CommandHandler("start", common.start))
    application.add_handler(CommandHandler("help", common.help_command))
    application.add_handler(CommandHandler("whoami", common.whoami))
    application.add_handler(CommandHandler("language", common.language_command))
    application.add_handler(CommandHandler("profile", pool.profile))
    application.add_handler(CommandHandler("change", pool.change))
    application.add_handler(CommandHandler("leave", pool.leave))
    application.add_handler(CommandHandler("institutions", interests.search_institutions))
    application.add_handler(CommandHandler("interest", interests.declare))
    application.add_handler(CommandHandler("interests", interests.list_interests))
    application.add_handler(CommandHandler("withdraw", interests.withdraw))
    application.add_handler(CommandHandler("quit", interests.quit_pool))
    application.add_handler(CommandHandler("extend", interests.extend))
    application.add_handler(CommandHandler("history", history.history))
    application.add_handler(CommandHandler("extensions", extensions.extensions_command))
    application.add_handler(CommandHandler("poolshare", pool_shares.poolshare))
    application.add_handler(CommandHandler("due", pool_staff.due))
    application.add_handler(CommandHandler("pool", pool_staff.move))
    application.add_handler(CommandHandler("suspend", pool_staff.suspend))
    application.add_handler(CommandHandler("experts", pool.search))
    application.add_handler(CommandHandler("expert", pool.show))
    application.add_handler(CommandHandler("changes", pool.changes))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.Document.ALL & supervisor_files.CAPTIONED,
                                           supervisor_files.import_file))
    application.add_handler(MessageHandler(
        filters.ChatType.PRIVATE & (filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("csv")),
        pool_import.import_file,
    ))
    application.add_handler(CommandHandler("supervisors", supervisors_staff.list_registry))
    application.add_handler(CommandHandler("supervisor", supervisors_staff.show))
    application.add_handler(CommandHandler("supervisors_import", supervisor_files.start_import))
    application.add_handler(CommandHandler("supervisors_export", supervisor_files.export_file))
    application.add_handler(CommandHandler("invite", staff.invite))
    application.add_handler(CommandHandler("unbind", staff.unbind))
    application.add_handler(CommandHandler("alerts", staff.alerts))
    application.add_handler(CommandHandler("bindgroup", staff.bindgroup))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, staff.group_migrated))
    application.add_handler(ChatMemberHandler(staff.bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    for module in (activity_new, activity_changes, draws, draw_export, targets, invitations, lead_report, leads,
                   letters, records, insight, notices, exports, slot_answers, assignments,
                   reports_staff, retention):
        module.register(application)

    application.add_handler(MessageHandler(filters.COMMAND, fallback.unknown_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, fallback.text_message))
    application.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, fallback.other_message),
                            )
    application.add_handler(CallbackQueryHandler(buttons.pressed))

    application.add_error_handler(on_error)


async def publish_commands(application: BotApplication) -> None:
    """Set Telegram's command menu for everyone, in each catalog language."""
    for language in LANGUAGES:
        commands = [BotCommand(c.name, translate(language, c.description_key)) for c in public_commands()]
        await application.bot.set_my_commands(commands, language_code=None if language == "zh" else language)
