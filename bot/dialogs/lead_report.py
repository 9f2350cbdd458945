"""The guided report of a lead by a social supervisor on mobile (flow ``lead``; 002 §9(二), §11(四)): who is reported,
the insured person, the category, what happened, when and where, evidence files, a declared interest, then a review
before submitting (``services.leads.leads.submit``).

Which question comes next and what an answer keeps are the service's (``services/leads/report_steps.py``); this
module asks and renders. The state lives in the ``dialog`` row (it survives a restart). Buttons carry the dialog's token and step number
(``services.leads.actions.ReportButton`` and its kin): one from an older step changes nothing. /cancel or the Cancel
button ends it at any step. Evidence intake and album acknowledgements: ``bot/dialogs/lead_evidence.py``.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot import buttons, dialogs, questions
from bot.auth import SUPERVISOR
from bot.buttons import Press
from bot.context import BotContext
from bot.dialogs import lead_evidence
from bot.dialogs.lead_evidence import ALBUM, accepted_types, album_text, album_with, file_kb, megabytes
from bot.keyboards import Row, keyboard
from services.institutions import institutions
from services.leads import card_actions, leads
from services.leads.actions import (
    ReportButton,
    ReportCategory,
    ReportChoice,
    ReportEdit,
    ReportField,
    ReportInstitution,
)
from services.leads.lead_rules import LeadCategory, mask_name
from services.leads.report_steps import (
    CATEGORY,
    EDITS,
    EVIDENCE,
    INSURED,
    INTEREST,
    INTEREST_NOTE,
    REVIEW,
    TARGET,
    WHAT,
    WHEN,
    WHERE,
    after_choice,
    draft_of,
    keep_typed,
    next_step,
    takes_text,
    text_limit,
)
from services.platform import dialogs as dialog_rows
from services.platform import policy
from services.platform.dialogs import DialogState
from services.platform.errors import DomainError
from services.platform.notify import Button

FLOW = "lead"
MAX_MATCHES = 6
QUESTIONS = {TARGET: "report.ask_target", INSURED: "report.ask_insured", CATEGORY: "report.ask_category",
             WHAT: "report.ask_what", WHEN: "report.ask_when", WHERE: "report.ask_where",
             INTEREST: "report.ask_interest", INTEREST_NOTE: "report.ask_interest_note"}
Stamp = tuple[str, int]


def _stamp(dialog: DialogState) -> Stamp:
    """The token and step number of a dialog, for its buttons."""
    return dialog.token, dialog.seq


def _plain(key: str, stamp: Stamp, choice: ReportChoice) -> Button:
    return Button(key, ReportButton(stamp[0], stamp[1], choice))


def _step_rows(step: str, stamp: Stamp) -> list[Row]:
    if step == CATEGORY:
        cats = list(LeadCategory)
        return [[Button(f"lead.category.{c}", ReportCategory(*stamp, c)) for c in cats[i:i + 2]]
                for i in range(0, len(cats), 2)]
    if step in (TARGET, INSURED, WHERE):
        return [[_plain("lead.button.skip", stamp, ReportChoice.SKIP)]]
    if step == EVIDENCE:
        return [[_plain("lead.button.done", stamp, ReportChoice.DONE)]]
    if step == INTEREST:
        return [[_plain("report.interest_none", stamp, ReportChoice.NO_INTEREST),
                 _plain("report.interest_yes", stamp, ReportChoice.INTEREST)]]
    if step == REVIEW:
        edit = [Button(f"report.edit_{field}", ReportEdit(*stamp, field)) for field in ReportField]
        return [[_plain("report.submit", stamp, ReportChoice.SUBMIT)], edit[:3], edit[3:]]
    return []


def step_rows(step: str, stamp: Stamp) -> list[Row]:
    """The buttons of ``step``, the Cancel button last."""
    return [*_step_rows(step, stamp), [_plain("lead.button.cancel", stamp, ReportChoice.CANCEL)]]


def _review_text(update: Update, context: BotContext, data: dict[str, Any]) -> str:
    target = data.get("institution_name") or data.get("institution_text") or ""
    if data.get("insured_name"):
        target = (target + "；" if target else "") + mask_name(str(data["insured_name"]))
    interest = (context.t(update, "report.interest_declared", note=data.get("interest_note") or "")
                if data.get("interest") else context.t(update, "report.interest_not_declared"))
    files = data.get("evidence", [])
    captioned = sum(1 for item in files if item.get("caption"))
    return context.t(update, "report.review", target=target or "—",
                     category_key=f"lead.category.{data.get('category', 'other')}", what=data.get("what", ""),
                     when=data.get("when") or "—", where=data.get("where") or "—", files=len(files),
                     captions=context.t(update, "report.review_captions", count=captioned) if captioned else "",
                     interest=interest)


def question(update: Update, context: BotContext, step: str, data: dict[str, Any]) -> str:
    """The question of ``step`` (the review shows the answers so far)."""
    if step == REVIEW:
        return _review_text(update, context, data)
    if step == EVIDENCE:
        settings = context.services.settings
        return context.t(update, "report.ask_evidence", limit_mb=megabytes(settings.evidence_max_bytes),
                         max_files=settings.evidence_max_files, types=accepted_types())
    return context.t(update, QUESTIONS[step])


async def ask(update: Update, context: BotContext, step: str, data: dict[str, Any], stamp: Stamp) -> None:
    """Send the question of ``step`` with its buttons."""
    chat = update.effective_chat
    assert chat is not None
    await questions.ask(context, chat.id, question(update, context, step, data),
                        keyboard(context.language_for(update), step_rows(step, stamp)))


async def start(update: Update, context: BotContext) -> None:
    """Start (or restart) the report for an active supervisor: the first question."""
    actor, chat = context.actor, update.effective_chat
    assert actor is not None and actor.account_id is not None and chat is not None
    async with context.services.uow() as uow:
        await card_actions.may_report(uow, actor)
        dialog = await dialog_rows.begin(uow, actor.account_id, flow=FLOW, step=TARGET, data={"evidence": []})
        stamp, data = _stamp(dialog), dict(dialog.data)
        await uow.commit()
    await context.bot.send_message(chat.id, context.t(update, "report.start"))
    await ask(update, context, TARGET, data, stamp)


# ---- typed answers ---------------------------------------------------------------------------------------


async def _search(update: Update, context: BotContext, account_id: int, text: str) -> None:
    """A typed institution name: the matches as buttons, with "use as typed", Skip and Cancel."""
    async with context.services.uow() as uow:
        dialog = await dialog_rows.current(uow, account_id, flow=FLOW)
        if dialog is None or (dialog := await dialog_rows.update(uow, dialog, data={**dialog.data,
                                                                                   "search": text[:200]})) is None:
            return
        found = [(i.id, i.name) for i in await institutions.find(uow, text, limit=MAX_MATCHES)]
        stamp = _stamp(dialog)
        await uow.commit()
    rows: list[Row] = [[Button("lead.button.institution", ReportInstitution(*stamp, int(i or 0)), {"name": name})]
                       for i, name in found]
    rows.append([Button("report.use_text", ReportButton(*stamp, ReportChoice.TYPED_NAME), {"text": text[:30]})])
    rows.append([_plain("lead.button.skip", stamp, ReportChoice.SKIP), _plain("lead.button.cancel", stamp,
                                                                              ReportChoice.CANCEL)])
    note = context.t(update, "report.matches") if found else context.t(update, "report.no_match", text=text)
    message = update.effective_message
    assert message is not None
    await questions.ask(context, message.chat_id, note, keyboard(context.language_for(update), rows))


async def on_text(update: Update, context: BotContext, state: DialogState) -> None:
    """A typed answer: kept, and the next question asked; anything else repeats the question."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and actor.account_id is not None and message is not None
    text = (message.text or "").strip()
    if state.step == TARGET and text:
        await _search(update, context, actor.account_id, text)
        return
    async with context.services.uow() as uow:
        dialog = await dialog_rows.current(uow, actor.account_id, flow=FLOW)
        if dialog is None:
            return
        step, data = dialog.step, dict(dialog.data)
        if not text or not takes_text(step):
            await questions.ask(context, message.chat_id, question(update, context, step, data), keyboard(
                context.language_for(update), step_rows(step, _stamp(dialog))))
            return
        limit = text_limit(step)
        if limit is not None and len(text) > limit:  # stated, not cut: nothing typed is silently lost
            await message.reply_text(context.t(update, "report.too_long", limit=limit, length=len(text)))
            return
        refused = keep_typed(step, data, text, uow.today())
        if refused is not None:
            await message.reply_text(context.t(update, "report.bad_id", reason_key=f"import.code.id_number_{refused}"))
            return
        new_step = next_step(step, data)
        if (dialog := await dialog_rows.update(uow, dialog, step=new_step, data=data)) is None:
            return
        stamp = _stamp(dialog)
        await uow.commit()
    await ask(update, context, new_step, data, stamp)


