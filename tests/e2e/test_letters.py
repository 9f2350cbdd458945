"""End to end through the emulator: staff get the letter to an expert's employer as a document with ``/letter``,
press "已发送，登记" and the slot records when (000 §19, 001 §12); usage, a slot not yet accepted, another line's
staff and a forged press get clear answers."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from docx import Document
from sqlmodel import col, select

from bot.emulator import BotApiEmulator, buttons
from messages import translate
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.invitations import invitations
from services.people import accounts
from services.platform.roles import SYSTEM_CLI, Actor, Role
from storage.activities import ActivityMember
from tests.builders import add_institutions, add_pool, build_org, staff_actor
from tests.e2e.harness import running_bot

ADMIN, DIVISION = 90, 91


def zh(key: str, **params: Any) -> str:
    return translate("zh", key, **params)


async def test_staff_get_the_letter_as_a_document_and_record_it_sent_with_the_button(
        emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        (employer,) = await add_institutions(bot.uow, ["石河子大学第一附属医院"])
        await add_pool(bot.uow, org.bureau_id, [
            {"name": "刘医师", "employer_id": employer, "title": "主任医师", "post": "医务科科长"},
            {"name": "周医师"}, {"name": "吴医师"}])
        clerk, admin = staff_actor(org.staff_id, org.bureau_id), staff_actor(org.admin_id, org.bureau_id, admin=True)
        async with bot.uow() as u:
            start = u.now() + timedelta(days=10)
            activity = await activities.create_activity(u, actor=clerk, data=ActivityInput(
                org="bureau", kind="routine_inspection", title="定点医院日常检查", starts_at=start,
                ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
                requirements=(RequirementInput("supervision", 3),), place="石河子市"))
        async with bot.uow() as u:
            filed = await draws.file_request(u, actor=clerk, activity_id=activity.id or 0)
        async with bot.uow() as u:
            await draws.approve(u, actor=admin, request_id=filed.request.id or 0)
        async with bot.uow() as u:
            slots = list((await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == activity.id).order_by(col(ActivityMember.person_id)))).all())
        chosen, waiting = slots[0], slots[1]
        async with bot.uow() as u:
            await invitations.accept(u, actor=Actor(label=f"person:{chosen.person_id}", person_id=chosen.person_id,
                                                    roles=frozenset({Role.EXPERT})), member_id=chosen.id or 0)
        for person_id, user_id in ((org.admin_id, ADMIN), (org.div1_staff_id, DIVISION)):
            async with bot.uow() as u:
                issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=person_id)
            await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
            await emulator.wait_for_messages(user_id, 1)

        staff = emulator.user(ADMIN)
        count = len(emulator.messages(ADMIN))
        await staff.send_command("/letter", "abc")
        await staff.send_command("/letter", str(waiting.id))
        replies = await emulator.wait_for_messages(ADMIN, count + 2)
        assert replies[-2].text == zh("letter.usage")
        assert replies[-1].text == zh("letter.not_ready", member_id=waiting.id, status_key="invite.status.invited")

        await staff.send_command("/letter", str(chosen.id))
        await emulator.wait_for(lambda: any(m.document for m in emulator.messages(ADMIN)), timeout=20)
        (sent,) = [m for m in emulator.messages(ADMIN) if m.document is not None]
        assert sent.document is not None and sent.document.file_name == f"employer-letter-{chosen.id}.docx"
        assert sent.caption == zh("letter.caption", member_id=chosen.id)
        text = "\n".join(p.text for p in Document(io.BytesIO(sent.document.data)).paragraphs)
        assert "石河子大学第一附属医院：" in text and "刘医师同志（职称：主任医师；职务：医务科科长）" in text
        assert "定点医院日常检查" in text and "兵团医疗保障局（盖章）" in text
        ((label, data),) = buttons(sent)[0]
        assert (label, data) == (zh("letter.button.sent"), f"ltr:sent:{chosen.id}")

        # another line's staff: no letter, and a forged press records nothing
        division = emulator.user(DIVISION)
        count = len(emulator.messages(DIVISION))
        await division.send_command("/letter", str(chosen.id))
        replies = await emulator.wait_for_messages(DIVISION, count + 1)
        assert replies[-1].text == zh("letter.slot_not_found", member_id=chosen.id)
        forged = await division.press(replies[-1].message_id, data)
        await emulator.wait_for(lambda: forged["callback_query"]["id"] in emulator.callback_answers)
        assert emulator.callback_answers[forged["callback_query"]["id"]]["text"] == zh(
            "letter.slot_not_found", member_id=chosen.id)
        async with bot.uow() as u:
            untouched = await u.session.get(ActivityMember, chosen.id)
        assert untouched is not None and untouched.employer_informed_at is None

        pressed = await staff.press(sent.message_id, data)
        await emulator.wait_for(lambda: pressed["callback_query"]["id"] in emulator.callback_answers)
        async with bot.uow() as u:
            stored = await u.session.get(ActivityMember, chosen.id)
            zone = u.zone
        assert stored is not None and stored.employer_informed_at is not None
        at = stored.employer_informed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        assert emulator.callback_answers[pressed["callback_query"]["id"]]["text"] == zh(
            "letter.sent_done", member_id=chosen.id, at=at)

        # asked again, the letter says when it was recorded; a second press keeps the first time
        await staff.send_command("/letter", str(chosen.id))
        await emulator.wait_for(lambda: len([m for m in emulator.messages(ADMIN) if m.document]) == 2, timeout=20)
        again = [m for m in emulator.messages(ADMIN) if m.document is not None][-1]
        assert again.caption == zh("letter.caption", member_id=chosen.id) + "\n" + zh(
            "letter.already_sent", member_id=chosen.id, at=at)
        bot.clock.advance(timedelta(hours=2))
        second = await staff.press(again.message_id, data)
        await emulator.wait_for(lambda: second["callback_query"]["id"] in emulator.callback_answers)
        assert emulator.callback_answers[second["callback_query"]["id"]]["text"] == zh(
            "letter.sent_done", member_id=chosen.id, at=at)
