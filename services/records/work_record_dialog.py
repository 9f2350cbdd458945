"""The work record dialog (``/workrecord <activity id>``, flow :data:`FLOW` in the ``dialog`` table): one expert at a
time — attendance (prefilled from the roster), performance, recusal statement, discipline (a breach asks for a
note, annex 4), credit opinion — then the group's final opinion and consensus or majority (001 §16), then a summary
with every answer and buttons to correct any expert or the group before submitting (:func:`work_records.submit`).

Each function commits; one reached by a button returns None when the button is stale (an older step, an earlier
dialog) or not one the current step takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.platform import dialogs
from services.platform.errors import RecordSubmitted
from services.platform.roles import Actor
from services.records import work_records
from services.records.actions import ChooseAnswer, EditExpert, EditGroup, KeepAnswer, SubmitRecord, WorkRecordButton
from services.records.work_records import ATTENDANCE, DECISIONS, DISCIPLINE, PERFORMANCE, RECUSAL, EntryInput
from storage.activities import Dialog
from storage.uow import UnitOfWork

FLOW = "workrecord"
REVIEW = "review"
TEXT_STEPS = ("discipline_note", "credit_opinion", "final_opinion")
CHOICES = {"attendance": ATTENDANCE, "performance": PERFORMANCE, "recusal": RECUSAL, "discipline": DISCIPLINE,
           "decision": DECISIONS}
EXPERT_STEPS = ("attendance", "performance", "recusal", "discipline", "discipline_note", "credit_opinion")
GROUP_STEPS = ("final_opinion", "decision")
MAX_TEXT = 1000


@dataclass(frozen=True)
class Turn:
    """The question to ask next: the step, the answers so far, and the stamp its buttons carry."""

    step: str
    data: dict[str, Any]
    token: str
    seq: int


@dataclass(frozen=True)
class UseButtons:
    """Typed text where the step takes only buttons (or empty text)."""


@dataclass(frozen=True)
class Submitted:
    """The record was submitted and the dialog ended."""

    activity_id: int


def complete(data: dict[str, Any]) -> bool:
    """Whether every required answer is given (a final opinion, consensus or majority, and each expert's
    attendance, performance, recusal and discipline)."""
    return bool(data.get("final_opinion")) and data.get("decision") in DECISIONS and all(
        all(entry.get(f) for f in ("attendance", "performance", "recusal", "discipline")) for entry in data["entries"])


def _advance(data: dict[str, Any], step: str) -> str:
    """The step after ``step`` (an answer was just stored)."""
    if step == "final_opinion":
        return "decision"
    if step == "decision":
        return REVIEW
    entry = data["entries"][int(data["index"])]
    if step != "credit_opinion":
        following = EXPERT_STEPS[EXPERT_STEPS.index(step) + 1]
        if following == "discipline_note" and entry.get("discipline") != "breach":
            entry["discipline_note"] = ""
            following = "credit_opinion"
        return following
    if data.get("editing"):
        return REVIEW if complete(data) else "final_opinion"
    if int(data["index"]) + 1 < len(data["entries"]):
        data["index"] = int(data["index"]) + 1
        return "attendance"
    return "final_opinion"


def _store(data: dict[str, Any], step: str, value: str) -> None:
    if step in GROUP_STEPS:
        data[step] = value
    else:
        data["entries"][int(data["index"])][step] = value


def _is_choice(step: str, value: str) -> bool:
    """Whether ``value`` is one of the answers offered at ``step`` (none is an answer to the credit opinion)."""
    return (step in CHOICES and value in CHOICES[step]) or (step == "credit_opinion" and value == "")


def _turn(dialog: Dialog) -> Turn:
    data = dict(dialog.data)
    return Turn(step=dialog.step, data=data, token=str(data.get(dialogs.NONCE_FIELD, "")),
                seq=int(data.get(dialogs.SEQ_FIELD, 0)))


async def start(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> Turn:
    """Open (or restart) the dialog of an ended activity's record, its answers so far prefilled; commits."""
    assert actor.account_id is not None
    current = await work_records.record_of(uow, actor=actor, activity_id=activity_id)
    if current.record.status == "submitted":
        raise RecordSubmitted(str(activity_id), activity_id=activity_id)
    entries = [{"member_id": e.member_id, "name": name, "attendance": e.attendance, "performance": e.performance,
                "recusal": e.recusal, "discipline": e.discipline, "discipline_note": e.discipline_note,
                "credit_opinion": e.credit_opinion} for e, name in current.entries]
    data: dict[str, Any] = {"activity_id": activity_id, "title": current.info.activity.title, "index": 0,
                            "entries": entries, "final_opinion": current.record.final_opinion or "",
                            "decision": current.record.decision}
    dialog = await dialogs.start(uow, actor.account_id, flow=FLOW, step="attendance", data=data)
    turn = _turn(dialog)
    await uow.commit()
    return turn


async def answer(uow: UnitOfWork, *, actor: Actor, text: str) -> Turn | UseButtons | None:
    """Typed text: the answer of a text step (spaces collapsed, at most 1000 characters); None without an open
    dialog of this flow. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None:
        return None
    text = " ".join(text.split())
    if dialog.step not in TEXT_STEPS or not text:
        return UseButtons()
    data = dict(dialog.data)
    _store(data, dialog.step, text[:MAX_TEXT])
    await dialogs.save(uow, dialog, step=_advance(data, dialog.step), data=data)
    turn = _turn(dialog)
    await uow.commit()
    return turn


def _following(data: dict[str, Any], step: str, action: WorkRecordButton) -> str | None:
    """Where a button of ``step`` leads (after storing its answer), or None when the step does not take it."""
    match action:
        case ChooseAnswer(value=value) if _is_choice(step, value):
            _store(data, step, value)
            return _advance(data, step)
        case KeepAnswer() if step in TEXT_STEPS:
            return _advance(data, step)
        case EditExpert(index=index) if step == REVIEW and index < len(data["entries"]):
            data["index"], data["editing"] = index, True
            return "attendance"
        case EditGroup() if step == REVIEW:
            return "final_opinion"
    return None


def _entries(data: dict[str, Any]) -> list[EntryInput]:
    return [EntryInput(member_id=int(e["member_id"]), attendance=e["attendance"], performance=e["performance"],
                       recusal=e["recusal"], discipline=e["discipline"],
                       discipline_note=e.get("discipline_note") or "", credit_opinion=e.get("credit_opinion") or "")
            for e in data["entries"]]


async def press(uow: UnitOfWork, *, actor: Actor, action: WorkRecordButton) -> Turn | Submitted | None:
    """A button of the current step: the next question, or the submitted record (the dialog then ends); None when
    stale or not one the step takes. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, action.token, str(action.seq)):
        return None
    data, step = dict(dialog.data), dialog.step
    if isinstance(action, SubmitRecord):
        if step != REVIEW or not complete(data):
            return None
        activity_id = int(data["activity_id"])
        await dialogs.clear(uow, actor.account_id)  # in the submission's transaction (submit commits)
        await work_records.submit(uow, actor=actor, activity_id=activity_id, entries=_entries(data),
                                  final_opinion=str(data["final_opinion"]), decision=str(data["decision"]))
        return Submitted(activity_id)
    following = _following(data, step, action)
    if following is None:
        return None
    await dialogs.save(uow, dialog, step=following, data=data)
    turn = _turn(dialog)
    await uow.commit()
    return turn


__all__ = ["FLOW", "Submitted", "Turn", "UseButtons", "answer", "complete", "press", "start"]
