"""Staff assign a lead's handler in the bot (/assign); the colleague is told; someone who is not staff of the
lead's line cannot be assigned (issue 8, "a handler is assigned")."""

from __future__ import annotations

from sqlmodel import select

from bot.emulator import BotApiEmulator
from messages import translate
from services.leads import leads
from services.people import accounts
from services.platform.roles import SYSTEM_CLI, Actor, Role
from storage.leads import Lead
from tests.builders import add_institutions, build_org
from tests.e2e.harness import running_bot


async def test_staff_assign_a_colleague_who_is_told_and_an_outsider_is_refused(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, = await add_institutions(bot.uow, ["某医院"])
        for person, user in ((org.admin_id, 71), (org.staff_id, 72)):
            async with bot.uow() as u:
                issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=person)
            await emulator.user(user, language_code="zh").send_command("/start", issued.code)
            await emulator.wait_for_messages(user, 1)
        reporter = Actor(label=f"person:{org.supervisor_id}", person_id=org.supervisor_id,
                         roles=frozenset({Role.SUPERVISOR}))
        async with bot.uow() as u:
            lead = await leads.submit(u, actor=reporter, draft=leads.LeadDraft(
                category="over_charging", what="重复收费", institution_id=hospital))
        assert lead.id is not None

        await emulator.user(71).send_command("/assign", f"{lead.id} {org.staff_id}")
        told = translate("zh", "leadstaff.assigned", number=lead.number, handler=org.staff_id)
        await emulator.wait_for(lambda: any(m.text == told for m in emulator.messages(71)))
        await emulator.wait_for(lambda: any(lead.number in (m.text or "") for m in emulator.messages(72)))
        async with bot.uow() as u:
            stored = (await u.session.exec(select(Lead))).one()
        assert stored.handler_person_id == org.staff_id

        before = len(emulator.messages(71))
        await emulator.user(71).send_command("/assign", f"{lead.id} {org.expert_id}")  # not staff: refused
        await emulator.wait_for(lambda: len(emulator.messages(71)) > before)
        assert emulator.messages(71)[-1].text != told
        async with bot.uow() as u:
            stored = (await u.session.exec(select(Lead))).one()
        assert stored.handler_person_id == org.staff_id
