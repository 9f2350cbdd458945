"""The charts of ``/stats`` (issue 17), sent as photos: leads per month by state and invitations per month by
outcome over twelve months, the time experts take to answer, the pool by category. The data comes from
:mod:`services.insight.series`; it is labelled here, in the reader's language, and drawn in a worker thread
(:mod:`services.documents.charts`), so a chart never holds up the bot's other updates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from bot import buttons
from bot.auth import STAFF
from bot.buttons import Press
from bot.keyboards import Row
from services.documents import charts
from services.insight import period, series
from services.insight.actions import StatsChart
from services.platform.notify import Button

KINDS: Final = ("leads", "invitations", "answers", "pool")


def chart_rows(unit_id: int, code: int) -> list[Row]:
    """One row of chart buttons for the ``/stats`` card."""
    return [[Button(f"chart.button.{kind}", StatsChart(kind, unit_id, code)) for kind in KINDS]]


def monthly_chart(kind: str, monthly: series.Monthly, t: Callable[..., str]) -> charts.BarChart:
    """Twelve months of leads by state or of invitations by outcome (``kind``: leads | invitations), labelled."""
    prefix = "lead.state" if kind == "leads" else "stats.outcome"
    return charts.BarChart(t(f"chart.title.{kind}", unit=monthly.unit_name), monthly.months,
                           [(t(f"{prefix}.{key}"), [float(v) for v in values])
                            for key, values in sorted(monthly.counts.items())], t("chart.count"))


async def _chart(press: Press, action: StatsChart) -> charts.BarChart | None:
    t, asked, unit = press.t, period.from_code(action.period), str(action.unit_id)
    async with press.context.services.uow(readonly=True) as uow:
        if action.kind in ("leads", "invitations"):
            load = series.leads_by_month if action.kind == "leads" else series.invitations_by_month
            return monthly_chart(action.kind, await load(uow, actor=press.actor, unit=unit, last=asked), t)
        if action.kind == "answers":
            name, buckets = await series.answer_times(uow, actor=press.actor, unit=unit, asked=asked)
            return charts.BarChart(t("chart.title.answers", unit=name, period=asked.label),
                                   [t(f"chart.bucket.{key}") for key in buckets],
                                   [(t("chart.count"), [float(v) for v in buckets.values()])], t("chart.count"))
        if action.kind == "pool":
            name, pool = await series.pool_now(uow, actor=press.actor, unit=unit)
            return charts.BarChart(t("chart.title.pool", unit=name), [t(f"category.{c}") for c in pool.by_category],
                                   [(t("chart.count"), [float(v) for v in pool.by_category.values()])],
                                   t("chart.count"))
    return None


@buttons.on(StatsChart, audience=STAFF, private_only=True)
async def chart_pressed(press: Press, action: StatsChart) -> None:
    """A chart button: the chart as a photo (drawn off the event loop)."""
    chart = await _chart(press, action)
    if chart is None:
        await press.answer("button.stale", alert=True)
        return
    await press.answer("chart.drawing")
    png = await asyncio.to_thread(charts.render, chart)
    chat = press.update.effective_chat
    if chat is not None:
        await press.context.bot.send_photo(chat.id, png, caption=chart.title)
