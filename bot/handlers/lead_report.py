"""Social supervisors report a lead on mobile (/report), list their leads (/myleads) and add information, evidence
or answers later (002 §9(二), §11(四), §12(二)). Issue 8.

The guided conversation keeps its state in the ``dialog`` table (``services.platform.dialogs``), so it survives a
restart;
buttons carry ``lr:<token>:<seq>:<action>`` and a stale one changes nothing; /cancel or the Cancel button ends it at
any step. Text and files reach it through handlers in group -3 that act only when the account has an open dialog of
these flows (``lead`` to report, ``lead_more`` to add to a lead) and otherwise let later groups answer.

Evidence files are downloaded at once and kept by the product (``services.leads.evidence``: bytes on disk named by
SHA-256); the dialog remembers only their hash, size, type and path. Limits are explained when exceeded.
An album (items sharing a ``media_group_id``) gets one acknowledgement, edited as its items arrive; the dialog keeps
the album's group id, message id and files (``album``), so a restart between two items still edits the same message.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.auth import BOUND, SUPERVISOR, fit_callback_answer, serves
from bot.context import BotContext
from services.institutions import institutions
from services.leads import evidence, leads
from services.leads.lead_rules import LeadCategory, LeadState, mask_name
from services.platform import dialogs, policy
from services.platform.errors import DomainError
from services.platform.identifiers import InvalidIdentifier, validate_id_number
from storage.activities import Dialog

logger = logging.getLogger(__name__)

Translate = Callable[..., str]
FLOW, MORE, STAFF_FLOW = "lead", "lead_more", "lead_staff"
PREFIX, MORE_PREFIX = "lr:", "lx:"
MAX_MATCHES = 6
ALBUM = "album"  # dialog data: {"group": media_group_id, "message_id": acknowledgement or None, "files": [[name, kb]]}
ALBUM_LISTED, ALBUM_NAME_CHARS, MAX_TEXT = 10, 60, 4096  # names listed in an album acknowledgement; Telegram's limit
TARGET, INSURED, CATEGORY, WHAT, WHEN, WHERE, EVIDENCE, INTEREST, INTEREST_NOTE, REVIEW = (
    "target", "insured", "category", "what", "when", "where", "evidence", "interest", "interest_note", "review")
QUESTIONS = {TARGET: "report.ask_target", INSURED: "report.ask_insured", CATEGORY: "report.ask_category",
             WHAT: "report.ask_what", WHEN: "report.ask_when", WHERE: "report.ask_where",
             INTEREST: "report.ask_interest", INTEREST_NOTE: "report.ask_interest_note"}


def _button(text: str, stamp: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=f"{PREFIX}{stamp}:{action}")


def _account(context: BotContext) -> int | None:
    actor = context.actor
    return actor.account_id if actor is not None else None


def _keyboard(step: str, stamp: str, t: Translate, data: dict[str, Any]) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if step == CATEGORY:
        cats = list(LeadCategory)
        rows += [[_button(t(f"lead.category.{c}"), stamp, f"c:{c}") for c in cats[i:i + 2]]
                 for i in range(0, len(cats), 2)]
    elif step in (TARGET, INSURED, WHERE):
        rows.append([_button(t("lead.button.skip"), stamp, "skip")])
    elif step == EVIDENCE:
        rows.append([_button(t("lead.button.done"), stamp, "done")])
    elif step == INTEREST:
        rows.append([_button(t("report.interest_none"), stamp, "ni"), _button(t("report.interest_yes"), stamp, "yi")])
    elif step == REVIEW:
        rows.append([_button(t("report.submit"), stamp, "ok")])
        rows.append([_button(t("report.edit_target"), stamp, "e:target"),
                     _button(t("report.edit_category"), stamp, "e:category"),
                     _button(t("report.edit_what"), stamp, "e:what")])
        rows.append([_button(t("report.edit_evidence"), stamp, "e:evidence"),
                     _button(t("report.edit_interest"), stamp, "e:interest")])
    rows.append([_button(t("lead.button.cancel"), stamp, "x")])
    return InlineKeyboardMarkup(rows)


def _review_text(data: dict[str, Any], t: Translate) -> str:
    target = data.get("institution_name") or data.get("institution_text") or ""
    if data.get("insured_name"):
        target = (target + "；" if target else "") + mask_name(str(data["insured_name"]))
    interest = (t("report.interest_declared", note=data.get("interest_note") or "")
                if data.get("interest") else t("report.interest_not_declared"))
    return t("report.review", target=target or "—", category_key=f"lead.category.{data.get('category', 'other')}",
             what=data.get("what", ""), when=data.get("when") or "—", where=data.get("where") or "—",
             files=len(data.get("evidence", [])), interest=interest)


def _question(step: str, data: dict[str, Any], t: Translate, context: BotContext) -> str:
    if step == REVIEW:
        return _review_text(data, t)
    if step == EVIDENCE:
        settings = context.services.settings
        return t("report.ask_evidence", limit_mb=_mb(settings.evidence_max_bytes),
                 max_files=settings.evidence_max_files, types=_types())
    return t(QUESTIONS[step])


def _types() -> str:
    return "、".join(e for e in evidence.ACCEPTED_EXTENSIONS if e not in ("jpeg",))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


async def _ask(chat_id: int, context: BotContext, update: Update, step: str, data: dict[str, Any], *, stamp: str,
               extra: tuple[str, InlineKeyboardMarkup] | None = None) -> None:
    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)
    if extra is not None:
        await context.bot.send_message(chat_id, extra[0], reply_markup=extra[1])
        return
    await context.bot.send_message(chat_id, _question(step, data, t, context),
                                   reply_markup=_keyboard(step, stamp, t, data))


def _next(step: str, data: dict[str, Any]) -> str:
    if data.get("fix") and step in (TARGET, INSURED, CATEGORY, WHAT, WHEN, WHERE, EVIDENCE, INTEREST, INTEREST_NOTE):
        if step == TARGET:
            return INSURED
        if step == WHAT:
            return WHEN
        if step == WHEN:
            return WHERE
        if step == INTEREST and data.get("interest"):
            return INTEREST_NOTE
        return REVIEW
    order = [TARGET, INSURED, CATEGORY, WHAT, WHEN, WHERE, EVIDENCE, INTEREST]
    if step == INTEREST:
        return INTEREST_NOTE if data.get("interest") else REVIEW
    if step == INTEREST_NOTE:
        return REVIEW
    return order[order.index(step) + 1]


@serves(SUPERVISOR, private_only=True)
async def report(update: Update, context: BotContext) -> None:
    """/report: start (or restart) the reporting conversation."""
    actor, chat = context.actor, update.effective_chat
    assert actor is not None and actor.account_id is not None and chat is not None
    async with context.services.uow() as uow:
        await leads.active_supervisor(uow, actor)
        dialog = await dialogs.start(uow, actor.account_id, flow=FLOW, step=TARGET, data={"evidence": []})
        stamp, data = dialogs.stamp(dialog), dict(dialog.data)
        await uow.commit()
    await context.bot.send_message(chat.id, context.t(update, "report.start"))
    await _ask(chat.id, context, update, TARGET, data, stamp=stamp)


async def dialog_text(update: Update, context: BotContext) -> None:
    """Free text (group -3): an answer when a lead dialog is open, else left to later groups."""
    account_id, message, actor = _account(context), update.effective_message, context.actor
    if account_id is None or message is None or actor is None or update.effective_chat is None:
        return
    async with context.services.uow(readonly=True) as reader:
        found = await dialogs.get(reader, account_id)
        if found is None or found.flow not in (FLOW, MORE, STAFF_FLOW):
            return
    if found.flow == STAFF_FLOW:  # one text handler per group runs: the staff side's dialog text is routed here
        from bot.handlers.leads import staff_text

        await staff_text(update, context)
        return
    if found.flow == MORE:
        await _more_text(update, context, message.text or "")
        raise ApplicationHandlerStop
    text = (message.text or "").strip()
    chat_id = update.effective_chat.id
    extra: tuple[str, InlineKeyboardMarkup] | None = None
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, flow=FLOW)
        if dialog is None:
            return
        data, step = dict(dialog.data), dialog.step
        stamp = dialogs.stamp(dialog)

        def t(key: str, **params: Any) -> str:
            return context.t(update, key, **params)
        new_step = step
        if step == TARGET and text:
            data["search"] = text[:200]
            found_rows = await institutions.search(uow, text, limit=MAX_MATCHES)
            rows = [[_button(i.name, stamp, f"i:{i.id}")] for i in found_rows]
            rows.append([_button(t("report.use_text", text=text[:30]), stamp, "t")])
            rows.append([_button(t("lead.button.skip"), stamp, "skip"), _button(t("lead.button.cancel"), stamp, "x")])
            note = t("report.matches") if found_rows else t("report.no_match", text=text)
            extra = (note, InlineKeyboardMarkup(rows))
        elif step == INSURED and text:
            parts = text.split()
            name, number = parts[0], (parts[1] if len(parts) > 1 else None)
            if number is not None:
                try:
                    number = validate_id_number(number, today=uow.today()).number
                except InvalidIdentifier as error:
                    await message.reply_text(t("report.bad_id", reason=error.reason))
                    raise ApplicationHandlerStop from None
            data["insured_name"], data["insured_id_number"] = name[:100], number
            new_step = _next(step, data)
        elif step in (WHAT, WHEN, WHERE, INTEREST_NOTE) and text:
            field = {WHAT: "what", WHEN: "when", WHERE: "where", INTEREST_NOTE: "interest_note"}[step]
            data[field] = text[: 4000 if step == WHAT else 1000 if step == INTEREST_NOTE else 200]
            new_step = _next(step, data)
        if extra is None and new_step == step:
            await message.reply_text(_question(step, data, t, context), reply_markup=_keyboard(step, stamp, t, data))
            raise ApplicationHandlerStop
        await dialogs.save(uow, dialog, step=new_step, data=data)
        stamp = dialogs.stamp(dialog)
        await uow.commit()
    await _ask(chat_id, context, update, new_step, data, stamp=stamp, extra=extra)
    raise ApplicationHandlerStop


@serves(SUPERVISOR, private_only=True)
async def pressed(update: Update, context: BotContext) -> None:
    """A button of the reporting conversation (refused when stale)."""
    query, actor, chat = update.callback_query, context.actor, update.effective_chat
    assert query is not None and actor is not None and actor.account_id is not None and chat is not None
    parts = (query.data or "").split(":", 4)
    token, seq, action = [*parts, "", "", ""][1:4]
    argument = parts[4] if len(parts) > 4 else ""
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
        if dialog is None or not dialogs.is_current(dialog, token, seq):
            await query.answer(fit_callback_answer(context.t(update, "report.stale")), show_alert=True)
            return
        data, step = dict(dialog.data), dialog.step
        if action == "x":
            await dialogs.clear(uow, actor.account_id)
            await uow.commit()
            await query.answer()
            await _drop_buttons(query.message)
            await context.bot.send_message(chat.id, context.t(update, "report.cancelled"))
            return
        if action == "ok" and step == REVIEW:
            await _submit(update, context, uow, dialog, data)
            return
        new_step = step
        if step == TARGET and action == "i" and argument.isdigit():
            institution = await institutions.get_institution(uow, int(argument))
            data.update(institution_id=institution.id, institution_name=institution.name, institution_text=None)
            new_step = _next(step, data)
        elif step == TARGET and action == "t" and data.get("search"):
            data.update(institution_id=None, institution_name=None, institution_text=data["search"])
            new_step = _next(step, data)
        elif step in (TARGET, INSURED, WHERE) and action == "skip":
            if step == TARGET:
                data.update(institution_id=None, institution_name=None, institution_text=None)
            new_step = _next(step, data)
        elif step == CATEGORY and action == "c":
            data["category"] = LeadCategory(argument).value
            new_step = _next(step, data)
        elif step == EVIDENCE and action == "done":
            new_step = _next(step, data)
        elif step == INTEREST and action in ("ni", "yi"):
            data["interest"] = action == "yi"
            if action == "ni":
                data["interest_note"] = None
            new_step = _next(step, data)
        elif step == REVIEW and action == "e":
            data["fix"] = True
            new_step = {"target": TARGET, "category": CATEGORY, "what": WHAT, "evidence": EVIDENCE,
                        "interest": INTEREST}.get(argument, REVIEW)
        if new_step == step:
            await query.answer()
            return
        await dialogs.save(uow, dialog, step=new_step, data=data)
        stamp = dialogs.stamp(dialog)
        await uow.commit()
    await query.answer()
    await _drop_buttons(query.message)
    await _ask(chat.id, context, update, new_step, data, stamp=stamp)


async def _drop_buttons(message: Any) -> None:
    if isinstance(message, Message):
        with contextlib.suppress(TelegramError):
            await message.edit_reply_markup(None)


async def _submit(update: Update, context: BotContext, uow: Any, dialog: Dialog, data: dict[str, Any]) -> None:
    query, actor, chat = update.callback_query, context.actor, update.effective_chat
    assert query is not None and actor is not None and actor.account_id is not None and chat is not None
    draft = leads.LeadDraft(
        category=str(data.get("category", "")), what=str(data.get("what", "")),
        institution_id=data.get("institution_id"), institution_text=data.get("institution_text"),
        insured_name=data.get("insured_name"), insured_id_number=data.get("insured_id_number"),
        happened=str(data.get("when") or ""), place=str(data.get("where") or ""),
        interest_declared=bool(data.get("interest")), interest_note=data.get("interest_note"),
        evidence=list(data.get("evidence", [])),
    )
    try:
        await dialogs.clear(uow, actor.account_id)
        await leads.submit(uow, actor=actor, draft=draft, rules=lead_rules(context))
    except DomainError as error:
        await uow.rollback()
        await query.answer(fit_callback_answer(context.t(update, str(error.params.get("reason_key") or
                                                                        error.message_key))), show_alert=True)
        return
    await query.answer()
    await _drop_buttons(query.message)


def lead_rules(context: BotContext) -> Any:
    """The reporting rules' numbers in force (from the settings, through ``services.platform.policy``)."""
    return policy.current().leads


