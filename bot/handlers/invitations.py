"""The expert's invitation loop on the phone (000 §14, §15, §19; 001 §17, §19) and the staff's roster tools.

Each button is an action of :mod:`services.invitations.actions` (``inv:a:<slot>`` accept, ``inv:d:<slot>``
decline → ``inv:dr:<slot>:<reason>``, ``inv:r:<slot>`` recuse → ``inv:rg:<slot>:<ground>``, ``inv:b:<slot>``
back, ``inv:s:<slot>`` sign, ``inv:x:<slot>`` refuse → ``inv:xx:<slot>`` confirm / ``inv:xb:<slot>`` back,
``inv:rm:<slot>`` staff confirm removal, ``inv:at:<slot>:<a|n|w>`` attendance), handled here by one function
each; the service checks every press again against the presser and the slot's current state, and decides which
choices are on offer. Choosing "other" asks for one line of text: :mod:`bot.dialogs.invitation_reason`.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.auth import BOUND, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard
from services.invitations import invitations
from services.invitations.actions import (
    AcceptInvitation,
    AskToRefuseCommitment,
    BackFromRemoval,
    BackToAnswers,
    BackToCommitment,
    ConfirmRemoval,
    DeclineInvitation,
    DeclineReason,
    MarkAttendance,
    ReallyRemove,
    RecusalGround,
    RecuseFromInvitation,
    RefuseCommitment,
    ShowDeclineReasons,
    ShowRecusalGrounds,
    SignCommitment,
    WithdrawFromActivity,
)
from services.invitations.choices import ReasonKind
from services.invitations.keyboards import removal as removal_buttons
from services.platform.actions import parse_id, parse_index

# --- the expert's answers -------------------------------------------------------------------------------


@buttons.on(AcceptInvitation, audience=BOUND)
async def on_accept(press: Press, action: AcceptInvitation) -> None:
    """Accept; the commitment follows (000 §14)."""
    async with press.context.services.uow() as uow:
        await invitations.accept(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer("invite.done_accept")


@buttons.on(ShowDeclineReasons, audience=BOUND)
async def on_show_decline_reasons(press: Press, action: ShowDeclineReasons) -> None:
    """The decline reasons under the invitation, with the question in words (issue 13)."""
    async with press.context.services.uow(readonly=True) as uow:
        rows = await invitations.decline_choices(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer()
    await press.ask("invite.ask_decline_reason", rows)


@buttons.on(ShowRecusalGrounds, audience=BOUND)
async def on_show_recusal_grounds(press: Press, action: ShowRecusalGrounds) -> None:
    """The recusal grounds under the invitation (or an accepted slot: a conflict that arose late), asked in words."""
    async with press.context.services.uow(readonly=True) as uow:
        rows = await invitations.recusal_choices(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer()
    await press.ask("invite.ask_recusal_ground", rows)


@buttons.on(BackToAnswers, audience=BOUND)
async def on_back_to_answers(press: Press, action: BackToAnswers) -> None:
    """Back to Accept / Decline / Recuse (or Withdraw / Declare a conflict), the question taken away."""
    async with press.context.services.uow(readonly=True) as uow:
        rows = await invitations.answer_choices(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer()
    await press.ask(None, rows)


@buttons.on(WithdrawFromActivity, audience=BOUND)
async def on_withdraw(press: Press, action: WithdrawFromActivity) -> None:
    """Withdraw after accepting: the reason is asked in words (the next text message; /cancel keeps the slot)."""
    async with press.context.services.uow() as uow:
        await invitations.ask_reason(uow, actor=press.actor, member_id=action.slot_id, kind="withdraw", code="")
    await press.answer()
    await press.reply("invite.ask_withdraw_reason")


async def _ask_text(press: Press, slot_id: int, kind: ReasonKind, code: str) -> None:
    """'Other': the next text message of this account is the reason."""
    async with press.context.services.uow() as uow:
        await invitations.ask_reason(uow, actor=press.actor, member_id=slot_id, kind=kind, code=code)
    await press.answer()
    await press.reply("invite.ask_text")


@buttons.on(DeclineInvitation, audience=BOUND)
async def on_decline(press: Press, action: DeclineInvitation) -> None:
    """Decline for a reason; "other" asks for the wording first."""
    if action.reason is DeclineReason.OTHER:
        await _ask_text(press, action.slot_id, "decline", action.reason)
        return
    async with press.context.services.uow() as uow:
        member = await invitations.decline(uow, actor=press.actor, member_id=action.slot_id, reason=action.reason)
    await press.answer("invite.done_decline", activity_id=member.activity_id)


@buttons.on(RecuseFromInvitation, audience=BOUND)
async def on_recuse(press: Press, action: RecuseFromInvitation) -> None:
    """Recuse on a ground (000 §15, 001 §17); "other" asks for the wording first."""
    if action.ground is RecusalGround.OTHER:
        await _ask_text(press, action.slot_id, "recuse", action.ground)
        return
    async with press.context.services.uow() as uow:
        await invitations.recuse(uow, actor=press.actor, member_id=action.slot_id, ground=action.ground)
    await press.answer("invite.done_recusal", alert=True)


@buttons.on(SignCommitment, audience=BOUND)
async def on_sign(press: Press, action: SignCommitment) -> None:
    """Sign the commitment (000 §14)."""
    async with press.context.services.uow() as uow:
        await invitations.sign(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer("invite.done_sign")


@buttons.on(AskToRefuseCommitment, audience=BOUND)
async def on_ask_to_refuse(press: Press, action: AskToRefuseCommitment) -> None:
    """Refuse: the warning first, with a confirmation."""
    async with press.context.services.uow(readonly=True) as uow:
        rows = await invitations.refusal_choices(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer("invite.confirm_refusal", alert=True)
    await press.edit_buttons(rows)


@buttons.on(BackToCommitment, audience=BOUND)
async def on_back_to_commitment(press: Press, action: BackToCommitment) -> None:
    """Back to Sign / Refuse."""
    async with press.context.services.uow(readonly=True) as uow:
        rows = await invitations.commitment_choices(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer()
    await press.edit_buttons(rows)


@buttons.on(RefuseCommitment, audience=BOUND)
async def on_refuse(press: Press, action: RefuseCommitment) -> None:
    """Refusal confirmed: the slot closes and staff are asked to confirm the removal (000 §14)."""
    async with press.context.services.uow() as uow:
        await invitations.refuse_commitment(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer("invite.done_refuse", alert=True)
    await press.edit_buttons(None)


# --- staff ----------------------------------------------------------------------------------------------


@buttons.on(ConfirmRemoval, audience=STAFF)
async def on_confirm_removal(press: Press, action: ConfirmRemoval) -> None:
    """The removal of an expert who refused to sign (000 §14) is irreversible: the name and the consequence are
    shown and a second confirmation asked (issue 13)."""
    async with press.context.services.uow(readonly=True) as uow:
        params, rows = await invitations.removal_question(uow, actor=press.actor, member_id=action.slot_id)
    await press.answer()
    await press.ask("invite.staff.removal_question", rows, **params)


@buttons.on(BackFromRemoval, audience=STAFF)
async def on_back_from_removal(press: Press, action: BackFromRemoval) -> None:
    """Not now: the proposal with its one button again."""
    await press.answer()
    await press.ask(None, removal_buttons(action.slot_id))


@buttons.on(ReallyRemove, audience=STAFF)
async def on_really_remove(press: Press, action: ReallyRemove) -> None:
    """Confirmed twice: the expert is removed and barred; every copy of the proposal shows who decided and when."""
    async with press.context.services.uow() as uow:
        removed = await invitations.confirm_removal(uow, actor=press.actor, member_id=action.slot_id,
                                                    shown_in=press.shown_in, language=press.language)
    await press.answer("invite.removal_done", person_id=removed.person_id, name=removed.name)


@buttons.on(MarkAttendance, audience=STAFF)
async def on_mark_attendance(press: Press, action: MarkAttendance) -> None:
    """Staff record an expert's attendance."""
    value = invitations.ATTENDANCE_BY_CODE[action.code]
    async with press.context.services.uow() as uow:
        await invitations.mark_attendance(uow, actor=press.actor, member_id=action.slot_id, value=value)
    await press.answer("invite.attendance_done", attendance_key=f"invite.attendance.{value}")


