"""The new-activity dialog (``/newactivity``) on the router: typed answers, its buttons, and what the person sees.

The steps and their rules are :mod:`services.activities.new_activity`; this module only renders each turn (notes,
found institutions, the next question with its buttons) in the reader's language. Every button is stamped with the
dialog's ``token``/``seq`` (:mod:`services.activities.actions`); a stale press is answered ``newact.stale``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot import buttons, dialogs, questions
from bot.auth import STAFF
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import Row, keyboard
from services.activities import activities, new_activity, new_activity_steps
from services.activities.actions import (
    AddInstitution,
    ChooseCategory,
    ChooseCount,
    ChooseDoubleBlind,
    ChooseKind,
    ChooseSubcategory,
    EditSection,
    Move,
    NewActivityButton,
    NewActivityMove,
)
from services.activities.activities import MAX_BACKUPS, MAX_COUNT, MAX_TAGS, ActivityCard
from services.activities.draw_rules import ActivityKind
from services.activities.new_activity_steps import (
    ANY_SUBCATEGORY,
    BACKUP_CHOICES,
    PRINCIPAL_CHOICES,
    TIME_STEPS,
    Created,
    Step,
    Turn,
)
from services.platform import dialogs as dialog_rows
from services.platform.dialogs import DialogState
from services.platform.notify import Button
from services.pool.eligibility import Category, ClinicalSubcategory

Translate = Callable[..., str]


# ---- what the person sees ---------------------------------------------------------------------------------


def composition(lines: Sequence[Mapping[str, Any]], t: Translate) -> str:
    """The composition, one line per requirement (or "none")."""
    return "\n".join(_line_text(n, line, t) for n, line in enumerate(lines, start=1)) or t("newact.none")


def _line_text(n: int, line: Mapping[str, Any], t: Translate) -> str:
    detail = ""
    if line.get("subcategory"):
        detail += t("newact.line_sub", name_key=f"newact.sub.{line['subcategory']}")
    if line.get("tags"):
        detail += t("newact.line_tags", tags="、".join(line["tags"]))
    return t("newact.line", n=n, category_key=f"category.{line['category']}", detail=detail,
             count=line.get("count", 0), backups=line.get("backups", 0))


def _even(waived: bool, reason: str | None, t: Translate) -> str:
    return t("newact.even.waived", reason=reason or "") if waived else t("newact.even.strict")


def _local(data: dict[str, Any], name: str, zone: ZoneInfo) -> str:
    moment = new_activity_steps.moment_of(data, name)
    return "-" if moment is None else dialog_rows.format_local(moment, zone)


def _summary(data: dict[str, Any], t: Translate, zone: ZoneInfo) -> str:
    return t("newact.summary", kind_key=f"newact.kind.{data.get('kind')}", title=data.get("title", ""),
             org=data.get("org_label", ""), starts=_local(data, "starts", zone), ends=_local(data, "ends", zone),
             deadline=_local(data, "deadline", zone), zone=str(zone),
             institutions="、".join(str(row[1]) for row in data.get("institutions") or []) or t("newact.none"),
             place=data.get("place") or t("newact.none"), composition=composition(data.get("lines") or [], t),
             total=new_activity_steps.total_principals(data),
             double_blind_key="newact.yes" if data.get("double_blind") else "newact.no",
             even=_even(bool(data.get("waive")), data.get("waive_reason"), t))


def card(shown: ActivityCard, t: Translate, zone: ZoneInfo) -> str:
    """The activity card: times in the bureau's time zone, composition, waiver and its reason (000 §18(一))."""
    lines = [{"category": r.category, "subcategory": r.subcategory, "tags": r.tags, "count": r.count,
              "backups": r.backups} for r in shown.lines]
    return t("newact.card", id=shown.id, kind_key=f"newact.kind.{shown.kind}", title=shown.title,
             organizer=shown.organizer, place=shown.place or t("newact.none"),
             starts=dialog_rows.format_local(shown.starts_at, zone), ends=dialog_rows.format_local(shown.ends_at, zone),
             deadline=dialog_rows.format_local(shown.response_deadline, zone), zone=str(zone),
             institutions="、".join(shown.institutions) or t("newact.none"),
             composition=composition(lines, t), total=shown.principals,
             double_blind_key="newact.yes" if shown.double_blind else "newact.no",
             even=_even(shown.allow_even_group, shown.even_group_reason, t),
             status_key=f"newact.status.{shown.status}")


