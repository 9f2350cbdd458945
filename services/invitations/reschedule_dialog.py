"""``/reschedule <activity>`` guided (issue 13, "Cancel and reschedule"): the new start, end and answer-by time are
asked one by one in the bureau's time zone, each with an example computed from now and the answers so far (issue
20), each checked as it comes (000 §19: the start after now, the end not before the start, the deadline after now
and no later than the start), and the change is made by :func:`services.invitations.cancellation.reschedule`
(members reconfirm, those who cannot are replaced, no penalty). A refused final change keeps the dialog at the
step to fix. The dialog state is the account's ``dialog`` row (flow :data:`FLOW`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.activities import activities
from services.activities.new_activity_steps import example_moment
from services.invitations import cancellation
from services.platform import dialogs
from services.platform.errors import ActivityInvalid
from services.platform.roles import Actor
from storage.uow import UnitOfWork

FLOW = "reschedule"
STEPS = ("starts", "ends", "deadline")
DEFAULT_WORDS = ("-", "默认", "default")


@dataclass(frozen=True)
class Ask:
    """The next question: its step and example (``reason_key``: why the last answer was refused, if it was)."""

    step: str
    example: str
    reason_key: str | None = None


async def start(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> Ask:
    """Open the dialog for an activity the caller may change (refused as the one-line command would be)."""
    assert actor.account_id is not None
    await cancellation.check_changeable(uow, actor=actor, activity_id=activity_id)
    await dialogs.start(uow, actor.account_id, flow=FLOW, step="starts", data={"activity_id": activity_id})
    await uow.commit()
    return Ask("starts", _example(uow, "starts", {}))


def _example(uow: UnitOfWork, step: str, data: dict[str, Any]) -> str:
    moment = example_moment(step, data, now=uow.now(), zone=uow.zone)
    return dialogs.format_local(moment, uow.zone)


async def answer(uow: UnitOfWork, *, actor: Actor, text: str) -> Ask | cancellation.Rescheduled | None:
    """A typed time: the next question, the change made, or None without an open dialog of this flow."""
    assert actor.account_id is not None
    dialog = await dialogs.get(uow, actor.account_id, flow=FLOW)
    if dialog is None:
        return None
    step, data = dialog.step, dict(dialog.data)
    moment = None
    if not (step == "deadline" and text.strip().lower() in DEFAULT_WORDS):
        try:
            moment = dialogs.parse_local_datetime(text, zone=uow.zone, now=uow.now())
            activities.check_time_answer(step, moment, starts_at=_moment(data, "starts"), now=uow.now())
        except dialogs.UnreadableMoment:
            return Ask(step, _example(uow, step, data), "invite.change.bad_time")
        except ActivityInvalid as error:
            return Ask(step, _example(uow, step, data), error.reason_key)
    data[step] = moment.isoformat() if moment is not None else None
    if step != "deadline":
        following = STEPS[STEPS.index(step) + 1]
        await dialogs.save(uow, dialog, step=following, data=data)
        await uow.commit()
        return Ask(following, _example(uow, following, data))
    return await _finish(uow, actor, dialog, data)


async def _finish(uow: UnitOfWork, actor: Actor, dialog: Any, data: dict[str, Any]) -> Ask | cancellation.Rescheduled:
    assert actor.account_id is not None
    starts, ends = _moment(data, "starts"), _moment(data, "ends")
    assert starts is not None and ends is not None
    await dialogs.clear(uow, actor.account_id)
    try:
        done = await cancellation.reschedule(uow, actor=actor, activity_id=int(data["activity_id"]), starts_at=starts,
                                             ends_at=ends, response_deadline=_moment(data, "deadline"))
    except ActivityInvalid as error:
        await uow.rollback()
        return Ask("deadline", _example(uow, "deadline", data), error.reason_key)
    return done


def _moment(data: dict[str, Any], name: str) -> datetime | None:
    raw = data.get(name)
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None