# ---- files -----------------------------------------------------------------------------------------------


async def dialog_file(update: Update, context: BotContext) -> None:
    """A photo or document (group -3): evidence when a lead dialog waits for it, else left to later groups."""
    account_id, message = _account(context), update.effective_message
    if account_id is None or message is None or update.effective_chat is None:
        return
    async with context.services.uow(readonly=True) as reader:
        found = await dialogs.get(reader, account_id)
    if found is None or found.flow not in (FLOW, MORE):
        return
    if found.flow == FLOW and found.step != EVIDENCE:
        await message.reply_text(context.t(update, "report.file_not_now"))
        raise ApplicationHandlerStop
    item = await _take_file(update, context, message, count=len(found.data.get("evidence", [])))
    if item is None:
        raise ApplicationHandlerStop
    if found.flow == MORE:
        async with context.services.uow() as uow:
            await leads.add_information(uow, actor=context.actor or _no_actor(), lead_id=int(found.data["lead_id"]),
                                        text="", evidence=[item])
        raise ApplicationHandlerStop
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, flow=FLOW)
        if dialog is None or dialog.step != EVIDENCE:
            raise ApplicationHandlerStop
        data = dict(dialog.data)
        data["evidence"] = [*data.get("evidence", []), item]
        album = album_with(data.get(ALBUM), message.media_group_id, item)
        if album is not None:
            data[ALBUM] = album
        await dialogs.save(uow, dialog, data=data)
        stamp = dialogs.stamp(dialog)
        await uow.commit()

    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)
    done = InlineKeyboardMarkup([[_button(t("lead.button.done"), stamp, "done")]])
    total = len(data["evidence"])
    if album is None or len(album["files"]) == 1:  # a single file, or an album's first: as a single file
        text = t("report.file_received", n=total, name=item["file_name"], size=file_kb(int(item["size"])))
    else:
        text = album_text(t, album["files"], total=total)
    if album is None:
        await message.reply_text(text, reply_markup=done)
        raise ApplicationHandlerStop
    shown = await _acknowledge_album(context, message, album.get("message_id"), text, done)
    if shown != album.get("message_id"):
        await _remember_album_message(context, account_id, str(album["group"]), shown)
    raise ApplicationHandlerStop


