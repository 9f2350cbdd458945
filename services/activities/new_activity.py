"""The guided creation of an activity (issue "Activities and draws"): which question comes next, what each answer
and button does, and the confirmation, over the answers kept in the ``dialog`` row (flow :data:`FLOW`).

The dialog asks one thing at a time: kind, title, organizer (the staff member's unit or one below it), start, end
and response deadline (typed in the bureau's time zone), inspected institutions (searched by part of the name),
place, the composition line by line (category, clinical sub-category, specialty tags, principals, backups), the
group-size waiver when needed, double blind for project reviews, then a summary to confirm.

Rules checked as it goes (:func:`services.activities.activities.create_activity` checks them all again on
confirmation):

- start after now, end not before start, response deadline after now and no later than the start, so experts
  are told before the activity (000 §19, :func:`services.activities.activities.check_time_answer`);
- each line: a category (000 §7), a clinical sub-category only for the clinical category (000 §7(二)), at most
  ``MAX_TAGS`` tags, counts of principals and backups (000 §17, annex 3);
- principals in total an odd number ≥3 (000 §18(一)), unless the organizer waives it with a recorded reason;
- double blind is asked only for project reviews (001 §14: double-blind reviews are exempt from rotation).

Every function here takes the caller's button stamp (``token``/``seq``) where a button led to it and returns None
when the stamp is not the dialog's current step (stale: nothing changes). Each commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.activities import activities
from services.activities.actions import Move, NewActivityButton, NewActivityMove
from services.activities.new_activity_answers import on_button, on_text
from services.activities.new_activity_steps import (
    TIME_STEPS,
    Created,
    Outcome,
    Step,
    Turn,
    activity_input,
    example_moment,
    refusal_note,
    step_for,
)
from services.people.orgs import get_unit
from services.platform import dialogs
from services.platform.errors import DomainError
from services.platform.roles import Actor
from storage.activities import Dialog
from storage.uow import UnitOfWork

FLOW = "activity"


# ---- the dialog's transactions ------------------------------------------------------------------------------


def _step_of(raw: str) -> Step:
    try:
        return Step(raw)
    except ValueError:
        return Step.KIND


def _turn(dialog: Dialog, data: dict[str, Any], zone: ZoneInfo, outcome: Outcome, *, moved: bool = True,
          now: datetime | None = None) -> Turn:
    example = None
    if outcome.step in TIME_STEPS and now is not None:
        example = example_moment(TIME_STEPS[outcome.step], data, now=now, zone=zone)
    return Turn(step=outcome.step, data=data, token=str(dialog.data.get(dialogs.NONCE_FIELD, "")),
                seq=int(dialog.data.get(dialogs.SEQ_FIELD, 0)), zone=zone, notes=tuple(outcome.notes),
                matches=outcome.matches, ask=outcome.ask, moved=moved, example=example)


async def start(uow: UnitOfWork, *, actor: Actor) -> Turn:
    """Open the dialog at the first question, the staff member's own unit as the organizer (any open dialog is
    replaced); commits."""
    assert actor.account_id is not None and actor.staff_org_unit_id is not None
    unit = await get_unit(uow, actor.staff_org_unit_id)
    label = f"{unit.name}（{unit.code}）"
    data: dict[str, Any] = {"org_id": unit.id, "org_label": label, "own_id": unit.id, "own_label": label,
                            "lines": [], "line": {}, "institutions": [], "place": "", "double_blind": False,
                            "waive": False}
    dialog = await dialogs.start(uow, actor.account_id, flow=FLOW, step=Step.KIND, data=data)
    turn = _turn(dialog, dict(dialog.data), uow.zone, Outcome(Step.KIND), now=uow.now())
    await uow.commit()
    return turn


async def answer(uow: UnitOfWork, *, actor: Actor, text: str) -> Turn | None:
    """A typed answer to the current question; None without an open dialog of this flow. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None:
        return None
    data = dict(dialog.data)
    outcome = await on_text(uow, actor, _step_of(dialog.step), data, text)
    await dialogs.save(uow, dialog, step=outcome.step, data=data)
    turn = _turn(dialog, data, uow.zone, outcome, now=uow.now())
    await uow.commit()
    return turn


async def press(uow: UnitOfWork, *, actor: Actor, action: NewActivityButton) -> Turn | None:
    """A button of the current step (not confirm or cancel); None when stale. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, action.token, str(action.seq)):
        return None
    data, step = dict(dialog.data), _step_of(dialog.step)
    outcome = await on_button(uow, step, data, action)
    await dialogs.save(uow, dialog, step=outcome.step, data=data)
    turn = _turn(dialog, data, uow.zone, outcome, moved=outcome.step != step, now=uow.now())
    await uow.commit()
    return turn


async def cancel(uow: UnitOfWork, *, actor: Actor, token: str, seq: int) -> bool:
    """The cancel button: end the dialog; False when the button is stale. Commits."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, token, str(seq)):
        return False
    await dialogs.clear(uow, actor.account_id)
    await uow.commit()
    return True


async def confirm(uow: UnitOfWork, *, actor: Actor, token: str, seq: int) -> Created | Turn | None:
    """Create the activity and end the dialog in one transaction (:class:`Created`); a refusal sends the person to
    the step to fix (a :class:`Turn` with ``refused``); None when the button is stale or not the summary's."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None or not dialogs.is_current(dialog, token, str(seq)):
        return None
    if dialog.step != Step.SUMMARY:
        return await press(uow, actor=actor, action=NewActivityMove(token, seq, Move.CONFIRM))
    data, zone = dict(dialog.data), uow.zone
    try:
        await dialogs.clear(uow, actor.account_id)
        activity = await activities.create_activity(uow, actor=actor, data=activity_input(data))
    except DomainError as error:
        await uow.rollback()
        dialog = await dialogs.get(uow, actor.account_id, flow=FLOW, idle_limit=None) or dialog
        step = step_for(error, data)
        data["fix"] = True
        await dialogs.save(uow, dialog, step=step, data=data)
        turn = _turn(dialog, data, zone, Outcome(step), now=uow.now())
        await uow.commit()
        return replace(turn, refused=refusal_note(error))
    assert activity.id is not None
    return Created(activity.id)


__all__ = ["FLOW", "answer", "cancel", "confirm", "press", "start"]
