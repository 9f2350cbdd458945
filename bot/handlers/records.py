"""After the activity (000 §20, §25, §27; 001 §16, §22): the work record dialog, its export, the credit file and
the sanction proposals.

- ``/workrecord <activity id>`` (staff): a guided dialog (flow ``workrecord`` in the ``dialog`` table), one expert at
  a time — attendance (prefilled from the roster), performance, recusal statement, discipline (a breach asks for a
  note), credit opinion — then the group's final opinion and consensus or majority (001 §16), then a summary with
  every answer and buttons to correct any expert or the group before submitting
  (``services.records.work_records.submit``).
  Buttons carry ``wr:<token>:<seq>:<action>``; a press of an older step is stale. Typed answers arrive through a
  text handler in group -4 that acts only when the account's open dialog is of this flow.
- ``/workrecordexport <activity id>``: the annex-4 DOCX.
- ``/record`` (an expert: their own credit file), ``/record <expert id>`` (staff: an expert in their unit's line).
- ``/credit <expert id> <kind> <note>`` (staff record an event), ``/sanctions`` (open proposals), the
  ``sc:c:<id>`` button (confirm), ``/sanctiondismiss <id> <reason>``, ``/reprimandletter <id>`` (DOCX).
- ``/excellence <year>`` (the ranking proposal, 000 §20), ``/excellencepublish <year>``.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.auth import EXPERT, STAFF, serves
from bot.context import BotContext
from services.platform import dialogs
from services.records import credit, excellence, sanctions, work_records
from services.records.work_records import ATTENDANCE, DECISIONS, DISCIPLINE, PERFORMANCE, RECUSAL, EntryInput

FLOW = "workrecord"
PREFIX = "wr:"
TEXT_STEPS = ("discipline_note", "credit_opinion", "final_opinion")
CHOICES = {"attendance": ATTENDANCE, "performance": PERFORMANCE, "recusal": RECUSAL, "discipline": DISCIPLINE,
           "decision": DECISIONS}
EXPERT_STEPS = ("attendance", "performance", "recusal", "discipline", "discipline_note", "credit_opinion")
EXPERT_OR_STAFF = EXPERT | STAFF


def _number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


def _account(update: Update, context: BotContext) -> int | None:
    actor, chat = context.actor, update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or actor is None or actor.account_id is None:
        return None
    return actor.account_id if actor.has_any(STAFF) else None


# --- the dialog: what to ask ------------------------------------------------------------------------------------


def _value(context: BotContext, update: Update, field: str, value: Any) -> str:
    if value in (None, ""):
        return context.t(update, "workrecord.unset")
    if field in CHOICES:
        return context.t(update, f"workrecord.{field}.{value}")
    return str(value)


def _question(update: Update, context: BotContext, data: dict[str, Any], step: str, stamp: str
              ) -> tuple[str, InlineKeyboardMarkup | None]:
    t = context.t
    if step == "review":
        return _summary(update, context, data, stamp)
    head = t(update, "workrecord.head", activity_id=data["activity_id"], title=data["title"])
    if step in ("final_opinion", "decision"):
        field = step
        current = data.get(field)
        body = t(update, f"workrecord.ask.{field}", current=_value(context, update, field, current))
    else:
        index = int(data["index"])
        entry = data["entries"][index]
        current = entry.get(step)
        body = t(update, "workrecord.expert", index=index + 1, total=len(data["entries"]), name=entry["name"]) + \
            "\n" + t(update, f"workrecord.ask.{step}", current=_value(context, update, step, current))
    rows: list[list[InlineKeyboardButton]] = []
    if step in CHOICES:
        rows = [[InlineKeyboardButton(t(update, f"workrecord.{step}.{option}"),
                                      callback_data=f"{PREFIX}{stamp}:v:{option}")] for option in CHOICES[step]]
    elif step == "credit_opinion":
        rows = [[InlineKeyboardButton(t(update, "workrecord.button.none"), callback_data=f"{PREFIX}{stamp}:v:")]]
    if current not in (None, "") and step in TEXT_STEPS:
        rows.append([InlineKeyboardButton(t(update, "workrecord.button.keep"), callback_data=f"{PREFIX}{stamp}:k")])
    return f"{head}\n{body}", InlineKeyboardMarkup(rows) if rows else None


def _summary(update: Update, context: BotContext, data: dict[str, Any], stamp: str
             ) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    lines = [t(update, "workrecord.head", activity_id=data["activity_id"], title=data["title"]),
             t(update, "workrecord.review")]
    buttons: list[list[InlineKeyboardButton]] = []
    for index, entry in enumerate(data["entries"]):
        lines.append(t(update, "workrecord.summary_line", index=index + 1, name=entry["name"],
                       **{f: _value(context, update, f, entry.get(f)) for f in EXPERT_STEPS}))
        buttons.append([InlineKeyboardButton(t(update, "workrecord.button.edit", name=entry["name"]),
                                             callback_data=f"{PREFIX}{stamp}:e:{index}")])
    lines.append(t(update, "workrecord.summary_group",
                   final_opinion=_value(context, update, "final_opinion", data.get("final_opinion")),
                   decision=_value(context, update, "decision", data.get("decision"))))
    buttons.append([InlineKeyboardButton(t(update, "workrecord.button.edit_group"),
                                         callback_data=f"{PREFIX}{stamp}:g")])
    buttons.append([InlineKeyboardButton(t(update, "workrecord.button.submit"), callback_data=f"{PREFIX}{stamp}:s")])
    return "\n".join(lines), InlineKeyboardMarkup(buttons)


def _complete(data: dict[str, Any]) -> bool:
    return bool(data.get("final_opinion")) and data.get("decision") in DECISIONS and all(
        all(entry.get(f) for f in ("attendance", "performance", "recusal", "discipline")) for entry in data["entries"])


def _advance(data: dict[str, Any], step: str) -> str:
    """The step after ``step`` (an answer was just stored)."""
    if step == "final_opinion":
        return "decision"
    if step == "decision":
        return "review"
    entry = data["entries"][int(data["index"])]
    if step != "credit_opinion":
        following = EXPERT_STEPS[EXPERT_STEPS.index(step) + 1]
        if following == "discipline_note" and entry.get("discipline") != "breach":
            entry["discipline_note"] = ""
            following = "credit_opinion"
        return following
    if data.get("editing"):
        return "review" if _complete(data) else "final_opinion"
    if int(data["index"]) + 1 < len(data["entries"]):
        data["index"] = int(data["index"]) + 1
        return "attendance"
    return "final_opinion"


async def _show(update: Update, context: BotContext, data: dict[str, Any], step: str, stamp: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    text, markup = _question(update, context, data, step, stamp)
    await context.bot.send_message(chat.id, text, reply_markup=markup)


# --- the dialog: handlers ---------------------------------------------------------------------------------------


@serves(STAFF, private_only=True)
async def start_record(update: Update, context: BotContext) -> None:
    """/workrecord <activity id>: start (or restart) the work record dialog of an ended activity."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.account_id is not None
    args = context.args or []
    activity_id = _number(args[0]) if len(args) == 1 else None
    if activity_id is None:
        await message.reply_text(context.t(update, "workrecord.usage"))
        return
    async with context.services.uow() as uow:
        current = await work_records.record_of(uow, actor=actor, activity_id=activity_id)
        if current.record.status == "submitted":
            raise work_records.RecordSubmitted(str(activity_id), activity_id=activity_id)
        entries = [{"member_id": e.member_id, "name": name, "attendance": e.attendance, "performance": e.performance,
                    "recusal": e.recusal, "discipline": e.discipline, "discipline_note": e.discipline_note,
                    "credit_opinion": e.credit_opinion} for e, name in current.entries]
        data: dict[str, Any] = {"activity_id": activity_id, "title": current.info.activity.title, "index": 0,
                                "entries": entries, "final_opinion": current.record.final_opinion or "",
                                "decision": current.record.decision}
        dialog = await dialogs.start(uow, actor.account_id, flow=FLOW, step="attendance", data=data)
        stamp, data = dialogs.stamp(dialog), dict(dialog.data)
        await uow.commit()
    await _show(update, context, data, "attendance", stamp)


