"""Staff handle supervisors' leads: /leads (new, overdue, mine, by state), /lead <no> (the card with its actions:
accept, reject, take, investigate, ask the reporter, extend, conclude, reward, close, files), and the custodian's
/reveal and the admins' /reveals (002 §12(二), §12(四); 003 三(四)). Issue 8.

Cards and alerts show the lead, never the reporter (only the pseudonym S-xxxx). Actions needing text (ask, reject,
extend, conclude, reward) open a short staff dialog (flow ``lead_staff``) whose text handler runs in group -3.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler

from bot.auth import ADMIN, STAFF, fit_callback_answer, serves
from bot.context import BotContext
from bot.handlers.lead_report import lead_rules
from services.leads import evidence, evidence_scrub, lead_privacy, lead_triage, leads
from services.leads.lead_rules import LeadState, parse_amount, parse_number
from services.platform import dialogs
from services.platform.errors import DomainError
from services.platform.roles import Actor
from storage.uow import UnitOfWork

Translate = Callable[..., str]
FLOW = "lead_staff"
PREFIX = "ld:"
TEXT_ACTIONS = {"ask": "leadstaff.ask_prompt", "asks": "leadstaff.ask_signed_prompt",
                "reject": "leadstaff.reject_prompt", "extend": "leadstaff.extend_prompt",
                "yes": "leadstaff.yes_prompt", "no": "leadstaff.no_prompt", "reward": "leadstaff.reward_prompt"}
MAX_LINK_BUTTONS = 5


def _refusal(context: BotContext, update: Update, error: DomainError) -> str:
    key = str(error.params.get("reason_key") or error.message_key)
    return context.t(update, key, **{k: v for k, v in error.params.items() if k != "reason_key"})


def _actions(card: leads.LeadCard, t: Translate) -> InlineKeyboardMarkup:
    lead = card.lead
    state = LeadState(lead.state)
    names: list[str] = []
    if state == LeadState.RECEIVED:
        names += ["accept", "reject"]
    if state == LeadState.ACCEPTED:
        names += ["investigate"]
    if state in (LeadState.ACCEPTED, LeadState.INVESTIGATING):
        names += ["yes", "no"]
    if state in (LeadState.RECEIVED, LeadState.ACCEPTED, LeadState.INVESTIGATING):
        names += ["take", "ask", "asks", "extend"]
    if state == LeadState.SUBSTANTIATED and lead.reward_amount is None:
        names += ["reward"]
    if lead.reward_state == "offered":
        names += ["claimed"]
    if state in (LeadState.NOT_ACCEPTED, LeadState.SUBSTANTIATED, LeadState.UNSUBSTANTIATED):
        names += ["close"]
    if card.evidence:
        names += ["files"]
    buttons = [InlineKeyboardButton(t(f"leadstaff.act.{'ask_signed' if n == 'asks' else n}"),
                                    callback_data=f"{PREFIX}{n}:{lead.id}") for n in names]
    rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
    if lead.linked_to_id is None:  # one "duplicate of" button per earlier lead the caller may link to, one a row
        rows += [[InlineKeyboardButton(t("leadstaff.act.link", number=number),
                                       callback_data=f"{PREFIX}link:{lead.id}:{other}")]
                 for other, number in card.duplicates[:MAX_LINK_BUTTONS]]
    return InlineKeyboardMarkup(rows)


def card_text(card: leads.LeadCard, t: Translate, uow_zone: Any) -> str:
    """The staff card of a lead (no reporter identity)."""
    lead = card.lead

    def day(moment: Any) -> str:
        return moment.astimezone(uow_zone).strftime("%Y-%m-%d") if moment is not None else t("leadstaff.none")
    evidence_lines = [t("leadstaff.evidence_line", n=i + 1, name=f"{lead.number}-{i + 1}.{_ext(e.file_name)}",
                        size=max(1, e.size // 1024), sha=e.sha256[:16]) for i, e in enumerate(card.evidence)]
    thread = [t("leadstaff.thread_line", at=m.at.astimezone(uow_zone).strftime("%m-%d %H:%M"),
                who=t("leadstaff.thread_staff" if m.direction == "to_reporter" else "leadstaff.thread_reporter"),
                text=m.text[:300]) for m in card.thread[-10:]]
    extensions = ""
    if lead.extensions:
        extensions = t("leadstaff.extension_line", lines="；".join(f"+{e['days']}（{e['reason']}）"
                                                                   for e in lead.extensions))
    reward = t("leadstaff.reward_none")
    if lead.reward_amount is not None:
        reward = t("leadstaff.reward_line", amount=lead.reward_amount, state=lead.reward_state,
                   until=lead.reward_claim_until)
    return t("leadstaff.card", number=lead.number, id=lead.id, state_key=f"lead.state.{lead.state}",
             pseudonym=lead.reporter_pseudonym, target=card.target, category_key=f"lead.category.{lead.category}",
             what=lead.what, when=lead.happened or "—", where=lead.place or "—",
             interest_key="lead.flag.interest" if lead.interest_declared else "lead.flag.no_interest",
             interest_note=f"：{lead.interest_note}" if lead.interest_note else "",
             duplicates=leads.duplicates_text(lead),
             linked=t("leadstaff.linked", id=lead.linked_to_id) if lead.linked_to_id else "",
             handler=card.handler_name or t("leadstaff.no_handler"), due=day(lead.due_at), extensions=extensions,
             reward=reward, files=len(card.evidence), evidence="\n".join(evidence_lines) or "—",
             thread="\n".join(thread) or "—")


def _ext(name: str) -> str:
    return evidence.extension(name) or "bin"


async def _send_card(update: Update, context: BotContext, lead_id: int) -> None:
    actor, chat = context.actor, update.effective_chat
    assert actor is not None and chat is not None
    async with context.services.uow(readonly=True) as uow:
        card = await leads.card(uow, actor=actor, lead_id=lead_id)
        zone = uow.zone

    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)
    await context.bot.send_message(chat.id, card_text(card, t, zone)[:4000], reply_markup=_actions(card, t))


@serves(STAFF, private_only=True)
async def show_lead(update: Update, context: BotContext) -> None:
    """/lead <no>: the card of a lead of the caller's line."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    lead_id = parse_number(args[0]) if len(args) == 1 else None
    if lead_id is None:
        await message.reply_text(context.t(update, "leadstaff.show_usage"))
        return
    await _send_card(update, context, lead_id)


