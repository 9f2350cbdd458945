"""Staff handle supervisors' leads: /leads (new, overdue, mine, by state), /lead <no> (the card with its actions:
accept, reject, take, investigate, ask the reporter, extend, conclude, reward, close, files), and the custodian's
/reveal and the admins' /reveals (002 §12(二), §12(四); 003 三(四)). Issue 8.

Cards and alerts show the lead, never the reporter (only the pseudonym S-xxxx). Which actions a card offers is
``services.leads.lead_rules.staff_verbs``; the actions needing text (ask, reject, extend, conclude, reward) open the
staff dialog of ``bot/dialogs/lead_staff.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import buttons
from bot.auth import ADMIN, STAFF, serves
from bot.buttons import Press
from bot.context import BotContext
from bot.handlers import insight
from bot.keyboards import Row, keyboard
from services.leads import card_actions, lead_privacy, lead_triage, leads, staff_files
from services.leads.actions import CARD_BUTTONS, INSTANT, LinkLead, OnLead, SendLeadFiles, ShowLeadCard
from services.leads.lead_rules import parse_number
from services.platform import policy
from services.platform.errors import DomainError
from services.platform.notify import Button

Translate = Callable[..., str]
MAX_LINK_BUTTONS = 5
BUTTONS_PER_ROW = 3


def refusal_key(error: DomainError) -> tuple[str, dict[str, Any]]:
    """The message key and parameters of a refused lead step: its ``reason_key`` when it has one."""
    key = str(error.params.get("reason_key") or error.message_key)
    return key, {k: v for k, v in error.params.items() if k != "reason_key"}


def refusal(context: BotContext, update: Update, error: DomainError) -> str:
    """The words of a refused lead step."""
    key, params = refusal_key(error)
    return context.t(update, key, **params)


def card_rows(card: leads.LeadCard) -> list[Row]:
    """The card's buttons: the actions its state offers, three a row, then one "duplicate of" button per earlier
    lead the caller may link to, one a row."""
    lead_id = int(card.lead.id or 0)
    actions = [Button(f"leadstaff.act.{'ask_signed' if verb == 'asks' else verb}", CARD_BUTTONS[verb](lead_id))
               for verb in card.verbs]
    rows: list[Row] = [actions[i:i + BUTTONS_PER_ROW] for i in range(0, len(actions), BUTTONS_PER_ROW)]
    if card.lead.linked_to_id is None:
        rows += [[Button("leadstaff.act.link", LinkLead(lead_id, other), {"number": number})]
                 for other, number in card.duplicates[:MAX_LINK_BUTTONS]]
    return rows


def card_text(card: leads.LeadCard, t: Translate, uow_zone: Any) -> str:
    """The staff card of a lead (no reporter identity)."""
    lead = card.lead

    def day(moment: Any) -> str:
        return moment.astimezone(uow_zone).strftime("%Y-%m-%d") if moment is not None else t("leadstaff.none")
    evidence_lines = [t("leadstaff.evidence_line", n=i + 1, name=staff_files.staff_file_name(lead.number, i + 1,
                                                                                         e.file_name),
                        size=max(1, e.size // 1024), sha=e.sha256[:16])
                      + (f"\n{t('leadstaff.evidence_caption', caption=e.caption)}" if e.caption else "")
                      for i, e in enumerate(card.evidence)]
    thread = [t("leadstaff.thread_line", at=m.at.astimezone(uow_zone).strftime("%m-%d %H:%M"),
                who=t("leadstaff.thread_staff" if m.direction == "to_reporter" else "leadstaff.thread_reporter"),
                text=m.text[:300]) for m in card.thread[-10:]]
    extensions = ""
    if lead.extensions:
        extensions = t("leadstaff.extension_line", lines="；".join(f"+{e['days']}（{e['reason']}）"
                                                                   for e in lead.extensions))
    reward = t("leadstaff.reward_none")
    if lead.reward_amount is not None:
        reward = t("leadstaff.reward_line", amount=lead.reward_amount, state_key=f"lead.reward.{lead.reward_state}",
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


async def send_card(update: Update, context: BotContext, lead_id: int) -> None:
    """Send the card of a lead of the caller's line, with its buttons."""
    actor, chat = context.actor, update.effective_chat
    assert actor is not None and chat is not None
    async with context.services.uow(readonly=True) as uow:
        card = await leads.card(uow, actor=actor, lead_id=lead_id)
        zone = uow.zone

    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)
    await context.bot.send_message(chat.id, card_text(card, t, zone),
                                   reply_markup=keyboard(context.language_for(update), card_rows(card)))


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
    await send_card(update, context, lead_id)


FILTERS = ("new", "overdue", "mine", "open")  # the named filters of /leads beside the states


