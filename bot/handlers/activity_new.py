"""Staff create an activity through a guided conversation (/newactivity) and read activities (/activities,
/activity <id>). Issue "Activities and draws".

The conversation asks one thing at a time: kind, title, organizer (the staff member's unit or one below it),
start, end and response deadline (typed in the bureau's time zone), inspected institutions (searched by part of
the name), place, the composition line by line (category, clinical sub-category, specialty tags, principals,
backups), the group-size waiver when needed, double blind for project reviews, then a summary to confirm.

Its state lives in the ``dialog`` table (``services.platform.dialogs``), not in PTB's memory, so it survives a restart.
Every button carries the dialog's ``token:seq``; a button from an older step, an earlier dialog or a summary
already confirmed is refused and changes nothing. Free text reaches the dialog through a handler in group -1
(after the gate, before the fallbacks of group 0); without an open dialog it falls through untouched.

Rules the flow checks as it goes (``services.activities.activities.create_activity`` checks them all again on
confirmation):

- start after now, end not before start, response deadline after now and no later than the start, so experts
  are told before the activity (000 §19);
- each line: a category (000 §7), a clinical sub-category only for the clinical category (000 §7(二)), at most
  ``MAX_TAGS`` tags, counts of principals and backups (000 §17, annex 3);
- principals in total an odd number ≥3 (000 §18(一)), unless the organizer waives it with a recorded reason;
- double blind is asked only for project reviews (001 §14: double-blind reviews are exempt from rotation).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.auth import BOUND, STAFF, fit_callback_answer, serves
from bot.context import BotContext
from messages import translate
from services.activities import activities
from services.activities.activities import (
    MAX_BACKUPS,
    MAX_COUNT,
    MAX_REQUIREMENTS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ActivityInput,
    ActivityView,
    RequirementInput,
)
from services.activities.draw_rules import ActivityKind
from services.institutions import institutions
from services.people.orgs import get_unit, require_scope_over_units
from services.platform import dialogs
from services.platform.errors import (
    ActivityInvalid,
    DomainError,
    InstitutionNotFound,
    OrgUnitNotFound,
    PermissionDenied,
)
from services.platform.roles import Actor
from services.pool.eligibility import Category, ClinicalSubcategory
from storage.activities import Dialog
from storage.uow import UnitOfWork

FLOW = "activity"
PREFIX = "na:"  # na:<token>:<seq>:<action>[:<argument>]   (≤64 bytes)
MAX_MATCHES = 8
Translate = Callable[..., str]


class Step(StrEnum):
    """The questions of the flow, in order."""

    KIND = "kind"
    TITLE = "title"
    ORG = "org"
    STARTS = "starts"
    ENDS = "ends"
    DEADLINE = "deadline"
    INSTITUTIONS = "institutions"
    PLACE = "place"
    CATEGORY = "category"
    SUBCATEGORY = "subcategory"
    TAGS = "tags"
    PRINCIPALS = "principals"
    BACKUPS = "backups"
    MORE = "more"
    GROUP = "group"
    WAIVER = "waiver"
    DOUBLE_BLIND = "double_blind"
    SUMMARY = "summary"


TIME_STEPS = {Step.STARTS: "starts", Step.ENDS: "ends", Step.DEADLINE: "deadline"}
EDITABLE = {"kind": Step.KIND, "title": Step.TITLE, "org": Step.ORG, "time": Step.STARTS,
            "inst": Step.INSTITUTIONS, "place": Step.PLACE, "comp": Step.CATEGORY, "db": Step.DOUBLE_BLIND}
REASON_STEPS = {
    "kind": Step.KIND, "title": Step.TITLE, "too_long": Step.PLACE, "double_blind": Step.DOUBLE_BLIND,
    "starts_in_past": Step.STARTS, "ends_before_start": Step.ENDS, "deadline": Step.DEADLINE,
    "too_many_institutions": Step.INSTITUTIONS, "group_size": Step.GROUP, "even_group_reason": Step.GROUP,
}


@dataclass
class Outcome:
    """Where an answer led: notes shown first, the step now current, and whether to ask its question."""

    step: Step
    notes: list[str] = field(default_factory=list)
    ask: bool = True
    extra: tuple[str, InlineKeyboardMarkup] | None = None  # e.g. search results with their buttons


# ---- the answers, step by step ---------------------------------------------------------------------------


def _is_review(data: dict[str, Any]) -> bool:
    return bool(data.get("kind") == ActivityKind.PROJECT_REVIEW)


def _after_composition(data: dict[str, Any]) -> Step:
    if _is_review(data) and not data.get("fix"):
        return Step.DOUBLE_BLIND
    return Step.SUMMARY


def _next(step: Step, data: dict[str, Any]) -> Step:
    """The step after ``step`` is answered (back to the summary when fixing one section)."""
    if data.get("fix") and step in (Step.TITLE, Step.ORG, Step.DEADLINE, Step.INSTITUTIONS, Step.PLACE,
                                    Step.DOUBLE_BLIND, Step.WAIVER):
        return Step.SUMMARY
    if step == Step.KIND and data.get("fix"):
        return Step.DOUBLE_BLIND if _is_review(data) else Step.SUMMARY
    order = list(Step)
    if step == Step.PLACE:
        return Step.CATEGORY
    if step == Step.WAIVER:
        return _after_composition(data)
    return order[order.index(step) + 1]


def _previous(step: Step, data: dict[str, Any]) -> Step:
    """The step "back" returns to (from the end of the composition, its last line is reopened)."""
    line = data.get("line") or {}
    lines = data.get("lines") or []
    if step == Step.CATEGORY:
        return Step.MORE if lines else Step.PLACE
    if step == Step.TAGS:
        return Step.SUBCATEGORY if line.get("category") == Category.CLINICAL else Step.CATEGORY
    if step == Step.MORE:
        if lines:
            data["line"] = lines.pop()
        return Step.BACKUPS if data.get("line") else Step.CATEGORY
    if step == Step.DOUBLE_BLIND:
        return Step.WAIVER if data.get("waive") else Step.MORE
    if step == Step.SUMMARY:
        return Step.DOUBLE_BLIND if _is_review(data) else Step.WAIVER if data.get("waive") else Step.MORE
    if step == Step.KIND:
        return Step.KIND
    order = list(Step)
    return order[order.index(step) - 1]


def _finish_composition(data: dict[str, Any]) -> Step:
    """Check the group size when the composition is done (000 §18(一)); a valid size clears any waiver."""
    total = sum(int(line["count"]) for line in data.get("lines") or [])
    try:
        activities.check_group_size(total, allow_even_group=False, reason=None)
    except ActivityInvalid:
        return Step.GROUP
    data["waive"], data["waive_reason"] = False, None
    return _after_composition(data)


def _moment(data: dict[str, Any], name: str) -> datetime | None:
    raw = data.get(name)
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def _check_moment(step: Step, moment: datetime, data: dict[str, Any], now: datetime) -> str | None:
    """The reason key when ``moment`` cannot be the answer to ``step`` (000 §19 for the deadline)."""
    starts = _moment(data, "starts")
    if step == Step.STARTS and moment <= now:
        return "activity.invalid.starts_in_past"
    if step == Step.ENDS and starts is not None and moment < starts:
        return "activity.invalid.ends_before_start"
    if step == Step.DEADLINE and (moment <= now or (starts is not None and moment > starts)):
        return "activity.invalid.deadline"
    return None


def _number(text: str, limit: int) -> int | None:
    raw = text.strip()
    return int(raw) if raw.isdigit() and int(raw) <= limit else None


async def _on_text(uow: UnitOfWork, actor: Actor, step: Step, data: dict[str, Any], *, text: str,
                   t: Translate) -> Outcome:
    """A typed answer to ``step``."""
    text = text.strip()
    if step == Step.TITLE:
        title = " ".join(text.split())
        if not 1 <= len(title) <= 200:
            return Outcome(step, [t("activity.invalid.title")])
        data["title"] = title
        return Outcome(_next(step, data))
    if step == Step.ORG:
        try:
            unit = await get_unit(uow, text)
            assert unit.id is not None
            await require_scope_over_units(uow, actor, {unit.id})
        except OrgUnitNotFound:
            return Outcome(step, [t("newact.org_not_found", code=text)])
        except PermissionDenied:
            return Outcome(step, [t("newact.org_out_of_scope", code=text)])
        data["org_id"], data["org_label"] = unit.id, f"{unit.name}（{unit.code}）"
        return Outcome(_next(step, data))
    if step in TIME_STEPS:
        try:
            moment = dialogs.parse_local_datetime(text, zone=uow.zone, now=uow.now())
        except dialogs.UnreadableMoment:
            return Outcome(step, [t("newact.bad_moment", text=text[:40], zone=str(uow.zone))])
        problem = _check_moment(step, moment, data, uow.now())
        if problem is not None:
            return Outcome(step, [t(problem)])
        data[TIME_STEPS[step]] = moment.isoformat()
        return Outcome(_next(step, data))
    if step == Step.INSTITUTIONS:
        return await _search(uow, data, text, t)
    if step == Step.PLACE:
        if len(text) > 200:
            return Outcome(step, [t("activity.invalid.too_long")])
        data["place"] = text
        return Outcome(_next(step, data))
    if step == Step.TAGS:
        tags = [tag.strip() for tag in re.split(r"[,，、;；]", text) if tag.strip()]
        if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH for tag in tags):
            return Outcome(step, [t("activity.invalid.tags", max=MAX_TAGS, length=MAX_TAG_LENGTH)])
        data["line"] = {**data.get("line", {}), "tags": list(dict.fromkeys(tags))}
        return Outcome(Step.PRINCIPALS)
    if step in (Step.PRINCIPALS, Step.BACKUPS):
        return _count(step, data, text, t)
    if step == Step.WAIVER:
        reason = " ".join(text.split())
        if not 1 <= len(reason) <= 500:
            return Outcome(step, [t("activity.invalid.reason")])
        data["waive"], data["waive_reason"] = True, reason
        return Outcome(_next(step, data))
    return Outcome(step, [t("newact.use_buttons")])


def _count(step: Step, data: dict[str, Any], text: str, t: Translate) -> Outcome:
    limit = MAX_COUNT if step == Step.PRINCIPALS else MAX_BACKUPS
    number = _number(text, limit)
    if number is None:
        return Outcome(step, [t("newact.bad_number", max=limit)])
    line = dict(data.get("line") or {})
    if step == Step.PRINCIPALS:
        line["count"] = number
        data["line"] = line
        return Outcome(Step.BACKUPS)
    line["backups"] = number
    try:
        cleaned = activities.clean_requirement(_requirement(line))
    except ActivityInvalid as error:
        data["line"] = line
        return Outcome(Step.PRINCIPALS, [_reason_text(error, t)])
    data["lines"] = [*(data.get("lines") or []), {
        "category": cleaned.category, "subcategory": cleaned.subcategory, "tags": list(cleaned.tags),
        "count": cleaned.count, "backups": cleaned.backups}]
    data["line"] = {}
    return Outcome(Step.MORE)


async def _search(uow: UnitOfWork, data: dict[str, Any], text: str, t: Translate) -> Outcome:
    found = list(await institutions.search(uow, text, limit=MAX_MATCHES))
    if not found:
        return Outcome(Step.INSTITUTIONS, [t("newact.no_match", text=text[:40])])
    rows = [[InlineKeyboardButton(t("newact.button.add", name=i.name[:40]), callback_data=f"i:{i.id}")]
            for i in found]
    return Outcome(Step.INSTITUTIONS, ask=False,
                   extra=(t("newact.matches", count=len(found)), InlineKeyboardMarkup(rows)))


async def _on_button(uow: UnitOfWork, step: Step, data: dict[str, Any], *, action: str, argument: str,
                     t: Translate) -> Outcome:
    """A pressed button (already known to belong to the current step)."""
    if action == "back":
        return Outcome(_previous(step, data))
    if action == "e" and step == Step.SUMMARY and argument in EDITABLE:
        data["fix"] = True
        if argument == "comp":
            data["lines"], data["line"] = [], {}
        return Outcome(EDITABLE[argument])
    if action == "k" and step == Step.KIND and argument in set(ActivityKind):
        data["kind"] = argument
        if not _is_review(data):
            data["double_blind"] = False
        return Outcome(_next(step, data))
    if action == "org" and step == Step.ORG:
        data["org_id"], data["org_label"] = data.get("own_id"), data.get("own_label")
        return Outcome(_next(step, data))
    if action == "i" and step == Step.INSTITUTIONS and argument.isdigit():
        return await _add_institution(uow, data, int(argument), t)
    if action == "done" and step == Step.INSTITUTIONS:
        return Outcome(_next(step, data))
    if action == "clr" and step == Step.INSTITUTIONS:
        data["institutions"] = []
        return Outcome(step)
    if action == "skip" and step == Step.PLACE:
        data["place"] = ""
        return Outcome(_next(step, data))
    if action == "skip" and step == Step.TAGS:
        data["line"] = {**data.get("line", {}), "tags": []}
        return Outcome(Step.PRINCIPALS)
    if action == "c" and step == Step.CATEGORY and argument in set(Category):
        data["line"] = {"category": argument, "subcategory": None, "tags": []}
        return Outcome(Step.SUBCATEGORY if argument == Category.CLINICAL else Step.TAGS)
    if action == "s" and step == Step.SUBCATEGORY and (argument in set(ClinicalSubcategory) or argument == "any"):
        data["line"] = {**data.get("line", {}), "subcategory": None if argument == "any" else argument}
        return Outcome(Step.TAGS)
    if action == "n" and step in (Step.PRINCIPALS, Step.BACKUPS):
        return _count(step, data, argument, t)
    if action == "more" and step == Step.MORE:
        if len(data.get("lines") or []) >= MAX_REQUIREMENTS:
            return Outcome(step, [t("activity.invalid.requirements", max=MAX_REQUIREMENTS)])
        return Outcome(Step.CATEGORY)
    if action == "done" and step == Step.MORE:
        return Outcome(_finish_composition(data))
    if action == "chg" and step == Step.GROUP:
        data["line"] = (data.get("lines") or [{}]).pop() if data.get("lines") else {}
        return Outcome(Step.PRINCIPALS if data["line"] else Step.CATEGORY)
    if action == "wv" and step == Step.GROUP:
        return Outcome(Step.WAIVER)
    if action == "db" and step == Step.DOUBLE_BLIND:
        data["double_blind"] = argument == "1"
        return Outcome(_next(step, data))
    return Outcome(step, [t("newact.use_buttons")])


async def _add_institution(uow: UnitOfWork, data: dict[str, Any], institution_id: int, t: Translate) -> Outcome:
    chosen: list[list[Any]] = list(data.get("institutions") or [])
    if any(row[0] == institution_id for row in chosen):
        return Outcome(Step.INSTITUTIONS, [t("newact.already_added")])
    if len(chosen) >= activities.MAX_INSTITUTIONS:
        return Outcome(Step.INSTITUTIONS, [t("activity.invalid.too_many_institutions",
                                             max=activities.MAX_INSTITUTIONS)])
    try:
        institution = await institutions.get_institution(uow, institution_id)
    except InstitutionNotFound:
        return Outcome(Step.INSTITUTIONS, [t("error.institution_not_found")])
    data["institutions"] = [*chosen, [institution_id, institution.name]]
    return Outcome(Step.INSTITUTIONS, [t("newact.added", name=institution.name)])


def _requirement(line: dict[str, Any]) -> RequirementInput:
    return RequirementInput(category=str(line.get("category", "")), count=int(line.get("count", 0)),
                            backups=int(line.get("backups", 0)), subcategory=line.get("subcategory"),
                            tags=tuple(line.get("tags") or ()))


def _activity_input(data: dict[str, Any]) -> ActivityInput:
    starts, ends, deadline = _moment(data, "starts"), _moment(data, "ends"), _moment(data, "deadline")
    assert starts is not None and ends is not None and deadline is not None
    return ActivityInput(
        org=int(data["org_id"]), kind=str(data["kind"]), title=str(data["title"]), starts_at=starts, ends_at=ends,
        response_deadline=deadline, requirements=tuple(_requirement(line) for line in data.get("lines") or []),
        institution_ids=tuple(int(row[0]) for row in data.get("institutions") or []),
        place=str(data.get("place") or ""), double_blind=bool(data.get("double_blind")),
        allow_even_group=bool(data.get("waive")), even_group_reason=data.get("waive_reason"))


def _reason_text(error: DomainError, t: Translate) -> str:
    key = error.params.get("reason_key")
    return t(key, **error.params) if isinstance(key, str) else t(error.message_key, **error.params)


def _step_for(error: DomainError, data: dict[str, Any]) -> Step:
    """Where the person fixes what the service refused (the other answers stay)."""
    if isinstance(error, InstitutionNotFound):
        missing = error.params.get("institution_id")
        data["institutions"] = [row for row in data.get("institutions") or [] if row[0] != missing]
        return Step.INSTITUTIONS
    if isinstance(error, (PermissionDenied, OrgUnitNotFound)):
        return Step.ORG
    reason = str(error.params.get("reason_key", "")).rsplit(".", 1)[-1]
    if reason in REASON_STEPS:
        return REASON_STEPS[reason]
    if isinstance(error, ActivityInvalid):
        data["lines"], data["line"] = [], {}
        return Step.CATEGORY
    return Step.SUMMARY


# ---- what the person sees ---------------------------------------------------------------------------------


def _button(t: Translate, stamp: str, key: str, action: str, **params: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(key, **params), callback_data=f"{PREFIX}{stamp}:{action}")


def _stamped(markup: InlineKeyboardMarkup, stamp: str) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(b.text, callback_data=f"{PREFIX}{stamp}:{b.callback_data}") for b in row]
            for row in markup.inline_keyboard]
    return InlineKeyboardMarkup(rows)


def _composition(data: dict[str, Any], t: Translate) -> str:
    return "\n".join(_line_text(n, line, t) for n, line in enumerate(data.get("lines") or [], start=1)) \
        or t("newact.none")


def _line_text(n: int, line: dict[str, Any], t: Translate) -> str:
    detail = ""
    if line.get("subcategory"):
        detail += t("newact.line_sub", name_key=f"newact.sub.{line['subcategory']}")
    if line.get("tags"):
        detail += t("newact.line_tags", tags="、".join(line["tags"]))
    return t("newact.line", n=n, category_key=f"category.{line['category']}", detail=detail,
             count=line.get("count", 0), backups=line.get("backups", 0))


def _local(data: dict[str, Any], name: str, zone: ZoneInfo) -> str:
    moment = _moment(data, name)
    return "-" if moment is None else dialogs.format_local(moment, zone)


def _summary(data: dict[str, Any], t: Translate, zone: ZoneInfo) -> str:
    total = sum(int(line["count"]) for line in data.get("lines") or [])
    even = t("newact.even.waived", reason=data.get("waive_reason") or "") if data.get("waive") else \
        t("newact.even.strict")
    return t("newact.summary", kind_key=f"newact.kind.{data.get('kind')}", title=data.get("title", ""),
             org=data.get("org_label", ""), starts=_local(data, "starts", zone), ends=_local(data, "ends", zone),
             deadline=_local(data, "deadline", zone), zone=str(zone),
             institutions="、".join(str(row[1]) for row in data.get("institutions") or []) or t("newact.none"),
             place=data.get("place") or t("newact.none"), composition=_composition(data, t), total=total,
             double_blind_key="newact.yes" if data.get("double_blind") else "newact.no", even=even)


def _question(step: Step, data: dict[str, Any], stamp: str, t: Translate, zone: ZoneInfo) -> tuple[str, Any]:
    """The question of ``step`` and its buttons."""
    def b(key: str, action: str, **params: Any) -> InlineKeyboardButton:
        return _button(t, stamp, key, action, **params)

    nav = [b("newact.button.back", "back"), b("newact.button.cancel", "x")]
    rows: list[list[InlineKeyboardButton]] = []
    params: dict[str, Any] = {}
    if step == Step.KIND:
        rows = [[b(f"newact.kind.{kind}", f"k:{kind}")] for kind in ActivityKind]
        nav = [b("newact.button.cancel", "x")]
    elif step == Step.ORG:
        params["unit"] = data.get("org_label", "")
        rows = [[b("newact.button.my_unit", "org", unit=data.get("own_label", ""))]]
    elif step in TIME_STEPS:
        params["zone"] = str(zone)
    elif step == Step.INSTITUTIONS:
        params["chosen"] = "、".join(str(row[1]) for row in data.get("institutions") or []) or t("newact.none")
        rows = [[b("newact.button.done", "done")]]
        if data.get("institutions"):
            rows[0].append(b("newact.button.clear", "clr"))
    elif step in (Step.PLACE, Step.TAGS):
        rows = [[b("newact.button.skip", "skip")]]
        params["max"] = MAX_TAGS
    elif step == Step.CATEGORY:
        params["n"] = len(data.get("lines") or []) + 1
        cats = list(Category)
        rows = [[b(f"category.{c}", f"c:{c}") for c in cats[i:i + 2]] for i in range(0, len(cats), 2)]
    elif step == Step.SUBCATEGORY:
        subs = [*ClinicalSubcategory, "any"]
        rows = [[b(f"newact.sub.{s}", f"s:{s}") for s in subs[i:i + 3]] for i in range(0, len(subs), 3)]
    elif step in (Step.PRINCIPALS, Step.BACKUPS):
        params["max"] = MAX_COUNT if step == Step.PRINCIPALS else MAX_BACKUPS
        choices = (1, 2, 3, 4, 5) if step == Step.PRINCIPALS else (0, 1, 2, 3)
        rows = [[InlineKeyboardButton(str(n), callback_data=f"{PREFIX}{stamp}:n:{n}") for n in choices]]
    elif step == Step.MORE:
        params.update(lines=_composition(data, t), total=sum(int(x["count"]) for x in data.get("lines") or []))
        rows = [[b("newact.button.more", "more"), b("newact.button.finish", "done")]]
    elif step == Step.GROUP:
        total = sum(int(x["count"]) for x in data.get("lines") or [])
        params["total"] = total
        rows = [[b("newact.button.change", "chg")]]
        if total > 0:
            rows.append([b("newact.button.waive", "wv")])
        else:
            return t("newact.ask.group_zero"), InlineKeyboardMarkup([*rows, nav])
    elif step == Step.DOUBLE_BLIND:
        rows = [[b("newact.yes", "db:1"), b("newact.no", "db:0")]]
    elif step == Step.SUMMARY:
        sections = [s for s in EDITABLE if s != "db" or _is_review(data)]
        rows = [[b("newact.button.confirm", "ok")]]
        rows += [[b(f"newact.button.edit_{s}", f"e:{s}") for s in sections[i:i + 4]]
                 for i in range(0, len(sections), 4)]
        return _summary(data, t, zone), InlineKeyboardMarkup([*rows, nav])
    return t(f"newact.ask.{step.value}", **params), InlineKeyboardMarkup([*rows, nav])


def _card(shown: ActivityView, t: Translate, zone: ZoneInfo) -> str:
    """The activity card: times in the bureau's time zone, composition, waiver and its reason (000 §18(一))."""
    a = shown.activity
    lines = [{"category": r.category, "subcategory": r.subcategory, "tags": r.tags, "count": r.count,
              "backups": r.backups} for r in shown.requirements]
    even = t("newact.even.waived", reason=a.even_group_reason or "") if a.allow_even_group else t("newact.even.strict")
    return t("newact.card", id=a.id, kind_key=f"newact.kind.{a.kind}", title=a.title,
             organizer=f"{shown.organizer.name}（{shown.organizer.code}）", place=a.place or t("newact.none"),
             starts=dialogs.format_local(a.starts_at, zone), ends=dialogs.format_local(a.ends_at, zone),
             deadline=dialogs.format_local(a.response_deadline, zone), zone=str(zone),
             institutions="、".join(i.name for i in shown.institutions) or t("newact.none"),
             composition=_composition({"lines": lines}, t), total=shown.principals,
             double_blind_key="newact.yes" if a.double_blind else "newact.no", even=even,
             status_key=f"newact.status.{a.status}")


