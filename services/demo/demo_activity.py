"""The sandbox's drawn activity (issue 13): an inspection of the first division, filed by its staff member and
approved by the bureau's admin (four-eyes, 000 §17), whose first line asks for the one expert with the specialty
tag :data:`DEMO_TAG`: the demo expert left unbound (:data:`services.demo.demo.UNBOUND_EXPERT_NAME`). The draw
invites the principals at once; the invitation to the unbound expert cannot be delivered, so the staff get the
"to contact by phone" alert (name, mobile, deadline, ``/answer <slot>``) as soon as the sandbox runs."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from services.activities import activities
from services.activities.activity_rules import ActivityInput, RequirementInput
from services.draws import draws
from services.people import accounts
from storage.models import Expert
from storage.uow import UnitOfWorkFactory

DEMO_TAG = "团场基层"
"""The specialty tag only the unbound demo expert has (a requirement that draws exactly them)."""
TELEGRAM = "telegram"


async def add_demo_activity(uow_factory: UnitOfWorkFactory, *, clerk_user: int, admin_user: int,
                            unbound_person_id: int) -> int | None:
    """File and approve the demo activity's draw (clerk and admin as their demo accounts); its id."""
    async with uow_factory() as uow:
        expert = await uow.session.get(Expert, unbound_person_id)
        clerk = await accounts.identify(uow, channel=TELEGRAM, external_user_id=str(clerk_user))
        admin = await accounts.identify(uow, channel=TELEGRAM, external_user_id=str(admin_user))
        if expert is None or not expert.categories or clerk.person_id is None or admin.person_id is None:
            return None
        category = expert.categories[0]
        day = uow.today() + timedelta(days=14)
        start = datetime.combine(day, time(9, 0), tzinfo=uow.zone)
        activity = await activities.create_activity(uow, actor=clerk, data=ActivityInput(
            org="div1", kind="routine_inspection", title="定点医疗机构日常检查（演示）", starts_at=start,
            ends_at=start + timedelta(days=1, hours=8), response_deadline=start - timedelta(days=4),
            place="第一师医疗保障局三楼会议室",
            requirements=(RequirementInput(category, 1, 0, tags=(DEMO_TAG,)), RequirementInput(category, 2, 1))))
    assert activity.id is not None
    async with uow_factory() as uow:
        filed = await draws.file_request(uow, actor=clerk, activity_id=activity.id)
    if filed.record is None and filed.request.id is not None:
        async with uow_factory() as uow:
            await draws.approve(uow, actor=admin, request_id=filed.request.id)
    return activity.id