def _store(data: dict[str, Any], step: str, value: str) -> None:
    if step in ("final_opinion", "decision"):
        data[step] = value
    else:
        data["entries"][int(data["index"])][step] = value


async def dialog_text(update: Update, context: BotContext) -> None:
    """Typed answers (group -4) when the caller's open dialog is a work record at a text step."""
    account_id, message = _account(update, context), update.effective_message
    if account_id is None or message is None:
        return
    async with context.services.uow(readonly=True) as reader:
        dialog = await dialogs.get(reader, account_id, flow=FLOW)
        if dialog is None:
            return
    text = " ".join((message.text or "").split())
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, flow=FLOW)
        if dialog is None:
            return
        data, step = dict(dialog.data), dialog.step
        if step not in TEXT_STEPS or not text:
            await message.reply_text(context.t(update, "workrecord.use_buttons"))
            raise ApplicationHandlerStop
        _store(data, step, text[:1000])
        following = _advance(data, step)
        await dialogs.save(uow, dialog, step=following, data=data)
        stamp, data = dialogs.stamp(dialog), dict(dialog.data)
        await uow.commit()
    await _show(update, context, data, following, stamp)
    raise ApplicationHandlerStop


@serves(STAFF, private_only=True)
async def pressed(update: Update, context: BotContext) -> None:
    """``wr:<token>:<seq>:<action>``: a choice, keep, edit an expert or the group, submit."""
    query, actor = update.callback_query, context.actor
    assert query is not None and query.data is not None and actor is not None
    parts = query.data.removeprefix(PREFIX).split(":", 3)
    account_id = actor.account_id
    if len(parts) < 3 or account_id is None:
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    token, seq, action, rest = parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""
    submitted: int | None = None
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, flow=FLOW)
        if dialog is None or not dialogs.is_current(dialog, token, seq):
            await query.answer(context.t(update, "button.stale"), show_alert=True)
            return
        data, step = dict(dialog.data), dialog.step
        following: str | None = None
        choice = (step in CHOICES and rest in CHOICES[step]) or (step == "credit_opinion" and rest == "")
        if action == "v" and choice:
            _store(data, step, rest)
            following = _advance(data, step)
        elif action == "k" and step in TEXT_STEPS:
            following = _advance(data, step)
        elif action == "e" and step == "review" and rest.isdigit() and int(rest) < len(data["entries"]):
            data["index"], data["editing"], following = int(rest), True, "attendance"
        elif action == "g" and step == "review":
            following = "final_opinion"
        elif action == "s" and step == "review" and _complete(data):
            entries = [EntryInput(member_id=int(e["member_id"]), attendance=e["attendance"],
                                  performance=e["performance"], recusal=e["recusal"], discipline=e["discipline"],
                                  discipline_note=e.get("discipline_note") or "",
                                  credit_opinion=e.get("credit_opinion") or "") for e in data["entries"]]
            await work_records.submit(uow, actor=actor, activity_id=int(data["activity_id"]), entries=entries,
                                      final_opinion=str(data["final_opinion"]), decision=str(data["decision"]))
            submitted = int(data["activity_id"])
        else:
            await query.answer(context.t(update, "button.stale"), show_alert=True)
            return
        if following is not None:
            await dialogs.save(uow, dialog, step=following, data=data)
            stamp, data = dialogs.stamp(dialog), dict(dialog.data)
            await uow.commit()
    await query.answer()
    if submitted is not None:
        async with context.services.uow() as closer:
            await dialogs.clear(closer, account_id)
            await closer.commit()
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_message(chat.id, context.t(update, "workrecord.done", activity_id=submitted))
        return
    assert following is not None
    await _show(update, context, data, following, stamp)