# ---- buttons ---------------------------------------------------------------------------------------------


async def _current(press: Press, uow: Any, token: str, seq: int) -> DialogState | None:
    """The caller's report dialog when the button belongs to its current step; else None (answered as stale)."""
    account_id = press.actor.account_id
    dialog = await dialog_rows.current(uow, account_id, flow=FLOW) if account_id is not None else None
    if dialog is None or _stamp(dialog) != (token, seq):
        await press.answer("report.stale", alert=True)
        return None
    return dialog


async def _move(press: Press, uow: Any, dialog: DialogState, data: dict[str, Any], new_step: str) -> Stamp | None:
    """Save the answers and go to ``new_step`` (committed); None when the step stays (the press changes nothing)."""
    moved = await dialog_rows.update(uow, dialog, step=new_step, data=data) if new_step != dialog.step else None
    if moved is None:
        await press.answer()
        return None
    await uow.commit()
    return _stamp(moved)


async def _asked(press: Press, step: str, data: dict[str, Any], stamp: Stamp | None) -> None:
    """After a move: stop the spinner, drop the old buttons, ask the next question."""
    if stamp is None:
        return
    await press.answer()
    await press.edit_buttons(None)
    await ask(press.update, press.context, step, data, stamp)


@buttons.on(ReportButton, audience=SUPERVISOR, private_only=True)
async def choice_pressed(press: Press, action: ReportButton) -> None:
    """Skip, Done, use the typed name, the interest answer, Submit or Cancel."""
    async with press.context.services.uow() as uow:
        dialog = await _current(press, uow, action.token, action.seq)
        if dialog is None:
            return
        if action.choice is ReportChoice.CANCEL:
            await dialog_rows.clear(uow, dialog.account_id)
            await uow.commit()
            await _cancelled(press)
            return
        if action.choice is ReportChoice.SUBMIT and dialog.step == REVIEW:
            await _submit(press, uow, dialog)
            return
        data = dict(dialog.data)
        new_step = after_choice(dialog.step, action.choice, data)
        stamp = await _move(press, uow, dialog, data, new_step)
    await _asked(press, new_step, data, stamp)


