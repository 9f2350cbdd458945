"""End to end through the emulator (002 §12(四): the reporter claims a reward within the window): staff walk a lead to a
reward in the bot; with the bot's clock moved on, the scheduler's sweep reminds the reporter 14 and 3 days before the
last day to claim, once each, in their language; staff receive nothing new and never learn who the reporter is
(003 三(四))."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.emulator import BotApiEmulator
from services.leads import lead_triage, leads
from services.platform.roles import Actor, Role
from storage.leads import Lead
from storage.models import OutboxMessage
from tests.builders import add_institutions, build_org
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

REPORTER, STAFF_ADMIN = 73201, 73202


def _morning_of(bot: BotHarness, day: date) -> None:
    zone = ZoneInfo(bot.settings.time_zone)
    bot.clock.advance(datetime(day.year, day.month, day.day, 9, 0, tzinfo=zone) - bot.clock.now())


async def _queued_reminders(bot: BotHarness) -> list[OutboxMessage]:
    async with bot.uow() as u:
        query = select(OutboxMessage).where(OutboxMessage.message_key == "lead.feedback.reward_reminder")
        return list((await u.session.exec(query)).all())


async def test_the_reporter_is_reminded_to_claim_a_reward_twice_before_it_lapses_and_staff_learn_nothing_new(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url, **FAST) as bot:
        bot.running.scheduler.pause()  # the test runs the sweep itself, after moving the clock
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
        await bind(bot, emulator, org.supervisor_id, REPORTER, "supervisor", first_name="陈", username="chen_jiandu")
        await bind(bot, emulator, org.admin_id, STAFF_ADMIN, "staff", first_name="王")
        reporter, admin = Chat(emulator, REPORTER), Chat(emulator, STAFF_ADMIN)
        as_reporter = Actor(label=f"person:{org.supervisor_id}", person_id=org.supervisor_id,
                            roles=frozenset({Role.SUPERVISOR}))
        async with bot.uow() as u:
            lead = await leads.submit(u, actor=as_reporter, draft=leads.LeadDraft(
                category="over_charging", what="住院病人每天被重复收取护理费", institution_id=hospital))
        assert lead.id is not None
        await admin.received(f"新线索 {lead.number}")  # the alert, with the pseudonym only

        # staff walk the lead to a reward in the bot
        card = await admin.command("/lead", lead.number, expect="状态：已收到")
        await admin.press(card, f"ld:accept:{lead.id}", "已受理")
        card = await admin.received("状态：已受理")
        await admin.press(card, f"ld:yes:{lead.id}", "处理情况")
        await admin.text("查实重复收取护理费，已追回基金", "查证属实")
        card = await admin.command("/lead", str(lead.id), expect="状态：查证属实")
        await admin.press(card, f"ld:reward:{lead.id}", "奖励金额")
        await admin.text("5000", "已登记奖励")
        await reporter.received("奖励 5000 元")
        async with bot.uow() as u:
            stored = (await u.session.exec(select(Lead))).one()
        until = stored.reward_claim_until
        assert until is not None and stored.reward_state == "offered"
        reminder = zh("lead.feedback.reward_reminder", number=lead.number, amount=5000, until=until.isoformat())
        staff_seen = len(emulator.messages(STAFF_ADMIN))

        # nothing before the first reminder day; then one reminder, however often the sweep runs that day
        _morning_of(bot, until - timedelta(days=15))
        await lead_triage.sweep(bot.uow)
        assert await _queued_reminders(bot) == []
        _morning_of(bot, until - timedelta(days=14))
        await lead_triage.sweep(bot.uow)
        await lead_triage.sweep(bot.uow)
        first = await reporter.received(reminder)
        assert first.text == reminder and "5000" in reminder and until.isoformat() in reminder
        assert len(await _queued_reminders(bot)) == 1

        _morning_of(bot, until - timedelta(days=3))
        await lead_triage.sweep(bot.uow)
        await lead_triage.sweep(bot.uow)
        await emulator.wait_for(lambda: sum(m.text == reminder for m in emulator.messages(REPORTER)) == 2)
        assert len(await _queued_reminders(bot)) == 2

        # the last day passes: the reward lapses (staff are told that) and no reminder follows
        _morning_of(bot, until + timedelta(days=1))
        await lead_triage.sweep(bot.uow)
        await admin.received(zh("lead.reward_lapsed", number=lead.number))
        assert len(await _queued_reminders(bot)) == 2
        async with bot.uow() as u:
            assert (await u.session.exec(select(Lead))).one().reward_state == "lapsed"

        # staff got only the lapse notice, and nothing they were ever shown names the reporter
        staff_texts = [m.text or m.caption or "" for m in emulator.messages(STAFF_ADMIN)]
        assert staff_texts[staff_seen:] == [zh("lead.reward_lapsed", number=lead.number)]
        assert all(reminder != text for text in staff_texts)
        for secret in ("陈监督", "chen_jiandu", str(REPORTER)):
            assert all(secret not in text for text in staff_texts), secret
        assert sum(m.text == reminder for m in emulator.messages(REPORTER)) == 2
