"""Staff running draws in the bot: file the request (/draw), approve or reject it with a button (four-eyes,
000 §17), see the result card or the shortfall with one-tap relaxations (001 §11(二)), require a recusal
(000 §15), name the leader (000 §18(四)) and switch approval for a unit (admins).

Buttons are actions of :mod:`services.draws.actions` (``draw:ok:<request>`` approve, ``draw:no:<request>``
reject, ``draw:show:<draw>`` the result card, ``draw:rx:<requirement>:<tags|subcategory|backups>`` relax a
requirement, ``draw:re:<activity>`` file again) and :class:`services.invitations.actions.FileTopUp`
(``draw:tu:<activity>:<requirement>``, a top-up of one principal when backups ran out); every press is checked
again by the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.auth import ADMIN, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import Row, keyboard
from services.activities import activities
from services.activities.draw_rules import Role
from services.activities.expert_draw import DrawResult
from services.activities.fair_draw import percent
from services.draws import draws
from services.draws.actions import ApproveDrawRequest, DrawAgain, RejectDrawRequest, RelaxRequirement, ShowDraw
from services.invitations.actions import FileTopUp
from services.platform.actions import parse_id, parse_index
from services.platform.notify import Button


class _Requirement(Protocol):
    category: str
    subcategory: str | None
    tags: list[str]


class _Card:
    """Writes the lines of a draw card in the reader's language."""

    def __init__(self, context: BotContext, update: Update, seen: draws.DrawView) -> None:
        self.context, self.update, self.seen = context, update, seen
        self.lines: list[str] = []
        self.rows: list[Row] = []

    def t(self, key: str, **params: Any) -> str:
        return self.context.t(self.update, key, **params)

    def add(self, key: str, **params: Any) -> None:
        self.lines.append(self.t(key, **params))


def requirement_label(context: BotContext, update: Update, requirement: _Requirement) -> str:
    """e.g. 医药临床类/医学 ·心血管、介入."""
    label = context.t(update, f"category.{requirement.category}")
    if requirement.subcategory:
        label += "/" + context.t(update, f"draw.subcategory.{requirement.subcategory}")
    if requirement.tags:
        label += " · " + "、".join(requirement.tags)
    return label


def _local(context: BotContext, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(context.services.settings.time_zone)).strftime("%Y-%m-%d %H:%M")


def _picks(card: _Card, result: DrawResult) -> None:
    """Principals and backups of each requirement in order, then the leader (000 §18(四))."""
    seen, info = card.seen, card.seen.info
    assert info is not None
    for requirement in info.requirements:
        picks = [p for p in result.picks if p.requirement_key == f"r{requirement.id}"]
        if not picks:
            continue
        card.add("draw.card.requirement", label=requirement_label(card.context, card.update, requirement))
        for pick in picks:
            card.add("draw.card.principal" if pick.role == Role.PRINCIPAL else "draw.card.backup",
                     order=pick.order, name=seen.names.get(pick.person_id, "?"), person_id=pick.person_id)
        _chance(card, result, f"r{requirement.id}")
    if result.fallback:
        card.add("draw.card.chance_fallback")
    activity = info.activity
    if activity.leader_id is not None:
        card.add("draw.card.leader", name=seen.names.get(activity.leader_id, "?"), person_id=activity.leader_id)
    elif result.needs_leader_choice:
        card.add("draw.card.choose_leader", activity_id=activity.id)


def _chance(card: _Card, result: DrawResult, key: str) -> None:
    """The chance each eligible expert had to be drawn as a principal of this requirement (v2, issue 18)."""
    chances = next((c for c in result.chances if c.requirement_key == key), None)
    if chances is None:
        return
    listed = chances.listed()
    parts = [card.t("draw.card.chance_at", count=n, percent=percent(chance),
                    employer=card.seen.employers.get(employer, f"#{employer}")) for employer, n, chance in listed]
    if chances.others():
        parts.insert(0, card.t("draw.card.chance_others" if listed else "draw.card.chance_all",
                               count=chances.others(), percent=percent(chances.level)))
    card.add("draw.card.chance", parts=card.t("draw.card.chance_separator").join(parts))


def _shortfalls(card: _Card, result: DrawResult) -> None:
    """Each short requirement by its line and category, with why candidates fell away in words (the draw's
    exclusions, and experts no longer in the pool), and the relaxations on offer (001 §11(二); issue 13)."""
    info = card.seen.info
    assert info is not None
    by_position = {r.position: r for r in info.requirements}
    card.add("draw.card.short_header")
    for shortfall in card.seen.shortfalls:
        requirement = by_position.get(shortfall.position)
        if requirement is None or requirement.id is None:
            continue
        reasons = "、".join(card.t("draw.card.reason", reason_key=f"draw.reason.{code}", count=count)
                           for code, count in shortfall.reasons)
        card.add("draw.card.shortfall", label=requirement_label(card.context, card.update, requirement),
                 position=shortfall.position, needed=shortfall.needed, short=shortfall.short,
                 matched=shortfall.matched, reasons=reasons or card.t("draw.card.no_reason"))
        row = [Button(f"draw.relax.{what}", RelaxRequirement(requirement.id, what), {"position": requirement.position})
               for what in activities.offered_relaxations(requirement)]
        if row:
            card.rows.append(row)
    card.rows.append([Button("draw.relax.again", DrawAgain(info.activity.id or 0))])


