"""The expert's invitation loop on the phone (000 §14, §15, §19; 001 §17, §19) and the staff's roster tools.

Callback data (≤64 bytes; every press is checked again by ``services.invitations.invitations`` against the presser and
the
slot's current state): ``inv:a:<slot>`` accept, ``inv:d:<slot>`` decline → ``inv:dr:<slot>:<reason>``,
``inv:r:<slot>`` recuse → ``inv:rg:<slot>:<ground>``, ``inv:b:<slot>`` back to the answers, ``inv:s:<slot>``
sign, ``inv:x:<slot>`` refuse → ``inv:xx:<slot>`` confirm / ``inv:xb:<slot>`` back, ``inv:rm:<slot>`` staff confirm
removal, ``inv:at:<slot>:<a|n|w>`` attendance. Choosing "other" asks for one line of text: the slot waits in a
``dialog`` row (flow ``invitation``), read by a text handler in group -2 (``/cancel`` drops it, through the
dialog's general cancel in group -1).
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.ext import filters as tg_filters

from bot.auth import BOUND, STAFF, serves
from bot.context import BotContext
from services.activities import activities
from services.invitations import invitations
from services.platform import dialogs
from services.platform.errors import InvalidInput
from services.platform.roles import Role
from storage.activities import ActivityMember

PREFIX = invitations.PREFIX
FLOW = "invitation"
ATTENDANCE_CODES = {"a": "attended", "n": "absent_with_notice", "w": "absent_without_notice"}


def _number(raw: str, field: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(f"{field} must be a number", field=field)
    return int(raw)


def _keyboard(context: BotContext, update: Update, rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(context.t(update, key), callback_data=data)
                                  for key, data in row] for row in rows])


def _answers(slot: int) -> list[list[tuple[str, str]]]:
    return [[("invite.button.accept", f"{PREFIX}a:{slot}"), ("invite.button.decline", f"{PREFIX}d:{slot}"),
             ("invite.button.recuse", f"{PREFIX}r:{slot}")]]


def _choices(verb: str, slot: int, codes: tuple[str, ...], prefix: str) -> list[list[tuple[str, str]]]:
    rows = [[(f"invite.reason.{code}", f"{PREFIX}{verb}:{slot}:{code}")] for code in codes]
    return [*rows, [("invite.button.back", f"{PREFIX}{prefix}:{slot}")]]


async def _ask_text(update: Update, context: BotContext, slot: int, kind: str, code: str) -> None:
    """'Other': the next text message of this account is the reason."""
    actor = context.actor
    assert actor is not None and actor.account_id is not None
    async with context.services.uow() as uow:
        await dialogs.start(uow, actor.account_id, flow=FLOW, step=kind, data={"slot": slot, "code": code})
        await uow.commit()
    message = update.effective_message
    if message is not None:
        await context.bot.send_message(message.chat.id, context.t(update, "invite.ask_text"))


@serves(BOUND)
async def pressed(update: Update, context: BotContext) -> None:
    """Every ``inv:`` button."""
    query, actor = update.callback_query, context.actor
    assert query is not None and query.data is not None and actor is not None
    parts = query.data.removeprefix(PREFIX).split(":")
    verb, args = parts[0], parts[1:]
    if not args or not args[0].isdigit() or len(args[0]) > 12:
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    slot = int(args[0])
    extra = args[1] if len(args) > 1 else ""
    t = context.t
    if verb == "a":
        async with context.services.uow() as uow:
            await invitations.accept(uow, actor=actor, member_id=slot)
        await query.answer(t(update, "invite.done_accept"))
    elif verb == "d" and not extra:
        await _own_or_refuse(context, slot)
        await query.answer()
        await query.edit_message_reply_markup(_keyboard(context, update, _choices(
            "dr", slot, invitations.DECLINE_REASONS, "b")))
    elif verb == "r" and not extra:
        await _own_or_refuse(context, slot)
        await query.answer()
        await query.edit_message_reply_markup(_keyboard(context, update, _choices(
            "rg", slot, invitations.RECUSAL_GROUNDS, "b")))
    elif verb == "b":
        await _own_or_refuse(context, slot)
        await query.answer()
        await query.edit_message_reply_markup(_keyboard(context, update, _answers(slot)))
    elif verb == "dr" and extra in invitations.DECLINE_REASONS:
        if extra == "other":
            await _own_or_refuse(context, slot)
            await query.answer()
            await _ask_text(update, context, slot, "decline", extra)
            return
        async with context.services.uow() as uow:
            member = await invitations.decline(uow, actor=actor, member_id=slot, reason=extra)
        await query.answer(t(update, "invite.done_decline", activity_id=member.activity_id))
    elif verb == "rg" and extra in invitations.RECUSAL_GROUNDS:
        if extra == "other":
            await _own_or_refuse(context, slot)
            await query.answer()
            await _ask_text(update, context, slot, "recuse", extra)
            return
        async with context.services.uow() as uow:
            await invitations.recuse(uow, actor=actor, member_id=slot, ground=extra)
        await query.answer(t(update, "invite.done_recusal"), show_alert=True)
    elif verb == "s":
        async with context.services.uow() as uow:
            await invitations.sign(uow, actor=actor, member_id=slot)
        await query.answer(t(update, "invite.done_sign"))
    elif verb == "x":
        await _own_or_refuse(context, slot, status="accepted")
        await query.answer(t(update, "invite.confirm_refusal"), show_alert=True)
        await query.edit_message_reply_markup(_keyboard(context, update, [
            [("invite.button.confirm_refusal", f"{PREFIX}xx:{slot}")],
            [("invite.button.back", f"{PREFIX}xb:{slot}")]]))
    elif verb == "xb":
        await _own_or_refuse(context, slot, status="accepted")
        await query.answer()
        await query.edit_message_reply_markup(_keyboard(context, update, [
            [("invite.button.sign", f"{PREFIX}s:{slot}"), ("invite.button.refuse", f"{PREFIX}x:{slot}")]]))
    elif verb == "xx":
        async with context.services.uow() as uow:
            await invitations.refuse_commitment(uow, actor=actor, member_id=slot)
        await query.answer(t(update, "invite.done_refuse"), show_alert=True)
        await query.edit_message_reply_markup(None)
    elif verb == "rm" and actor.has_any(frozenset({Role.STAFF, Role.ADMIN})):
        async with context.services.uow() as uow:
            slot_row = await uow.session.get(ActivityMember, slot)
            await invitations.confirm_removal(uow, actor=actor, member_id=slot)
        await query.answer(t(update, "invite.removal_done", person_id=slot_row.person_id if slot_row else slot))
        await query.edit_message_reply_markup(None)
    elif verb == "at" and extra in ATTENDANCE_CODES and actor.has_any(frozenset({Role.STAFF, Role.ADMIN})):
        value = ATTENDANCE_CODES[extra]
        async with context.services.uow() as uow:
            await invitations.mark_attendance(uow, actor=actor, member_id=slot, value=value)
        await query.answer(t(update, "invite.attendance_done", attendance_key=f"invite.attendance.{value}"))
    else:
        await query.answer(t(update, "button.stale"), show_alert=True)


async def _own_or_refuse(context: BotContext, slot: int, *, status: str = "invited") -> None:
    """Only the invited expert may open the choices of their slot, and only while it is open."""
    actor = context.actor
    assert actor is not None
    async with context.services.uow(readonly=True) as uow:
        member = await uow.session.get(ActivityMember, slot)
    if member is None or member.status != status:
        raise invitations.AnswerRefused("stale", reason_key="invite.refused_reason.stale")
    if member.person_id != actor.person_id:
        raise invitations.AnswerRefused("foreign", reason_key="invite.refused_reason.foreign")


async def reason_text(update: Update, context: BotContext) -> None:
    """Group -2: the free text of an 'other' reason, when this account is asked for one."""
    actor, message = context.actor, update.effective_message
    if actor is None or actor.account_id is None or message is None or message.text is None:
        return
    async with context.services.uow(readonly=True) as reader:
        if await dialogs.get(reader, actor.account_id, flow=FLOW) is None:
            return
    async with context.services.uow() as uow:  # the question is answered once, whatever the outcome
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
        if dialog is None:
            return
        slot, code, step = int(dialog.data["slot"]), str(dialog.data["code"]), dialog.step
        await dialogs.clear(uow, actor.account_id)
        await uow.commit()
    async with context.services.uow() as uow:
        if step == "decline":
            member = await invitations.decline(uow, actor=actor, member_id=slot, reason=code, text=message.text)
            reply = context.t(update, "invite.done_decline", activity_id=member.activity_id)
        else:
            await invitations.recuse(uow, actor=actor, member_id=slot, ground=code, text=message.text)
            reply = context.t(update, "invite.done_recusal")
    await message.reply_text(reply)
    raise ApplicationHandlerStop


# --- staff ----------------------------------------------------------------------------------------------


@serves(STAFF, private_only=True)
async def slots(update: Update, context: BotContext) -> None:
    """/slots <activity id>: the live roster (each slot, state, answered when, reminders)."""
    from messages import translate

    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(context.t(update, "invite.slots_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        info = await activities.view(uow, actor=actor, activity_id=_number(args[0], "activity"))
        lines = await invitations.roster_lines(uow, info)
    language = context.language_for(update)
    text = translate(language, "invite.roster.message", activity_id=info.activity.id, title=info.activity.title,
                     start=info.activity.starts_at.astimezone(uow.zone).strftime("%Y-%m-%d %H:%M"),
                     closed_key="invite.roster.closed" if info.activity.roster_closed_at else "invite.roster.open",
                     roster_lines=lines)
    await message.reply_text(text)


@serves(STAFF, private_only=True)
async def cancel_invite(update: Update, context: BotContext) -> None:
    """/cancelinvite <slot> <reason>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(context.t(update, "invite.cancel_usage"))
        return
    async with context.services.uow() as uow:
        member = await invitations.cancel(uow, actor=actor, member_id=_number(args[0], "slot"),
                                          reason=" ".join(args[1:]))
    await message.reply_text(context.t(update, "invite.cancel_done", member_id=member.id))