def _slot_and_reason(args: list[str]) -> tuple[int, str] | None:
    """``<slot> <reason...>``, or None."""
    slot = parse_id(args[0]) if len(args) >= 2 else None
    return None if slot is None else (slot, " ".join(args[1:]))


def _one_id(args: list[str]) -> int | None:
    return parse_id(args[0]) if len(args) == 1 else None


@serves(STAFF, private_only=True)
async def slots(update: Update, context: BotContext) -> None:
    """/slots <activity id>: the live roster (each slot, state, answered when, reminders)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    activity_id = _one_id(context.args or [])
    if activity_id is None:
        await message.reply_text(context.t(update, "invite.slots_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        roster = await invitations.roster_message(uow, actor=actor, activity_id=activity_id)
    await message.reply_text(context.t(update, roster.key, **roster.params))


@serves(STAFF, private_only=True)
async def cancel_invite(update: Update, context: BotContext) -> None:
    """/cancelinvite <slot> <reason>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    parsed = _slot_and_reason(context.args or [])
    if parsed is None:
        await message.reply_text(context.t(update, "invite.cancel_usage"))
        return
    async with context.services.uow() as uow:
        member = await invitations.cancel(uow, actor=actor, member_id=parsed[0], reason=parsed[1])
    await message.reply_text(context.t(update, "invite.cancel_done", member_id=member.id))


