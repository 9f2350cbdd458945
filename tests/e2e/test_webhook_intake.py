"""Durable intake and a webhook that refuses bad input cleanly (issue: hardening).

Updates acknowledged to Telegram (a webhook 200, or a ``getUpdates`` offset moved past them) and then
lost with the process are processed once after the restart; garbled secrets, bodies that are not a
JSON object and ids no update can have get a 4xx or a logged 200, never a 500, and never wedge the
delivery ledger.
"""

from __future__ import annotations

import asyncio
import io
import json
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import event, func
from sqlmodel import select
from telegram.error import NetworkError

from bot.context import CHANNEL, BotServices
from bot.emulator import BotApiEmulator
from bot.metrics import Metrics
from bot.settings import BotMode
from bot.tolerant import TolerantBot
from bot.web import SECRET_HEADER, build_web_app
from services.platform import intake
from services.platform.updates import DeliveryLedger
from storage.models import ProcessedUpdate
from storage.uow import UnitOfWorkFactory
from tests.e2e.harness import TOKEN, WEBHOOK_SECRET, BotHarness, free_port, make_settings, running_bot

NOT_BOUND = "Your account is not bound"


async def _waiting_ids(uow: UnitOfWorkFactory) -> list[int]:
    return [update_id async for update_id, _ in intake.waiting(uow, channel=CHANNEL)]


async def _processed_ids(uow: UnitOfWorkFactory) -> set[int]:
    async with uow(readonly=True) as u:
        return set((await u.session.exec(select(ProcessedUpdate.update_id))).all())