@serves(STAFF, private_only=True)
async def require_recusal(update: Update, context: BotContext) -> None:
    """/requirerecusal <slot> <reason> (000 §15 last paragraph)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(context.t(update, "invite.requirerecusal_usage"))
        return
    async with context.services.uow() as uow:
        member = await invitations.require_recusal(uow, actor=actor, member_id=_number(args[0], "slot"),
                                                   reason=" ".join(args[1:]))
    await message.reply_text(context.t(update, "invite.recusal_done", member_id=member.id))


@serves(STAFF, private_only=True)
async def next_backup(update: Update, context: BotContext) -> None:
    """/nextbackup <activity> <line no.>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 2:
        await message.reply_text(context.t(update, "invite.next_usage"))
        return
    activity_id, position = _number(args[0], "activity"), _number(args[1], "line")
    async with context.services.uow() as uow:
        info = await activities.view(uow, actor=actor, activity_id=activity_id)
        line = next((r for r in info.requirements if r.position == position), None)
        if line is None or line.id is None:
            raise InvalidInput("no such line", field="line")
        backup = await invitations.invite_next(uow, actor=actor, activity_id=activity_id, requirement_id=line.id)
        name = None
        if backup is not None:
            from storage.models import Person

            person = await uow.session.get(Person, backup.person_id)
            name = person.name if person else str(backup.person_id)
    if backup is None:
        await message.reply_text(context.t(update, "invite.next_none"))
    else:
        await message.reply_text(context.t(update, "invite.next_done", name=name, person_id=backup.person_id))


