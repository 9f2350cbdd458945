"""Staff browse the social supervisor registry (002 §3–§8): /supervisors [division code] [words] and
/supervisor <person id> (the card); an admin ends an appointment from the card's buttons, choosing a ground of
002 §8 and confirming (``services.supervisors.supervisors.terminate`` does the work and audits it).

Buttons (``services.supervisors.actions``): "End appointment" shows the grounds, a ground asks for confirmation,
"Confirm" ends the appointment, "Back" restores the card's button. A button of an appointment that has already
ended is stale.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import buttons
from bot.auth import ADMIN, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.keyboards import Row, keyboard
from services.platform.actions import parse_id
from services.platform.notify import Button
from services.supervisors import supervisors
from services.supervisors.actions import BackToCard, ChooseEndGround, ConfirmEnd, PickEndGround
from services.supervisors.supervisors import ARTICLE, EndReason, SupervisorView


def _state(context: BotContext, update: Update, view: SupervisorView) -> str:
    if view.status == "active":
        return context.t(update, "registry.state.active")
    if view.end_reason in set(EndReason):
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


def card_rows(person_id: int) -> list[Row]:
    """The card's "End appointment" button (shown only to whoever may end it)."""
    return [[Button("registry.button.end", ChooseEndGround(person_id))]]


def grounds_rows(person_id: int) -> list[Row]:
    """One button per ground of 002 §8, then "Back"."""
    rows: list[Row] = [[Button("registry.ground", PickEndGround(person_id, reason),
                               {"reason_key": f"registry.reason.{reason.value}", "article": ARTICLE[reason]})]
                       for reason in EndReason]
    return [*rows, [Button("registry.button.back", BackToCard(person_id))]]


def confirm_rows(person_id: int, ground: EndReason) -> list[Row]:
    """"Confirm" this ground, or back to the grounds."""
    return [[Button("registry.button.confirm", ConfirmEnd(person_id, ground),
                    {"reason_key": f"registry.reason.{ground.value}"})],
            [Button("registry.button.back", ChooseEndGround(person_id))]]


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
    """/supervisor <person id>: the registry card; whoever may end the appointment gets the button."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    person_id = parse_id(args[0].lstrip("#")) if len(args) == 1 else None
    if person_id is None:
        await message.reply_text(context.t(update, "registry.usage"))
        return
    async with context.services.uow(readonly=True) as uow:
        view = await supervisors.get_supervisor(uow, actor=actor, person_id=person_id)
    rows = card_rows(view.person_id) if supervisors.may_end(actor, view) else None
    await message.reply_text(_card_text(context, update, view),
                             reply_markup=keyboard(context.language_for(update), rows) if rows else None)


async def _endable(press: Press, person_id: int) -> SupervisorView | None:
    """The supervisor's card when the caller may still end the appointment; else None (answered as stale)."""
    async with press.context.services.uow(readonly=True) as uow:
        view = await supervisors.get_supervisor(uow, actor=press.actor, person_id=person_id)
    if not supervisors.may_end(press.actor, view):
        await press.answer("button.stale", alert=True)
        return None
    return view


@buttons.on(ChooseEndGround, audience=ADMIN)
async def end_pressed(press: Press, action: ChooseEndGround) -> None:
    """"End appointment" (or back from a confirmation): the grounds of 002 §8."""
    if await _endable(press, action.person_id) is not None:
        await press.answer("registry.choose_ground")
        await press.edit_buttons(grounds_rows(action.person_id))


@buttons.on(BackToCard, audience=ADMIN)
async def back_pressed(press: Press, action: BackToCard) -> None:
    """"Back" from the grounds: the card's own button."""
    if await _endable(press, action.person_id) is not None:
        await press.answer()
        await press.edit_buttons(card_rows(action.person_id))


@buttons.on(PickEndGround, audience=ADMIN)
async def ground_pressed(press: Press, action: PickEndGround) -> None:
    """A ground: what it means, and a confirmation button."""
    view = await _endable(press, action.person_id)
    if view is not None:
        await press.answer("registry.confirm_prompt", alert=True, reason_key=f"registry.reason.{action.ground}",
                           article=ARTICLE[action.ground], name=view.name)
        await press.edit_buttons(confirm_rows(action.person_id, action.ground))


@buttons.on(ConfirmEnd, audience=ADMIN)
async def confirm_pressed(press: Press, action: ConfirmEnd) -> None:
    """"Confirm": end the appointment on the chosen ground; the card shows the ended state without buttons."""
    if await _endable(press, action.person_id) is None:
        return
    async with press.context.services.uow() as uow:
        await supervisors.terminate(uow, actor=press.actor, person_id=action.person_id, reason=action.ground)
    async with press.context.services.uow(readonly=True) as uow:
        view = await supervisors.get_supervisor(uow, actor=press.actor, person_id=action.person_id)
    await press.answer("registry.ended_done", name=view.name, article=ARTICLE[action.ground])
    await press.edit_text(_card_text(press.context, press.update, view))