def file_kb(size: int) -> int:
    """A file's size in whole KB as the acknowledgements show it (at least 1)."""
    return max(1, size // 1024)


def album_with(album: Any, group: str | None, item: dict[str, Any]) -> dict[str, Any] | None:
    """The album state after ``item`` arrived: None for a single file; the same album with one more file when
    ``group`` is the remembered album's; else a new album (no acknowledgement yet)."""
    if group is None:
        return None
    entry = [str(item["file_name"]), file_kb(int(item["size"]))]
    if isinstance(album, dict) and album.get("group") == group:
        return {"group": group, "message_id": album.get("message_id"), "files": [*album.get("files", []), entry]}
    return {"group": group, "message_id": None, "files": [entry]}


def _short_name(name: str) -> str:
    if len(name) <= ALBUM_NAME_CHARS:
        return name
    tail = name[-8:]  # keep the extension in sight
    return name[: ALBUM_NAME_CHARS - len(tail) - 1] + "…" + tail


def _telegram_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units; never fewer than len(text)


def album_text(t: Translate, files: list[Any], *, total: int) -> str:
    """The album's acknowledgement: how many files it brought, their names and sizes (the first
    ``ALBUM_LISTED``, then "and N more"), the dialog's total when earlier files were sent; under 4,096 characters."""
    count = len(files)
    shown = min(count, ALBUM_LISTED)
    while True:
        listed = t("report.album_separator").join(
            t("report.album_file", name=_short_name(str(name)), size=f"{int(size):,}") for name, size in files[:shown])
        if shown < count:
            listed = t("report.album_more", files=listed, more=count - shown)
        key = "report.album_received" if total == count else "report.album_received_total"
        text = t(key, count=count, files=listed, total=total)
        if _telegram_length(text) <= MAX_TEXT or shown <= 1:
            return text
        shown -= 1


async def _acknowledge_album(context: BotContext, message: Message, message_id: Any, text: str,
                             markup: InlineKeyboardMarkup) -> int:
    """Edit the album's acknowledgement to ``text``, or send a new one when there is none yet or the edit fails
    (deleted, too old, not modified...); the id of the acknowledgement now showing."""
    if isinstance(message_id, int):
        try:
            await context.bot.edit_message_text(text, chat_id=message.chat_id, message_id=message_id,
                                                reply_markup=markup)
            return message_id
        except TelegramError as error:
            logger.info("album acknowledgement %s not edited (%s); sending a new one", message_id, error)
    sent = await message.reply_text(text, reply_markup=markup)
    return sent.message_id


async def _remember_album_message(context: BotContext, account_id: int, group: str, message_id: int) -> None:
    """Keep the album's acknowledgement id in the dialog, so its next item (even after a restart) edits it."""
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, flow=FLOW)
        album = dialog.data.get(ALBUM) if dialog is not None else None
        if dialog is None or not isinstance(album, dict) or album.get("group") != group:
            return
        data = dict(dialog.data)
        data[ALBUM] = {**album, "message_id": message_id}
        await dialogs.save(uow, dialog, data=data)
        await uow.commit()


