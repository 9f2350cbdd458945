"""The staff side of a lead card's text actions (flow ``lead_staff``): a button (ask, ask signed, reject, extend,
conclude, reward) asks for the text, the next typed message carries it out (``services.leads.card_actions``).

A refused text (too short a reason, unreadable days or amount) is explained and the dialog stays open, so staff can
type it again; /cancel ends it.
"""

from __future__ import annotations

from telegram import Update

from bot import buttons, dialogs
from bot.auth import STAFF
from bot.buttons import Press
from bot.context import BotContext
from bot.handlers.leads import refusal
from services.leads import card_actions
from services.leads.actions import NEEDS_TEXT, OnLead
from services.leads.lead_rules import StaffVerb
from services.platform import dialogs as dialog_rows
from services.platform import policy
from services.platform.dialogs import DialogState
from services.platform.errors import DomainError

FLOW = "lead_staff"
PROMPTS = {StaffVerb.ASK: "leadstaff.ask_prompt", StaffVerb.ASK_SIGNED: "leadstaff.ask_signed_prompt",
           StaffVerb.REJECT: "leadstaff.reject_prompt", StaffVerb.EXTEND: "leadstaff.extend_prompt",
           StaffVerb.SUBSTANTIATED: "leadstaff.yes_prompt", StaffVerb.UNSUBSTANTIATED: "leadstaff.no_prompt",
           StaffVerb.REWARD: "leadstaff.reward_prompt"}


async def text_pressed(press: Press, action: OnLead) -> None:
    """A card button that needs a text: open the dialog at that verb and ask for it."""
    account_id = press.actor.account_id
    assert account_id is not None
    async with press.context.services.uow() as uow:
        await card_actions.prepare_text(uow, actor=press.actor, lead_id=action.lead_id, verb=action.verb)
        await dialog_rows.begin(uow, account_id, flow=FLOW, step=action.verb.value, data={"lead_id": action.lead_id})
        await uow.commit()
    await press.answer()
    rules = policy.current().leads
    await press.reply(PROMPTS[action.verb], min=rules.reward_min, max=rules.reward_max)


for _needs_text in NEEDS_TEXT:
    buttons.on(_needs_text, audience=STAFF, private_only=True)(text_pressed)


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """The text of the verb the dialog waits for: carry it out, or explain the refusal and keep waiting."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and actor.account_id is not None and message is not None
    verb = StaffVerb(state.step)
    try:
        async with context.services.uow() as uow:
            await dialog_rows.clear(uow, actor.account_id)  # committed with the action, kept on a refusal
            lead = await card_actions.act_with_text(uow, actor=actor, verb=verb, lead_id=int(state.data["lead_id"]),
                                                    text=message.text or "", rules=policy.current().leads)
    except DomainError as error:
        await message.reply_text(refusal(context, update, error))
        return
    did = StaffVerb.ASK if verb is StaffVerb.ASK_SIGNED else verb
    await message.reply_text(context.t(update, "leadstaff.done", number=lead.number, what_key=f"leadstaff.did.{did}"))


dialogs.register(dialogs.Flow(name=FLOW, on_text=on_text, cancelled_key="report.more_done"))
