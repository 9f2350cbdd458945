"""The report files as the front end makes them (issue 17): the monthly tables (XLSX) and the yearly report (DOCX,
with the chart of leads per month embedded), labelled in a language; used by ``/report_monthly``,
``/report_yearly``, ``python -m bot report …`` and the monthly job that sends each unit's staff chat its report on
the first working day of the month. Files are drawn off the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import Bot
from telegram.error import TelegramError

from messages import translate
from services.documents import charts, report_files
from services.insight import reports
from services.people import orgs
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)
Label = Callable[..., str]


def labeller(language: str) -> Label:
    """The catalog of ``language`` as a label function."""
    def label(key: str, **params: object) -> str:
        return translate(language, key, **params)
    return label


def _tables(sheets: list[reports.Sheet]) -> list[report_files.Table]:
    return [report_files.Table(s.title, s.headers, s.rows, s.total) for s in sheets]


async def monthly_file(sheets: list[reports.Sheet]) -> bytes:
    """The monthly tables as XLSX."""
    return await asyncio.to_thread(report_files.monthly_xlsx, _tables(sheets))


def _yearly(content: reports.Yearly, label: Label) -> bytes:
    chart = charts.render(charts.BarChart(label("reports.yearly.chart", year=content.year),
                                          [label("reports.yearly.month", month=m) for m in range(1, 13)],
                                          [(label("reports.col.received"), [float(v) for v in content.leads_by_month])],
                                          label("chart.count")))
    facts = content.facts
    sections = [
        report_files.Section(label("reports.yearly.figures"), [label("reports.yearly.intro", unit=content.unit_name,
                                                                    year=content.year)],
                             tables=_tables(content.sheets), charts=[chart]),
        report_files.Section(label("reports.yearly.excellent"), ["、".join(facts.excellent) or label("reports.none")]),
        report_files.Section(label("reports.yearly.removals"),
                             [label("reports.yearly.removal", name=n, on=d, reason=r) for n, d, r in facts.removals]
                             or [label("reports.none")]),
        report_files.Section(label("reports.yearly.reprimands"),
                             [label("reports.yearly.reprimand", name=n, on=d, article=a)
                              for n, d, a in facts.reprimands] or [label("reports.none")]),
    ]
    return report_files.yearly_docx(label("reports.yearly.title", unit=content.unit_name, year=content.year),
                                    sections)


async def yearly_file(content: reports.Yearly, label: Label) -> bytes:
    """The yearly report as DOCX (the chart drawn in the same worker thread)."""
    return await asyncio.to_thread(_yearly, content, label)


async def send_due_monthly(bot: Bot, uow_factory: UnitOfWorkFactory, language: str) -> int:
    """The monthly job: each unit with a staff chat gets last month's tables on the first working day of the
    month, once (marked after the send; a failed send is tried again at the next run)."""
    label = labeller(language)
    async with uow_factory(readonly=True) as uow:
        due = await reports.due_monthly(uow)
    sent = 0
    for item in due:
        async with uow_factory(readonly=True) as uow:
            sheets = await reports.monthly_sheets(uow, unit_id=item.unit_id, period=item.period, label=label)
            unit = await orgs.unit_ref(uow, item.unit_id)
        data = await monthly_file(sheets)
        try:
            for chat_id in item.chat_ids:
                await bot.send_document(int(chat_id), data, filename=f"monthly-{item.period.label}.xlsx",
                                        caption=label("reports.monthly_caption", unit=unit.name,
                                                      period=item.period.label))
        except TelegramError as error:
            logger.warning("monthly report of unit %s not sent (%s); tried again at the next run", item.unit_id, error)
            continue
        async with uow_factory() as uow:
            await reports.mark_sent(uow, item)
        sent += 1
    return sent


__all__ = ["labeller", "monthly_file", "send_due_monthly", "yearly_file"]