async def _cancelled(press: Press) -> None:
    await press.answer()
    await press.edit_buttons(None)
    await press.reply("report.cancelled")


@buttons.on(ReportInstitution, audience=SUPERVISOR, private_only=True)
async def institution_pressed(press: Press, action: ReportInstitution) -> None:
    """One of the institutions matching the typed name."""
    async with press.context.services.uow() as uow:
        dialog = await _current(press, uow, action.token, action.seq)
        if dialog is None:
            return
        data, new_step = dict(dialog.data), dialog.step
        if dialog.step == TARGET:
            institution = await institutions.institution_ref(uow, action.institution_id)
            data.update(institution_id=institution.id, institution_name=institution.name, institution_text=None)
            new_step = next_step(TARGET, data)
        stamp = await _move(press, uow, dialog, data, new_step)
    await _asked(press, new_step, data, stamp)


@buttons.on(ReportCategory, audience=SUPERVISOR, private_only=True)
async def category_pressed(press: Press, action: ReportCategory) -> None:
    """The lead's category."""
    async with press.context.services.uow() as uow:
        dialog = await _current(press, uow, action.token, action.seq)
        if dialog is None:
            return
        data, new_step = dict(dialog.data), dialog.step
        if dialog.step == CATEGORY:
            data["category"] = action.category.value
            new_step = next_step(CATEGORY, data)
        stamp = await _move(press, uow, dialog, data, new_step)
    await _asked(press, new_step, data, stamp)