@serves(STAFF, private_only=True)
async def list_leads(update: Update, context: BotContext) -> None:
    """/leads [new|overdue|mine|open|<state>]."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    which = (context.args or ["open"])[0].lower()
    async with context.services.uow(readonly=True) as uow:
        try:
            found = await lead_triage.staff_leads(uow, actor=actor, which=which)
        except DomainError as error:
            await message.reply_text(_refusal(context, update, error))
            return
        zone = uow.zone
    if not found:
        await message.reply_text(context.t(update, "leadstaff.list_empty"))
        return
    lines = [context.t(update, "leadstaff.list_header", which=which)]
    lines += [context.t(update, "leadstaff.list_line", id=lead.id, number=lead.number,
                        state_key=f"lead.state.{lead.state}", category_key=f"lead.category.{lead.category}",
                        due=lead.due_at.astimezone(zone).strftime("%Y-%m-%d") if lead.due_at else "—")
              for lead in found]
    await message.reply_text("\n".join(lines)[:4000])


@serves(STAFF, private_only=True)
async def pressed(update: Update, context: BotContext) -> None:
    """A card button: act at once, or ask for the text the action needs."""
    query, actor, chat = update.callback_query, context.actor, update.effective_chat
    assert query is not None and actor is not None and actor.account_id is not None and chat is not None
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    lead_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
    if lead_id is None:
        await query.answer(fit_callback_answer(context.t(update, "button.stale")), show_alert=True)
        return
    if action == "card":
        await query.answer()
        await _send_card(update, context, lead_id)
        return
    if action == "files":
        await query.answer()
        await _send_files(update, context, lead_id)
        return
    if action in TEXT_ACTIONS:
        async with context.services.uow() as uow:
            await leads.staff_lead(uow, actor, lead_id)
            await dialogs.start(uow, actor.account_id, flow=FLOW, step=action, data={"lead_id": lead_id})
            await uow.commit()
        await query.answer()
        rules = lead_rules(context)
        await context.bot.send_message(chat.id, context.t(update, TEXT_ACTIONS[action], min=rules.reward_min,
                                                          max=rules.reward_max))
        return
    try:
        async with context.services.uow() as uow:
            lead = await _act(uow, actor, action, lead_id, parts=parts, context=context)
    except DomainError as error:
        answer = context.t(update, "button.stale") if action == "link" else _refusal(context, update, error)
        await query.answer(fit_callback_answer(answer), show_alert=True)  # a link button no longer offered: stale
        return
    await query.answer()
    await context.bot.send_message(chat.id, context.t(update, "leadstaff.done", number=lead.number,
                                                      what_key=f"leadstaff.did.{action}"))
    await _send_card(update, context, lead_id)


async def _act(uow: UnitOfWork, actor: Actor, action: str, lead_id: int, *, parts: list[str],
               context: BotContext) -> Any:
    if action == "accept":
        return await lead_triage.accept(uow, actor=actor, lead_id=lead_id, rules=lead_rules(context))
    if action == "investigate":
        return await lead_triage.investigate(uow, actor=actor, lead_id=lead_id)
    if action == "take":
        assert actor.person_id is not None
        return await lead_triage.assign(uow, actor=actor, lead_id=lead_id, handler_person_id=actor.person_id)
    if action == "close":
        return await lead_triage.close(uow, actor=actor, lead_id=lead_id)
    if action == "claimed":
        return await lead_triage.reward_claimed(uow, actor=actor, lead_id=lead_id)
    if action == "link" and len(parts) > 3 and parts[3].isdigit():
        return await lead_triage.link(uow, actor=actor, lead_id=lead_id, other_id=int(parts[3]))
    raise leads.LeadRefused("action", reason_key="lead.invalid.transition")


async def staff_text(update: Update, context: BotContext) -> None:
    """Text (group -3) for an open staff lead dialog: the question, reason, summary or amount."""
    actor, message = context.actor, update.effective_message
    if actor is None or actor.account_id is None or message is None:
        return
    async with context.services.uow(readonly=True) as reader:
        if await dialogs.get(reader, actor.account_id, flow=FLOW) is None:
            return
    text = (message.text or "").strip()
    rules = lead_rules(context)
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
        if dialog is None:
            return
        action, lead_id = dialog.step, int(dialog.data["lead_id"])
        await dialogs.clear(uow, actor.account_id)
        try:
            if action in ("ask", "asks"):
                lead = await leads.ask_reporter(uow, actor=actor, lead_id=lead_id, text=text, signed=action == "asks")
            elif action == "reject":
                lead = await lead_triage.reject(uow, actor=actor, lead_id=lead_id, reason=text)
            elif action in ("yes", "no"):
                lead = await lead_triage.conclude(uow, actor=actor, lead_id=lead_id, substantiated=action == "yes",
                                                  summary=text)
            elif action == "extend":
                days, _, reason = text.partition(" ")
                if not days.isdigit():
                    await message.reply_text(context.t(update, "leadstaff.extend_bad"))
                    raise ApplicationHandlerStop
                lead = await lead_triage.extend(uow, actor=actor, lead_id=lead_id, working_days=int(days),
                                                reason=reason, rules=rules)
            else:
                amount = parse_amount(text)
                if amount is None:
                    await message.reply_text(context.t(update, "leadstaff.reward_bad", min=rules.reward_min,
                                                       max=rules.reward_max))
                    raise ApplicationHandlerStop
                lead = await lead_triage.reward(uow, actor=actor, lead_id=lead_id, amount=amount, rules=rules)
        except DomainError as error:
            await message.reply_text(_refusal(context, update, error))
            raise ApplicationHandlerStop from None
    did = "ask" if action == "asks" else action
    await message.reply_text(context.t(update, "leadstaff.done", number=lead.number, what_key=f"leadstaff.did.{did}"))
    raise ApplicationHandlerStop


async def _send_files(update: Update, context: BotContext, lead_id: int) -> None:
    actor, chat = context.actor, update.effective_chat
    assert actor is not None and chat is not None
    async with context.services.uow(readonly=True) as uow:
        lead = await leads.staff_lead(uow, actor, lead_id)
        files = await leads.evidence_of(uow, lead_id)
    root = Path(context.services.settings.evidence_dir)
    for n, item in enumerate(files, start=1):
        try:
            data = evidence.read_verified(root, item.stored_path, item.sha256)
        except evidence.EvidenceCorrupted:
            await context.bot.send_message(chat.id, context.t(update, "leadstaff.file_broken", number=lead.number, n=n))
            continue
        # renamed, and sent without its embedded metadata: either may identify the reporter (003 三(四));
        # the caption keeps the stored original's SHA-256, the evidence
        copy = await asyncio.to_thread(evidence_scrub.scrub, item.file_name, data)
        if copy.status == "scrubbed":
            note = context.t(update, "evidence.scrub.scrubbed", removed=", ".join(copy.removed))
        elif copy.status == "clean":
            note = context.t(update, "evidence.scrub.clean")
        else:
            note = context.t(update, "evidence.scrub.unsupported")
        caption = context.t(update, "leadstaff.file_caption", number=lead.number, n=n, total=len(files),
                            sha=item.sha256)
        await context.bot.send_document(chat.id, copy.data, filename=f"{lead.number}-{n}.{_ext(item.file_name)}",
                                        caption=f"{caption}\n{note}")


@serves(STAFF, private_only=True)
async def reveal(update: Update, context: BotContext) -> None:
    """/reveal <no> <reason>: a custodian sees who reported a lead; stored and audited."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    lead_id = parse_number(args[0]) if args else None
    if lead_id is None or len(args) < 2:
        await message.reply_text(context.t(update, "leadstaff.reveal_usage"))
        return
    async with context.services.uow() as uow:
        shown = await lead_privacy.reveal(uow, actor=actor, lead_id=lead_id, reason=" ".join(args[1:]))
    await message.reply_text(context.t(update, "leadstaff.revealed", number=shown.number, pseudonym=shown.pseudonym,
                                       name=shown.name, certificate=shown.certificate_number or "—",
                                       mobile=shown.mobile or "—"))