@serves(STAFF, private_only=True)
async def export(update: Update, context: BotContext) -> None:
    """/workrecordexport <activity id>: the work record as an annex-4 DOCX."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    activity_id = _number(args[0]) if len(args) == 1 else None
    if activity_id is None:
        await message.reply_text(context.t(update, "workrecord.export_usage"))
        return
    async with context.services.uow() as uow:
        name, data = await work_records.export_docx(uow, actor=actor, activity_id=activity_id)
    await message.reply_document(data, filename=name, caption=context.t(update, "workrecord.export_caption",
                                                                        activity_id=activity_id))


# --- the credit file and sanctions ------------------------------------------------------------------------------


@serves(EXPERT_OR_STAFF, private_only=True)
async def show_file(update: Update, context: BotContext) -> None:
    """/record: one's own credit file; /record <expert id> (staff): an expert's within the unit's line."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    args = context.args or []
    person_id = actor.person_id if not args else _number(args[0]) if len(args) == 1 else None
    if person_id is None or (person_id != actor.person_id and not actor.has_any(STAFF)):
        await message.reply_text(context.t(update, "credit.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        found = await credit.credit_file(uow, actor=actor, person_id=person_id)
        zone = uow.zone
    lines = [context.t(update, "credit.line", date=e.occurred_at.astimezone(zone).date().isoformat(),
                       kind=context.t(update, f"credit.kind.{e.kind}"), points=f"{e.points:+d}",
                       source=e.source, note=e.note or "—") for e in found.events[:50]]
    head = context.t(update, "credit.head", person_id=person_id, total=f"{found.total:+d}", count=len(found.events))
    await message.reply_text("\n".join([head, *lines]) if lines else head + "\n" + context.t(update, "credit.empty"))


@serves(STAFF, private_only=True)
async def add_event(update: Update, context: BotContext) -> None:
    """/credit <expert id> <kind> <note>: staff record an event in an expert's credit file."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    person_id = _number(args[0]) if len(args) >= 3 else None
    if person_id is None or args[1] not in credit.STAFF_KINDS:
        await message.reply_text(context.t(update, "credit.add_usage", kinds=" ".join(credit.STAFF_KINDS)))
        return
    async with context.services.uow() as uow:
        event = await credit.add_by_staff(uow, actor=actor, person_id=person_id, kind=args[1],
                                          note=" ".join(args[2:]))
    kind = context.t(update, f"credit.kind.{event.kind}")
    await message.reply_text(context.t(update, "credit.added", person_id=person_id, event_id=event.id, kind=kind,
                                       points=f"{event.points:+d}"))


@serves(STAFF, private_only=True)
async def list_sanctions(update: Update, context: BotContext) -> None:
    """/sanctions: the open proposals this staff member may decide."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        rows = await sanctions.pending(uow, actor=actor)
    if not rows:
        await message.reply_text(context.t(update, "sanction.none"))
        return
    for row in rows:
        await message.reply_text(
            context.t(update, "sanction.item", proposal_id=row.id, person_id=row.person_id,
                      sanction=context.t(update, f"sanction.kind.{row.sanction}"),
                      article=sanctions.ARTICLES[row.rule], evidence=len(row.evidence)),
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                context.t(update, "sanction.button.confirm"), callback_data=f"{sanctions.PREFIX}c:{row.id}")]]))


