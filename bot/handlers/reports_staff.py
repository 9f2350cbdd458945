"""``/report_monthly [period] [unit]`` and ``/report_yearly [year] [unit]`` (issue 17): the monthly statistical
tables (XLSX) and the yearly written report (DOCX) of a unit of the caller's line, sent as files."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import reports as report_files
from bot.arguments import Arguments
from bot.auth import STAFF, serves
from bot.context import BotContext
from bot.handlers.insight import period_and_unit
from services.insight import period, reports


@serves(STAFF, private_only=True)
async def monthly(update: Update, context: BotContext) -> None:
    """/report_monthly [2026-11] [unit]: last month's tables by default."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "reports.usage_monthly")
    args.expect(0, 2)
    asked, unit = period_and_unit(args)
    label = report_files.labeller(context.language_for(update))
    async with context.services.uow(readonly=True) as uow:
        today = uow.today()
        chosen = period.parse(asked, today=today) if asked else period.month(today.year, today.month).before()
        name, sheets = await reports.monthly(uow, actor=actor, period=chosen, label=label, unit=unit)
    data = await report_files.monthly_file(sheets)
    await message.reply_document(data, filename=f"monthly-{chosen.label}.xlsx",
                                 caption=label("reports.monthly_caption", unit=name, period=chosen.label))


@serves(STAFF, private_only=True)
async def yearly(update: Update, context: BotContext) -> None:
    """/report_yearly [2026] [unit]: last year's report by default."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "reports.usage_yearly")
    args.expect(0, 2)
    asked, unit = period_and_unit(args)
    label = report_files.labeller(context.language_for(update))
    async with context.services.uow(readonly=True) as uow:
        year = period.parse(asked, today=uow.today()).first.year if asked else uow.today().year - 1
        unit_id = await reports.scoped_unit(uow, actor, unit)
        content = await reports.yearly(uow, unit_id=unit_id, year=year, label=label)
    data = await report_files.yearly_file(content, label)
    await message.reply_document(data, filename=f"yearly-{year}.docx",
                                 caption=label("reports.yearly_caption", unit=content.unit_name, year=year))


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The report commands."""
    application.add_handler(CommandHandler("report_monthly", monthly))
    application.add_handler(CommandHandler("report_yearly", yearly))
