"""The sandbox's JSON API against a real started sandbox (emulator, bot and page on free loopback ports).

One sandbox serves the whole module; each test plays different demo people so they do not meet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.sandbox import Sandbox, open_sandbox
from bot.settings import Settings
from messages import translate
from services.demo import demo
from services.people import accounts
from services.platform.roles import SYSTEM_CLI

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADMIN = demo.DEMO_USER_BASE + 1  # the demo's first person is the bureau's admin


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    database = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    async with open_sandbox(Settings(_env_file=None), database=database, port=0) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sandbox.url.rstrip("/")) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> Any:
    async with http.request(method, path, **kwargs) as response:
        body = await response.json()
        assert response.status == 200, body
        return body


async def wait_for_bot(
    http: aiohttp.ClientSession, chat_id: int, predicate: Any, *, after: int = 0, rounds: int = 5
) -> dict[str, Any]:
    """Long-poll the chat's events until a bot message satisfies ``predicate``; returns that message."""
    after_message = 0
    for _ in range(rounds):
        batch = await call(http, "GET", f"/api/chats/{chat_id}/events",
                           params={"after": after, "after_message": after_message, "timeout": 5})
        after, after_message = batch["after"], batch["after_message"]
        for event in batch["events"]:
            if event["message"]["from"]["bot"] and predicate(event):
                return event["message"]
    raise AssertionError(f"no such bot message in chat {chat_id}")


async def test_personas_are_the_bound_demo_people_plus_the_unbound_account(http: aiohttp.ClientSession) -> None:
    data = await call(http, "GET", "/api/personas")
    bound = [p for p in data["personas"] if p["bound"]]
    unbound = [p for p in data["personas"] if not p["bound"]]
    assert len(bound) == 312
    assert bound[0]["user_id"] == ADMIN and bound[0]["roles"] == ["admin", "staff"]
    assert bound[0]["org_unit"]["code"] == "bureau"
    assert {p["user_id"] for p in unbound} == {demo.NEW_USER_ID}
    assert {g["org_unit"]["code"] for g in data["groups"]} == {"div1", "div2", "div8"}
    assert [p["name"] for p in data["unbound_people"]] == [demo.UNBOUND_EXPERT_NAME]


async def test_help_sent_as_staff_lists_the_staff_commands(http: aiohttp.ClientSession) -> None:
    staff = demo.DEMO_USER_BASE + 2
    sent = await call(http, "POST", f"/api/chats/{staff}/text", json={"user_id": staff, "text": "/help"})
    assert sent["message"]["text"] == "/help" and sent["message"]["from"]["id"] == staff
    answer = await wait_for_bot(http, staff, lambda e: "/invite" in e["message"].get("text", ""))
    for command in ("/invite", "/unbind", "/alerts", "/whoami"):
        assert command in answer["text"]
    assert "/bindgroup" not in answer["text"]  # admins only


async def test_a_pressed_button_edits_its_message_in_place(http: aiohttp.ClientSession) -> None:
    staff = demo.DEMO_USER_BASE + 3
    await call(http, "POST", f"/api/chats/{staff}/text", json={"user_id": staff, "text": "/language"})
    menu = await wait_for_bot(http, staff, lambda e: bool(e["message"].get("inline_keyboard")))
    english = next(b for row in menu["inline_keyboard"] for b in row if b["data"] == "lang:en")
    result = await call(http, "POST", f"/api/chats/{staff}/press",
                        json={"user_id": staff, "message_id": menu["id"], "data": english["data"]})
    assert result == {"answer": None}
    edited = await wait_for_bot(http, staff, lambda e: e["kind"] == "edited")
    assert edited["id"] == menu["id"] and edited["edited"]
    assert edited["text"] == translate("en", "language.set") and "inline_keyboard" not in edited


async def test_an_uploaded_document_reaches_the_bot_and_can_be_downloaded(http: aiohttp.ClientSession) -> None:
    expert = demo.DEMO_USER_BASE + 10
    form = aiohttp.FormData(quote_fields=False)  # as browsers send it: the file name in UTF-8
    form.add_field("user_id", str(expert))
    form.add_field("kind", "document")
    form.add_field("caption", "线索材料")
    form.add_field("file", "发票明细".encode(), filename="发票.txt", content_type="text/plain")
    sent = await call(http, "POST", f"/api/chats/{expert}/upload", data=form)
    document = sent["message"]["document"]
    assert document["name"] == "发票.txt" and sent["message"]["caption"] == "线索材料"
    await wait_for_bot(http, expert, lambda e: e["message"].get("text") == translate("zh", "fallback.not_expected"))
    async with http.get(document["url"]) as response:
        assert response.status == 200 and await response.read() == "发票明细".encode()
        assert response.headers["Content-Disposition"].startswith("attachment")


async def test_advancing_the_clock_lets_an_invite_expire(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    before = await call(http, "GET", "/api/clock")
    async with sandbox.uow() as uow:
        (person,) = [p for p in (await demo.personas(uow))[1] if p.name == demo.UNBOUND_EXPERT_NAME]
    async with sandbox.uow() as uow:
        issued = await accounts.create_invite(uow, actor=SYSTEM_CLI, role="expert", person_id=person.person_id,
                                              ttl=timedelta(hours=2))
    moved = await call(http, "POST", "/api/clock/advance", json={"hours": 3})
    assert moved["offset_hours"] == before["offset_hours"] + 3
    assert "prune_redeem_failures" in moved["jobs"]
    newcomer = (await call(http, "POST", "/api/personas", json={}))["user_id"]
    await call(http, "POST", f"/api/chats/{newcomer}/text", json={"user_id": newcomer, "text": issued.code})
    answer = await wait_for_bot(http, newcomer, lambda e: True)
    assert answer["text"] == translate("zh", "binding.code_expired")


async def test_the_clock_only_moves_forward_by_a_sane_amount(http: aiohttp.ClientSession) -> None:
    for hours in (0, -5, 100_000, "soon"):
        async with http.post("/api/clock/advance", json={"hours": hours}) as response:
            assert response.status == 400, hours


async def test_writes_from_another_site_and_unknown_hosts_are_refused(http: aiohttp.ClientSession) -> None:
    async with http.post(f"/api/chats/{ADMIN}/text", json={"user_id": ADMIN, "text": "/help"},
                         headers={"Origin": "http://evil.example"}) as response:
        assert response.status == 403
    async with http.get("/api/personas", headers={"Host": "evil.example"}) as response:
        assert response.status == 403


async def test_a_person_cannot_write_in_someone_elses_private_chat(http: aiohttp.ClientSession) -> None:
    async with http.post(f"/api/chats/{ADMIN}/text", json={"user_id": ADMIN + 5, "text": "hi"}) as response:
        assert response.status == 403


async def test_the_page_and_its_scripts_are_served(http: aiohttp.ClientSession) -> None:
    for path, marker in (("/", "app.js"), ("/static/app.js", "textContent"), ("/static/app.css", ".msg")):
        async with http.get(path) as response:
            assert response.status == 200 and marker in await response.text()
