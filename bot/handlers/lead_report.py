"""Social supervisors report a lead on mobile (/report), list their leads (/myleads) and add information, evidence
or answers later (002 §9(二), §11(四), §12(二)). Issue 8.

The conversations themselves are flows of the dialog router: the report in ``bot/dialogs/lead_report.py``, adding to
a lead in ``bot/dialogs/lead_more.py`` (evidence intake shared in ``bot/dialogs/lead_evidence.py``).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.auth import SUPERVISOR, serves
from bot.context import BotContext
from bot.dialogs import lead_report as report_flow
from bot.keyboards import Row, keyboard
from services.leads import leads
from services.leads.actions import AddToLead
from services.platform.notify import Button

MAX_LISTED = 20


@serves(SUPERVISOR, private_only=True)
async def report(update: Update, context: BotContext) -> None:
    """/report: start (or restart) the reporting conversation."""
    await report_flow.start(update, context)


@serves(SUPERVISOR, private_only=True)
async def my_leads(update: Update, context: BotContext) -> None:
    """/myleads: the caller's leads with their status, each still open with a button to add information."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        found = await leads.my_leads(uow, actor=actor)
        zone = uow.zone
    if not found:
        await message.reply_text(context.t(update, "report.mine_empty"))
        return
    lines = [context.t(update, "report.mine_header")]
    lines += [context.t(update, "report.mine_line", number=lead.number,
                        created=lead.created_at.astimezone(zone).strftime("%Y-%m-%d"),
                        category_key=f"lead.category.{lead.category}", state_key=f"lead.state.{lead.state}")
              for lead in found[:MAX_LISTED]]
    rows: list[Row] = [[Button("lead.button.add", AddToLead(lead.id), {"number": lead.number})]
                       for lead in found[:MAX_LISTED] if lead.open]
    await message.reply_text("\n".join(lines),
                             reply_markup=keyboard(context.language_for(update), rows) if rows else None)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Group 0: the commands (the dialogs' text, files, buttons and /cancel go through the router)."""
    application.add_handler(CommandHandler("report", report))
    application.add_handler(CommandHandler("myleads", my_leads))