@serves(STAFF, private_only=True)
async def close_roster(update: Update, context: BotContext) -> None:
    """/closeroster <activity>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(context.t(update, "invite.closeroster_usage"))
        return
    async with context.services.uow() as uow:
        activity = await invitations.close_roster(uow, actor=actor, activity_id=_number(args[0], "activity"))
    await message.reply_text(context.t(update, "invite.closed_done", activity_id=activity.id))


@serves(STAFF, private_only=True)
async def attendance(update: Update, context: BotContext) -> None:
    """/attendance <activity>: one message per expert who accepted, with the three buttons."""
    from sqlmodel import col, select

    from storage.models import Person

    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(context.t(update, "invite.attendance_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        info = await activities.view(uow, actor=actor, activity_id=_number(args[0], "activity"))
        rows = (await uow.session.exec(
            select(ActivityMember, Person.name).join(Person, col(Person.id) == ActivityMember.person_id)
            .where(ActivityMember.activity_id == info.activity.id,
                   col(ActivityMember.status).in_(("accepted", "signed"))).order_by(col(ActivityMember.id)))).all()
    if not rows:
        await message.reply_text(context.t(update, "invite.attendance_none"))
        return
    await message.reply_text(context.t(update, "invite.attendance_header", activity_id=info.activity.id))
    for member, name in rows:
        keyboard = _keyboard(context, update, [[(f"invite.button.{value}", f"{PREFIX}at:{member.id}:{code}")
                                                for code, value in ATTENDANCE_CODES.items()]])
        await message.reply_text(context.t(update, "invite.attendance_line", name=name, member_id=member.id,
                                           attendance_key=f"invite.attendance.{member.attendance or 'none'}"),
                                 reply_markup=keyboard)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The invitation buttons, the 'other reason' text (group -2) and the staff's roster commands."""
    application.add_handler(MessageHandler(tg_filters.TEXT & ~tg_filters.COMMAND & tg_filters.ChatType.PRIVATE,
                                           reason_text), group=-2)
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
    application.add_handler(CommandHandler("slots", slots))
    application.add_handler(CommandHandler("cancelinvite", cancel_invite))
    application.add_handler(CommandHandler("requirerecusal", require_recusal))
    application.add_handler(CommandHandler("nextbackup", next_backup))
    application.add_handler(CommandHandler("closeroster", close_roster))
    application.add_handler(CommandHandler("attendance", attendance))