def _no_actor() -> Any:
    raise RuntimeError("no actor")


async def _take_file(update: Update, context: BotContext, message: Message, *, count: int) -> dict[str, Any] | None:
    """Check, download and store one file; explain a refusal and return None."""
    settings = context.services.settings
    if message.photo:
        photo = message.photo[-1]
        file_id, size, kind = photo.file_id, photo.file_size, "photo"
        name, mime = f"photo-{count + 1}.jpg", "image/jpeg"
    elif message.document is not None:
        document = message.document
        file_id, size, kind = document.file_id, document.file_size, "document"
        name, mime = (document.file_name or "file")[:200], document.mime_type or ""
    else:
        return None
    try:
        evidence.check_file(file_name=name, size=size, max_bytes=settings.evidence_max_bytes, count_so_far=count,
                            max_files=settings.evidence_max_files, is_photo=kind == "photo")
        data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
        stored = evidence.store(Path(settings.evidence_dir), data, max_bytes=settings.evidence_max_bytes)
    except evidence.EvidenceRefused as refused:
        key = {"too_large": "report.file_too_large", "type": "report.file_type",
               "too_many": "report.file_too_many"}[refused.reason]
        await message.reply_text(context.t(update, key, name=name, size_mb=_mb(size or 0),
                                           limit_mb=_mb(settings.evidence_max_bytes), types=_types(),
                                           max_files=settings.evidence_max_files))
        return None
    except TelegramError:
        logger.warning("could not download an evidence file", exc_info=True)
        await message.reply_text(context.t(update, "report.file_failed", name=name))
        return None
    return {"kind": kind, "file_name": name, "mime_type": mime, "size": stored.size, "sha256": stored.sha256,
            "stored_path": stored.stored_path}


