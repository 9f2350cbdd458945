"""End to end through the emulator: an expert updates their phone and declares leave; staff find
the expert, see the card with the admission check, and approve the change with a button
(issue: expert pool, "Done when")."""

from __future__ import annotations

from datetime import date, timedelta

from bot.emulator import BotApiEmulator, buttons
from messages import translate
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from storage.models import Expert
from tests.builders import add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot


async def _bind(bot: BotHarness, emulator: BotApiEmulator, role: str, person_id: int, user_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


async def test_an_expert_asks_for_a_new_phone_staff_approve_it_and_the_record_changes(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 70)
        await _bind(bot, emulator, "staff", org.admin_id, 71)
        expert, admin = emulator.user(70), emulator.user(71)

        await expert.send_command("/change", "mobile 139-0099-1234")
        assert (await emulator.wait_for_messages(70, 2))[-1].text == translate(
            "zh", "pool.change_submitted", field_key="pool.field.mobile")
        alert = (await emulator.wait_for_messages(71, 2))[-1]  # div1 has no chat: the bureau admin is alerted
        assert alert.text is not None and "张专家" in alert.text and "/changes" in alert.text

        await admin.send_command("/changes")
        item = (await emulator.wait_for_messages(71, 3))[-1]
        assert item.text is not None and "13900991234" in item.text
        (approve, reject), = buttons(item)
        await admin.press(item.message_id, approve[1])
        await emulator.wait_for(lambda: emulator.messages(71)[2].reply_markup is None)
        assert "已通过" in (emulator.messages(71)[2].text or "") or "通过" in (emulator.messages(71)[2].text or "")
        told = (await emulator.wait_for_messages(70, 3))[-1]
        assert told.text == translate("zh", "pool.change_approved", field_key="pool.field.mobile")
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
        assert record is not None and record.mobile == "13900991234"

        stale = await admin.press(item.message_id, reject[1])  # the same request again: already decided
        await emulator.wait_for(lambda: stale["callback_query"]["id"] in emulator.callback_answers)
        assert "不能执行" in emulator.callback_answers[stale["callback_query"]["id"]]["text"]


async def test_an_expert_declares_leave_and_staff_see_it_on_the_card(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 80)
        await _bind(bot, emulator, "staff", org.div1_staff_id, 81)
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
            assert record is not None
            record.id_number, record.birth_date = "11010519491231002X", date(1949, 12, 31)
            record.gender = "female"
            u.session.add(record)
            await u.commit()
        start = bot.clock.now().date().replace(year=2099)
        await emulator.user(80).send_command("/leave", f"{start} {start.replace(month=12, day=31)} 出国访学")
        assert "已登记请假" in ((await emulator.wait_for_messages(80, 2))[-1].text or "")
        await emulator.user(80).send_command("/profile")
        own = (await emulator.wait_for_messages(80, 3))[-1].text or ""
        assert "110105********002X" in own and "出国访学" not in own and str(start) in own

        staff = emulator.user(81)
        await staff.send_command("/experts", "张")
        listing = (await emulator.wait_for_messages(81, 2))[-1].text or ""
        assert f"{org.expert_id}　张专家" in listing and "孙专家" not in listing  # div2 is outside div1's scope
        await staff.send_command("/expert", str(org.expert_id))
        shown = (await emulator.wait_for_messages(81, 3))[-1].text or ""
        assert "110105********002X" in shown  # staff, not admin: masked
        assert "1949-12-31" not in shown and "出生日期：1949 年" in shown  # no field reveals what the mask hides
        assert "性别：女" in shown and "female" not in shown  # values in the reader's language
        assert "不符合" in shown and "000 §8(四)" in shown  # over 65 today
        await staff.send_command("/expert", str(org.div2_expert_id))
        refused = (await emulator.wait_for_messages(81, 4))[-1].text  # refused, and told why
        assert refused == translate("zh", "error.out_of_scope", units="第二师医保局", own="第一师医保局")


async def test_staff_approve_an_employer_change_and_the_work_history_follows(
    emulator: BotApiEmulator, database_url: str
) -> None:
    from sqlmodel import select

    from services.institutions import institutions
    from storage.pool import ExpertEmployment

    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        async with bot.uow() as u:
            old = await institutions.add_institution(u, actor=SYSTEM_CLI, name="第一师医院", kind="hospital")
        async with bot.uow() as u:
            new = await institutions.add_institution(u, actor=SYSTEM_CLI, name="石河子大学", kind="university")
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
            assert record is not None
            record.employer_id = old.id
            u.session.add(record)
            await u.commit()
        await _bind(bot, emulator, "expert", org.expert_id, 120)
        await _bind(bot, emulator, "staff", org.div1_staff_id, 121)
        await emulator.user(120).send_command("/change", f"employer {new.id}")
        await emulator.wait_for_messages(120, 2)
        await emulator.user(121).send_command("/changes")
        item = (await emulator.wait_for_messages(121, 2))[-1]
        assert "石河子大学" in (item.text or "")
        await emulator.user(121).press(item.message_id, buttons(item)[0][0][1])
        await emulator.wait_for_messages(120, 3)
        async with bot.uow() as u:
            record = await u.session.get(Expert, org.expert_id)
            history = (await u.session.exec(select(ExpertEmployment).where(
                ExpertEmployment.expert_id == org.expert_id))).all()
        assert record is not None and record.employer_id == new.id
        assert [(h.institution_id, h.end_date is None) for h in history] == [(new.id, True)]

        await emulator.user(121).send_command("/suspend", f"{org.expert_id} 2099-01-01 2099-02-01 待核查举报")
        assert "暂停" in ((await emulator.wait_for_messages(121, 3))[-1].text or "")
        await emulator.user(121).send_command("/experts", "active 张")
        assert "张专家" in ((await emulator.wait_for_messages(121, 4))[-1].text or "")
        await emulator.user(121).send_command("/experts", "exited")
        assert (await emulator.wait_for_messages(121, 5))[-1].text == translate("zh", "pool.search_empty_for",
                                                                                  words="exited")


async def test_a_draw_skips_an_expert_with_a_000_9_ground_and_the_shortfall_cites_the_article(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await add_pool(bot.uow, org.bureau_id, [{}, {}, {"insurance_violation": True}])
        await _bind(bot, emulator, "staff", org.staff_id, 70)
        async with bot.uow() as u:
            start = u.now() + timedelta(days=10)
            activity = await activities.create_activity(u, actor=staff_actor(org.staff_id, org.bureau_id),
                                                        data=ActivityInput(
                org="bureau", kind="special_inspection", title="专项检查", starts_at=start,
                ends_at=start + timedelta(days=2), response_deadline=start - timedelta(days=2),
                requirements=(RequirementInput("supervision", 3, 0),)))
            await draws.set_approval(u, actor=SYSTEM_CLI, org="bureau", enabled=False)
        await emulator.user(70).send_command("/draw", str(activity.id))
        short = (await emulator.wait_for_messages(70, 2))[-1]
        assert short.text is not None and translate("zh", "draw.card.short_header") in short.text
        assert translate("zh", "draw.card.reason", reason_key="draw.reason.disqualified", count=1) in short.text
        assert "000 第九条" in short.text

