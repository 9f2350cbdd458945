"""The work record dialog (``/workrecord``) on the router: typed answers, its buttons, and each question.

The steps and their rules are :mod:`services.records.work_record_dialog`; this module renders each question with
its buttons (stamped with the dialog's ``token``/``seq``, :mod:`services.records.actions`). A stale press, or one
the step does not take, is answered ``button.stale``.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import buttons, dialogs, questions
from bot.auth import STAFF
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import Row, keyboard
from services.platform.dialogs import DialogState
from services.platform.notify import Button
from services.records import work_record_dialog
from services.records.actions import ChooseAnswer, EditExpert, EditGroup, KeepAnswer, SubmitRecord, WorkRecordButton
from services.records.work_record_dialog import CHOICES, EXPERT_STEPS, GROUP_STEPS, REVIEW, TEXT_STEPS, Turn


def _value(update: Update, context: BotContext, field: str, value: Any) -> str:
    if value in (None, ""):
        return context.t(update, "workrecord.unset")
    if field in CHOICES:
        return context.t(update, f"workrecord.{field}.{value}")
    return str(value)


def _optional(update: Update, context: BotContext, entry: dict[str, Any]) -> dict[str, str]:
    """The optional answers as the summary shows them: every required answer is in by then, so an empty credit
    opinion is the "none" pressed, and a discipline note only follows a breach."""
    note = entry.get("discipline_note") or ""
    return {"discipline_note": context.t(update, "workrecord.note", note=note) if note else "",
            "credit_opinion": entry.get("credit_opinion") or context.t(update, "workrecord.button.none")}


def _buttons(turn: Turn, current: Any) -> list[Row]:
    step, token, seq = turn.step, turn.token, turn.seq
    rows: list[Row] = []
    if step in CHOICES:
        rows = [[Button(f"workrecord.{step}.{option}", ChooseAnswer(token, seq, option))] for option in CHOICES[step]]
    elif step == "credit_opinion":
        rows = [[Button("workrecord.button.none", ChooseAnswer(token, seq, ""))]]
    if current not in (None, "") and step in TEXT_STEPS:
        rows.append([Button("workrecord.button.keep", KeepAnswer(token, seq))])
    return rows


def _question(update: Update, context: BotContext, turn: Turn) -> tuple[str, list[Row]]:
    t, data, step = context.t, turn.data, turn.step
    if step == REVIEW:
        return _summary(update, context, turn)
    head = t(update, "workrecord.head", activity_id=data["activity_id"], title=data["title"])
    if step in GROUP_STEPS:
        current = data.get(step)
        body = t(update, f"workrecord.ask.{step}", current=_value(update, context, step, current))
    else:
        index = int(data["index"])
        entry = data["entries"][index]
        current = entry.get(step)
        body = t(update, "workrecord.expert", index=index + 1, total=len(data["entries"]), name=entry["name"]) + \
            "\n" + t(update, f"workrecord.ask.{step}", current=_value(update, context, step, current))
    return f"{head}\n{body}", _buttons(turn, current)


def _summary(update: Update, context: BotContext, turn: Turn) -> tuple[str, list[Row]]:
    t, data, token, seq = context.t, turn.data, turn.token, turn.seq
    lines = [t(update, "workrecord.head", activity_id=data["activity_id"], title=data["title"]),
             t(update, "workrecord.review")]
    rows: list[Row] = []
    for index, entry in enumerate(data["entries"]):
        lines.append(t(update, "workrecord.summary_line", index=index + 1, name=entry["name"],
                       **({f: _value(update, context, f, entry.get(f)) for f in EXPERT_STEPS}
                          | _optional(update, context, entry))))
        rows.append([Button("workrecord.button.edit", EditExpert(token, seq, index), {"name": entry["name"]})])
    lines.append(t(update, "workrecord.summary_group",
                   final_opinion=_value(update, context, "final_opinion", data.get("final_opinion")),
                   decision=_value(update, context, "decision", data.get("decision"))))
    rows.append([Button("workrecord.button.edit_group", EditGroup(token, seq))])
    rows.append([Button("workrecord.button.submit", SubmitRecord(token, seq))])
    return "\n".join(lines), rows


async def show(update: Update, context: BotContext, turn: Turn) -> None:
    """Ask the turn's question."""
    chat = update.effective_chat
    assert chat is not None
    text, rows = _question(update, context, turn)
    markup = keyboard(context.language_for(update), rows) if rows else None
    await questions.ask(context, chat.id, text, markup)


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """A typed answer (staff only: the flow's audience); at a step of buttons, a reminder to use them."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and message is not None
    async with context.services.uow() as uow:
        turn = await work_record_dialog.answer(uow, actor=actor, text=message.text or "")
    if isinstance(turn, work_record_dialog.UseButtons):
        await message.reply_text(context.t(update, "workrecord.use_buttons"))
    elif turn is not None:
        await show(update, context, turn)


async def on_press(press: Press, action: WorkRecordButton) -> None:
    """A choice, keep, edit an expert or the group, submit."""
    async with press.context.services.uow() as uow:
        result = await work_record_dialog.press(uow, actor=press.actor, action=action)
    if result is None:
        await press.answer("button.stale", alert=True)
        return
    await press.answer()
    if isinstance(result, work_record_dialog.Submitted):
        await press.reply("workrecord.done", activity_id=result.activity_id)
    else:
        await show(press.update, press.context, result)


for _action in (ChooseAnswer, KeepAnswer, EditExpert, EditGroup, SubmitRecord):
    buttons.on(_action, audience=STAFF, private_only=True)(on_press)

# /cancel in this flow keeps the words it always had (the dialog's own answers are dropped).
FLOW = dialogs.register(dialogs.Flow(name=work_record_dialog.FLOW, on_text=on_text,
                                     cancelled_key="newact.cancelled_other", audience=STAFF))