# ---- the reporter's own leads ------------------------------------------------------------------------------


@serves(SUPERVISOR, private_only=True)
async def my_leads(update: Update, context: BotContext) -> None:
    """/myleads: the caller's leads with their status, each with a button to add information."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        found = await leads.my_leads(uow, actor=actor)
        zone = uow.zone
    if not found:
        await message.reply_text(context.t(update, "report.mine_empty"))
        return
    lines = [context.t(update, "report.mine_header")]
    rows = []
    for lead in found[:20]:
        lines.append(context.t(update, "report.mine_line", number=lead.number,
                               created=lead.created_at.astimezone(zone).strftime("%Y-%m-%d"),
                               category_key=f"lead.category.{lead.category}", state_key=f"lead.state.{lead.state}"))
        if lead.state in (LeadState.RECEIVED, LeadState.ACCEPTED, LeadState.INVESTIGATING):
            rows.append([InlineKeyboardButton(context.t(update, "lead.button.add", number=lead.number),
                                              callback_data=f"{MORE_PREFIX}add:{lead.id}")])
    await message.reply_text("\n".join(lines), reply_markup=InlineKeyboardMarkup(rows) if rows else None)


@serves(SUPERVISOR, private_only=True)
async def more_pressed(update: Update, context: BotContext) -> None:
    """"Add" under /myleads, "Reply" under a staff message, or "Done": open or close the adding dialog."""
    query, actor, chat = update.callback_query, context.actor, update.effective_chat
    assert query is not None and actor is not None and actor.account_id is not None and chat is not None
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "done":
        async with context.services.uow() as uow:
            if await dialogs.get(uow, actor.account_id, flow=MORE) is not None:
                await dialogs.clear(uow, actor.account_id)
                await uow.commit()
        await query.answer()
        await _drop_buttons(query.message)
        await context.bot.send_message(chat.id, context.t(update, "report.more_done"))
        return
    if action not in ("add", "reply") or len(parts) < 3 or not parts[2].isdigit():
        await query.answer(fit_callback_answer(context.t(update, "report.stale")), show_alert=True)
        return
    async with context.services.uow() as uow:
        lead = await leads.own_lead(uow, actor, int(parts[2]))
        await dialogs.start(uow, actor.account_id, flow=MORE, step="more", data={"lead_id": lead.id, "evidence": []})
        await uow.commit()
    await query.answer()
    done = InlineKeyboardMarkup([[InlineKeyboardButton(context.t(update, "lead.button.done"),
                                                       callback_data=f"{MORE_PREFIX}done")]])
    await context.bot.send_message(chat.id, context.t(update, "report.more_start", number=lead.number),
                                   reply_markup=done)


async def _more_text(update: Update, context: BotContext, text: str) -> None:
    actor = context.actor
    assert actor is not None and actor.account_id is not None
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, actor.account_id, flow=MORE)
        if dialog is None:
            return
        await leads.add_information(uow, actor=actor, lead_id=int(dialog.data["lead_id"]), text=text)


async def cancel_dialog(update: Update, context: BotContext) -> None:
    """/cancel (group -3): end an open lead dialog with this flow's words; otherwise later groups answer."""
    account_id, message = _account(context), update.effective_message
    if account_id is None or message is None:
        return
    async with context.services.uow() as uow:
        found = await dialogs.get(uow, account_id, idle_limit=None)
        if found is None or found.flow not in (FLOW, MORE, STAFF_FLOW):
            return
        await dialogs.clear(uow, account_id)
        await uow.commit()
    await message.reply_text(context.t(update, "report.cancelled" if found.flow == FLOW else "report.more_done"))
    raise ApplicationHandlerStop


cancel_dialog.audience = BOUND  # type: ignore[attr-defined]  # the audience of /cancel (bot/commands.py)
cancel_dialog.private_only = True  # type: ignore[attr-defined]


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Group -3: dialog text and files; group 0: the commands and buttons."""
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, dialog_text),
                            group=-3)
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & (filters.PHOTO | filters.Document.ALL),
                                           dialog_file), group=-3)
    application.add_handler(CommandHandler("cancel", cancel_dialog), group=-3)
    application.add_handler(CommandHandler("report", report))
    application.add_handler(CommandHandler("myleads", my_leads))
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
    application.add_handler(CallbackQueryHandler(more_pressed, pattern=f"^{MORE_PREFIX}"))