@buttons.on(ReportEdit, audience=SUPERVISOR, private_only=True)
async def edit_pressed(press: Press, action: ReportEdit) -> None:
    """From the review, back to one answer (then back to the review)."""
    async with press.context.services.uow() as uow:
        dialog = await _current(press, uow, action.token, action.seq)
        if dialog is None:
            return
        data, new_step = dict(dialog.data), dialog.step
        if dialog.step == REVIEW:
            data["fix"] = True
            new_step = EDITS[action.field]
        stamp = await _move(press, uow, dialog, data, new_step)
    await _asked(press, new_step, data, stamp)


async def _submit(press: Press, uow: Any, dialog: DialogState) -> None:
    """File the lead (the receipt comes from the outbox); a refusal keeps the dialog and says why."""
    try:
        await dialog_rows.clear(uow, dialog.account_id)
        await leads.submit(uow, actor=press.actor, draft=draft_of(dict(dialog.data)), rules=policy.current().leads)
    except DomainError as error:
        await uow.rollback()
        await press.answer(str(error.params.get("reason_key") or error.message_key), alert=True)
        return
    await press.answer()
    await press.edit_buttons(None)


# ---- files -----------------------------------------------------------------------------------------------


async def on_file(update: Update, context: BotContext, state: DialogState) -> bool | None:
    """A photo or document: evidence at the evidence step (other files go on)."""
    message = update.effective_message
    assert message is not None
    if not lead_evidence.is_evidence(message):
        return False
    if state.step != EVIDENCE:
        await message.reply_text(context.t(update, "report.file_not_now"))
        return None
    item = await lead_evidence.take_file(update, context, message, count=len(state.data.get("evidence", [])))
    if item is not None:
        await _keep_file(update, context, item)
    return None


async def _keep_file(update: Update, context: BotContext, item: dict[str, Any]) -> None:
    """Add the stored file to the dialog and acknowledge it (an album's items share one acknowledgement)."""
    actor, message = context.actor, update.effective_message
    assert actor is not None and actor.account_id is not None and message is not None
    async with context.services.uow() as uow:
        dialog = await dialog_rows.current(uow, actor.account_id, flow=FLOW)
        if dialog is None or dialog.step != EVIDENCE:
            return
        data = dict(dialog.data)
        data["evidence"] = [*data.get("evidence", []), item]
        album = album_with(data.get(ALBUM), message.media_group_id, item)
        if album is not None:
            data[ALBUM] = album
        if (dialog := await dialog_rows.update(uow, dialog, data=data)) is None:
            return
        stamp = _stamp(dialog)
        await uow.commit()
    done = keyboard(context.language_for(update), [[_plain("lead.button.done", stamp, ReportChoice.DONE)]])
    total = len(data["evidence"])
    if album is None or len(album["files"]) == 1:  # a single file, or an album's first: as a single file
        text = context.t(update, "report.file_received", n=total, name=item["file_name"],
                         size=file_kb(int(item["size"])))
    else:
        text = album_text(lambda key, **params: context.t(update, key, **params), album["files"], total=total)
    if album is None:
        await questions.ask(context, message.chat_id, text, done)
        return
    shown = await lead_evidence.acknowledge_album(context, message, album.get("message_id"), text, done)
    if shown != album.get("message_id"):
        await _remember_album_message(context, actor.account_id, str(album["group"]), shown)


async def _remember_album_message(context: BotContext, account_id: int, group: str, message_id: int) -> None:
    """Keep the album's acknowledgement id in the dialog, so its next item (even after a restart) edits it."""
    async with context.services.uow() as uow:
        dialog = await dialog_rows.current(uow, account_id, flow=FLOW)
        album = dialog.data.get(ALBUM) if dialog is not None else None
        if dialog is None or not isinstance(album, dict) or album.get("group") != group:
            return
        await dialog_rows.update(uow, dialog, data={**dialog.data, ALBUM: {**album, "message_id": message_id}})
        await uow.commit()


dialogs.register(dialogs.Flow(name=FLOW, on_text=on_text, on_file=on_file, cancelled_key="report.cancelled"))