@serves(STAFF, private_only=True)
async def require_recusal(update: Update, context: BotContext) -> None:
    """/requirerecusal <slot> <reason> (000 §15 last paragraph)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    parsed = _slot_and_reason(context.args or [])
    if parsed is None:
        await message.reply_text(context.t(update, "invite.requirerecusal_usage"))
        return
    async with context.services.uow() as uow:
        member = await invitations.require_recusal(uow, actor=actor, member_id=parsed[0], reason=parsed[1])
    await message.reply_text(context.t(update, "invite.recusal_done", member_id=member.id))


@serves(STAFF, private_only=True)
async def next_backup(update: Update, context: BotContext) -> None:
    """/nextbackup <activity> <line no.>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    activity_id = parse_id(args[0]) if len(args) == 2 else None
    position = parse_index(args[1]) if len(args) == 2 else None
    if activity_id is None or position is None:
        await message.reply_text(context.t(update, "invite.next_usage"))
        return
    async with context.services.uow() as uow:
        backup = await invitations.invite_next_on_line(uow, actor=actor, activity_id=activity_id, position=position)
    if backup is None:
        await message.reply_text(context.t(update, "invite.next_none"))
    else:
        await message.reply_text(context.t(update, "invite.next_done", name=backup.name, person_id=backup.person_id))


@serves(STAFF, private_only=True)
async def close_roster(update: Update, context: BotContext) -> None:
    """/closeroster <activity>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    activity_id = _one_id(context.args or [])
    if activity_id is None:
        await message.reply_text(context.t(update, "invite.closeroster_usage"))
        return
    async with context.services.uow() as uow:
        activity = await invitations.close_roster(uow, actor=actor, activity_id=activity_id)
    await message.reply_text(context.t(update, "invite.closed_done", activity_id=activity.id))


@serves(STAFF, private_only=True)
async def attendance(update: Update, context: BotContext) -> None:
    """/attendance <activity>: one message per expert who accepted, with the three buttons."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    activity_id = _one_id(context.args or [])
    if activity_id is None:
        await message.reply_text(context.t(update, "invite.attendance_usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        sheet = await invitations.attendance_sheet(uow, actor=actor, activity_id=activity_id)
    if not sheet.lines:
        await message.reply_text(context.t(update, "invite.attendance_none"))
        return
    await message.reply_text(context.t(update, "invite.attendance_header", activity_id=sheet.activity_id))
    language = context.language_for(update)
    for line in sheet.lines:
        await message.reply_text(context.t(update, "invite.attendance_line", name=line.name, member_id=line.member_id,
                                           attendance_key=f"invite.attendance.{line.attendance or 'none'}"),
                                 reply_markup=keyboard(language, line.buttons))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The staff's roster commands (the buttons register with :mod:`bot.buttons`, the "other" text with the
    dialog router)."""
    from bot.dialogs import invitation_reason  # noqa: F401  (registers the flow)

    application.add_handler(CommandHandler("slots", slots))
    application.add_handler(CommandHandler("cancelinvite", cancel_invite))
    application.add_handler(CommandHandler("requirerecusal", require_recusal))
    application.add_handler(CommandHandler("nextbackup", next_backup))
    application.add_handler(CommandHandler("closeroster", close_roster))
    application.add_handler(CommandHandler("attendance", attendance))
