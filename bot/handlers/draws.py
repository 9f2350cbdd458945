"""Staff running draws in the bot: file the request (/draw), approve or reject it with a button (four-eyes,
000 §17), see the result card or the shortfall with one-tap relaxations (001 §11(二)), require a recusal
(000 §15), name the leader (000 §18(四)) and switch approval for a unit (admins).

Callback data (≤64 bytes, trusted for nothing: every press is checked again by the service):
``draw:ok:<request>`` approve, ``draw:no:<request>`` reject, ``draw:show:<draw>`` the result card,
``draw:rx:<requirement>:<tags|subcategory|backups>`` relax a requirement, ``draw:re:<activity>`` file again,
``draw:tu:<activity>:<requirement>`` file a top-up of one principal (backups ran out).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.auth import ADMIN, STAFF, serves
from bot.context import CHANNEL, BotContext
from services.activities import activities
from services.activities.activities import Relaxation
from services.activities.draw_rules import Role
from services.draws import draws
from services.platform import notify
from services.platform.errors import InvalidInput
from storage.activities import ActivityRequirement

PREFIX = "draw:"


def _number(raw: str, field: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(f"{field} must be a number", field=field)
    return int(raw)


def requirement_label(context: BotContext, update: Update, requirement: ActivityRequirement) -> str:
    """e.g. 医药临床类/医学 ·心血管、介入."""
    label = context.t(update, f"category.{requirement.category}")
    if requirement.subcategory:
        label += "/" + context.t(update, f"draw.subcategory.{requirement.subcategory}")
    if requirement.tags:
        label += " · " + "、".join(requirement.tags)
    return label


def _local(moment: object, zone: ZoneInfo) -> str:
    from datetime import datetime

    assert isinstance(moment, datetime)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def render(context: BotContext, update: Update, seen: draws.DrawView) -> tuple[str, InlineKeyboardMarkup | None]:
    """The result card of a draw (principals and backups in order, leader, who and when, how to verify), or the
    shortfall explanation with the relaxations on offer."""
    record, result, info = seen.record, seen.result, seen.info
    assert info is not None and record.id is not None
    zone = ZoneInfo(context.services.settings.time_zone)
    activity = info.activity
    t = context.t
    lines = [t(update, "draw.card.header", draw_id=record.id, activity_id=activity.id, title=activity.title,
               kind_key=f"draw.kind.{activity.kind}", start=_local(activity.starts_at, zone),
               end=_local(activity.ends_at, zone))]
    by_key = {f"r{r.id}": r for r in info.requirements}
    buttons: list[list[InlineKeyboardButton]] = []
    if result.ok:
        for requirement in info.requirements:
            picks = [p for p in result.picks if p.requirement_key == f"r{requirement.id}"]
            if not picks:
                continue
            lines.append(t(update, "draw.card.requirement", label=requirement_label(context, update, requirement)))
            for pick in picks:
                key = "draw.card.principal" if pick.role == Role.PRINCIPAL else "draw.card.backup"
                lines.append(t(update, key, order=pick.order, name=seen.names.get(pick.person_id, "?"),
                               person_id=pick.person_id))
        if activity.leader_id is not None:
            lines.append(t(update, "draw.card.leader", name=seen.names.get(activity.leader_id, "?"),
                           person_id=activity.leader_id))
        elif result.needs_leader_choice:
            lines.append(t(update, "draw.card.choose_leader", activity_id=activity.id))
    else:
        lines.append(t(update, "draw.card.short_header"))
        for shortfall in result.shortfalls:
            if shortfall.requirement_key not in by_key:
                continue
            requirement = by_key[shortfall.requirement_key]
            reasons = "、".join(t(update, "draw.card.reason", reason_key=f"draw.reason.{code}", count=count)
                               for code, count in sorted(shortfall.removed.items(), key=lambda kv: -kv[1]))
            lines.append(t(update, "draw.card.shortfall", label=requirement_label(context, update, requirement),
                           needed=shortfall.needed, short=shortfall.short, matched=shortfall.matched,
                           reasons=reasons or t(update, "draw.card.no_reason")))
            row = []
            if requirement.tags:
                row.append(InlineKeyboardButton(t(update, "draw.relax.tags", position=requirement.position),
                                                callback_data=f"{PREFIX}rx:{requirement.id}:{Relaxation.DROP_TAGS}"))
            if requirement.subcategory:
                row.append(InlineKeyboardButton(
                    t(update, "draw.relax.subcategory", position=requirement.position),
                    callback_data=f"{PREFIX}rx:{requirement.id}:{Relaxation.DROP_SUBCATEGORY}"))
            if requirement.backups:
                row.append(InlineKeyboardButton(
                    t(update, "draw.relax.backups", position=requirement.position),
                    callback_data=f"{PREFIX}rx:{requirement.id}:{Relaxation.FEWER_BACKUPS}"))
            if row:
                buttons.append(row)
        buttons.append([InlineKeyboardButton(t(update, "draw.relax.again"), callback_data=f"{PREFIX}re:{activity.id}")])
    lines.append(t(update, "draw.card.footer", operator=seen.operator,
                   approver=seen.approver or t(update, "draw.card.no_approver"),
                   at=_local(record.drawn_at, zone), version=record.algorithm_version, seed=record.seed[:16],
                   snapshot=record.snapshot_hash[:16], draw_id=record.id))
    return "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None


async def _tell_outcome(update: Update, context: BotContext, outcome: draws.DrawOutcome) -> None:
    message = update.effective_message
    assert message is not None and context.actor is not None
    if outcome.record is None:
        await message.reply_text(context.t(update, "draw.filed", request_id=outcome.request.id,
                                           activity_id=outcome.request.activity_id))
        return
    assert outcome.record.id is not None
    async with context.services.uow(readonly=True) as uow:
        seen = await draws.get_draw(uow, actor=context.actor, draw_id=outcome.record.id)
    text, keyboard = render(context, update, seen)
    await message.reply_text(text, reply_markup=keyboard)


@serves(STAFF, private_only=True)
async def file_draw(update: Update, context: BotContext) -> None:
    """/draw <activity id>: file the draw request (000 §17); another admin approves it."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(context.t(update, "draw.usage"))
        return
    async with context.services.uow() as uow:
        outcome = await draws.file_request(uow, actor=actor, activity_id=_number(args[0], "activity"))
    await _tell_outcome(update, context, outcome)


