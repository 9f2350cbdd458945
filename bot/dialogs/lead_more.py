"""The reporter adds to their own open lead (flow ``lead_more``, 002 §12(二)): "Add" under /myleads or "Reply" under
a staff question opens it; each typed text or file is passed on to the lead's staff at once (never forwarded: the
bot relays it, ``services.leads.leads.add_information``); "Done" or /cancel ends it."""

from __future__ import annotations

from telegram import Update

from bot import buttons, dialogs, questions
from bot.auth import SUPERVISOR
from bot.buttons import Press
from bot.context import BotContext
from bot.dialogs.lead_evidence import is_evidence, take_file
from bot.keyboards import keyboard
from services.leads import card_actions, leads
from services.leads.actions import AddToLead, DoneAdding, ReplyToStaff
from services.platform import dialogs as dialog_rows
from services.platform.dialogs import DialogState
from services.platform.notify import Button

FLOW = "lead_more"


async def add_pressed(press: Press, action: AddToLead | ReplyToStaff) -> None:
    """"Add" under /myleads or "Reply" under a staff question: open the adding dialog for the caller's own lead."""
    account_id = press.actor.account_id
    assert account_id is not None
    async with press.context.services.uow() as uow:
        number = await card_actions.may_add_to(uow, press.actor, action.lead_id)
        await dialog_rows.begin(uow, account_id, flow=FLOW, step="more", data={"lead_id": action.lead_id,
                                                                                "evidence": []})
        await uow.commit()
    await press.answer()
    chat = press.update.effective_chat
    assert chat is not None
    await questions.ask(press.context, chat.id, press.t("report.more_start", number=number),
                        keyboard(press.language, [[Button("lead.button.done", DoneAdding())]]))


buttons.on(AddToLead, audience=SUPERVISOR, private_only=True)(add_pressed)
buttons.on(ReplyToStaff, audience=SUPERVISOR, private_only=True)(add_pressed)


@buttons.on(DoneAdding, audience=SUPERVISOR, private_only=True)
async def done_pressed(press: Press, action: DoneAdding) -> None:
    """"Done": close the adding dialog (if still open) and drop the button."""
    account_id = press.actor.account_id
    assert account_id is not None
    async with press.context.services.uow() as uow:
        if await dialog_rows.current(uow, account_id, flow=FLOW) is not None:
            await dialog_rows.clear(uow, account_id)
            await uow.commit()
    await press.answer()
    await press.edit_buttons(None)
    await press.reply("report.more_done")


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """Typed information for the lead."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and message is not None
    async with context.services.uow() as uow:
        await leads.add_information(uow, actor=actor, lead_id=int(state.data["lead_id"]), text=message.text or "")


async def on_file(update: Update, context: BotContext, state: DialogState) -> bool | None:
    """A photo or document for the lead; other files are not evidence and go on."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and message is not None
    if not is_evidence(message):
        return False
    item = await take_file(update, context, message, count=len(state.data.get("evidence", [])))
    if item is not None:
        async with context.services.uow() as uow:
            await leads.add_information(uow, actor=actor, lead_id=int(state.data["lead_id"]), text="",
                                        evidence=[item])
    return None


dialogs.register(dialogs.Flow(name=FLOW, on_text=on_text, on_file=on_file, cancelled_key="report.more_done"))
