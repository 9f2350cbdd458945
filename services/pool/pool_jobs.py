"""The expert pool's daily sweep (000 §10(五)–(七), §22).

- one month before a term ends: tell the expert and the pool's staff that review is due (once per term);
- at the term's end: exit, unless renewed (renewal moves ``term_end``);
- at 65: exit, unless an extension is pending or granted (until its end date has passed: 000 §22,
  :mod:`services.pool.extensions`);
- a month before a granted extension ends: tell the expert and the pool's staff (once per end date);
- at the end of a public notice with no objection recorded: appoint.

Each step selects only what is due through indexed columns, acts in its own transaction (so one
failure does not stop the rest) and is idempotent: running the sweep twice changes nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col, or_, select

from services.people.orgs import TERM_YEARS, add_years
from services.platform import audit, notify
from services.platform.roles import SCHEDULER
from services.pool import extensions, lifecycle
from services.pool.eligibility import AGE_LIMIT
from services.pool.extensions import REMINDER_DAYS
from services.pool.lifecycle import REVIEW_NOTICE_DAYS, ExitReason, ExpertState
from storage.models import Expert, Person
from storage.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep did."""

    review_notices: int = 0
    term_exits: int = 0
    age_exits: int = 0
    appointments: int = 0
    extension_reminders: int = 0


async def daily_sweep(uow_factory: UnitOfWorkFactory) -> SweepReport:
    """Run every daily rule of the pool once."""
    report = SweepReport()
    async with uow_factory(readonly=True) as uow:
        today = uow.today()
        due_review = await _ids(uow, col(Expert.state) == ExpertState.ACTIVE.value,
                                col(Expert.term_end) <= today + timedelta(days=REVIEW_NOTICE_DAYS),
                                col(Expert.term_end) > today)
        term_over = await _ids(uow, col(Expert.state) == ExpertState.ACTIVE.value, col(Expert.term_end) <= today)
        sixty_five = add_years(today, -AGE_LIMIT)  # born on or before: 65 or older today
        aged = await _ids(uow, col(Expert.state) == ExpertState.ACTIVE.value, col(Expert.birth_date) <= sixty_five,
                          or_(col(Expert.extended_until) < today,
                              col(Expert.extended_until).is_(None) & col(Expert.extension_requested).is_(False)))
        extension_ending = await _ids(uow, col(Expert.state) == ExpertState.ACTIVE.value,
                                      col(Expert.extended_until) >= today,
                                      col(Expert.extended_until) <= today + timedelta(days=REMINDER_DAYS))
        notice_over = await _ids(uow, col(Expert.state) == ExpertState.PUBLIC_NOTICE.value,
                                 col(Expert.notice_ends_on) <= today)
    for expert_id in due_review:
        report.review_notices += await _guarded(uow_factory, expert_id, _review_notice)
    for expert_id in aged:
        report.age_exits += await _guarded(uow_factory, expert_id, _age_exit)
    for expert_id in term_over:
        if expert_id not in aged:
            report.term_exits += await _guarded(uow_factory, expert_id, _term_exit)
    for expert_id in notice_over:
        report.appointments += await _guarded(uow_factory, expert_id, _appoint)
    for expert_id in extension_ending:
        report.extension_reminders += await _guarded(uow_factory, expert_id, extensions.remind)
    return report


async def _ids(uow: UnitOfWork, *conditions: ColumnElement[bool]) -> list[int]:
    result = await uow.session.exec(select(Expert.person_id).where(*conditions))
    return list(result.all())


Step = Callable[[UnitOfWork, int], Awaitable[bool]]


async def _guarded(uow_factory: UnitOfWorkFactory, expert_id: int, step: Step) -> int:
    try:
        async with uow_factory() as uow:
            return int(await step(uow, expert_id))
    except Exception:
        logger.exception("pool sweep step %s failed for expert %s", getattr(step, "__name__", step), expert_id)
        return 0


async def _staff_params(uow: UnitOfWork, expert: Expert) -> dict[str, object]:
    person = await uow.session.get(Person, expert.person_id)
    return {"name": person.name if person else "", "person_id": expert.person_id,
            "term_end": expert.term_end.isoformat() if expert.term_end else "-"}


async def _review_notice(uow: UnitOfWork, expert_id: int) -> bool:
    expert = await uow.people.expert(expert_id)
    if expert is None or expert.term_end is None or expert.review_notice_for == expert.term_end:
        return False
    expert.review_notice_for = expert.term_end
    uow.session.add(expert)
    params = await _staff_params(uow, expert)
    await notify.to_person(uow, person_id=expert_id, key="lifecycle.review_due", params=params)
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key="lifecycle.review_due_staff", params=params)
    await audit.record(uow, at=uow.now(), actor=SCHEDULER.label, action="expert.review_due", object_type="person",
                       object_id=expert_id, details={"term_end": expert.term_end.isoformat()})
    await uow.commit()
    return True


async def _exit(uow: UnitOfWork, expert_id: int, reason: ExitReason) -> bool:
    expert = await uow.people.expert(expert_id)
    if expert is None or expert.state != ExpertState.ACTIVE.value:
        return False
    params = await _staff_params(uow, expert)
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key=f"lifecycle.exited_staff.{reason.value}",
                             params=params)
    await lifecycle.exit_pool(uow, actor=SCHEDULER, expert_id=expert_id, reason=reason)
    return True


async def _age_exit(uow: UnitOfWork, expert_id: int) -> bool:
    return await _exit(uow, expert_id, ExitReason.AGE_LIMIT)


async def _term_exit(uow: UnitOfWork, expert_id: int) -> bool:
    return await _exit(uow, expert_id, ExitReason.TERM_END)


async def _appoint(uow: UnitOfWork, expert_id: int) -> bool:
    expert = await uow.people.expert(expert_id)
    if expert is None or expert.state != ExpertState.PUBLIC_NOTICE.value:
        return False
    params = await _staff_params(uow, expert)
    params["term_end"] = add_years(uow.today(), TERM_YEARS).isoformat()
    await notify.to_org_unit(uow, org_unit_id=expert.org_unit_id, key="lifecycle.exited_staff.appointed",
                             params=params)
    await lifecycle.appoint(uow, actor=SCHEDULER, expert_id=expert_id)
    return True