@serves(STAFF, private_only=True)
async def topup(update: Update, context: BotContext) -> None:
    """/topup <activity id> <line no.> <principals> [backups]: file a top-up draw (001 §11(二))."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) not in (3, 4) or not all(a.isdigit() and len(a) < 6 for a in args):
        await message.reply_text(context.t(update, "draw.topup_usage"))
        return
    activity_id, position, principals = int(args[0]), int(args[1]), int(args[2])
    backups = int(args[3]) if len(args) == 4 else 0
    async with context.services.uow() as uow:
        info = await activities.view(uow, actor=actor, activity_id=activity_id)
        line = next((r for r in info.requirements if r.position == position), None)
        if line is None or line.id is None:
            raise InvalidInput("no such line", field="line")
        outcome = await draws.file_request(uow, actor=actor, activity_id=activity_id,
                                           places={line.id: (principals, backups)})
    await _tell_outcome(update, context, outcome)


@serves(STAFF, private_only=True)
async def pending(update: Update, context: BotContext) -> None:
    """/requests: draw requests waiting for approval in my org subtree, with the buttons."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        found = await draws.pending_requests(uow, actor=actor)
    if not found:
        await message.reply_text(context.t(update, "draw.no_requests"))
        return
    for request, activity in found[:10]:
        keyboard = InlineKeyboardMarkup([[
            InlineKeyboardButton(context.t(update, "draw.button.approve"), callback_data=f"{PREFIX}ok:{request.id}"),
            InlineKeyboardButton(context.t(update, "draw.button.reject"), callback_data=f"{PREFIX}no:{request.id}"),
        ]])
        await message.reply_text(context.t(update, "draw.request_line", request_id=request.id,
                                           activity_id=activity.id, title=activity.title,
                                           kind_key=f"draw.request_kind.{request.kind}"), reply_markup=keyboard)


