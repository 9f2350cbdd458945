"""Staff drawing inspection targets at random (双随机, 003 三(一)): ``/targets <count> [kind=..] [level=..]
[division=..] [exclude=..] [designated=all]`` draws and shows the list with a button to verify it;
``/targetverify <draw id>`` recomputes a stored draw (``services.draws.target_draws``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.auth import STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard
from services.draws import target_draws
from services.draws.actions import VerifyTargetDraw
from services.draws.target_draws import TargetDrawView
from services.platform.actions import parse_id, parse_index
from services.platform.errors import DrawRefused
from services.platform.notify import Button

SEPARATORS = str.maketrans({"，": ",", "、": ",", "＝": "="})


@dataclass
class TargetArgs:
    """The parsed arguments of ``/targets``."""

    count: int
    kinds: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    divisions: list[str] = field(default_factory=list)
    exclude_ids: list[int] = field(default_factory=list)
    designated_only: bool = True


def _bad() -> DrawRefused:
    return DrawRefused("bad argument", reason_key="targets.refused.bad_argument")


def parse_args(args: list[str]) -> TargetArgs:
    """``<count> key=value ...`` (values comma-separated); raises ``DrawRefused`` for anything else."""
    count = parse_index(args[0]) if args else None
    if count is None:
        raise _bad()
    parsed = TargetArgs(count=count)
    for arg in args[1:]:
        key, sep, value = arg.translate(SEPARATORS).partition("=")
        values = [v.strip() for v in value.split(",") if v.strip()]
        if not sep or not values:
            raise _bad()
        key = key.strip().lower()
        if key == "kind":
            parsed.kinds += values
        elif key == "level":
            parsed.levels += values
        elif key == "division":
            parsed.divisions += values
        elif key == "exclude" and all(parse_id(v) is not None for v in values):
            parsed.exclude_ids += [int(v) for v in values]
        elif key == "designated" and len(values) == 1 and values[0].lower() in ("all", "yes"):
            parsed.designated_only = values[0].lower() == "yes"
        else:
            raise _bad()
    return parsed


def verify_keyboard(language: str, draw_id: int) -> InlineKeyboardMarkup:
    """The button under a drawn list."""
    return keyboard(language, [[Button("targets.button.verify", VerifyTargetDraw(draw_id))]])


def render(update: Update, context: BotContext, view: TargetDrawView) -> str:
    """The drawn list (or the shortfall) of a target draw."""
    result, draw_id = view.result, view.record.id
    if not result.ok:
        return context.t(update, "targets.short", draw_id=draw_id, count=result.count, eligible=result.eligible,
                         directory=result.directory, **dict(result.removed))
    lines = [context.t(update, "targets.header", draw_id=draw_id, count=result.count, eligible=result.eligible,
                       directory=result.directory)]
    for n, institution in enumerate(view.institutions, start=1):
        unit = view.units.get(institution.org_unit_id) if institution.org_unit_id is not None else None
        lines.append(context.t(update, "targets.line", n=n, name=institution.name, id=institution.id,
                               kind_key=f"targets.kind.{institution.kind}", level=institution.level or "-",
                               division=unit.name if unit is not None else "-"))
    lines.append(context.t(update, "targets.footer", draw_id=draw_id))
    return "\n".join(lines)


@serves(STAFF, private_only=True)
async def draw_targets(update: Update, context: BotContext) -> None:
    """/targets <count> [filters]: draw inspection targets at random and show them."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    if not context.args:
        await message.reply_text(context.t(update, "targets.usage"))
        return
    parsed = parse_args(list(context.args))
    async with context.services.uow() as uow:
        record, _ = await target_draws.draw_targets(
            uow, actor=actor, kinds=parsed.kinds, levels=parsed.levels, division_ids=parsed.divisions,
            designated_only=parsed.designated_only, exclude_ids=parsed.exclude_ids, count=parsed.count)
    assert record.id is not None
    async with context.services.uow(readonly=True) as uow:
        view = await target_draws.get_target_draw(uow, actor=actor, draw_id=record.id)
    markup = verify_keyboard(context.language_for(update), record.id) if view.result.ok else None
    await message.reply_text(render(update, context, view), reply_markup=markup)


async def _verify_text(update: Update, context: BotContext, draw_id: int) -> str:
    actor = context.actor
    assert actor is not None
    async with context.services.uow(readonly=True) as uow:
        await target_draws.require_visible(uow, actor=actor, draw_id=draw_id)  # only the drawing unit's line
        report = await target_draws.verify_target_draw(uow, draw_id)
    if report.ok:
        return context.t(update, "targets.verify_ok", draw_id=draw_id, directory=report.directory,
                         version=report.algorithm_version, picks=report.picks)
    return context.t(update, "targets.verify_bad", draw_id=draw_id, problems=", ".join(report.problems))


@serves(STAFF, private_only=True)
async def verify(update: Update, context: BotContext) -> None:
    """/targetverify <draw id>: recompute a stored target draw."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    draw_id = parse_id(args[0]) if len(args) == 1 else None
    if draw_id is None:
        await message.reply_text(context.t(update, "targets.verify_usage"))
        return
    await message.reply_text(await _verify_text(update, context, draw_id))


@buttons.on(VerifyTargetDraw, audience=STAFF, private_only=True)
async def on_verify(press: Press, action: VerifyTargetDraw) -> None:
    """The verify button under a drawn list."""
    text = await _verify_text(press.update, press.context, action.draw_id)
    await press.answer()
    if press.message is not None:
        await press.context.bot.send_message(press.message.chat_id, text)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's handlers (group 0, before the fallbacks)."""
    application.add_handler(CommandHandler("targets", draw_targets))
    application.add_handler(CommandHandler("targetverify", verify))