def render(context: BotContext, update: Update, seen: draws.DrawView) -> tuple[str, InlineKeyboardMarkup | None]:
    """The result card of a draw (principals and backups in order, leader, who and when, how to verify), or the
    shortfall explanation with the relaxations on offer."""
    record, info = seen.record, seen.info
    assert info is not None and record.id is not None
    card, activity = _Card(context, update, seen), info.activity
    card.add("draw.card.header", draw_id=record.id, activity_id=activity.id, title=activity.title,
             kind_key=f"draw.kind.{activity.kind}", start=_local(context, activity.starts_at),
             end=_local(context, activity.ends_at))
    (_picks if seen.result.ok else _shortfalls)(card, seen.result)
    if seen.lenders:
        card.add("draw.card.lent", units="、".join(seen.lenders))
    card.add("draw.card.footer", operator=seen.operator, approver=seen.approver or card.t("draw.card.no_approver"),
             at=_local(context, record.drawn_at), version=record.algorithm_version, seed=record.seed[:16],
             snapshot=record.snapshot_hash[:16], draw_id=record.id)
    markup = keyboard(context.language_for(update), card.rows) if card.rows else None
    return "\n".join(card.lines), markup


async def _send_outcome(context: BotContext, update: Update, chat_id: int, outcome: draws.DrawOutcome) -> None:
    """A filed request (pending approval), or the result card of the draw it ran at once."""
    assert context.actor is not None
    if outcome.record is None or outcome.record.id is None:
        await context.bot.send_message(chat_id, context.t(update, "draw.filed", request_id=outcome.request.id,
                                                          activity_id=outcome.request.activity_id))
        return
    await _send_card(context, update, chat_id, outcome.record.id)


async def _send_card(context: BotContext, update: Update, chat_id: int, draw_id: int) -> None:
    assert context.actor is not None
    async with context.services.uow(readonly=True) as uow:
        seen = await draws.get_draw(uow, actor=context.actor, draw_id=draw_id)
    text, markup = render(context, update, seen)
    await context.bot.send_message(chat_id, text, reply_markup=markup)


@serves(STAFF, private_only=True)
async def file_draw(update: Update, context: BotContext) -> None:
    """/draw <activity id>: file the draw request (000 §17); another admin approves it."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    activity_id = parse_id(args[0]) if len(args) == 1 else None
    if activity_id is None:
        await message.reply_text(context.t(update, "draw.usage"))
        return
    async with context.services.uow() as uow:
        outcome = await draws.file_request(uow, actor=actor, activity_id=activity_id)
    await _send_outcome(context, update, message.chat_id, outcome)


def _top_up_args(args: list[str]) -> tuple[int, int, int, int] | None:
    """``<activity id> <line no.> <principals> [backups]``, or None."""
    if len(args) not in (3, 4):
        return None
    activity_id, numbers = parse_id(args[0]), [parse_index(a) for a in args[1:]]
    if activity_id is None or any(n is None for n in numbers):
        return None
    position, principals, *backups = (n or 0 for n in numbers)
    return activity_id, position, principals, backups[0] if backups else 0


@serves(STAFF, private_only=True)
async def topup(update: Update, context: BotContext) -> None:
    """/topup <activity id> <line no.> <principals> [backups]: file a top-up draw (001 §11(二))."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    parsed = _top_up_args(context.args or [])
    if parsed is None:
        await message.reply_text(context.t(update, "draw.topup_usage"))
        return
    activity_id, position, principals, backups = parsed
    async with context.services.uow() as uow:
        outcome = await draws.file_top_up(uow, actor=actor, activity_id=activity_id, position=position,
                                          principals=principals, backups=backups)
    await _send_outcome(context, update, message.chat_id, outcome)


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
    language = context.language_for(update)
    for request, activity in found[:10]:
        assert request.id is not None
        await message.reply_text(context.t(update, "draw.request_line", request_id=request.id,
                                           activity_id=activity.id, title=activity.title,
                                           kind_key=f"draw.request_kind.{request.kind}"),
                                 reply_markup=keyboard(language, draws.decision_buttons(request.id)))