# ---- handlers ---------------------------------------------------------------------------------------------


def _translator(update: Update, context: BotContext) -> Translate:
    def t(key: str, **params: Any) -> str:
        return context.t(update, key, **params)
    return t


def _dialog_account(update: Update, context: BotContext) -> int | None:
    """The account whose dialog this private message may continue (staff only)."""
    actor = context.actor
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or actor is None or actor.account_id is None:
        return None
    return actor.account_id if actor.has_any(STAFF) else None


async def _send(update: Update, context: BotContext, outcome: Outcome, *, data: dict[str, Any], stamp: str,
                zone: ZoneInfo) -> None:
    chat = update.effective_chat
    assert chat is not None
    t = _translator(update, context)
    for note in outcome.notes:
        await context.bot.send_message(chat.id, note)
    if outcome.extra is not None:
        text, markup = outcome.extra
        extra = _stamped(markup, stamp)
        done = _button(t, stamp, "newact.button.done", "done")
        await context.bot.send_message(chat.id, text, reply_markup=InlineKeyboardMarkup(
            [*extra.inline_keyboard, [done]]))
    if outcome.ask:
        text, markup = _question(outcome.step, data, stamp, t, zone)
        await context.bot.send_message(chat.id, text, reply_markup=markup)


@serves(STAFF, private_only=True)
async def new_activity(update: Update, context: BotContext) -> None:
    """/newactivity: start the guided creation of an activity (any open dialog is replaced)."""
    actor = context.actor
    assert actor is not None and actor.account_id is not None and actor.staff_org_unit_id is not None
    async with context.services.uow() as uow:
        unit = await get_unit(uow, actor.staff_org_unit_id)
        label = f"{unit.name}（{unit.code}）"
        data: dict[str, Any] = {"org_id": unit.id, "org_label": label, "own_id": unit.id, "own_label": label,
                                "lines": [], "line": {}, "institutions": [], "place": "", "double_blind": False,
                                "waive": False}
        dialog = await dialogs.start(uow, actor.account_id, flow=FLOW, step=Step.KIND, data=data)
        stamp, data, zone = dialogs.stamp(dialog), dict(dialog.data), uow.zone
        await uow.commit()
    await _send(update, context, Outcome(Step.KIND), data=data, stamp=stamp, zone=zone)