def _pairs(items: Sequence[Button], size: int) -> list[Row]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _choices(turn: Turn, params: dict[str, Any]) -> list[Row]:
    """The buttons of the current question (without back/cancel)."""
    token, seq, step, data = turn.token, turn.seq, turn.step, turn.data

    def move(key: str, value: Move, **label: Any) -> Button:
        return Button(key, NewActivityMove(token, seq, value), label)

    if step == Step.KIND:
        return [[Button(f"newact.kind.{kind}", ChooseKind(token, seq, kind))] for kind in ActivityKind]
    if step == Step.ORG:
        params["unit"] = data.get("org_label", "")
        return [[move("newact.button.my_unit", Move.MY_UNIT, unit=data.get("own_label", ""))]]
    if step == Step.INSTITUTIONS:
        return [[move("newact.button.done", Move.DONE)]
                + ([move("newact.button.clear", Move.CLEAR)] if data.get("institutions") else [])]
    if step in (Step.PLACE, Step.TAGS):
        params["max"] = MAX_TAGS
        return [[move("newact.button.skip", Move.SKIP)]]
    if step == Step.DOUBLE_BLIND:
        return [[Button("newact.yes", ChooseDoubleBlind(token, seq, True)),
                 Button("newact.no", ChooseDoubleBlind(token, seq, False))]]
    if step == Step.SUMMARY:
        edits = [Button(f"newact.button.edit_{s.value}", EditSection(token, seq, s))
                 for s in new_activity_steps.editable_sections(data)]
        return [[move("newact.button.confirm", Move.CONFIRM)], *_pairs(edits, 4)]
    return _composition_choices(turn, params)


def _composition_choices(turn: Turn, params: dict[str, Any]) -> list[Row]:
    """The buttons of the composition's questions (a line's category, sub-category, counts; more lines; the group
    size)."""
    token, seq, step, data = turn.token, turn.seq, turn.step, turn.data

    def move(key: str, value: Move) -> Button:
        return Button(key, NewActivityMove(token, seq, value))

    if step == Step.CATEGORY:
        params["n"] = len(data.get("lines") or []) + 1
        return _pairs([Button(f"category.{c}", ChooseCategory(token, seq, c)) for c in Category], 2)
    if step == Step.SUBCATEGORY:
        subs = [*ClinicalSubcategory, ANY_SUBCATEGORY]
        return _pairs([Button(f"newact.sub.{s}", ChooseSubcategory(token, seq, str(s))) for s in subs], 3)
    if step in (Step.PRINCIPALS, Step.BACKUPS):
        params["max"] = MAX_COUNT if step == Step.PRINCIPALS else MAX_BACKUPS
        counts = PRINCIPAL_CHOICES if step == Step.PRINCIPALS else BACKUP_CHOICES
        return [[Button("newact.button.count", ChooseCount(token, seq, n), {"n": n}) for n in counts]]
    if step == Step.MORE:
        return [[move("newact.button.more", Move.MORE), move("newact.button.finish", Move.DONE)]]
    if step == Step.GROUP:
        params["total"] = new_activity_steps.total_principals(data)
        rows: list[Row] = [[move("newact.button.change", Move.CHANGE)]]
        return [*rows, [move("newact.button.waive", Move.WAIVE)]] if params["total"] > 0 else rows
    return []


def _question(turn: Turn, t: Translate) -> tuple[str, list[Row]]:
    """The question of the turn's step and its buttons."""
    params: dict[str, Any] = {}
    if turn.step in TIME_STEPS:
        params["zone"] = str(turn.zone)
        params["example"] = dialog_rows.format_local(turn.example, turn.zone) if turn.example else ""
    if turn.step == Step.INSTITUTIONS:
        params["chosen"] = "、".join(str(row[1]) for row in turn.data.get("institutions") or []) or t("newact.none")
    if turn.step == Step.MORE:
        params.update(lines=composition(turn.data.get("lines") or [], t),
                      total=new_activity_steps.total_principals(turn.data))
    rows = _choices(turn, params)
    cancel = Button("newact.button.cancel", NewActivityMove(turn.token, turn.seq, Move.CANCEL))
    nav = [cancel] if turn.step == Step.KIND else [
        Button("newact.button.back", NewActivityMove(turn.token, turn.seq, Move.BACK)), cancel]
    if turn.step == Step.SUMMARY:
        return _summary(turn.data, t, turn.zone), [*rows, nav]
    if turn.step == Step.GROUP and params["total"] <= 0:
        return t("newact.ask.group_zero"), [*rows, nav]
    return t(f"newact.ask.{turn.step.value}", **params), [*rows, nav]


