"""The one global error handler: a refused request gets its reason, a command whose arguments do not fit gets
what was wrong and its usage (:class:`bot.arguments.UsageError`), anything else is logged with its traceback and
the user is told that something went wrong and nothing they sent was lost.

A transient Bot API failure (network, timeout, 5xx, 429) is logged as one line, its traceback only at DEBUG:
during an outage every update fails that way, and a traceback each says nothing new."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot import limits
from bot.arguments import UsageError
from bot.auth import fit_callback_answer
from bot.context import CHANNEL, BotContext, language_for
from bot.limits import UploadTooLarge
from bot.logs import describe, is_transient, traceback_at_debug
from messages import translate
from services.people import accounts
from services.platform.errors import DomainError
from services.platform.roles import Actor

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log and answer an exception raised while handling ``update``."""
    error = context.error
    services = context.services
    if isinstance(error, DomainError):
        logger.info("request refused: %s (%s)", type(error).__name__, error.detail)
    elif isinstance(error, UsageError):
        logger.info("command arguments refused: %s", error)
    elif isinstance(error, UploadTooLarge):
        logger.warning("a file was not sent: %s", error)
    else:
        services.metrics.handler_errors.inc()
        update_id = getattr(update, "update_id", update)
        if error is not None and is_transient(error):  # the Bot API's weather, not a bug: one line
            logger.warning("Bot API request failed while handling update %s (%s)", update_id, describe(error),
                           exc_info=traceback_at_debug(logger, error))
        else:
            logger.error("error while handling update %s", update_id, exc_info=error)
    if not isinstance(update, Update):
        return
    language = language_for(update, await _actor(update, context), services.settings.default_language)
    text = _explain(language, error)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(fit_callback_answer(text), show_alert=True)
        elif update.effective_message is not None and update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as failure:
        logger.warning("could not tell the user about the error (%s)", describe(failure),
                       exc_info=traceback_at_debug(logger, failure) if is_transient(failure) else failure)


def _explain(language: str, error: BaseException | None) -> str:
    if isinstance(error, DomainError):
        return translate(language, error.message_key, **error.params)
    if isinstance(error, UploadTooLarge):
        return translate(language, "error.file_too_large", size_mb=f"{error.size / 2**20:.1f}",
                         limit_mb=limits.UPLOAD_LIMIT // 2**20)
    if isinstance(error, UsageError):
        usage = translate(language, error.usage_key, **error.usage_params)
        if error.problem_key is None:
            return usage
        return translate(language, error.problem_key, **error.problem_params) + "\n" + usage
    return translate(language, "error.internal")


async def _actor(update: Update, context: BotContext) -> Actor | None:
    user = update.effective_user
    if user is None:
        return None
    try:
        async with context.services.uow(readonly=True) as uow:
            return await accounts.identify(uow, channel=CHANNEL, external_user_id=str(user.id))
    except Exception:  # the database may be the very thing that failed
        logger.warning("could not identify the user for the error message", exc_info=True)
        return None