async def dialog_text(update: Update, context: BotContext) -> None:
    """Free text (group -1): an answer when the caller's activity dialog is open, else left to the fallbacks."""
    account_id = _dialog_account(update, context)
    message = update.effective_message
    if account_id is None or message is None or context.actor is None:
        return
    async with context.services.uow(readonly=True) as reader:  # most text is not an answer: no write lock
        if await dialogs.get(reader, account_id, flow=FLOW) is None:
            return
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, flow=FLOW)
        if dialog is None:
            return
        data = dict(dialog.data)
        outcome = await _on_text(uow, context.actor, _current(dialog), data, text=message.text or "",
                                 t=_translator(update, context))
        await dialogs.save(uow, dialog, step=outcome.step, data=data)
        stamp, zone = dialogs.stamp(dialog), uow.zone
        await uow.commit()
    await _send(update, context, outcome, data=data, stamp=stamp, zone=zone)
    raise ApplicationHandlerStop


def _current(dialog: Dialog) -> Step:
    try:
        return Step(dialog.step)
    except ValueError:
        return Step.KIND


def _in_dialog_only(callback: Callable[[Update, BotContext], Any]) -> Callable[[Update, BotContext], Any]:
    """Mark a group -1 handler with the audience of the command it serves (bound, private): it acts only for
    an open dialog and otherwise lets group 0 answer."""
    callback.audience = BOUND  # type: ignore[attr-defined]
    callback.private_only = True  # type: ignore[attr-defined]
    return callback


