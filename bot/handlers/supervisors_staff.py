"""Staff browse the social supervisor registry (002 §3–§8): /supervisors [division code] [words] and
/supervisor <person id> (the card); an admin ends an appointment from the card's buttons, choosing a ground of
002 §8 and confirming (``services.supervisors.supervisors.terminate`` does the work and audits it).

Buttons carry ``sv:<verb>:<person id>[:<ground>]``: ``end`` shows the grounds, ``g`` asks for confirmation,
``ok`` ends the appointment, ``back`` restores the card's button. Anything else, or a button of an appointment
that has already ended, is stale.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.auth import ADMIN, STAFF, serves
from bot.context import BotContext
from services.platform.roles import Role
from services.supervisors import supervisors
from services.supervisors.supervisors import ARTICLE, EndReason, SupervisorView

PREFIX = "sv:"
VERBS = ("end", "g", "ok", "back")
GROUNDS = tuple(reason.value for reason in EndReason)


def parse_button(data: str) -> tuple[str, int, str] | None:
    """``sv:<verb>:<person id>[:<ground>]`` as (verb, person id, ground), or None when stale or crafted. Pure."""
    parts = data.removeprefix(PREFIX).split(":") if data.startswith(PREFIX) else []
    if len(parts) not in (2, 3) or parts[0] not in VERBS or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    ground = parts[2] if len(parts) == 3 else ""
    if (parts[0] in ("g", "ok")) != (ground in GROUNDS):
        return None
    return parts[0], int(parts[1]), ground


def _state(context: BotContext, update: Update, view: SupervisorView) -> str:
    if view.status == "active":
        return context.t(update, "registry.state.active")
    if view.end_reason in GROUNDS:
        return context.t(update, "registry.state.ended", reason_key=f"registry.reason.{view.end_reason}",
                         article=ARTICLE[EndReason(view.end_reason)])
    return context.t(update, "registry.state.ended_unknown")


def _card_text(context: BotContext, update: Update, view: SupervisorView) -> str:
    term = f"{view.term_start} ~ {view.term_end}" if view.term_start else "-"
    params: dict[str, Any] = {
        "name": view.name, "person_id": view.person_id, "state": _state(context, update, view),
        "id_number": view.id_number or "-", "mobile": view.mobile or "-", "org": view.org_code,
        "source_key": f"registry.source.{view.source}", "method_key": f"registry.method.{view.appointment_method}",
        "certificate": view.certificate_number or "-", "work_id": view.work_id_number or "-", "term": term,
    }
    return context.t(update, "registry.card", **params)


def _card_keyboard(context: BotContext, update: Update, view: SupervisorView,
                   is_admin: bool) -> InlineKeyboardMarkup | None:
    if not is_admin or view.status != "active":
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(context.t(update, "registry.button.end"),
                                                       callback_data=f"{PREFIX}end:{view.person_id}")]])


def _grounds_keyboard(context: BotContext, update: Update, person_id: int) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(
        context.t(update, "registry.ground", reason_key=f"registry.reason.{reason.value}", article=ARTICLE[reason]),
        callback_data=f"{PREFIX}g:{person_id}:{reason.value}")] for reason in EndReason]
    rows.append([InlineKeyboardButton(context.t(update, "registry.button.back"),
                                      callback_data=f"{PREFIX}back:{person_id}")])
    return InlineKeyboardMarkup(rows)


def _confirm_keyboard(context: BotContext, update: Update, person_id: int, ground: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(context.t(update, "registry.button.confirm", reason_key=f"registry.reason.{ground}"),
                              callback_data=f"{PREFIX}ok:{person_id}:{ground}")],
        [InlineKeyboardButton(context.t(update, "registry.button.back"), callback_data=f"{PREFIX}end:{person_id}")],
    ])


@serves(STAFF, private_only=True)
async def list_registry(update: Update, context: BotContext) -> None:
    """/supervisors [division code] [words]: the registry of the caller's line, cut with a count of the rest."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        page = await supervisors.search_supervisors(uow, actor=actor, words=context.args or [])
    if not page.items:
        await message.reply_text(context.t(update, "registry.empty"))
        return
    if page.org_code:
        lines = [context.t(update, "registry.header_org", org=page.org_code, total=page.total)]
    else:
        lines = [context.t(update, "registry.header", total=page.total)]
    lines += [context.t(update, "registry.line", person_id=v.person_id, name=v.name, org=v.org_code,
                        source_key=f"registry.source.{v.source}", term_end=v.term_end or "-",
                        state=_state(context, update, v)) for v in page.items]
    if page.total > len(page.items):
        lines.append(context.t(update, "registry.more", count=page.total - len(page.items)))
    await message.reply_text("\n".join(lines))


@serves(STAFF, private_only=True)
async def show(update: Update, context: BotContext) -> None:
    """/supervisor <person id>: the registry card; admins get the "End appointment" button."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1 or not args[0].lstrip("#").isdigit() or len(args[0]) > 13:
        await message.reply_text(context.t(update, "registry.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        view = await supervisors.get_supervisor(uow, actor=actor, person_id=int(args[0].lstrip("#")))
    await message.reply_text(_card_text(context, update, view),
                             reply_markup=_card_keyboard(context, update, view, Role.ADMIN in actor.roles))


@serves(ADMIN)
async def pressed(update: Update, context: BotContext) -> None:
    """An ``sv:`` button: grounds, confirmation, or the end of the appointment (002 §8)."""
    query, actor = update.callback_query, context.actor
    assert query is not None and actor is not None
    parsed = parse_button(query.data or "")
    if parsed is None:
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    verb, person_id, ground = parsed
    async with context.services.uow(readonly=True) as uow:
        view = await supervisors.get_supervisor(uow, actor=actor, person_id=person_id)
    if view.status != "active":
        await query.answer(context.t(update, "button.stale"), show_alert=True)
        return
    if verb == "end":
        await query.answer(context.t(update, "registry.choose_ground"))
        await query.edit_message_reply_markup(_grounds_keyboard(context, update, person_id))
    elif verb == "back":
        await query.answer()
        await query.edit_message_reply_markup(_card_keyboard(context, update, view, True))
    elif verb == "g":
        reason = EndReason(ground)
        await query.answer(context.t(update, "registry.confirm_prompt", reason_key=f"registry.reason.{ground}",
                                     article=ARTICLE[reason], name=view.name), show_alert=True)
        await query.edit_message_reply_markup(_confirm_keyboard(context, update, person_id, ground))
    else:
        async with context.services.uow() as uow:
            await supervisors.terminate(uow, actor=actor, person_id=person_id, reason=ground)
        async with context.services.uow(readonly=True) as uow:
            view = await supervisors.get_supervisor(uow, actor=actor, person_id=person_id)
        await query.answer(context.t(update, "registry.ended_done", name=view.name,
                                     article=ARTICLE[EndReason(ground)]))
        await query.edit_message_text(_card_text(context, update, view), reply_markup=None)