async def show(update: Update, context: BotContext, turn: Turn) -> None:
    """Send the turn: its notes, the found institutions with their buttons, then the next question."""
    chat = update.effective_chat
    assert chat is not None
    language = context.language_for(update)

    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)

    for note in turn.notes:
        await context.bot.send_message(chat.id, t(note.key, **note.params))
    if turn.matches:  # the matches and the question's own buttons in one message: one live keyboard
        rows: list[Row] = [[Button("newact.button.add", AddInstitution(turn.token, turn.seq, m.institution_id),
                                   {"name": m.name[:40]})] for m in turn.matches]
        rows.append([Button("newact.button.done", NewActivityMove(turn.token, turn.seq, Move.DONE))])
        text = t("newact.matches", count=len(turn.matches))
        if turn.ask:
            question, more = _question(turn, t)
            text, rows = f"{text}\n\n{question}", [*rows, *more]
        await questions.ask(context, chat.id, text, keyboard(language, rows))
    elif turn.ask:
        text, rows = _question(turn, t)
        await questions.ask(context, chat.id, text, keyboard(language, rows))


# ---- typed answers and buttons ----------------------------------------------------------------------------


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """A typed answer to the current question (staff only: the flow's audience)."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and message is not None
    async with context.services.uow() as uow:
        turn = await new_activity.answer(uow, actor=actor, text=message.text or "")
    if turn is not None:
        await show(update, context, turn)


async def _stale(press: Press) -> None:
    await press.answer("newact.stale", alert=True)


async def on_press(press: Press, action: NewActivityButton) -> None:
    """A button of the current step: the next turn, or stale."""
    async with press.context.services.uow() as uow:
        turn = await new_activity.press(uow, actor=press.actor, action=action)
    if turn is None:
        await _stale(press)
        return
    await press.answer()
    if turn.moved:
        await press.edit_buttons(None)
    await show(press.update, press.context, turn)


for _action in (ChooseKind, AddInstitution, ChooseCategory, ChooseSubcategory, ChooseCount, EditSection,
                ChooseDoubleBlind):
    buttons.on(_action, audience=STAFF, private_only=True)(on_press)


@buttons.on(NewActivityMove, audience=STAFF, private_only=True)
async def on_move(press: Press, action: NewActivityMove) -> None:
    """Back, done, skip...; cancel ends the dialog; confirm creates the activity."""
    if action.move == Move.CANCEL:
        await on_cancel_button(press, action)
    elif action.move == Move.CONFIRM:
        await on_confirm(press, action)
    else:
        await on_press(press, action)


async def on_cancel_button(press: Press, action: NewActivityMove) -> None:
    """The Cancel button: the dialog ends, its buttons go."""
    async with press.context.services.uow() as uow:
        cancelled = await new_activity.cancel(uow, actor=press.actor, token=action.token, seq=action.seq)
    if not cancelled:
        await _stale(press)
        return
    await press.answer()
    await press.edit_buttons(None)
    await press.reply("newact.cancelled")


async def on_confirm(press: Press, action: NewActivityMove) -> None:
    """Confirm the summary: the activity and its card; a refusal leads to the step to fix."""
    async with press.context.services.uow() as uow:
        result = await new_activity.confirm(uow, actor=press.actor, token=action.token, seq=action.seq)
        zone = uow.zone
    if result is None:
        await _stale(press)
        return
    await press.answer()
    if isinstance(result, Created):
        await press.edit_buttons(None)
        async with press.context.services.uow(readonly=True) as reader:
            shown = activities.card_of(await activities.view(reader, actor=press.actor,
                                                             activity_id=result.activity_id))
        await press.reply("newact.created", id=result.activity_id, card=card(shown, press.t, zone))
        return
    if result.refused is not None:
        await press.reply("newact.refused", reason=press.t(result.refused.key, **result.refused.params))
    await show(press.update, press.context, result)


FLOW = dialogs.register(dialogs.Flow(name=new_activity.FLOW, on_text=on_text, cancelled_key="newact.cancelled",
                                     audience=STAFF))