@_in_dialog_only
async def cancel_dialog(update: Update, context: BotContext) -> None:
    """/cancel (group -1): end the open dialog (of any flow, for any bound account) and say so; without one,
    group 0 answers."""
    actor, chat = context.actor, update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    account_id = actor.account_id if actor is not None and private else None
    message = update.effective_message
    if account_id is None or message is None:
        return
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, account_id, idle_limit=None)
        if dialog is None:
            return
        flow = dialog.flow
        await dialogs.clear(uow, account_id)
        await uow.commit()
    # Any other flow's question (e.g. an invitation's "other" reason) is simply dropped.
    await message.reply_text(context.t(update, "newact.cancelled" if flow == FLOW else "newact.cancelled_other"))
    raise ApplicationHandlerStop


@serves(BOUND, private_only=True)
async def nothing_to_cancel(update: Update, context: BotContext) -> None:
    """/cancel without an open dialog."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(context.t(update, "newact.nothing_to_cancel"))


@serves(STAFF, private_only=True)
async def pressed(update: Update, context: BotContext) -> None:
    """A button of the flow: refused when stale (older step, earlier dialog, confirmed summary)."""
    query, actor, chat = update.callback_query, context.actor, update.effective_chat
    assert query is not None and actor is not None and actor.account_id is not None and chat is not None
    parts = (query.data or "").split(":", 4)
    token, seq, action = [*parts, "", "", "", ""][1:4]
    argument = parts[4] if len(parts) > 4 else ""
    t = _translator(update, context)
    async with context.services.uow() as uow:
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
        if dialog is None or not dialogs.is_current(dialog, token, seq):
            await query.answer(fit_callback_answer(t("newact.stale")), show_alert=True)
            return
        if action == "ok" and dialog.step == Step.SUMMARY:
            await _confirm(update, context, uow, dialog, actor)
            return
        if action == "x":
            await dialogs.clear(uow, actor.account_id)
            await uow.commit()
            await query.answer()
            with contextlib.suppress(TelegramError):
                await query.edit_message_reply_markup(None)
            await context.bot.send_message(chat.id, t("newact.cancelled"))
            return
        data, step = dict(dialog.data), _current(dialog)
        outcome = await _on_button(uow, step, data, action=action, argument=argument, t=t)
        await dialogs.save(uow, dialog, step=outcome.step, data=data)
        stamp, zone = dialogs.stamp(dialog), uow.zone
        await uow.commit()
    await query.answer()
    if outcome.step != step:
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(None)
    await _send(update, context, outcome, data=data, stamp=stamp, zone=zone)


async def _confirm(update: Update, context: BotContext, uow: UnitOfWork, dialog: Dialog, actor: Actor) -> None:
    """Create the activity and end the dialog in one transaction; a refusal sends the person to the step."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None and actor.account_id is not None
    t = _translator(update, context)
    data, zone = dict(dialog.data), uow.zone
    try:
        await dialogs.clear(uow, actor.account_id)
        activity = await activities.create_activity(uow, actor=actor, data=_activity_input(data))
    except DomainError as error:
        await uow.rollback()
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW, idle_limit=None) or dialog
        step = _step_for(error, data)
        data["fix"] = True
        await dialogs.save(uow, dialog, step=step, data=data)
        stamp = dialogs.stamp(dialog)
        await uow.commit()
        await query.answer()
        await context.bot.send_message(chat.id, t("newact.refused", reason=_reason_text(error, t)))
        await _send(update, context, Outcome(step), data=data, stamp=stamp, zone=zone)
        return
    await query.answer()
    with contextlib.suppress(TelegramError):
        await query.edit_message_reply_markup(None)
    assert activity.id is not None
    async with context.services.uow(readonly=True) as reader:
        shown = await activities.view(reader, actor=actor, activity_id=activity.id)
    await context.bot.send_message(chat.id, t("newact.created", id=activity.id, card=_card(shown, t, zone)))


