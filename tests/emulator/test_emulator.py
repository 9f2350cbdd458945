"""The Bot API emulator, exercised through python-telegram-bot's own ``telegram.Bot``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.emulator import BotApiEmulator, Limits, RateLimiter, buttons
from tests.fake_time import FakeTime

USER = 1001
HANG_GUARD = 30  # seconds: only a hang takes this long; everything it guards is expected at once


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emu = BotApiEmulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emulator.token, base_url=emulator.base_url, base_file_url=emulator.file_base_url) as tg_bot:
        yield tg_bot


@contextlib.asynccontextmanager
async def on_fake_time(time: FakeTime, **kwargs: Any) -> AsyncIterator[tuple[BotApiEmulator, Bot]]:
    """A started emulator whose clock and sleep are ``time`` (it stands still unless moved), and a bot."""
    emulator = BotApiEmulator(monotonic=time.monotonic, sleep=time.sleep, **kwargs)
    await emulator.start()
    try:
        async with Bot(emulator.token, base_url=emulator.base_url) as tg_bot:
            yield emulator, tg_bot
    finally:
        await emulator.stop()


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def retry_after_seconds(error: RetryAfter) -> float:
    # the tests set PTB_TIMEDELTA=true: PTB 22 warns about the int form of retry_after otherwise
    value: object = error.retry_after
    assert isinstance(value, dtm.timedelta)
    return value.total_seconds()


async def raw(emulator: BotApiEmulator, method: str, *, token: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    url = f"{emulator.base_url}{token or emulator.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, **kwargs) as response:
        return response.status, await response.json()


# ---- basics ----------------------------------------------------------------------------------


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.id == 123456
    assert me.username == "fundwatch_bot"


async def test_wrong_token_unknown_method_and_case_insensitive_names(emulator: BotApiEmulator) -> None:
    wrong = Bot("999:WRONG", base_url=emulator.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    await wrong.shutdown()
    status, body = await raw(emulator, "getMe", token="999:WRONG")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw(emulator, "noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await raw(emulator, "GETME")
    assert status == 200
    assert body["result"]["username"] == "fundwatch_bot"


async def test_json_body_and_query_string_parameters(emulator: BotApiEmulator) -> None:
    emulator.user(USER)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    status, body = await raw(emulator, "sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup})
    assert status == 200
    assert Message.de_json(body["result"], None).text == "json"
    status, body = await raw(emulator, "sendMessage", params={"chat_id": str(USER), "text": "[query]"})
    assert status == 200
    assert body["result"]["text"] == "[query]"
    assert [m.text for m in emulator.messages(USER)] == ["json", "[query]"]
    assert emulator.messages(USER)[0].reply_markup == markup


# ---- messages --------------------------------------------------------------------------------


async def test_send_message_with_inline_keyboard(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER, first_name="Li", username="li")
    sent = await bot.send_message(
        USER,
        "<b>Hello</b> &amp; welcome",
        parse_mode="HTML",
        reply_markup=keyboard([("Yes", "yes"), ("No", "no")], [("Later", "later")]),
    )
    assert sent.chat.id == USER
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.text == "Hello & welcome"
    assert sent.reply_markup is not None
    [msg] = emulator.messages(USER)
    assert msg.message_id == sent.message_id
    assert msg.text == "<b>Hello</b> &amp; welcome"
    assert msg.parse_mode == "HTML"
    assert buttons(msg) == [[("Yes", "yes"), ("No", "no")], [("Later", "later")]]
    assert emulator.stats.messages_sent == 1


async def test_edit_text_and_markup(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)
    sent = await bot.send_message(USER, "v1", reply_markup=keyboard([("A", "a")]))
    edited = await bot.edit_message_text(
        "v2", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard([("B", "b")])
    )
    assert isinstance(edited, Message)
    assert edited.text == "v2"
    assert edited.edit_date is not None
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=None)
    [msg] = emulator.messages(USER)
    assert msg.text == "v2"
    assert msg.edits == ["v1"]
    assert msg.edit_count == 2
    assert msg.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("v2", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v3", chat_id=USER, message_id=999)


async def test_edit_text_drops_inline_keyboard_like_telegram(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)
    sent = await bot.send_message(USER, "same", reply_markup=keyboard([("A", "a")]))
    await bot.edit_message_text("same", chat_id=USER, message_id=sent.message_id)
    assert emulator.messages(USER)[0].reply_markup is None


async def test_delete_then_edit_and_copy(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER)
    update = await user.send_text("copy me")
    copied = await bot.copy_message(USER, USER, update["message"]["message_id"])
    sent = await bot.send_message(USER, "bye")
    assert await bot.delete_message(USER, sent.message_id)
    msgs = emulator.messages(USER)
    assert [(m.message_id, m.text, m.deleted) for m in msgs] == [
        (copied.message_id, "copy me", False),
        (sent.message_id, "bye", True),
    ]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("again", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_validation_errors(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=keyboard([("A", "x" * 65)]))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=keyboard([("A", "é" * 33)]))
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "   ")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(USER, InputFile(b"x", filename="a.txt"), caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER, "re", reply_parameters=ReplyParameters(message_id=777))
    assert emulator.messages(USER) == []
    await bot.send_message(USER, "a" * 4096, reply_markup=keyboard([("A", "é" * 32)]))
    assert len(emulator.messages(USER)) == 1


async def test_blocked_user_gives_forbidden(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER)
    update = await user.block()
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER, "hi")


# ---- files -----------------------------------------------------------------------------------


async def test_user_photo_download(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER)
    data = bytes(range(256)) * 10
    update = await user.send_photo(data, caption="receipt")
    photo = update["message"]["photo"]
    assert len(photo) == 3
    tg_file = await bot.get_file(photo[-1]["file_id"])
    assert tg_file.file_size == len(data)
    assert bytes(await tg_file.download_as_bytearray()) == data


async def test_send_document_upload_and_file_id(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)
    sent = await bot.send_document(USER, InputFile(b"%PDF-1.4 data", filename="report.pdf"), caption="Q1")
    assert sent.document is not None
    assert sent.document.file_name == "report.pdf"
    again = await bot.send_document(USER, sent.document.file_id)
    first, second = emulator.messages(USER)
    assert first.document is not None
    assert (first.document.file_name, first.document.data, first.caption) == ("report.pdf", b"%PDF-1.4 data", "Q1")
    assert first.document.mime_type == "application/pdf"
    assert second.document is not None
    assert second.document.data == b"%PDF-1.4 data"
    assert again.document is not None
    tg_file = await bot.get_file(again.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == b"%PDF-1.4 data"
    await bot.send_photo(USER, InputFile(b"\x89PNG fake", filename="p.png"))
    assert emulator.messages(USER)[-1].photo == b"\x89PNG fake"


async def test_user_document_update(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER)
    update = await user.send_document(b"a,b\n1,2\n", file_name="x.csv", mime_type="text/csv", caption="list")
    document = update["message"]["document"]
    assert (document["file_name"], document["mime_type"], document["file_size"]) == ("x.csv", "text/csv", 8)
    tg_file = await bot.get_file(document["file_id"])
    assert bytes(await tg_file.download_as_bytearray()) == b"a,b\n1,2\n"


# ---- updates ---------------------------------------------------------------------------------


async def test_get_updates_offset_confirmation(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER, username="li")
    for text in ("one", "two", "/start now"):
        await user.send_text(text)
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [1, 2, 3]
    assert updates[0].message is not None
    assert updates[0].message.from_user is not None
    assert updates[0].message.from_user.username == "li"
    command = updates[2].message
    assert command is not None
    assert command.text == "/start now"
    assert command.entities[0].type == "bot_command"
    assert command.entities[0].length == len("/start")
    assert [u.update_id for u in await bot.get_updates()] == [1, 2, 3]
    assert [u.update_id for u in await bot.get_updates(offset=2, limit=1)] == [2]
    assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]
    assert await bot.get_updates(offset=4) == ()
    assert await bot.get_updates() == ()


async def test_long_poll_wakes_up_on_an_update_and_otherwise_answers_at_its_timeout() -> None:
    time = FakeTime()
    start = time.now
    async with on_fake_time(time) as (emulator, bot):
        user = emulator.user(USER)
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await emulator.wait_for(lambda: time.waiting == 1)  # the long poll waits for 5 s or an update
        assert time.sleeps == [5.0]
        await user.press(42, "pressed")
        [update] = await asyncio.wait_for(poll, HANG_GUARD)
        assert time.now == start  # the update woke it: its 5 s never passed
        assert update.callback_query is not None
        assert update.callback_query.data == "pressed"

        poll = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=dtm.timedelta(seconds=0.3)))
        await emulator.wait_for(lambda: time.waiting == 1)
        assert time.sleeps[-1] == pytest.approx(0.3)
        await time.advance(0.29)
        assert not poll.done()
        await time.advance(0.01)
        assert await asyncio.wait_for(poll, HANG_GUARD) == ()


async def test_inject_and_redeliver(emulator: BotApiEmulator, bot: Bot) -> None:
    injected = await emulator.inject_update({"some_future_kind": {"x": 1}})
    assert injected["update_id"] == 1
    assert [u.update_id for u in await bot.get_updates()] == [1]
    await emulator.inject_update({"update_id": 1, "some_future_kind": {"x": 2}})
    assert await bot.get_updates(offset=2) == ()
    await emulator.redeliver(1)
    assert [u.update_id for u in await bot.get_updates(offset=2)] == [1]
    assert await bot.get_updates(offset=2) == ()


async def test_group_updates(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER)
    group = emulator.group(-5001, "Bureau")
    added = await group.add_bot(user)
    assert added["my_chat_member"]["new_chat_member"]["status"] == "member"
    await group.send_command(user, "stats", "week")
    await bot.send_message(-5001, "group answer")
    updates = await bot.get_updates()
    assert updates[0].my_chat_member is not None
    message = updates[1].message
    assert message is not None
    assert (message.chat.type, message.chat.title, message.text) == ("group", "Bureau", "/stats week")
    assert [m.text for m in emulator.messages(-5001)] == ["group answer"]
    chat = await bot.get_chat(-5001)
    assert chat.title == "Bureau"


# ---- callbacks and commands ------------------------------------------------------------------


async def test_answer_callback_query_once(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER)
    sent = await bot.send_message(USER, "Choose", reply_markup=keyboard([("Go", "go")]))
    update = await user.press(sent.message_id, "go")
    query = update["callback_query"]
    assert query["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "go"
    assert await bot.answer_callback_query(query["id"], text="Done", show_alert=True)
    assert emulator.callback_answers[query["id"]]["text"] == "Done"
    assert emulator.callback_answers[query["id"]]["show_alert"] is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("nope")


async def test_my_commands_per_scope(emulator: BotApiEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(USER), language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(USER), language_code="en")
    assert [c.command for c in scoped] == ["admin"]
    assert emulator.commands[("chat:1001", "en")] == [{"command": "admin", "description": "Admin"}]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("bad command", "x")])


# ---- limits and failures ---------------------------------------------------------------------


async def test_per_chat_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    time = FakeTime()  # stands still: the bucket does not refill between the sends, however slow they are
    async with on_fake_time(time, limits=Limits(per_chat_rate=1.0, per_chat_burst=2)) as (emulator, limited):
        emulator.user(USER)
        await limited.send_message(USER, "1")
        await limited.send_message(USER, "2")
        with pytest.raises(RetryAfter) as caught:
            await limited.send_message(USER, "3")
        assert retry_after_seconds(caught.value) == 1
        assert emulator.stats.too_many_requests == 1
        # edits are not counted
        await limited.edit_message_text("1b", chat_id=USER, message_id=1)
        await time.advance(1.0)
        await limited.send_message(USER, "3")
    assert [status for method, _, status, _ in emulator.request_log if method == "sendMessage"] == [200, 200, 429, 200]


def test_rate_limiter_windows() -> None:
    now = [0.0]
    limiter = RateLimiter(Limits(per_chat_burst=1, group_per_minute=2, global_per_second=3), clock=lambda: now[0])
    assert limiter.acquire(1) is None
    assert limiter.acquire(1) == 1
    now[0] = 1.0
    assert limiter.acquire(1) is None
    assert limiter.acquire(-1) is None
    assert limiter.acquire(-1) is None
    assert limiter.acquire(-1) == 60  # 20/min window: the first one frees at t=61
    assert limiter.acquire(2) == 1  # the global 3/s window is full
    now[0] = 2.0
    assert limiter.acquire(2) is None
    assert limiter.acquire(-1) == 59
    now[0] = 61.0
    assert limiter.acquire(-1) is None
    assert RateLimiter(Limits(enabled=False)).acquire(1) is None


async def test_inject_429(emulator: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    emulator.user(USER)
    emulator.inject_429(1, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert retry_after_seconds(caught.value) == 3
    await bot.send_message(USER, "y")
    assert emulator.stats.too_many_requests == 1


async def test_fail_next(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)
    emulator.fail_next(2)
    assert await bot.get_updates() == ()  # polling is spared
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "ok")
    assert emulator.stats.failures_injected == 2
    assert [m.text for m in emulator.messages(USER)] == ["ok"]


async def test_fail_for_timeout_mode() -> None:
    time = FakeTime()  # stands still: the outages last, and a hang ends only when stop() wakes it
    async with on_fake_time(time) as (emulator, bot):
        emulator.user(USER)
        emulator.fail_for(5, "timeout", hang_seconds=0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(USER, "x", read_timeout=0.1)
        assert time.sleeps == [0.5]
        emulator.clear_failures()
        await bot.send_message(USER, "ok")
        emulator.fail_for(5, "5xx")
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "x")
        emulator.fail_for(5, "timeout")  # a hanging request must not delay stop()
        hanging_before = time.waiting
        hanging = asyncio.create_task(raw(emulator, "getMe"))
        await emulator.wait_for(lambda: time.waiting == hanging_before + 1)
        assert time.sleeps[-1] == 30.0
        await asyncio.wait_for(emulator.stop(), HANG_GUARD)
        status, _ = await asyncio.wait_for(hanging, HANG_GUARD)
        assert status == 502  # answered because stop() woke it: its 30 s never passed


# ---- webhook ---------------------------------------------------------------------------------


async def receiver(statuses: list[int]) -> tuple[web.AppRunner, str, list[tuple[str | None, dict[str, Any]]]]:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "s3cret":
            return web.Response(status=403)
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/hook", received


async def test_webhook_delivery_with_secret_and_retry(emulator: BotApiEmulator, bot: Bot) -> None:
    runner, url, received = await receiver([500])
    try:
        user = emulator.user(USER)
        await user.send_text("queued before webhook")
        assert await bot.set_webhook(url, secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == url
        await user.send_text("after")
        await emulator.wait_for(lambda: len(emulator.webhook_responses) >= 3, timeout=HANG_GUARD)
        assert [secret for secret, _ in received] == ["s3cret"] * 3
        assert [body["update_id"] for _, body in received] == [1, 1, 2]
        assert emulator.webhook_responses == [500, 200, 200]
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert await emulator.deliver_to_webhook_raw({"message": received[0][1]["message"]}, secret=None) == 403
        await emulator.redeliver(2)
        await emulator.wait_for(lambda: len(received) >= 5)
        assert received[-1][1]["update_id"] == 2
        assert await bot.delete_webhook()
        await user.send_text("polled")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["polled"]
    finally:
        await runner.cleanup()


# ---- observation helpers and control API -----------------------------------------------------


async def test_wait_for_messages(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)

    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(USER, "late")

    task = asyncio.create_task(later())
    [msg] = await emulator.wait_for_messages(USER, 1, timeout=HANG_GUARD)
    await task
    assert msg.text == "late"
    with pytest.raises(TimeoutError, match="'late'"):
        await emulator.wait_for_messages(USER, 2, timeout=0.05)


async def test_control_api(emulator: BotApiEmulator, bot: Bot) -> None:
    emulator.user(USER)
    base = f"http://127.0.0.1:{emulator.port}/_emulator"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/users/{USER}/text", json={"text": "hello"}) as response:
            assert (await response.json())["message"]["text"] == "hello"
        sent = await bot.send_message(USER, "menu", reply_markup=keyboard([("A", "a")]))
        await bot.edit_message_text("menu 2", chat_id=USER, message_id=sent.message_id)
        async with session.post(f"{base}/users/{USER}/press", json={"message_id": sent.message_id, "data": "a"}) as r:
            assert (await r.json())["callback_query"]["data"] == "a"
        async with session.get(f"{base}/chats/{USER}/events", params={"after": "1"}) as response:
            body = await response.json()
    assert [(e["seq"], e["kind"], e["message"]["text"]) for e in body["events"]] == [(2, "edited", "menu 2")]
    assert body["last_seq"] == 2
    assert [u.update_id for u in await bot.get_updates()] == [1, 2]


async def test_ptb_application_polling_round_trip(emulator: BotApiEmulator) -> None:
    async def start(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Welcome", reply_markup=keyboard([("OK", "ok")]))

    async def pressed(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("noted")
        await query.edit_message_text("Confirmed")

    application = (
        Application.builder()
        .token(emulator.token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.file_base_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    user = emulator.user(USER)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        await user.send_command("start")
        [welcome] = await emulator.wait_for_messages(USER, 1, timeout=HANG_GUARD)
        assert buttons(welcome) == [[("OK", "ok")]]
        update = await user.press(welcome.message_id, "ok")
        await emulator.wait_for(lambda: welcome.text == "Confirmed", timeout=HANG_GUARD)
        assert emulator.callback_answers[update["callback_query"]["id"]]["text"] == "noted"
        await application.updater.stop()
        await application.stop()


async def test_parallel_webhook_delivery_overlaps_chats_and_keeps_each_chats_order(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    """Telegram posts over up to max_connections connections; the emulator does so when asked (issue 21)."""
    arrived: list[tuple[int, str]] = []
    in_flight, most = 0, 0
    release = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        body = await request.json()
        arrived.append((body["message"]["chat"]["id"], body["message"]["text"]))
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()  # hold every request until several are in flight
        in_flight -= 1
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        emulator.webhook_parallel = True
        users = [emulator.user(USER + n) for n in range(4)]
        for round_ in range(3):
            for user in users:
                await user.send_text(f"m{round_}")
        assert await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook", max_connections=3,
                                     secret_token="s3cret")
        await emulator.wait_for(lambda: len(arrived) == 3, timeout=HANG_GUARD)
        assert most == 3 and len({chat for chat, _ in arrived}) == 3  # three chats at once, never two of one
        release.set()
        await emulator.wait_for(lambda: len(emulator.webhook_responses) == 12, timeout=HANG_GUARD)
        for user in users:
            assert [text for chat, text in arrived if chat == user.id] == ["m0", "m1", "m2"]
    finally:
        release.set()
        await runner.cleanup()
