"""Answers given by phone or in person, recorded by staff (issue 13; the rules:
:mod:`services.invitations.by_phone`): ``/answer <slot>`` shows the expert (name, mobile), the activity, the slot's
state and deadline, with buttons: accept, accept with the commitment signed on paper, decline (reasons), recuse
(grounds with their articles), commitment signed on paper. Each press records the answer with the staff member as
actor and "phone" as channel, then the card shows the new state."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.arguments import Arguments
from bot.auth import STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import keyboard
from services.invitations import by_phone, keyboards
from services.invitations.actions import PhoneChoice, RecordPhoneAnswer, RecordPhoneDecline, RecordPhoneRecusal


@serves(STAFF, private_only=True)
async def answer(update: Update, context: BotContext) -> None:
    """/answer <slot>: the slot's card with the answers staff may record."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "invite.phone.usage")
    args.expect(1, 1)
    slot_id = args.record_id(0)
    async with context.services.uow(readonly=True) as uow:
        params, rows = await by_phone.answer_card(uow, actor=actor, member_id=slot_id)
    await message.reply_text(context.t(update, "invite.phone.card", **params),
                             reply_markup=keyboard(context.language_for(update), rows) if rows else None)


async def _show_card(press: Press, slot_id: int) -> None:
    """The card again, with the slot's new state and the buttons that still apply."""
    async with press.context.services.uow(readonly=True) as uow:
        params, rows = await by_phone.answer_card(uow, actor=press.actor, member_id=slot_id)
    await press.edit_text(press.t("invite.phone.card", **params))
    if rows:
        await press.edit_buttons(rows)


@buttons.on(RecordPhoneAnswer, audience=STAFF)
async def on_phone_answer(press: Press, action: RecordPhoneAnswer) -> None:
    """Accept (with or without the paper commitment), the paper commitment, or open reasons / grounds / back."""
    slot, choice = action.slot_id, action.choice
    if choice in (PhoneChoice.DECLINE, PhoneChoice.RECUSE):
        await press.answer()
        await press.edit_buttons(keyboards.phone_reasons(slot, "decline" if choice is PhoneChoice.DECLINE else ""))
        return
    if choice is PhoneChoice.BACK:
        await press.answer()
        await _show_card(press, slot)
        return
    async with press.context.services.uow() as uow:
        await by_phone.record_answer(uow, actor=press.actor, member_id=slot,
                                     answer="signed_on_paper" if choice is PhoneChoice.SIGNED_ON_PAPER else "accept",
                                     signed_on_paper=choice is PhoneChoice.ACCEPT_ON_PAPER)
    await press.answer("invite.phone.recorded")
    await _show_card(press, slot)


@buttons.on(RecordPhoneDecline, audience=STAFF)
async def on_phone_decline(press: Press, action: RecordPhoneDecline) -> None:
    """A decline given by phone, with its reason: the slot closes, the next backup is invited."""
    async with press.context.services.uow() as uow:
        await by_phone.record_answer(uow, actor=press.actor, member_id=action.slot_id, answer="decline",
                                     reason=action.reason)
    await press.answer("invite.phone.recorded")
    await _show_card(press, action.slot_id)


@buttons.on(RecordPhoneRecusal, audience=STAFF)
async def on_phone_recusal(press: Press, action: RecordPhoneRecusal) -> None:
    """A recusal declared by phone, with its ground (000 §15, 001 §17)."""
    async with press.context.services.uow() as uow:
        await by_phone.record_answer(uow, actor=press.actor, member_id=action.slot_id, answer="recuse",
                                     reason=action.ground)
    await press.answer("invite.phone.recorded")
    await _show_card(press, action.slot_id)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's commands (the buttons register with :mod:`bot.buttons`)."""
    application.add_handler(CommandHandler("answer", answer))
