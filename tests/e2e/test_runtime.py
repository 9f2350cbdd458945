"""The running bot's other promises: language buttons edited in place through the outbox, group
alerts, health and metrics endpoints, and delivery after a Bot API outage."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.emulator import BotApiEmulator, buttons
from bot.settings import BotMode
from messages import translate
from services.people import accounts
from services.platform import notify, outbox
from services.platform.roles import SYSTEM_CLI
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org
from tests.e2e.harness import BotHarness, running_bot, start_bot


async def _bind(bot: BotHarness, emulator: BotApiEmulator, role: str, person_id: int, user_id: int,
                language: str = "zh") -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    await emulator.user(user_id, language_code=language).send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


async def test_a_language_button_is_answered_and_its_message_edited_in_place(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 30)
        user = emulator.user(30)
        await user.send_command("/language")
        keyboard = (await emulator.wait_for_messages(30, 2))[-1]
        assert buttons(keyboard) == [[("中文", "lang:zh"), ("English", "lang:en")]]
        press = await user.press(keyboard.message_id, "lang:en")
        await emulator.wait_for(lambda: emulator.messages(30)[-1].text == translate("en", "language.set"))
        assert press["callback_query"]["id"] in emulator.callback_answers
        edited = emulator.messages(30)[-1]
        assert edited.message_id == keyboard.message_id and edited.reply_markup is None
        await user.send_command("/help")
        assert "You can use these commands" in ((await emulator.wait_for_messages(30, 3))[-1].text or "")


async def test_a_stale_or_crafted_button_gets_a_clear_answer_and_changes_nothing(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 31, language="en")
        stale = await emulator.user(31).press(1, "inv:999:acc")
        crafted = await emulator.user(31).press(1, "lang:fr")
        await emulator.wait_for(lambda: crafted["callback_query"]["id"] in emulator.callback_answers)
        for update in (stale, crafted):
            answer = emulator.callback_answers[update["callback_query"]["id"]]
            assert answer.get("text") == translate("en", "button.stale")
        stranger = await emulator.user(99, language_code="en").press(1, "lang:en")
        await emulator.wait_for(lambda: stranger["callback_query"]["id"] in emulator.callback_answers)
        answer = emulator.callback_answers[stranger["callback_query"]["id"]]
        assert translate("en", "auth.unbound").startswith(answer["text"][:-1]) and len(answer["text"]) <= 200


async def test_an_admin_binds_a_group_and_the_units_alerts_go_there(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "staff", org.admin_id, 40)
        await _bind(bot, emulator, "staff", org.staff_id, 41)
        group = emulator.group(-5001, "一师工作群")
        await group.send_command(emulator.user(41), "/bindgroup", "div1")  # plain staff: refused
        await group.send_command(emulator.user(40), "/bindgroup", "div1")
        replies = await emulator.wait_for_messages(-5001, 2)
        assert replies[0].text == translate("zh", "auth.not_permitted")
        assert replies[1].text == translate("zh", "group.bound", org_unit="第一师医保局")
        async with bot.uow() as u:
            await notify.to_org_unit(u, org_unit_id=org.div1_id, key="outbox.delivery_failed",
                                     params={"outbox_id": 1, "kind_key": "outbox.kind.other", "error": "y"})
            await u.commit()
        alert = (await emulator.wait_for_messages(-5001, 3))[-1]
        assert alert.text is not None and alert.text.startswith("⚠️")
        await emulator.user(41).send_command("/alerts", "on")
        await emulator.wait_for_messages(41, 2)
        async with bot.uow() as u:
            await notify.to_org_unit(u, org_unit_id=org.bureau_id, key="start.bound", params={"name": "全体"})
            await u.commit()
        assert (await emulator.wait_for_messages(41, 3))[-1].text == "全体，您好！"


async def test_health_and_metrics_endpoints_answer(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        base = f"http://127.0.0.1:{bot.running.port}"
        await emulator.user(50, language_code="en").send_command("/help")
        await emulator.wait_for_messages(50, 1)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200 and (await response.json())["database"] == "ok"
            async with http.get(f"{base}/metrics") as response:
                body = await response.text()
        assert 'fundwatch_updates_handled_total{kind="message"} 1.0' in body
        assert 'fundwatch_outbox_messages{status="pending"}' in body
        assert "fundwatch_send_latency_seconds_bucket" in body


async def test_notifications_queued_during_a_bot_api_outage_are_delivered_afterwards(
    emulator: BotApiEmulator, database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 60)
        emulator.fail_for(3.0, "5xx")
        async with bot.uow() as u:
            for n in range(5):
                await notify.to_person(u, person_id=org.expert_id, key="start.bound", params={"name": f"#{n}"})
            await u.commit()
        await emulator.wait_for_messages(60, 6, timeout=30)
        assert [m.text for m in emulator.messages(60)[1:]] == [f"#{n}，您好！" for n in range(5)]

        async def counts() -> dict[str, int]:
            async with bot.uow() as u:
                return await outbox.counts(u)

        for _ in range(600):  # up to 30 s: a hang guard, not an expectation
            if await counts() == {"sent": 6}:
                break
            await asyncio.sleep(0.05)
        assert await counts() == {"sent": 6}


async def test_a_bot_running_alone_freezes_its_start_up_heap_out_of_the_collectors_way(
    emulator: BotApiEmulator, database_url: str
) -> None:
    import gc

    frozen_before = gc.get_freeze_count()
    try:
        async with running_bot(emulator, database_url, freeze_heap=True) as bot:
            assert gc.get_freeze_count() > frozen_before  # modules, handlers, catalogs: never walked again
            org = await build_org(bot.uow)
            await _bind(bot, emulator, "expert", org.expert_id, 32)  # and it still works
    finally:
        gc.unfreeze()  # the other tests' bots share this process


async def test_replies_to_a_chat_keep_their_order_behind_one_that_must_be_retried(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _bind(bot, emulator, "expert", org.expert_id, 61)
        chat = str(61)
        await emulator.wait_for(lambda: ("chat:61", "") in emulator.commands)  # the binding's menu call is done
        emulator.fail_next(1, 502)  # the first reply fails once: that chat waits for its retry
        async with bot.uow() as u:
            await notify.to_address(u, address=chat, key="start.bound", params={"name": "#1"})
            await u.commit()
        # the first has failed and the chat waits behind it; the next is handed off straight away
        await emulator.wait_for(lambda: f"telegram:{chat}" in bot.running.dispatcher._held)
        async with bot.uow() as u:
            await notify.to_address(u, address=chat, key="start.bound", params={"name": "#2"})
            await u.commit()
        await emulator.wait_for_messages(61, 3, timeout=30)
        assert [m.text for m in emulator.messages(61)[1:]] == ["#1，您好！", "#2，您好！"]


async def test_a_handed_off_reply_lost_with_its_process_is_sent_after_the_restart(
    emulator: BotApiEmulator, database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    emulator.user(62)
    uow_factory.accept_handoffs(lambda deliveries: None)  # a dispatcher that dies before sending them
    async with uow_factory() as u:
        await notify.to_address(u, address="62", key="language.set", language="en")
        await u.commit()
    async with running_bot(emulator, database_url):
        await emulator.wait_for(lambda: [m.text for m in emulator.messages(62)] == [translate("en", "language.set")])


async def test_a_stop_goes_through_every_step_even_when_one_fails(
    emulator: BotApiEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services.platform.updates import DeliveryLedger

    async def unreachable(self: DeliveryLedger) -> int:
        raise ConnectionError("database unreachable")

    bot = await start_bot(emulator, database_url, mode=BotMode.WEBHOOK)
    await emulator.user(63, language_code="en").send_command("/whoami")
    await emulator.wait_for_messages(63, 1)
    monkeypatch.setattr(DeliveryLedger, "flush", unreachable)
    await bot.shutdown()  # the task ends normally: ``python -m bot run`` exits 0
    assert "could not record the processed update ids" in caplog.text
    assert not bot.running.dispatcher._running and bot.running.dispatcher._loop_task is not None
    assert bot.running.dispatcher._loop_task.done()  # the dispatcher was still stopped, after the application
