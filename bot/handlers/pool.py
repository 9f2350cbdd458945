"""Expert-pool commands: an expert's /profile, /change and /leave; staff's /experts, /expert and
/changes (with approve / reject buttons, edited in place once decided)."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update

from bot import buttons
from bot.auth import EXPERT, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard as buttons_keyboard
from services.platform.errors import InvalidInput
from services.platform.notify import Button
from services.pool import experts, lifecycle
from services.pool.actions import DecideChange, Verdict
from services.pool.experts import ExpertCard


def parse_day(raw: str, field: str) -> date:
    """A date typed as 2026-04-01 (or 2026/04/01)."""
    try:
        return date.fromisoformat(raw.strip().replace("/", "-"))
    except ValueError:
        raise InvalidInput("dates look like 2026-04-01", field=field) from None


def _join(context: BotContext, update: Update, values: list[str], prefix: str = "") -> str:
    if not values:
        return context.t(update, "pool.none")
    return "、".join(context.t(update, f"{prefix}{v}") if prefix else v for v in values)


def _card_params(context: BotContext, update: Update, card: ExpertCard) -> dict[str, Any]:
    term = f"{card.term_start} ~ {card.term_end}" if card.term_start else "-"
    leave = [f"{start} ~ {end}" for start, end, _ in card.leave]
    return {
        "name": card.name, "person_id": card.person_id, "state_key": f"lifecycle.state.{card.state}",
        "id_number": card.id_number or "-", "mobile": card.mobile or "-", "email": card.email or "-",
        "employer": card.employer or "-", "title": card.title or "-",
        "categories": _join(context, update, card.categories, "category."),
        "specialty": card.specialty or "-", "term": term, "leave": _join(context, update, leave),
        "pending": card.pending_changes, "gender": card.gender or "-", "birth_date": card.birth_date or "-",
        "chief": "✓" if card.is_chief else "-",
    }


@serves(EXPERT, private_only=True)
async def profile(update: Update, context: BotContext) -> None:
    """/profile: the expert's own record, masked."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    async with context.services.uow(readonly=True) as uow:
        card = await experts.card(uow, actor=actor, expert_id=actor.person_id)
    await message.reply_text(context.t(update, "pool.profile", **_card_params(context, update, card)))


@serves(EXPERT, private_only=True)
async def change(update: Update, context: BotContext) -> None:
    """/change <field> <value>: ask staff to update the record (000 §13(五))."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(context.t(update, "pool.change_usage"))
        return
    async with context.services.uow() as uow:
        request = await experts.request_change(uow, actor=actor, field_name=args[0].lower(), value=" ".join(args[1:]))
    await message.reply_text(context.t(update, "pool.change_submitted", field_key=f"pool.field.{request.field}"))


@serves(EXPERT, private_only=True)
async def leave(update: Update, context: BotContext) -> None:
    """/leave <start> <end> [reason]: not to be drawn over that period."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(context.t(update, "pool.leave_usage"))
        return
    start, end = parse_day(args[0], "start"), parse_day(args[1], "end")
    async with context.services.uow() as uow:
        await lifecycle.add_period(uow, actor=actor, expert_id=actor.person_id, kind="leave", start=start, end=end,
                                   reason=" ".join(args[2:]))
    await message.reply_text(context.t(update, "pool.leave_recorded", start=start, end=end))


@serves(STAFF, private_only=True)
async def search(update: Update, context: BotContext) -> None:
    """/experts [words]: experts of the caller's org units matching every word."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        found = await experts.search_experts(uow, actor=actor, text=" ".join(context.args or []))
    if not found:
        await message.reply_text(context.t(update, "pool.search_empty"))
        return
    lines = [context.t(update, "pool.search_header", count=len(found))]
    for item in found:
        lines.append(context.t(
            update, "pool.search_line", person_id=item.person_id, name=item.name,
            state_key=f"lifecycle.state.{item.state}",
            categories=_join(context, update, item.categories, "category."), employer=item.employer or "-",
        ))
    await message.reply_text("\n".join(lines))


@serves(STAFF, private_only=True)
async def show(update: Update, context: BotContext) -> None:
    """/expert <id>: the card, with the admission conditions checked today."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1 or not args[0].isdigit():
        await message.reply_text(context.t(update, "pool.expert_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        card = await experts.card(uow, actor=actor, expert_id=int(args[0]))
    params = _card_params(context, update, card)
    verdict = card.eligibility
    if verdict is not None:
        lines = [context.t(update, "pool.eligible" if verdict.eligible else "pool.not_eligible")]
        lines += [context.t(update, "pool.reason.line", code_key=f"pool.code.{r.code}", article=r.article)
                  for r in verdict.reasons]
        params["eligibility"] = "\n".join(lines)
    else:
        params["eligibility"] = "-"
    await message.reply_text(context.t(update, "pool.card", **params))


@serves(STAFF, private_only=True)
async def changes(update: Update, context: BotContext) -> None:
    """/changes: pending profile changes, each with approve / reject buttons."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        pending = await experts.pending_changes(uow, actor=actor)
    if not pending:
        await message.reply_text(context.t(update, "pool.changes_empty"))
        return
    for request, name in pending[:20]:
        assert request.id is not None
        keyboard = buttons_keyboard(context.language_for(update), [[
            Button("pool.action.approve", DecideChange(request.id, Verdict.APPROVE)),
            Button("pool.action.reject", DecideChange(request.id, Verdict.REJECT))]])
        await message.reply_text(context.t(
            update, "pool.change_item", request_id=request.id, name=name, person_id=request.expert_id,
            field_key=f"pool.field.{request.field}", old=_value(request.old_value), new=_value(request.new_value),
        ), reply_markup=keyboard)


def _value(values: dict[str, Any]) -> str:
    shown = values.get("employer_name") or next(iter(values.values()), None)
    return str(shown) if shown not in (None, "") else "-"


@buttons.on(DecideChange, audience=STAFF)
async def change_pressed(press: Press, action: DecideChange) -> None:
    """Approve or reject a change request; the buttons give way to the decision."""
    async with press.context.services.uow() as uow:
        decided = await experts.decide_change(uow, actor=press.actor, request_id=action.request_id,
                                              approve=action.verdict is Verdict.APPROVE,
                                              shown_in=press.shown_in, language=press.language)
    await press.answer("pool.change_decided", request_id=decided.id, decision_key=f"pool.decision.{decided.status}")