@serves(STAFF, private_only=True)
async def list_activities(update: Update, context: BotContext) -> None:
    """/activities: upcoming and ongoing activities of the staff member's org subtree, soonest first."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    async with context.services.uow(readonly=True) as uow:
        found = await activities.list_activities(uow, actor=actor)
        zone = uow.zone
    if not found:
        await message.reply_text(context.t(update, "newact.list_empty"))
        return
    lines = [context.t(update, "newact.list_header", zone=str(zone))]
    lines += [context.t(update, "newact.list_line", id=a.id, starts=dialogs.format_local(a.starts_at, zone),
                        kind_key=f"newact.kind.{a.kind}", title=a.title, status_key=f"newact.status.{a.status}")
              for a in found]
    await message.reply_text("\n".join(lines))


@serves(STAFF, private_only=True)
async def show_activity(update: Update, context: BotContext) -> None:
    """/activity <id>: the activity card (organizer's line of staff only)."""
    message, actor = update.effective_message, context.actor
    assert message is not None and actor is not None
    args = context.args or []
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        await message.reply_text(context.t(update, "newact.show_usage"))
        return
    from services.invitations.invitations import roster_lines

    async with context.services.uow(readonly=True) as uow:
        shown = await activities.view(uow, actor=actor, activity_id=int(args[0].lstrip("#")))
        zone = uow.zone
        lines = await roster_lines(uow, shown) if shown.activity.status == "drawn" else []
    text = _card(shown, _translator(update, context), zone)
    if lines:  # the live roster (issue: invitations, "Staff view")
        text += "\n\n" + context.t(update, "invite.roster.title") + "\n" + translate(
            context.language_for(update), "invite.roster.only_lines", roster_lines=lines)
    await message.reply_text(text)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Add this module's handlers (group 0, before the fallbacks; group -1 for dialog text and /cancel)."""
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, dialog_text),
                            group=-1)
    application.add_handler(CommandHandler("cancel", cancel_dialog), group=-1)
    application.add_handler(CommandHandler("newactivity", new_activity))
    application.add_handler(CommandHandler("activities", list_activities))
    application.add_handler(CommandHandler("activity", show_activity))
    application.add_handler(CommandHandler("cancel", nothing_to_cancel))
    application.add_handler(CallbackQueryHandler(pressed, pattern=f"^{PREFIX}"))
