"""Expert-pool commands: an expert's /profile, /change and /leave; staff's /experts, /expert and
/changes (with approve / reject buttons, edited in place once decided)."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import buttons
from bot.arguments import NOTE_CHARS, SEARCH_CHARS, VALUE_CHARS, Arguments, echo
from bot.auth import EXPERT, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard as buttons_keyboard
from services.platform.notify import Button
from services.pool import expert_changes, experts, lifecycle
from services.pool.actions import DecideChange, ExpertsPage, Verdict, pack_words, unpack_words
from services.pool.experts import ExpertCard, SearchPage

CHANGES_SHOWN = 20  # one message each, with its buttons; the rest after these are decided


def _join(context: BotContext, update: Update, values: list[str], prefix: str = "") -> str:
    if not values:
        return context.t(update, "pool.none")
    return "、".join(context.t(update, f"{prefix}{v}") if prefix else v for v in values)


def _gender(context: BotContext, update: Update, gender: str) -> str:
    return context.t(update, f"pool.gender.{gender}") if gender in ("male", "female") else "-"


def _card_params(context: BotContext, update: Update, card: ExpertCard) -> dict[str, Any]:
    term = f"{card.term_start} ~ {card.term_end}" if card.term_start else "-"
    leave = [f"{start} ~ {end}" for start, end, _ in card.leave]
    return {
        "name": card.name, "person_id": card.person_id, "state_key": f"lifecycle.state.{card.state}",
        "id_number": card.id_number or "-", "mobile": card.mobile or "-", "email": card.email or "-",
        "employer": card.employer or "-", "title": card.title or "-",
        "categories": _join(context, update, card.categories, "category."),
        "specialty": card.specialty or "-", "term": term, "leave": _join(context, update, leave),
        "pending": card.pending_changes, "gender": _gender(context, update, card.gender),
        "birth_date": card.birth_date or (context.t(update, "pool.birth_year", year=card.birth_year)
                                          if card.birth_year else "-"),
        "chief": "✓" if card.is_chief else "-",
        "previous": _join(context, update, [
            f"{start or '-'} ~ {ended or '-'} {context.t(update, f'lifecycle.state.{state}')}"
            for start, ended, state in card.previous]),
        "extension": context.t(update, "pool.extension.granted", until=card.extended_until) if card.extended_until
        else context.t(update, "pool.extension.pending") if card.extension_requested else "-",
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
    args = Arguments(context.args, "pool.change_usage")
    args.expect(2)
    field_name, value = args.values[0].lower(), args.text(1, VALUE_CHARS)
    async with context.services.uow() as uow:
        request = await expert_changes.request_change(uow, actor=actor, field_name=field_name, value=value)
    await message.reply_text(context.t(update, "pool.change_submitted", field_key=f"pool.field.{request.field}"))


@serves(EXPERT, private_only=True)
async def leave(update: Update, context: BotContext) -> None:
    """/leave <start> <end> [reason]: not to be drawn over that period."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    args = Arguments(context.args, "pool.leave_usage")
    args.expect(2)
    start, end, reason = args.day(0), args.day(1), args.text(2, NOTE_CHARS)
    async with context.services.uow() as uow:
        await lifecycle.add_period(uow, actor=actor, expert_id=actor.person_id, kind="leave", start=start, end=end,
                                   reason=reason)
    await message.reply_text(context.t(update, "pool.leave_recorded", start=start, end=end))


def _page_text(context: BotContext, update: Update, words: str, found: SearchPage) -> str:
    if not found.total:
        return context.t(update, "pool.search_empty_for" if words else "pool.search_empty", words=echo(words))
    lines = [context.t(update, "pool.search_header", count=found.total, page=found.page + 1, pages=found.pages)]
    lines += [context.t(update, "pool.search_line", person_id=item.person_id, name=item.name,
                        state_key=f"lifecycle.state.{item.state}",
                        categories=_join(context, update, item.categories, "category."),
                        employer=item.employer or "-") for item in found.items]
    if found.pages > 1 and pack_words(words) is None:
        lines.append(context.t(update, "pool.search_narrow"))
    return "\n".join(lines)


