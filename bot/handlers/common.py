"""Commands for everyone: /start (with or without an invite code), /help, /whoami, /language."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot import buttons
from bot.auth import ANYONE, BOUND, serves
from bot.buttons import Press
from bot.commands import visible_to
from bot.context import CHANNEL, BotContext
from bot.keyboards import language_keyboard
from messages import LANGUAGES, translate
from services.invitations import unreached
from services.people import accounts
from services.people.actions import ChooseLanguage
from services.platform import notify
from services.platform.roles import Actor, Role


@serves(ANYONE, private_only=True)
async def start(update: Update, context: BotContext) -> None:
    """/start [code]: bind with a code, or greet."""
    if context.args:
        await redeem(update, context, context.args[0])
        return
    await _greet(update, context)


async def _greet(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    actor = context.actor
    if actor is None or not actor.is_bound:
        await message.reply_text(context.t(update, "auth.unbound"))
        return
    await message.reply_text(context.t(update, "start.bound", name=actor.name) + "\n\n" + help_text(update, context))


async def redeem(update: Update, context: BotContext, code: str) -> None:
    """Try an invite code sent by /start or as plain text."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    async with context.services.uow() as uow:  # binding, then the invitations that waited for it (issue 13)
        await unreached.bind_account(
            uow,
            channel=CHANNEL,
            external_user_id=str(user.id),
            chat_id=str(message.chat_id),
            code=code,
            language=context.language_for(update),
        )


@serves(ANYONE)
async def help_command(update: Update, context: BotContext) -> None:
    """/help: the commands of the caller's roles (in everyone's menu: someone unbound learns how to bind)."""
    message = update.effective_message
    assert message is not None
    actor = context.actor
    if actor is None or not actor.is_bound:
        await message.reply_text(context.t(update, "auth.unbound"))
        return
    await message.reply_text(help_text(update, context))


def help_text(update: Update, context: BotContext) -> str:
    """The help listing for this caller in this chat."""
    actor = context.actor or Actor(label="unknown")
    in_group = update.effective_chat is not None and update.effective_chat.type != ChatType.PRIVATE
    lines = [context.t(update, "help.header")]
    for command in visible_to(actor, in_group=in_group):
        lines.append(f"/{command.name} — {context.t(update, command.description_key)}")
    return "\n".join(lines)


@serves(ANYONE, private_only=True)
async def whoami(update: Update, context: BotContext) -> None:
    """/whoami: the caller's binding and roles (or their Telegram id, for staff to help them)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    actor = context.actor
    if actor is None or not actor.is_bound:
        await message.reply_text(context.t(update, "whoami.unbound", user_id=user.id))
        return
    language = context.language_for(update)
    roles = "、".join(translate(language, f"role.{role.value}") for role in Role if role in actor.roles)
    await message.reply_text(
        context.t(update, "whoami.bound", name=actor.name, person_id=actor.person_id, roles=roles or "-")
    )


@serves(BOUND, private_only=True)
async def language_command(update: Update, context: BotContext) -> None:
    """/language [zh|en]: choose the bot's language (buttons when no argument)."""
    message = update.effective_message
    assert message is not None
    if context.args:
        choice = context.args[0].lower()
        if choice not in LANGUAGES:
            await message.reply_text(context.t(update, "language.unknown", choices=", ".join(LANGUAGES)))
            return
        await _set_language(update, context, choice, shown_in=None)
        return
    language = context.language_for(update)
    await message.reply_text(context.t(update, "language.choose"), reply_markup=language_keyboard(language))


@buttons.on(ChooseLanguage, audience=BOUND)
async def language_pressed(press: Press, action: ChooseLanguage) -> None:
    """A language button: remember the choice and replace the buttons with a confirmation."""
    if action.language not in LANGUAGES:
        await press.answer("button.stale", alert=True)
        return
    await _set_language(press.update, press.context, action.language, shown_in=press.shown_in)
    await press.answer()


async def _set_language(
    update: Update, context: BotContext, choice: str, *, shown_in: notify.MessageRef | None
) -> None:
    actor = context.actor
    assert actor is not None
    async with context.services.uow() as uow:
        await accounts.set_language(uow, actor=actor, language=choice, shown_in=shown_in)