@serves(STAFF, private_only=True)
async def assign(update: Update, context: BotContext) -> None:
    """/assign <no> <staff id>: make a colleague of the lead's line its handler (they are told)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    lead_id = parse_number(args[0]) if args else None
    handler = parse_number(args[1]) if len(args) == 2 else None
    if lead_id is None or handler is None:
        await message.reply_text(context.t(update, "leadstaff.assign_usage"))
        return
    async with context.services.uow() as uow:
        lead = await lead_triage.assign(uow, actor=actor, lead_id=lead_id, handler_person_id=handler)
    await message.reply_text(context.t(update, "leadstaff.assigned", number=lead.number, handler=handler))


@serves(ADMIN, private_only=True)
async def reveals(update: Update, context: BotContext) -> None:
    """/reveals: the reveals of reporters' identities in the admin's line."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        rows = await lead_privacy.list_reveals(uow, actor=actor)
    if not rows:
        await message.reply_text(context.t(update, "leadstaff.reveals_empty"))
        return
    lines = [context.t(update, "leadstaff.reveals_header")]
    lines += [context.t(update, "leadstaff.reveals_line", at=r.at, number=r.number, custodian=r.custodian,
                        reason=r.reason) for r in rows]
    await message.reply_text("\n".join(lines)[:4000])


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Group 0: commands and card buttons (the staff dialog text arrives through ``lead_report.dialog_text``)."""
    application.add_handler(CommandHandler("leads", list_leads))
    application.add_handler(CommandHandler("lead", show_lead))
    application.add_handler(CommandHandler("reveal", reveal))
    application.add_handler(CommandHandler("assign", assign))
    application.add_handler(CommandHandler("reveals", reveals))
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