def _page_buttons(words: str, found: SearchPage) -> list[list[Button]] | None:
    token = pack_words(words)
    if token is None:
        return None
    row = ([Button("pool.page_previous", ExpertsPage(found.page - 1, token))] if found.page > 0 else []) + (
        [Button("pool.page_next", ExpertsPage(found.page + 1, token))] if found.page + 1 < found.pages else [])
    return [row] if row else None


@serves(STAFF, private_only=True)
async def search(update: Update, context: BotContext) -> None:
    """/experts [words]: experts of the caller's org units matching every word, a page at a time."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    words = Arguments(context.args, "pool.experts_usage").text(0, SEARCH_CHARS)
    async with context.services.uow(readonly=True) as uow:
        found = await experts.search_page(uow, actor=actor, text=words)
    rows = _page_buttons(words, found)
    await message.reply_text(_page_text(context, update, words, found),
                             reply_markup=buttons_keyboard(context.language_for(update), rows) if rows else None)


@buttons.on(ExpertsPage, audience=STAFF)
async def page_pressed(press: Press, action: ExpertsPage) -> None:
    """Next or previous page of a search: the message is redrawn in place."""
    words = unpack_words(action.words)
    if words is None:
        await press.answer("error.invalid_input")
        return
    async with press.context.services.uow(readonly=True) as uow:
        found = await experts.search_page(uow, actor=press.actor, text=words, page=action.page)
    await press.edit_text(_page_text(press.context, press.update, words, found), _page_buttons(words, found))
    await press.answer()


@serves(STAFF, private_only=True)
async def show(update: Update, context: BotContext) -> None:
    """/expert <id>: the card, with the admission conditions checked today."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "pool.expert_usage")
    args.expect(1, 1)
    expert_id = args.record_id(0)
    async with context.services.uow(readonly=True) as uow:
        card = await experts.card(uow, actor=actor, expert_id=expert_id)
    params = _card_params(context, update, card)
    await message.reply_text(context.t(update, "pool.card", **params, eligibility=_eligibility(context, update, card)))


def _eligibility(context: BotContext, update: Update, card: ExpertCard) -> str:
    verdict = card.eligibility
    if verdict is None:
        return "-"
    lines = [context.t(update, "pool.eligible" if verdict.eligible else "pool.not_eligible")]
    lines += [context.t(update, "pool.reason.line", code_key=f"pool.code.{r.code}", article=r.article)
              for r in verdict.reasons]
    return "\n".join(lines)


@serves(STAFF, private_only=True)
async def changes(update: Update, context: BotContext) -> None:
    """/changes: pending profile changes, each with approve / reject buttons."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        pending = await expert_changes.pending_changes(uow, actor=actor)
    if not pending:
        await message.reply_text(context.t(update, "pool.changes_empty"))
        return
    for item in pending[:CHANGES_SHOWN]:
        keyboard = buttons_keyboard(context.language_for(update), [[
            Button("pool.action.approve", DecideChange(item.request_id, Verdict.APPROVE)),
            Button("pool.action.reject", DecideChange(item.request_id, Verdict.REJECT))]])
        await message.reply_text(context.t(
            update, "pool.change_item", request_id=item.request_id, name=item.name, person_id=item.expert_id,
            field_key=f"pool.field.{item.field}", old=item.old, new=item.new,
        ), reply_markup=keyboard)
    if len(pending) > CHANGES_SHOWN:
        await message.reply_text(context.t(update, "pool.changes_more", total=len(pending), shown=CHANGES_SHOWN))


@buttons.on(DecideChange, audience=STAFF)
async def change_pressed(press: Press, action: DecideChange) -> None:
    """Approve or reject a change request; the buttons give way to the decision."""
    async with press.context.services.uow() as uow:
        decided = await expert_changes.decide_change(uow, actor=press.actor, request_id=action.request_id,
                                              approve=action.verdict is Verdict.APPROVE,
                                              shown_in=press.shown_in, language=press.language)
    await press.answer("pool.change_decided", request_id=decided.id, decision_key=f"pool.decision.{decided.status}")