@serves(STAFF, private_only=True)
async def confirm_pressed(update: Update, context: BotContext) -> None:
    """``sc:c:<id>``: confirm a proposed sanction."""
    query, actor = update.callback_query, context.actor
    assert query is not None and query.data is not None and actor is not None
    proposal_id = _number(query.data.removeprefix(f"{sanctions.PREFIX}c:"))
    if proposal_id is None:
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    async with context.services.uow() as uow:
        row = await sanctions.confirm(uow, actor=actor, proposal_id=proposal_id)
    await query.answer()
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, context.t(update, f"sanction.confirmed.{row.sanction}",
                                                      proposal_id=row.id, person_id=row.person_id))


@serves(STAFF, private_only=True)
async def dismiss(update: Update, context: BotContext) -> None:
    """/sanctiondismiss <id> <reason>: dismiss a proposed sanction with a reason."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    proposal_id = _number(args[0]) if len(args) >= 2 else None
    if proposal_id is None:
        await message.reply_text(context.t(update, "sanction.dismiss_usage"))
        return
    async with context.services.uow() as uow:
        row = await sanctions.dismiss(uow, actor=actor, proposal_id=proposal_id, reason=" ".join(args[1:]))
    await message.reply_text(context.t(update, "sanction.dismissed", proposal_id=row.id))


@serves(STAFF, private_only=True)
async def reprimand_letter(update: Update, context: BotContext) -> None:
    """/reprimandletter <id>: the letter feeding a confirmed reprimand back to the employer (000 §27)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    proposal_id = _number(args[0]) if len(args) == 1 else None
    if proposal_id is None:
        await message.reply_text(context.t(update, "sanction.letter_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        name, data = await sanctions.reprimand_letter(uow, actor=actor, proposal_id=proposal_id)
    await message.reply_document(data, filename=name)


def _year(args: list[str]) -> int | None:
    return int(args[0]) if len(args) == 1 and args[0].isdigit() and len(args[0]) == 4 else None


@serves(STAFF, private_only=True)
async def propose_excellent(update: Update, context: BotContext) -> None:
    """/excellence <year>: the ranking proposal of excellent experts for review (000 §20)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    year = _year(context.args or [])
    if year is None:
        await message.reply_text(context.t(update, "excellence.usage"))
        return
    async with context.services.uow() as uow:
        found = await excellence.propose(uow, actor=actor, year=year)
    lines = [context.t(update, "excellence.line", rank=n, **entry) for n, entry in enumerate(found.entries, 1)]
    await message.reply_text("\n".join([context.t(update, "excellence.head", year=year), *lines])
                             if lines else context.t(update, "excellence.empty", year=year))


@serves(STAFF, private_only=True)
async def publish_excellent(update: Update, context: BotContext) -> None:
    """/excellencepublish <year>: publish the reviewed list; the named experts are told."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    year = _year(context.args or [])
    if year is None:
        await message.reply_text(context.t(update, "excellence.usage"))
        return
    async with context.services.uow() as uow:
        found = await excellence.publish(uow, actor=actor, year=year)
    await message.reply_text(context.t(update, "excellence.published", year=year, count=len(found.entries)))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The work record dialog, its export, the credit file and the sanctions."""
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, dialog_text),
                            group=-4)
    application.add_handler(CommandHandler("workrecord", start_record))
    application.add_handler(CommandHandler("workrecordexport", export))
    application.add_handler(CommandHandler("record", show_file))
    application.add_handler(CommandHandler("credit", add_event))
    application.add_handler(CommandHandler("sanctions", list_sanctions))
    application.add_handler(CommandHandler("sanctiondismiss", dismiss))
    application.add_handler(CommandHandler("reprimandletter", reprimand_letter))
    application.add_handler(CommandHandler("excellence", propose_excellent))
    application.add_handler(CommandHandler("excellencepublish", publish_excellent))
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
    application.add_handler(CallbackQueryHandler(confirm_pressed, pattern=f"^{sanctions.PREFIX}c:"))
