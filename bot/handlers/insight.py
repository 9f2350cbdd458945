"""Staff insight in the chat (issue 17): ``/stats [unit] [period]`` (one message with the key figures of the unit and
the units below it, against the period before, and a button per figure with a list behind it) and those lists,
paged in place. The figures are computed in :mod:`services.insight`; this module only renders them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.arguments import SEARCH_CHARS, VALUE_CHARS, Arguments, echo
from bot.auth import STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.handlers import insight_charts
from bot.keyboards import Row, keyboard
from services.insight import lists, period, stats
from services.insight import search as search_rows
from services.insight.actions import SearchPage, SearchWhat, StatsList, StatsPage
from services.insight.actions import pack_words as search_pack
from services.insight.actions import unpack_words as unpack_search
from services.platform import dialogs
from services.platform.notify import Button

logger = logging.getLogger(__name__)
Translate = Callable[..., str]
LISTED = (lists.Figure.NO_ANSWER, lists.Figure.OVERDUE, lists.Figure.TERMS, lists.Figure.SHORT)


def _counts(t: Translate, counts: dict[str, int], prefix: str) -> str:
    """``已受理 3、调查中 1``: each key in words, largest first (``—`` when empty)."""
    parts = [f"{t(f'{prefix}.{key}')} {n}" for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return t("stats.separator").join(parts) or "—"


def _names(t: Translate, counts: dict[str, int]) -> str:
    parts = [f"{name} {n}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return t("stats.separator").join(parts) or "—"


def render(found: stats.Stats, t: Translate) -> str:
    """The ``/stats`` message."""
    acts, inv, leads = found.activities, found.invitations, found.leads
    old_acts, old_inv, old_leads = found.before
    pool = found.pool
    return t("stats.card", unit=found.unit_name, period=found.period.label, before=found.period.before().label,
             held=acts.held, held_change=stats.change(acts.held, old_acts.held), cancelled=acts.cancelled,
             short=acts.short_draws, invited=inv.invited, invited_change=stats.change(inv.invited, old_inv.invited),
             outcomes=_counts(t, inv.outcomes, "stats.outcome"), backups=inv.backups_called,
             hours=inv.median_hours if inv.median_hours is not None else "—", received=leads.received,
             received_change=stats.change(leads.received, old_leads.received),
             lead_states=_counts(t, leads.by_state, "lead.state"),
             lead_categories=_counts(t, leads.by_category, "lead.category"), lead_units=_names(t, leads.by_unit),
             overdue=leads.overdue_now,
             days=leads.median_days_to_decision if leads.median_days_to_decision is not None else "—",
             offered=leads.rewards_offered, claimed=leads.rewards_claimed,
             pool_states=_counts(t, pool.by_state, "lifecycle.state"),
             pool_categories=_counts(t, pool.by_category, "category"), ages=_counts(t, pool.by_age, "stats.age"),
             pool_units=_names(t, pool.by_unit), ending=pool.terms_ending, days_ahead=stats.ENDING_DAYS)


def figure_rows(unit_id: int, code: int) -> list[Row]:
    """A button per figure with a list behind it."""
    return [[Button(f"stats.button.{figure.value}", StatsList(figure.value, unit_id, code, 0))] for figure in LISTED]


def period_and_unit(args: Arguments) -> tuple[str | None, str | None]:
    """The period (the word starting with a year) and the unit code among up to two arguments, in any order."""
    words = [args.text(i, VALUE_CHARS) for i in range(len(args))]
    asked = next((w for w in words if w[:4].isdigit()), None)
    return asked, next((w for w in words if w is not asked), None)


@serves(STAFF, private_only=True)
async def show_stats(update: Update, context: BotContext) -> None:
    """/stats [unit] [period]: the unit's key figures (default: the caller's unit, this month)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments(context.args, "stats.usage")
    args.expect(0, 2)
    asked, unit = period_and_unit(args)
    async with context.services.uow(readonly=True) as uow:
        found = await stats.unit_stats(uow, actor=actor, period=period.parse(asked, today=uow.today()), unit=unit)
    await message.reply_text(render(found, lambda key, **p: context.t(update, key, **p)),
                             reply_markup=keyboard(context.language_for(update),
                                                   figure_rows(found.unit_id, found.period.code)
                                                   + insight_charts.chart_rows(found.unit_id, found.period.code)))


def render_list(found: lists.FigureList, t: Translate) -> str:
    """One page of a figure's list."""
    head = t("stats.list_head", title_key=f"stats.button.{found.figure.value}", unit=found.unit_name,
             period=found.period.label, total=found.total, page=found.page + 1, pages=found.pages)
    lines = [t(f"stats.row.{found.figure.value}", **row) for row in found.rows]
    return "\n".join([head, *lines]) if lines else head + "\n" + t("stats.list_empty")