async def _raw_post(port: int, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """POST with header bytes exactly as given (an HTTP client would refuse or re-encode them)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n").encode()
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        writer.write(head + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        return int(status_line.split()[1])
    finally:
        writer.close()


def _webhook(bot: BotHarness) -> tuple[int, str]:
    return bot.running.port, bot.settings.webhook_path


def _message(update_id: object, user_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1, "date": 1_700_000_000, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
            "chat": {"id": user_id, "type": "private", "first_name": "x"},
            "from": {"id": user_id, "is_bot": False, "first_name": "x", "language_code": "en"},
        },
    }


async def test_a_garbled_or_non_ascii_secret_header_is_refused_with_403_and_nothing_is_processed(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        port, path = _webhook(bot)
        emulator.user(5, language_code="en")
        body = json.dumps(_message(900_001, 5, "/whoami")).encode()
        header = SECRET_HEADER.encode()
        for value in (b"\xff\xfe\x80", "秘密".encode(), WEBHOOK_SECRET.encode() + b"\xe9", b""):
            assert await _raw_post(port, path, [(header, value)], body) == 403
        assert await _raw_post(port, path, [], body) == 403
        assert await _raw_post(port, path, [(header, WEBHOOK_SECRET.encode())], body) == 200
        await emulator.wait_for_messages(5, 1)
        await asyncio.sleep(0.3)
        assert len(emulator.messages(5)) == 1


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe{}", b"[1, 2]", b'"an update"', b"null", b"[" * 100_000 + b"]" * 100_000,
     b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["text", "not-utf8", "array", "string", "null", "deep-array", "deep-object"],
)
async def test_an_authenticated_body_that_is_not_a_json_object_gets_400(
    emulator: BotApiEmulator, database_url: str, body: bytes
) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        port, path = _webhook(bot)
        assert await _raw_post(port, path, [(SECRET_HEADER.encode(), WEBHOOK_SECRET.encode())], body) == 400
        assert await _waiting_ids(bot.uow) == []


async def test_a_body_over_one_megabyte_gets_413(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        port, path = _webhook(bot)
        update = _message(900_002, 5, "/whoami")
        update["padding"] = "x" * (1 << 20)
        body = io.BytesIO(json.dumps(update).encode())
        headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{port}{path}", data=body, headers=headers
        ) as response:
            assert response.status == 413
        assert await _waiting_ids(bot.uow) == []


async def test_an_update_id_no_update_can_have_is_acknowledged_dropped_and_never_wedges_the_ledger(
    emulator: BotApiEmulator, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        port, path = _webhook(bot)
        user = emulator.user(6, language_code="en")
        secret = [(SECRET_HEADER.encode(), WEBHOOK_SECRET.encode())]
        for bad in (2**63, 2**64 + 1, -5, "12", 1.5, None, True):
            assert await _raw_post(port, path, secret, json.dumps(_message(bad, 6, "/whoami")).encode()) == 200
        assert await _raw_post(port, path, secret, b'{"message": {}}') == 200  # no update_id at all
        good = await user.send_command("/help")  # through the emulator's own webhook delivery
        await emulator.wait_for_messages(6, 1)
        for _ in range(100):  # the ledger writes processed ids every 0.2 s
            if good["update_id"] in await _processed_ids(bot.uow):
                break
            await asyncio.sleep(0.05)
        assert await _processed_ids(bot.uow) == {good["update_id"]}
        assert await _waiting_ids(bot.uow) == []
        await asyncio.sleep(0.3)
        assert len(emulator.messages(6)) == 1  # none of the refused ones was processed
    assert "could not record processed update ids" not in caplog.text


async def test_webhook_updates_acknowledged_before_a_crash_are_each_processed_once_after_the_restart(
    emulator: BotApiEmulator, database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    users = [emulator.user(700 + n, language_code="en") for n in range(20)]
    # First life: the real webhook route records and acknowledges each update, but the process dies
    # before processing any of them (nobody reads its update queue).
    port = free_port()
    settings = make_settings(emulator, database_url, bot_mode=BotMode.WEBHOOK)
    services = BotServices(settings=settings, uow=uow_factory, clock=uow_factory.clock,  # type: ignore[arg-type]
                           metrics=Metrics(), ledger=DeliveryLedger(uow_factory, channel=CHANNEL))
    doomed = SimpleNamespace(bot=None, update_queue=asyncio.Queue())
    runner = web.AppRunner(build_web_app(services, application=doomed, webhook_secret=WEBHOOK_SECRET))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http, http.post(
            f"{emulator.base_url}{TOKEN}/setWebhook",
            data={"url": f"http://127.0.0.1:{port}{settings.webhook_path}", "secret_token": WEBHOOK_SECRET},
        ) as response:
            assert response.status == 200
        sent = []
        for user in users:
            sent.append(await user.send_command("/help"))
            sent.append(await user.send_command("/whoami"))
        await emulator.redeliver(sent[0]["update_id"])  # Telegram sends one twice: recorded once
        await emulator.wait_for(lambda: len(emulator.webhook_responses) == len(sent) + 1)
        assert set(emulator.webhook_responses) == {200}  # every one acknowledged: Telegram forgets them
        assert doomed.update_queue.qsize() == len(sent) + 1
    finally:
        await runner.cleanup()  # the crash: the queue goes with the process
    assert await _waiting_ids(uow_factory) == sorted(u["update_id"] for u in sent)
    assert emulator.messages(users[0].id) == []

    # Second life: what was acknowledged is processed first, once each, in order; then new updates.
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        late = await users[0].send_command("/whoami")
        for user in users:
            await emulator.wait_for_messages(user.id, 3 if user is users[0] else 2)
        await asyncio.sleep(0.5)  # room for any duplicate to show up
        for user in users:
            texts = [m.text or "" for m in emulator.messages(user.id)]
            assert len(texts) == (3 if user is users[0] else 2)
            assert not texts[0].startswith(NOT_BOUND) and texts[1].startswith(NOT_BOUND)  # /help, then /whoami
        assert (emulator.messages(users[0].id)[2].text or "").startswith(NOT_BOUND)
        for _ in range(100):
            if not await _waiting_ids(bot.uow):
                break
            await asyncio.sleep(0.05)
        assert await _waiting_ids(bot.uow) == []
        assert await _processed_ids(bot.uow) == {u["update_id"] for u in sent} | {late["update_id"]}
        assert bot.running.services.metrics.updates_duplicate._value.get() == 0


async def test_a_fetched_batch_is_recorded_before_the_offset_moves_past_it_and_processed_after_a_crash(
    emulator: BotApiEmulator, database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    users = [emulator.user(800 + n, language_code="en") for n in range(5)]
    for user in users:
        await user.send_command("/whoami")

    async def failing(_items: list[object]) -> None:
        raise RuntimeError("database unreachable")

    async def recording(items: list[object]) -> None:
        await intake.record_batch(uow_factory, channel=CHANNEL, items=items)

    async with TolerantBot(TOKEN, base_url=emulator.base_url, recorder=failing) as unrecorded:
        with pytest.raises(NetworkError):  # PTB's updater backs off and asks again; the offset stays
            await unrecorded.get_updates(timeout=0)
    # First life: the batch is fetched and recorded, the offset moves past it, and the process dies.
    async with TolerantBot(TOKEN, base_url=emulator.base_url, recorder=recording) as first:
        fetched = await first.get_updates(timeout=0)
        assert len(fetched) == len(users)
        assert await first.get_updates(offset=fetched[-1].update_id + 1, timeout=0) == ()
    assert await _waiting_ids(uow_factory) == [u.update_id for u in fetched]

    async with running_bot(emulator, database_url) as bot:  # polling
        for user in users:
            await emulator.wait_for_messages(user.id, 1)
        await asyncio.sleep(0.3)
        assert all(len(emulator.messages(user.id)) == 1 for user in users)
        for _ in range(100):
            if not await _waiting_ids(bot.uow):
                break
            await asyncio.sleep(0.05)
        assert await _waiting_ids(bot.uow) == []


async def test_an_orderly_stop_leaves_every_update_recorded_as_processed_and_nothing_to_feed_again(
    emulator: BotApiEmulator, database_url: str, uow_factory: UnitOfWorkFactory
) -> None:
    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK):
        user = emulator.user(9, language_code="en")
        for _ in range(3):
            await user.send_command("/whoami")
        await emulator.wait_for_messages(9, 3)
    uow = uow_factory
    async with uow(readonly=True) as u:
        processed = (await u.session.exec(select(func.count()).select_from(ProcessedUpdate))).one()
    assert processed == 3
    assert await _waiting_ids(uow) == []


async def test_updates_posted_on_many_connections_at_once_share_intake_writes_and_each_is_answered_once_in_order(
    emulator: BotApiEmulator, database_url: str
) -> None:
    """Telegram posts up to 40 updates at once; the intake writes those that arrive together with one statement
    (a group commit), acknowledges each only after that, and every one is processed once, in its chat's order
    (issue 21)."""
    emulator.webhook_parallel = True
    writes: list[int] = []

    def count_intake_writes(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if statement.startswith("INSERT INTO received_update"):
            writes.append(len(parameters) if isinstance(parameters, list) else 1)

    async with running_bot(emulator, database_url, mode=BotMode.WEBHOOK) as bot:
        engine = bot.uow.session_factory.kw["bind"]
        event.listen(engine.sync_engine, "before_cursor_execute", count_intake_writes)
        users = [emulator.user(800 + n, language_code="en") for n in range(20)]
        for user in users:
            await user.send_command("/help")
        for user in users:
            await user.send_command("/whoami")
        for user in users:
            await emulator.wait_for_messages(user.id, 2)
        assert set(emulator.webhook_responses) == {200} and len(emulator.webhook_responses) == 40
        for user in users:
            texts = [m.text or "" for m in emulator.messages(user.id)]
            assert len(texts) == 2 and not texts[0].startswith(NOT_BOUND) and texts[1].startswith(NOT_BOUND)
        event.remove(engine.sync_engine, "before_cursor_execute", count_intake_writes)
    assert sum(writes) == 40
    assert len(writes) < 40  # some requests shared a write
