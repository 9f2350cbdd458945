"""End to end through the emulator: staff file a draw, a second staff member (an admin) approves it with a
button, the result card appears; the record verifies and tampering is caught; four-eyes and secrecy hold;
a shortfall offers relaxations (issue: activities and draws, "Done when"; 000 §17–§18, 001 §11)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from bot.emulator import BotApiEmulator, buttons
from messages import translate
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from storage.activities import DrawRecord
from tests.builders import add_institutions, add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot

CLERK, ADMIN, DIV1 = 81, 82, 83


async def _bind(bot: BotHarness, emulator: BotApiEmulator, role: str, person_id: int, user_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


async def _activity(bot: BotHarness, staff_id: int, unit_id: int, requirements: tuple[RequirementInput, ...],
                    institutions: tuple[int, ...] = ()) -> int:
    async with bot.uow() as u:
        start = u.now() + timedelta(days=10)
        activity = await activities.create_activity(u, actor=staff_actor(staff_id, unit_id), data=ActivityInput(
            org="bureau", kind="special_inspection", title="骨科耗材专项检查", starts_at=start,
            ends_at=start + timedelta(days=2), response_deadline=start - timedelta(days=2),
            requirements=requirements, institution_ids=institutions))
    assert activity.id is not None
    return activity.id


async def test_staff_file_an_admin_approves_with_a_button_and_the_result_card_appears(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, = await add_institutions(bot.uow, ["第一人民医院"])
        await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}", "employer_id": hospital if i < 2 else None}
                                                for i in range(10)])
        await _bind(bot, emulator, "staff", org.staff_id, CLERK)
        await _bind(bot, emulator, "staff", org.admin_id, ADMIN)
        await _bind(bot, emulator, "staff", org.div1_staff_id, DIV1)
        activity_id = await _activity(bot, org.staff_id, org.bureau_id,
                                      (RequirementInput("supervision", 3, 2),), (hospital,))
        clerk, admin = emulator.user(CLERK), emulator.user(ADMIN)

        await clerk.send_command("/draw", str(activity_id))
        filed = (await emulator.wait_for_messages(CLERK, 2))[-1]
        assert filed.text == translate("zh", "draw.filed", request_id=1, activity_id=activity_id)

        # the clerk cannot approve (not an admin); the admin is alerted with the buttons
        alert = (await emulator.wait_for_messages(ADMIN, 2))[-1]
        assert alert.text is not None and "骨科耗材专项检查" in alert.text
        (approve, _reject), = buttons(alert)
        refused = await clerk.press(alert.message_id, approve[1], chat_id=ADMIN)
        await emulator.wait_for(lambda: refused["callback_query"]["id"] in emulator.callback_answers)

        await admin.press(alert.message_id, approve[1])
        await emulator.wait_for(lambda: emulator.messages(ADMIN)[1].reply_markup is None)
        assert "已抽取" in (emulator.messages(ADMIN)[1].text or "")
        done = (await emulator.wait_for_messages(CLERK, 3))[-1]
        assert done.text is not None and "已完成抽取" in done.text
        (show,), = buttons(done)
        await clerk.press(done.message_id, show[1])
        card = (await emulator.wait_for_messages(CLERK, 4))[-1]
        assert card.text is not None
        assert card.text.count("（#") == 5 and "备选2." in card.text and "王管理" in card.text
        assert "专家0" not in card.text and "专家1" not in card.text  # employed by the inspected hospital

        async with bot.uow() as u:
            record = await draws.latest_draw(u, actor=staff_actor(org.staff_id, org.bureau_id),
                                             activity_id=activity_id)
            assert record is not None and record.id is not None
            assert (await draws.verify_draw(u, record.id)).ok
            result = dict(record.result)
            result["picks"] = [result["picks"][1], result["picks"][0], *result["picks"][2:]]
            await u.session.exec(update(DrawRecord).where(col(DrawRecord.id) == record.id)  # type: ignore[call-overload]
                                 .values(result=result))
            await u.commit()
        async with bot.uow() as u:
            report = await draws.verify_draw(u, record.id)
        assert not report.ok and "result" in report.problems

        # secrecy: staff of a division do not see the bureau's activity
        await emulator.user(DIV1).send_command("/roster", str(activity_id))
        hidden = (await emulator.wait_for_messages(DIV1, 2))[-1]
        assert hidden.text == translate("zh", "error.activity_not_found", activity_id=activity_id)


async def test_an_admin_cannot_approve_their_own_request_and_a_shortfall_offers_relaxations(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await add_pool(bot.uow, org.bureau_id, [{"specialty_tags": ["审计"] if i < 2 else []} for i in range(6)])
        await _bind(bot, emulator, "staff", org.admin_id, ADMIN)
        await _bind(bot, emulator, "staff", org.staff_id, CLERK)
        activity_id = await _activity(bot, org.admin_id, org.bureau_id,
                                      (RequirementInput("supervision", 3, 0, tags=("审计",)),))
        admin, clerk = emulator.user(ADMIN), emulator.user(CLERK)
        await admin.send_command("/draw", str(activity_id))
        await emulator.wait_for_messages(ADMIN, 3)  # the reply, and the approval alert (the unit has no chat)
        await admin.send_command("/requests")
        item = (await emulator.wait_for_messages(ADMIN, 4))[-1]
        (approve, _),  = buttons(item)
        own = await admin.press(item.message_id, approve[1])
        await emulator.wait_for(lambda: own["callback_query"]["id"] in emulator.callback_answers)
        answer = emulator.callback_answers[own["callback_query"]["id"]]["text"]
        assert translate("zh", "draw.refused.four_eyes") in answer

        # with approval off for the bureau, filing draws at once; the pool is short on 审计 → explanation
        async with bot.uow() as u:
            await draws.reject(u, actor=staff_actor(org.admin_id, org.bureau_id, admin=True), request_id=1)
        await admin.send_command("/drawapproval", "bureau off")
        switched = translate("zh", "draw.approval_set", org="bureau", state_key="draw.approval_off")
        await emulator.wait_for(lambda: emulator.messages(ADMIN)[-1].text == switched)
        await clerk.send_command("/draw", str(activity_id))
        short = (await emulator.wait_for_messages(CLERK, 2))[-1]
        assert short.text is not None and translate("zh", "draw.card.short_header") in short.text
        assert "尚缺 1 人" in short.text
        rows = buttons(short)
        relax = next(data for row in rows for _, data in row if data.endswith(":tags"))
        again = rows[-1][0][1]
        await clerk.press(short.message_id, relax)
        await clerk.press(short.message_id, again)
        card = (await emulator.wait_for_messages(CLERK, 3))[-1]
        assert card.text is not None and card.text.count("（#") == 3
        assert translate("zh", "draw.card.no_approver") in card.text


async def test_the_card_states_each_experts_chance_under_the_employer_rule(
    emulator: BotApiEmulator, database_url: str
) -> None:
    """Issue 18: 6 of 10 eligible experts work at one hospital; 3 principals, at most one of them from there
    (000 §18(三)): each of them 1/6, each of the other 4 (3 - 1) / 4 = 50%, and the card says so."""
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, = await add_institutions(bot.uow, ["第一师医院"])
        await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}", "employer_id": hospital if i < 6 else None}
                                                for i in range(10)])
        async with bot.uow() as u:
            await draws.set_approval(u, actor=SYSTEM_CLI, org="bureau", enabled=False)
        await _bind(bot, emulator, "staff", org.staff_id, CLERK)
        activity_id = await _activity(bot, org.staff_id, org.bureau_id, (RequirementInput("supervision", 3, 0),))

        await emulator.user(CLERK).send_command("/draw", str(activity_id))
        card = (await emulator.wait_for_messages(CLERK, 2))[-1]
        assert card.text is not None and card.text.count("（#") == 3
        parts = "；".join([translate("zh", "draw.card.chance_others", count=4, percent="50.0%"),
                          translate("zh", "draw.card.chance_at", count=6, employer="第一师医院", percent="16.7%")])
        assert translate("zh", "draw.card.chance", parts=parts) in card.text


async def test_two_lines_of_one_field_with_shared_experts_are_drawn_jointly_and_the_card_states_the_chances(
    emulator: BotApiEmulator, database_url: str
) -> None:
    """Issue 18, the general case (draw v3): clinical medicine 1 and clinical pharmacy 2; 6 experts, 3 of them
    at 第一师医院, two experts fit both lines (counted in pharmacy, the line with more places per expert). The
    hospital's experts share one place over the field (000 §18(三)): 1/3 each wherever they are counted, the
    others 2/3; the card states both lines' chances (no v1 fallback) and the record verifies."""
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        hospital, = await add_institutions(bot.uow, ["第一师医院"])
        both = ["medicine", "pharmacy"]
        specs: list[dict[str, object]] = [
            {"name": f"专家{i}", "categories": ["clinical"], "employer_id": hospital if i < 3 else None,
             "clinical_subcategories": both if i in (0, 3) else (["medicine"] if i % 2 else ["pharmacy"])}
            for i in range(6)]
        await add_pool(bot.uow, org.bureau_id, specs)
        async with bot.uow() as u:
            await draws.set_approval(u, actor=SYSTEM_CLI, org="bureau", enabled=False)
        await _bind(bot, emulator, "staff", org.staff_id, CLERK)
        activity_id = await _activity(bot, org.staff_id, org.bureau_id, (
            RequirementInput("clinical", 1, 0, "medicine"), RequirementInput("clinical", 2, 0, "pharmacy")))

        await emulator.user(CLERK).send_command("/draw", str(activity_id))
        card = (await emulator.wait_for_messages(CLERK, 2))[-1]
        assert card.text is not None and card.text.count("（#") == 3
        assert translate("zh", "draw.card.chance_fallback") not in card.text
        for hospital_experts, others in ((1, 1), (2, 2)):  # medicine, then pharmacy
            parts = "；".join([translate("zh", "draw.card.chance_others", count=others, percent="66.7%"),
                              translate("zh", "draw.card.chance_at", count=hospital_experts, employer="第一师医院",
                                        percent="33.3%")])
            assert translate("zh", "draw.card.chance", parts=parts) in card.text
        async with bot.uow() as u:
            record = (await u.session.exec(DrawRecord.__table__.select())).first()  # type: ignore[attr-defined]
            assert record is not None and record.algorithm_version == "v3"
            report = await draws.verify_draw(u, record.id)
        assert report.ok, report.problems