@serves(STAFF, private_only=True)
async def roster(update: Update, context: BotContext) -> None:
    """/roster <activity id>: the latest draw of the activity (result card or shortfall)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(context.t(update, "draw.roster_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        record = await draws.latest_draw(uow, actor=actor, activity_id=_number(args[0], "activity"))
        if record is None or record.id is None:
            await message.reply_text(context.t(update, "draw.not_drawn", activity_id=args[0]))
            return
        seen = await draws.get_draw(uow, actor=actor, draw_id=record.id)
    text, keyboard = render(context, update, seen)
    await message.reply_text(text, reply_markup=keyboard)


@serves(STAFF)
async def pressed(update: Update, context: BotContext) -> None:
    """A draw button: approve, reject, show, relax, file again (in a private chat or the unit's group)."""
    query, actor = update.callback_query, context.actor
    assert query is not None and query.data is not None and actor is not None
    parts = query.data.removeprefix(PREFIX).split(":")
    verb, args = parts[0], parts[1:]
    if not args or not all(a.isdigit() and len(a) <= 12 for a in args[:1]):
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    shown_in = None
    if query.message is not None:
        shown_in = notify.MessageRef(CHANNEL, str(query.message.chat.id), str(query.message.message_id))
    language = context.language_for(update)
    number = int(args[0])
    if verb == "ok" and len(args) == 1:
        async with context.services.uow() as uow:
            outcome = await draws.approve(uow, actor=actor, request_id=number, shown_in=shown_in, language=language)
        await query.answer(context.t(update, "draw.approved_answer", request_id=number,
                                     status_key=f"draw.status.{outcome.request.status}"))
    elif verb == "no" and len(args) == 1:
        async with context.services.uow() as uow:
            request = await draws.reject(uow, actor=actor, request_id=number, shown_in=shown_in, language=language)
        await query.answer(context.t(update, "draw.rejected_answer", request_id=number,
                                     status_key=f"draw.status.{request.status}"))
    elif verb == "show" and len(args) == 1:
        async with context.services.uow(readonly=True) as uow:
            seen = await draws.get_draw(uow, actor=actor, draw_id=number)
        text, keyboard = render(context, update, seen)
        await query.answer()
        if query.message is not None:
            await context.bot.send_message(query.message.chat.id, text, reply_markup=keyboard)
    elif verb == "rx" and len(args) == 2 and args[1] in Relaxation.ALL:
        async with context.services.uow() as uow:
            requirement = await uow.session.get(ActivityRequirement, number)
            if requirement is None:
                await query.answer(context.t(update, "button.stale"), show_alert=True)
                return
            relaxed = await activities.relax(uow, actor=actor, activity_id=requirement.activity_id,
                                             requirement_id=number, what=args[1])
        await query.answer(context.t(update, "draw.relaxed", position=relaxed.position,
                                     activity_id=relaxed.activity_id), show_alert=True)
    elif verb == "tu" and len(args) == 2 and args[1].isdigit() and len(args[1]) <= 12:
        async with context.services.uow() as uow:  # one more principal for a line whose backups ran out
            outcome = await draws.file_request(uow, actor=actor, activity_id=number, places={int(args[1]): (1, 0)})
        await query.answer()
        if query.message is not None:
            await context.bot.send_message(query.message.chat.id, context.t(
                update, "draw.filed", request_id=outcome.request.id, activity_id=number))
    elif verb == "re" and len(args) == 1:
        async with context.services.uow() as uow:
            outcome = await draws.file_request(uow, actor=actor, activity_id=number)
        await query.answer()
        if outcome.record is None and query.message is not None:
            await context.bot.send_message(query.message.chat.id, context.t(
                update, "draw.filed", request_id=outcome.request.id, activity_id=number))
        elif query.message is not None and outcome.record is not None and outcome.record.id is not None:
            async with context.services.uow(readonly=True) as uow:
                seen = await draws.get_draw(uow, actor=actor, draw_id=outcome.record.id)
            text, keyboard = render(context, update, seen)
            await context.bot.send_message(query.message.chat.id, text, reply_markup=keyboard)
    else:
        await query.answer(context.t(update, "button.stale"), show_alert=True)


@serves(STAFF, private_only=True)
async def recuse(update: Update, context: BotContext) -> None:
    """/recuse <activity id> <expert id> <reason>: require an expert's recusal (000 §15, 001 §17)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) < 3:
        await message.reply_text(context.t(update, "draw.recuse_usage"))
        return
    async with context.services.uow() as uow:
        row = await activities.require_recusal(uow, actor=actor, activity_id=_number(args[0], "activity"),
                                               expert_id=_number(args[1], "expert"), reason=" ".join(args[2:]))
    await message.reply_text(context.t(update, "draw.recusal_recorded", expert_id=row.expert_id,
                                       activity_id=row.activity_id))


@serves(STAFF, private_only=True)
async def leader(update: Update, context: BotContext) -> None:
    """/leader <activity id> <expert id>: name the leader among several chief experts (000 §18(四))."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 2:
        await message.reply_text(context.t(update, "draw.leader_usage"))
        return
    async with context.services.uow() as uow:
        activity = await draws.choose_leader(uow, actor=actor, activity_id=_number(args[0], "activity"),
                                             person_id=_number(args[1], "expert"))
    await message.reply_text(context.t(update, "draw.leader_named", activity_id=activity.id,
                                       person_id=activity.leader_id))


@serves(ADMIN, private_only=True)
async def approval(update: Update, context: BotContext) -> None:
    """/drawapproval <unit code> on|off: whether draws of a unit need a second person's approval."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 2 or args[1].lower() not in ("on", "off"):
        await message.reply_text(context.t(update, "draw.approval_usage"))
        return
    enabled = args[1].lower() == "on"
    async with context.services.uow() as uow:
        await draws.set_approval(uow, actor=actor, org=args[0], enabled=enabled)
    await message.reply_text(context.t(update, "draw.approval_set", org=args[0],
                                       state_key="draw.approval_on" if enabled else "draw.approval_off"))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The draw commands and buttons (group 0, before the fallbacks)."""
    application.add_handler(CommandHandler("draw", file_draw))
    application.add_handler(CommandHandler("topup", topup))
    application.add_handler(CommandHandler("requests", pending))
    application.add_handler(CommandHandler("roster", roster))
    application.add_handler(CommandHandler("recuse", recuse))
    application.add_handler(CommandHandler("leader", leader))
    application.add_handler(CommandHandler("drawapproval", approval))
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
