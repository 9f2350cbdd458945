"""PTB's network layer on aiohttp (bot/http.py): what reaches the server, and each failure as the
exception PTB expects (TimedOut, NetworkError), so the outbox's retry rules (issue 2) still apply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http import AiohttpRequest
from tests.e2e.harness import free_port


@dataclass
class Seen:
    """What the test server received."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


SEEN = web.AppKey("seen", Seen)


async def _handle(request: web.Request) -> web.Response:
    seen = request.app[SEEN]
    entry: dict[str, Any] = {"path": request.path, "content_type": request.content_type, "fields": {}, "files": {}}
    seen.requests.append(entry)
    if request.path.endswith("/slow"):
        await seen.release.wait()
    if request.content_type == "multipart/form-data":
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                entry["files"][name] = (value.filename, value.file.read(), value.content_type)
            else:
                entry["fields"][name] = value
    else:
        entry["fields"] = dict(await request.post())
    if request.path.endswith("/bad"):
        return web.json_response({"ok": False, "error_code": 400, "description": "Bad Request: nope"}, status=400)
    if request.path.endswith("/getMe"):
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B", "username": "b"}})
    return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    app = web.Application()
    seen = Seen()
    app[SEEN] = seen
    app.router.add_post("/{tail:.*}", _handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        seen.release.set()
        await runner.cleanup()


@pytest.fixture
async def request_() -> AsyncIterator[AiohttpRequest]:
    # generous: these only guard against a hang (a test that expects a timeout passes its own, small one)
    request = AiohttpRequest(connection_pool_size=4, read_timeout=30, write_timeout=30, connect_timeout=30,
                             pool_timeout=30)
    await request.initialize()
    try:
        yield request
    finally:
        await request.shutdown()


async def test_parameters_go_as_a_form_and_the_status_and_body_come_back(
    server: tuple[str, Seen], request_: AiohttpRequest
) -> None:
    url, seen = server
    data = RequestData([RequestParameter.from_input("chat_id", 42), RequestParameter.from_input("text", "你好")])
    status, body = await request_.do_request(f"{url}/sendMessage", "POST", data)
    assert status == 200 and b'"ok": true' in body
    assert seen.requests[0]["content_type"] == "application/x-www-form-urlencoded"
    assert seen.requests[0]["fields"] == {"chat_id": "42", "text": "你好"}


async def test_an_upload_goes_as_multipart_with_its_name_and_type(
    server: tuple[str, Seen], request_: AiohttpRequest
) -> None:
    url, seen = server
    document = InputFile(b"%PDF-1.4 evidence", filename='证据 "1".pdf')  # UTF-8 and a quote, unmangled
    data = RequestData([RequestParameter.from_input("chat_id", 7), RequestParameter.from_input("document", document)])
    status, _ = await request_.do_request(f"{url}/sendDocument", "POST", data)
    assert status == 200
    entry = seen.requests[0]
    assert entry["content_type"] == "multipart/form-data"
    assert entry["fields"]["chat_id"] == "7"
    ((filename, content, mime_type),) = entry["files"].values()
    assert (filename, content, mime_type) == ('证据 "1".pdf', b"%PDF-1.4 evidence", "application/pdf")


async def test_ptb_bot_works_over_it_and_bot_api_errors_stay_ptb_errors(server: tuple[str, Seen]) -> None:
    url, _ = server
    bot = Bot("1:T", base_url=f"{url}/bot", request=AiohttpRequest(), get_updates_request=AiohttpRequest())
    async with bot:
        assert bot.username == "b"
        with pytest.raises(BadRequest, match=r"(?i)nope"):
            await bot.do_api_request("bad")


async def test_a_slow_answer_is_timed_out(server: tuple[str, Seen], request_: AiohttpRequest) -> None:
    url, _ = server
    with pytest.raises(TimedOut):
        await request_.do_request(f"{url}/slow", "POST", read_timeout=0.2)


async def test_a_full_pool_times_out_without_sending(server: tuple[str, Seen]) -> None:
    url, seen = server
    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.2, connect_timeout=0.2, read_timeout=5)
    await request.initialize()
    try:
        # the busy request's own connect must not time out on a loaded machine: only the pool wait should
        busy = asyncio.create_task(request.do_request(f"{url}/slow", "POST", connect_timeout=30, pool_timeout=30))
        while not seen.requests:
            if busy.done():
                busy.result()  # it failed: say why rather than wait for ever
            await asyncio.sleep(0.01)
        with pytest.raises(TimedOut, match="not sent"):
            await request.do_request(f"{url}/sendMessage", "POST")
        assert [r["path"] for r in seen.requests] == ["/slow"]
        seen.release.set()
        assert (await busy)[0] == 200
    finally:
        await request.shutdown()


async def test_nobody_listening_is_a_network_error(request_: AiohttpRequest) -> None:
    with pytest.raises(NetworkError) as caught:
        await request_.do_request(f"http://127.0.0.1:{free_port()}/getMe", "POST")
    assert not isinstance(caught.value, TimedOut)


async def test_it_must_be_initialized_and_can_be_again_after_shutdown(server: tuple[str, Seen]) -> None:
    url, _ = server
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{url}/getMe", "POST")
    await request.initialize()
    await request.shutdown()
    await request.shutdown()  # twice is harmless
    await request.initialize()
    try:
        assert (await request.do_request(f"{url}/getMe", "POST"))[0] == 200
    finally:
        await request.shutdown()
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(connection_pool_size=0)