@serves(STAFF, private_only=True)
async def list_leads(update: Update, context: BotContext) -> None:
    """/leads [new|overdue|mine|open|<state>], or /leads search <words>."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    if context.args and context.args[0].lower() in insight.SEARCH_WORDS:
        await insight.search(update, context, "leads")
        return
    which = (context.args or ["open"])[0].lower()
    async with context.services.uow(readonly=True) as uow:
        try:
            found = await lead_triage.staff_leads(uow, actor=actor, which=which)
        except DomainError as error:
            await message.reply_text(refusal(context, update, error))
            return
        zone = uow.zone
    if not found:
        await message.reply_text(context.t(update, "leadstaff.list_empty"))
        return
    which_key = f"lead.state.{which}" if which not in FILTERS else f"leadstaff.which.{which}"
    lines = [context.t(update, "leadstaff.list_header", which_key=which_key)]
    lines += [context.t(update, "leadstaff.list_line", id=lead.id, number=lead.number,
                        state_key=f"lead.state.{lead.state}", category_key=f"lead.category.{lead.category}",
                        due=lead.due_at.astimezone(zone).strftime("%Y-%m-%d") if lead.due_at else "—")
              for lead in found]
    await message.reply_text("\n".join(lines))  # bot/limits.py splits a long list


@buttons.on(ShowLeadCard, audience=STAFF, private_only=True)
async def card_pressed(press: Press, action: ShowLeadCard) -> None:
    """"The card" under an alert, reminder or escalation: send the card."""
    await press.answer()
    await send_card(press.update, press.context, action.lead_id)


async def act_pressed(press: Press, action: OnLead) -> None:
    """A card button that acts at once: carry it out, say so, and send the card again."""
    try:
        async with press.context.services.uow() as uow:
            lead = await card_actions.act(uow, actor=press.actor, verb=action.verb, lead_id=action.lead_id,
                                          rules=policy.current().leads)
    except DomainError as error:
        key, params = refusal_key(error)
        await press.answer(key, alert=True, **params)
        return
    await _done(press, lead.number, action.verb, action.lead_id)


for _instant in INSTANT:
    buttons.on(_instant, audience=STAFF, private_only=True)(act_pressed)


@buttons.on(LinkLead, audience=STAFF, private_only=True)
async def link_pressed(press: Press, action: LinkLead) -> None:
    """A "duplicate of" button: link the lead; a link no longer offered is a stale button."""
    try:
        async with press.context.services.uow() as uow:
            lead = await card_actions.link(uow, actor=press.actor, lead_id=action.lead_id, other_id=action.other_id)
    except DomainError:
        await press.answer("button.stale", alert=True)
        return
    await _done(press, lead.number, "link", action.lead_id)


async def _done(press: Press, number: str, did: str, lead_id: int) -> None:
    await press.answer()
    await press.reply("leadstaff.done", number=number, what_key=f"leadstaff.did.{did}")
    await send_card(press.update, press.context, lead_id)


@buttons.on(SendLeadFiles, audience=STAFF, private_only=True)
async def files_pressed(press: Press, action: SendLeadFiles) -> None:
    """"Files": the lead's evidence, renamed and without embedded metadata (``services.leads.staff_files``)."""
    await press.answer()
    chat = press.update.effective_chat
    assert chat is not None
    async with press.context.services.uow(readonly=True) as uow:
        copies = await staff_files.staff_copies(uow, actor=press.actor, lead_id=action.lead_id,
                                                root=Path(press.context.services.settings.evidence_dir),
                                                keys=press.context.services.keys)
    for copy in copies:
        if copy.data is None:
            await press.reply("leadstaff.file_broken", number=copy.number, n=copy.n)
            continue
        lines = [press.t("leadstaff.file_caption", number=copy.number, n=copy.n, total=copy.total, sha=copy.sha256),
                 press.t(copy.note_key, removed=press.t("evidence.separator").join(
                     press.t(f"evidence.removed.{code}") for code in dict.fromkeys(copy.removed)))]
        if copy.caption:
            lines.append(press.t("leadstaff.file_words", caption=copy.caption))
        await press.context.bot.send_document(chat.id, copy.data, filename=copy.file_name, caption="\n".join(lines))


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
        lead = await card_actions.assign(uow, actor=actor, lead_id=lead_id, handler_person_id=handler)
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
    await message.reply_text("\n".join(lines))  # bot/limits.py splits a long list


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Group 0: the commands (the card buttons are registered with ``bot.buttons``)."""
    application.add_handler(CommandHandler("leads", list_leads))
    application.add_handler(CommandHandler("lead", show_lead))
    application.add_handler(CommandHandler("reveal", reveal))
    application.add_handler(CommandHandler("assign", assign))
    application.add_handler(CommandHandler("reveals", reveals))