@serves(STAFF, private_only=True)
async def roster(update: Update, context: BotContext) -> None:
    """/roster <activity id>: the latest draw of the activity (result card or shortfall)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    activity_id = parse_id(args[0]) if len(args) == 1 else None
    if activity_id is None:
        await message.reply_text(context.t(update, "draw.roster_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        seen = await draws.latest_draw_view(uow, actor=actor, activity_id=activity_id)
    if seen is None:
        await message.reply_text(context.t(update, "draw.not_drawn", activity_id=activity_id))
        return
    text, markup = render(context, update, seen)
    await message.reply_text(text, reply_markup=markup)


# --- buttons (in a private chat or the unit's group) ------------------------------------------------------


@buttons.on(ApproveDrawRequest, audience=STAFF)
async def on_approve(press: Press, action: ApproveDrawRequest) -> None:
    """Approve a pending request (four-eyes) and run the draw."""
    async with press.context.services.uow() as uow:
        outcome = await draws.approve(uow, actor=press.actor, request_id=action.request_id, shown_in=press.shown_in,
                                      language=press.language)
    await press.answer("draw.approved_answer", request_id=action.request_id,
                       status_key=f"draw.status.{outcome.request.status}")


@buttons.on(RejectDrawRequest, audience=STAFF)
async def on_reject(press: Press, action: RejectDrawRequest) -> None:
    """Reject (or withdraw one's own) pending request."""
    async with press.context.services.uow() as uow:
        request = await draws.reject(uow, actor=press.actor, request_id=action.request_id, shown_in=press.shown_in,
                                     language=press.language)
    await press.answer("draw.rejected_answer", request_id=action.request_id,
                       status_key=f"draw.status.{request.status}")


@buttons.on(ShowDraw, audience=STAFF)
async def on_show(press: Press, action: ShowDraw) -> None:
    """The result card (or the shortfall) of a draw, as a new message."""
    async with press.context.services.uow(readonly=True) as uow:
        seen = await draws.get_draw(uow, actor=press.actor, draw_id=action.draw_id)
    text, markup = render(press.context, press.update, seen)
    await press.answer()
    if press.message is not None:
        await press.context.bot.send_message(press.message.chat_id, text, reply_markup=markup)


@buttons.on(RelaxRequirement, audience=STAFF)
async def on_relax(press: Press, action: RelaxRequirement) -> None:
    """Relax one requirement after a shortfall (001 §11(二))."""
    async with press.context.services.uow() as uow:
        relaxed = await activities.relax_requirement(uow, actor=press.actor, requirement_id=action.requirement_id,
                                                     what=action.what)
    await press.answer("draw.relaxed", alert=True, position=relaxed.position, activity_id=relaxed.activity_id)


@buttons.on(FileTopUp, audience=STAFF)
async def on_top_up(press: Press, action: FileTopUp) -> None:
    """One more principal for a requirement whose backups ran out."""
    async with press.context.services.uow() as uow:
        outcome = await draws.file_request(uow, actor=press.actor, activity_id=action.activity_id,
                                           places={action.requirement_id: (1, 0)})
    await press.answer()
    if press.message is not None:
        await press.context.bot.send_message(press.message.chat_id, press.t(
            "draw.filed", request_id=outcome.request.id, activity_id=action.activity_id))


@buttons.on(DrawAgain, audience=STAFF)
async def on_draw_again(press: Press, action: DrawAgain) -> None:
    """File the activity's draw again (after relaxing): the request, or the result card at once."""
    async with press.context.services.uow() as uow:
        outcome = await draws.file_request(uow, actor=press.actor, activity_id=action.activity_id)
    await press.answer()
    if press.message is not None:
        await _send_outcome(press.context, press.update, press.message.chat_id, outcome)


# --- staff commands ------------------------------------------------------------------------------------


def _ids(args: list[str], count: int) -> list[int] | None:
    """The first ``count`` arguments as record ids, or None."""
    ids = [parse_id(a) for a in args[:count]] if len(args) >= count else []
    return [i for i in ids if i is not None] if len(ids) == count and None not in ids else None


@serves(STAFF, private_only=True)
async def recuse(update: Update, context: BotContext) -> None:
    """/recuse <activity id> <expert id> <reason>: require an expert's recusal (000 §15, 001 §17)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    ids = _ids(args, 2) if len(args) >= 3 else None
    if ids is None:
        await message.reply_text(context.t(update, "draw.recuse_usage"))
        return
    async with context.services.uow() as uow:
        await activities.require_recusal(uow, actor=actor, activity_id=ids[0], expert_id=ids[1],
                                         reason=" ".join(args[2:]))
    await message.reply_text(context.t(update, "draw.recusal_recorded", expert_id=ids[1], activity_id=ids[0]))


@serves(STAFF, private_only=True)
async def leader(update: Update, context: BotContext) -> None:
    """/leader <activity id> <expert id>: name the leader among several chief experts (000 §18(四))."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    ids = _ids(args, 2) if len(args) == 2 else None
    if ids is None:
        await message.reply_text(context.t(update, "draw.leader_usage"))
        return
    async with context.services.uow() as uow:
        await draws.choose_leader(uow, actor=actor, activity_id=ids[0], person_id=ids[1])
    await message.reply_text(context.t(update, "draw.leader_named", activity_id=ids[0], person_id=ids[1]))


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
    """The draw commands (group 0, before the fallbacks; the buttons register with :mod:`bot.buttons`)."""
    application.add_handler(CommandHandler("draw", file_draw))
    application.add_handler(CommandHandler("topup", topup))
    application.add_handler(CommandHandler("requests", pending))
    application.add_handler(CommandHandler("roster", roster))
    application.add_handler(CommandHandler("recuse", recuse))
    application.add_handler(CommandHandler("leader", leader))
    application.add_handler(CommandHandler("drawapproval", approval))
