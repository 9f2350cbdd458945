"""Commands for everyone: /start (with or without an invite code), /help, /whoami, /language."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot import buttons, menus
from bot.arguments import echo
from bot.auth import ANYONE, BOUND, serves
from bot.buttons import Press
from bot.commands import TOPICS, Command, topic_of, visible_to
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
    await menus.after_change(update, context)


@serves(ANYONE)
async def help_command(update: Update, context: BotContext) -> None:
    """/help [topic]: the commands of the caller's roles, grouped by task (in everyone's menu: someone unbound
    learns how to bind)."""
    message = update.effective_message
    assert message is not None
    actor = context.actor
    if actor is None or not actor.is_bound:
        await message.reply_text(context.t(update, "auth.unbound"))
        return
    asked = " ".join(context.args or []).strip()
    await message.reply_text(help_text(update, context, topic=asked or None))


SHORT_HELP = 25  # up to this many commands (an expert's, a supervisor's), /help lists them all with descriptions


def help_text(update: Update, context: BotContext, *, topic: str | None = None) -> str:
    """The help for this caller in this chat: every command grouped by task, or (for the long staff list) the
    tasks with their commands' names, and ``/help <task>`` for one task's descriptions."""
    actor = context.actor or Actor(label="unknown")
    in_group = update.effective_chat is not None and update.effective_chat.type != ChatType.PRIVATE
    grouped: dict[str, list[Command]] = {}
    for command in visible_to(actor, in_group=in_group):
        grouped.setdefault(topic_of(command.name), []).append(command)
    order = [name for name in TOPICS if name in grouped]
    if topic is not None:
        chosen = _topic_named(update, context, topic, order)
        if chosen is None:
            names = "、".join(context.t(update, f"help.topic.{name}") for name in order)
            return context.t(update, "help.unknown_topic", topic=echo(topic), topics=names)
        order = [chosen]
    elif sum(len(commands) for commands in grouped.values()) > SHORT_HELP:
        lines = [context.t(update, "help.header_topics")]
        for name in order:
            lines.append(context.t(update, "help.topic_line", title_key=f"help.topic.{name}",
                                   commands=" ".join(f"/{c.name}" for c in grouped[name])))
        return "\n".join(lines)
    lines = [context.t(update, "help.header")]
    for name in order:
        lines.append(context.t(update, "help.topic_title", title_key=f"help.topic.{name}"))
        lines += [f"/{c.name} — {context.t(update, c.description_key)}" for c in grouped[name]]
    return "\n".join(lines)


def _topic_named(update: Update, context: BotContext, asked: str, order: list[str]) -> str | None:
    """The topic the caller asked for: by key or by its name in either language (case and spaces ignored)."""
    wanted = "".join(asked.split()).lower()
    for name in order:
        names = {name, *("".join(translate(lang, f"help.topic.{name}").split()).lower() for lang in LANGUAGES)}
        if wanted in names:
            return name
    return None


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
        await menus.after_change(update, context)
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
    await menus.after_change(press.update, press.context)  # the "/" menu in the new language, after the answer


async def _set_language(
    update: Update, context: BotContext, choice: str, *, shown_in: notify.MessageRef | None
) -> None:
    actor = context.actor
    assert actor is not None
    async with context.services.uow() as uow:
        await accounts.set_language(uow, actor=actor, language=choice, shown_in=shown_in)