def page_rows(found: lists.FigureList) -> list[Row]:
    """Previous / Next, as far as there are pages."""
    row: list[Button] = []
    code, unit = found.period.code, found.unit_id
    if found.page > 0:
        row.append(Button("stats.button.previous", StatsPage(found.figure.value, unit, code, found.page - 1)))
    if found.page + 1 < found.pages:
        row.append(Button("stats.button.next", StatsPage(found.figure.value, unit, code, found.page + 1)))
    return [row] if row else []


async def _page(press: Press, action: StatsList) -> tuple[str, Any]:
    async with press.context.services.uow(readonly=True) as uow:
        found = await lists.figure_list(uow, actor=press.actor, figure=action.figure, unit_id=action.unit_id,
                                        period=period.from_code(action.period), page=action.page)
    await press.answer()
    return render_list(found, press.t), keyboard(press.language, page_rows(found))


@buttons.on(StatsList, audience=STAFF, private_only=True)
async def list_pressed(press: Press, action: StatsList) -> None:
    """A figure's button on the card: the first page of its list, as a new message (the card stays)."""
    text, markup = await _page(press, action)
    chat = press.update.effective_chat
    if chat is not None:
        await press.context.bot.send_message(chat.id, text, reply_markup=markup)


@buttons.on(StatsPage, audience=STAFF, private_only=True)
async def page_pressed(press: Press, action: StatsPage) -> None:
    """Previous / Next: the list's message redrawn in place (a vanished or unchanged one is left alone)."""
    text, markup = await _page(press, action)
    try:
        await press.query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        logger.info("list page not redrawn: %s", error.message)


SEARCH_WORDS = ("search", "搜索", "查找")


SEARCHES = {"leads": SearchWhat.LEADS, "activities": SearchWhat.ACTIVITIES}
TITLE_CHARS = 80  # an activity's title in a result line: 20 lines stay well within a message (4,096)


async def _search_page(uow: Any, actor: Any, what: SearchWhat, words: str, page: int) -> search_rows.Found:
    finder = search_rows.leads if what is SearchWhat.LEADS else search_rows.activities
    return await finder(uow, actor=actor, text=words, page=page)


def render_search(found: search_rows.Found, what: SearchWhat, words: str, t: Translate, zone: Any) -> str:
    """One page of a search's results."""
    if not found.total:
        return t("stats.search_none", words=echo(words))
    lines = [t("stats.search_head", words=echo(words), total=found.total, page=found.page + 1, pages=found.pages)]
    kind = "leads" if what is SearchWhat.LEADS else "activities"
    for row in found.rows:
        shown = {**row, "starts": dialogs.format_local(row["starts"], zone),
                 "title": echo(row["title"], TITLE_CHARS)} if "starts" in row else row
        lines.append(t(f"stats.search_{kind}", **shown))
    if found.pages > 1 and search_pack(words) is None:
        lines.append(t("stats.search_narrow"))
    return "\n".join(lines)


def search_rows_buttons(found: search_rows.Found, what: SearchWhat, words: str) -> list[Row]:
    """Previous / Next, as far as there are pages and the words fit a button."""
    packed = search_pack(words)
    if packed is None:
        return []
    row = ([Button("stats.button.previous", SearchPage(what, found.page - 1, *packed))] if found.page > 0 else []) + (
        [Button("stats.button.next", SearchPage(what, found.page + 1, *packed))] if found.page + 1 < found.pages
        else [])
    return [row] if row else []


async def search(update: Update, context: BotContext, what: str) -> None:
    """``/leads search <words>`` or ``/activities search <words>`` (``what``: leads | activities), a page at a
    time."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = Arguments((context.args or [])[1:], f"stats.search_usage_{what}")
    words = " ".join(search_rows.words(args.text(0, SEARCH_CHARS, required=True)))
    if not words:
        raise args.refuse()
    kind = SEARCHES[what]
    async with context.services.uow(readonly=True) as uow:
        found = await _search_page(uow, actor, kind, words, 0)
        zone = uow.zone
    rows = search_rows_buttons(found, kind, words)
    await message.reply_text(render_search(found, kind, words, lambda key, **p: context.t(update, key, **p), zone),
                             reply_markup=keyboard(context.language_for(update), rows) if rows else None)


@buttons.on(SearchPage, audience=STAFF, private_only=True)
async def search_page_pressed(press: Press, action: SearchPage) -> None:
    """Previous / Next of a search: the results' message redrawn in place."""
    words = unpack_search(action.words, action.more)
    if words is None:
        await press.answer("button.stale", alert=True)
        return
    async with press.context.services.uow(readonly=True) as uow:
        found = await _search_page(uow, press.actor, action.what, words, action.page)
        zone = uow.zone
    await press.edit_text(render_search(found, action.what, words, press.t, zone),
                          search_rows_buttons(found, action.what, words) or None)
    await press.answer()


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """/stats and its lists."""
    application.add_handler(CommandHandler("stats", show_stats))
