"""After the activity (000 §20, §25, §27; 001 §16, §22): the work record dialog, its export, the credit file and
the sanction proposals.

- ``/workrecord <activity id>`` (staff): a guided dialog (flow ``workrecord`` in the ``dialog`` table), one expert at
  a time — attendance (prefilled from the roster), performance, recusal statement, discipline (a breach asks for a
  note), credit opinion — then the group's final opinion and consensus or majority (001 §16), then a summary with
  every answer and buttons to correct any expert or the group before submitting
  (``services.records.work_records.submit``). The dialog is a flow of the router (:mod:`bot.dialogs.work_record`,
  its steps: :mod:`services.records.work_record_dialog`); this module starts it.
- ``/workrecordexport <activity id>``: the annex-4 DOCX.
- ``/record`` (an expert: their own credit file), ``/record <expert id>`` (staff: an expert in their unit's line).
- ``/credit <expert id> <kind> <note>`` (staff record an event), ``/sanctions`` (open proposals), the
  ``sc:c:<id>`` button (confirm), ``/sanctiondismiss <id> <reason>``, ``/reprimandletter <id>`` (DOCX).
- ``/excellence <year>`` (the ranking proposal, 000 §20), ``/excellencepublish <year>``.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.auth import EXPERT, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.dialogs import work_record as work_record_dialog
from bot.keyboards import keyboard
from services.platform.actions import parse_id
from services.records import credit, excellence, ledger, sanctions, work_records
from services.records import work_record_dialog as record_dialog
from services.records.actions import BackToSanction, ConfirmSanction, ReallyConfirmSanction

EXPERT_OR_STAFF = EXPERT | STAFF


def _id(args: list[str], *, count: int = 1, at_least: bool = False) -> int | None:
    """The record id in ``args[0]`` when there are ``count`` arguments (or more, ``at_least``), else None."""
    fits = len(args) >= count if at_least else len(args) == count
    return parse_id(args[0]) if fits and args else None


@serves(STAFF, private_only=True)
async def start_record(update: Update, context: BotContext) -> None:
    """/workrecord <activity id>: start (or restart) the work record dialog of an ended activity."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    activity_id = _id(context.args or [])
    if activity_id is None:
        await message.reply_text(context.t(update, "workrecord.usage"))
        return
    async with context.services.uow() as uow:
        turn = await record_dialog.start(uow, actor=actor, activity_id=activity_id)
    await work_record_dialog.show(update, context, turn)


@serves(STAFF, private_only=True)
async def export(update: Update, context: BotContext) -> None:
    """/workrecordexport <activity id>: the work record as an annex-4 DOCX."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    activity_id = _id(context.args or [])
    if activity_id is None:
        await message.reply_text(context.t(update, "workrecord.export_usage"))
        return
    async with context.services.uow() as uow:
        name, data = await work_records.export_docx(uow, actor=actor, activity_id=activity_id)
    await message.reply_document(data, filename=name, caption=context.t(update, "workrecord.export_caption",
                                                                        activity_id=activity_id))


# --- the credit file and sanctions ------------------------------------------------------------------------------


def _source(update: Update, context: BotContext, source: str) -> str:
    """What put a credit event on file, in words."""
    key, params = ledger.source_label(source)
    return context.t(update, key, **params)


@serves(EXPERT_OR_STAFF, private_only=True)
async def show_file(update: Update, context: BotContext) -> None:
    """/record: one's own credit file; /record <expert id> (staff): an expert's within the unit's line."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None and actor.person_id is not None
    args = context.args or []
    person_id = actor.person_id if not args else _id(args)
    if person_id is None or (person_id != actor.person_id and not actor.has_any(STAFF)):
        await message.reply_text(context.t(update, "credit.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        found = await credit.credit_file(uow, actor=actor, person_id=person_id)
        zone = uow.zone
    lines = [context.t(update, "credit.line", date=e.occurred_at.astimezone(zone).date().isoformat(),
                       kind=context.t(update, f"credit.kind.{e.kind}"), points=f"{e.points:+d}",
                       source=_source(update, context, e.source), note=e.note or "—") for e in found.events[:50]]
    head = context.t(update, "credit.head", person_id=person_id, total=f"{found.total:+d}", count=len(found.events))
    await message.reply_text("\n".join([head, *lines]) if lines else head + "\n" + context.t(update, "credit.empty"))


@serves(STAFF, private_only=True)
async def add_event(update: Update, context: BotContext) -> None:
    """/credit <expert id> <kind> <note>: staff record an event in an expert's credit file."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    person_id = _id(args, count=3, at_least=True)
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
            context.t(update, "sanction.item", proposal_id=row.id, person_id=row.person_id, name=row.name,
                      sanction=context.t(update, f"sanction.kind.{row.sanction}"),
                      article=row.article, evidence=len(row.evidence)),
            reply_markup=keyboard(context.language_for(update),
                                  sanctions.confirm_buttons(row.id)))


@buttons.on(ConfirmSanction, audience=STAFF, private_only=True)
async def confirm_pressed(press: Press, action: ConfirmSanction) -> None:
    """``sc:c:<id>``: an irreversible decision: the name and the consequence are shown, a second press asked."""
    async with press.context.services.uow(readonly=True) as uow:
        params, rows = await sanctions.confirmation(uow, actor=press.actor, proposal_id=action.proposal_id)
    await press.answer()
    await press.ask("sanction.confirm_question", rows, **params)


@buttons.on(BackToSanction, audience=STAFF, private_only=True)
async def back_pressed(press: Press, action: BackToSanction) -> None:
    """``sc:cb:<id>``: not now; the proposal's button again."""
    await press.answer()
    await press.ask(None, sanctions.confirm_buttons(action.proposal_id))


@buttons.on(ReallyConfirmSanction, audience=STAFF, private_only=True)
async def really_confirm_pressed(press: Press, action: ReallyConfirmSanction) -> None:
    """``sc:cc:<id>``: confirmed twice; every copy of the proposal shows who decided and when."""
    async with press.context.services.uow() as uow:
        row = await sanctions.confirm(uow, actor=press.actor, proposal_id=action.proposal_id,
                                      shown_in=press.shown_in, language=press.language)
    await press.answer()
    await press.reply(f"sanction.confirmed.{row.sanction}", proposal_id=row.id, person_id=row.person_id)


@serves(STAFF, private_only=True)
async def dismiss(update: Update, context: BotContext) -> None:
    """/sanctiondismiss <id> <reason>: dismiss a proposed sanction with a reason."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    proposal_id = _id(args, count=2, at_least=True)
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
    proposal_id = _id(args)
    if proposal_id is None:
        await message.reply_text(context.t(update, "sanction.letter_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        name, data = await sanctions.reprimand_letter(uow, actor=actor, proposal_id=proposal_id)
    await message.reply_document(data, filename=name)


def _year(args: list[str]) -> int | None:
    return int(args[0]) if len(args) == 1 and args[0].isascii() and args[0].isdigit() and len(args[0]) == 4 else None


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
    application.add_handler(CommandHandler("workrecord", start_record))
    application.add_handler(CommandHandler("workrecordexport", export))
    application.add_handler(CommandHandler("record", show_file))
    application.add_handler(CommandHandler("credit", add_event))
    application.add_handler(CommandHandler("sanctions", list_sanctions))
    application.add_handler(CommandHandler("sanctiondismiss", dismiss))
    application.add_handler(CommandHandler("reprimandletter", reprimand_letter))
    application.add_handler(CommandHandler("excellence", propose_excellent))
    application.add_handler(CommandHandler("excellencepublish", publish_excellent))
