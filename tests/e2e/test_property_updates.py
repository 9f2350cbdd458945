"""Property test: random updates through the whole application (issue: foundation, "Done when").

Ten examples of 100 random updates each (1,000 in all): text, commands with random arguments,
random callback data up to 64 bytes, photos, documents, unknown update kinds, from bound and
unbound accounts, in private chats and a group. Each update is sent and its answer awaited before
the next, so every private message can be matched to its own answer. Afterwards: no handler
crashed, every update id was recorded once, the audit chain is intact and the outbox settled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from bot.emulator import BotApiEmulator, FakeGroup, FakeUser, Limits
from bot.settings import BotMode
from services.people import accounts
from services.platform import audit
from services.platform.roles import SYSTEM_CLI
from storage.models import OutboxMessage, ProcessedUpdate
from tests.builders import build_org
from tests.e2e.harness import TOKEN, BotHarness, start_bot

KNOWN_COMMANDS = ["/start", "/help", "/whoami", "/language", "/invite", "/unbind", "/alerts", "/bindgroup"]
GROUP_ID = -100_777
BOUND_USERS = 5
ALL_USERS = 10


@dataclass
class World:
    """The running bot and the cast."""

    bot: BotHarness
    emulator: BotApiEmulator
    users: list[FakeUser]
    group: FakeGroup
    sent_updates: int = 0


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    emulator = BotApiEmulator(token=TOKEN, limits=Limits(enabled=False))
    await emulator.start()
    bot = await start_bot(
        emulator, database_url, mode=BotMode.POLLING,
        rate_overall_per_second=10_000.0, rate_private_per_second=10_000.0, rate_private_burst=1000,
        rate_group_per_minute=100_000.0,
    )
    org = await build_org(bot.uow)
    people = [("staff", org.admin_id), ("staff", org.staff_id), ("expert", org.expert_id),
              ("supervisor", org.supervisor_id), ("staff", org.div1_staff_id)]
    users = [emulator.user(500 + i, language_code=["zh", "en", None][i % 3]) for i in range(ALL_USERS)]
    for (role, person_id), user in zip(people, users, strict=False):
        async with bot.uow() as u:
            issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
        await user.send_command("/start", issued.code)
        await emulator.wait_for_messages(user.id, 1)
    group = emulator.group(GROUP_ID, "一师工作群")
    try:
        yield World(bot, emulator, users, group, sent_updates=BOUND_USERS)
    finally:
        await bot.shutdown()
        await emulator.stop()


text = st.text(min_size=1, max_size=300).filter(lambda s: s.strip() != "")
args = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
callback_data = st.one_of(
    st.sampled_from(["lang:zh", "lang:en", "lang:xx", "lang:", "inv:1:acc"]),
    st.text(min_size=1, max_size=64).filter(lambda s: 1 <= len(s.encode()) <= 64),
)
event = st.one_of(
    st.tuples(st.just("text"), st.integers(0, ALL_USERS - 1), text),
    st.tuples(st.just("command"), st.integers(0, ALL_USERS - 1),
              st.tuples(st.sampled_from([*KNOWN_COMMANDS, "/nonsense", "/HELP"]), args)),
    st.tuples(st.just("press"), st.integers(0, ALL_USERS - 1), callback_data),
    st.tuples(st.just("photo"), st.integers(0, ALL_USERS - 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("document"), st.integers(0, ALL_USERS - 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("unknown"), st.integers(0, ALL_USERS - 1),
              st.sampled_from(["poll", "edited_message", "chat_join_request", "future_kind"])),
    st.tuples(st.just("group"), st.integers(0, ALL_USERS - 1),
              st.tuples(st.sampled_from(["/help", "/bindgroup", "/whoami", "/invite"]), args)),
)


async def _settle(world: World, condition: Any, what: str) -> None:
    await world.emulator.wait_for(condition, timeout=30)  # a hang guard: it is met at once unless under load


async def _play(world: World, kind: str, who: int, payload: Any) -> None:
    emulator, user = world.emulator, world.users[who]
    chat = user.id
    before = len(emulator.messages(chat))
    if kind == "text":
        await user.send_text(payload)
    elif kind == "command":
        await user.send_command(payload[0], payload[1].strip())
    elif kind == "photo":
        await user.send_photo(payload)
    elif kind == "document":
        await user.send_document(payload, file_name="x.bin", mime_type="application/octet-stream")
    elif kind == "press":
        existing = emulator.messages(chat)
        target = existing[-1].message_id if existing else 1
        update = await user.press(target, payload)
        query_id = update["callback_query"]["id"]
        world.sent_updates += 1
        await _settle(world, lambda: query_id in emulator.callback_answers, f"answer to press {payload!r}")
        return
    elif kind == "unknown":
        await emulator.inject_update({payload: _other_update(payload, chat)})
        world.sent_updates += 1
        return
    else:
        group_before = len(emulator.messages(GROUP_ID))
        await world.group.send_command(user, payload[0], payload[1].strip())
        world.sent_updates += 1
        await _settle(world, lambda: len(emulator.messages(GROUP_ID)) > group_before, f"group answer to {payload}")
        return
    world.sent_updates += 1
    await _settle(world, lambda: len(emulator.messages(chat)) > before, f"answer to {kind} {payload!r}")


def _other_update(kind: str, chat: int) -> dict[str, Any]:
    sender = {"id": chat, "is_bot": False, "first_name": "u"}
    if kind == "poll":
        return {"id": "1", "question": "q", "options": [], "total_voter_count": 0, "is_closed": False,
                "is_anonymous": True, "type": "regular", "allows_multiple_answers": False}
    if kind == "edited_message":
        return {"message_id": 1, "date": 1_700_000_000, "edit_date": 1_700_000_100, "text": "edited",
                "chat": {"id": chat, "type": "private", "first_name": "u"}, "from": sender}
    if kind == "chat_join_request":
        return {"chat": {"id": GROUP_ID, "type": "group", "title": "g"}, "from": sender,
                "user_chat_id": chat, "date": 1_700_000_000}
    return {"anything": [1, 2, 3], "from": sender}  # a kind this PTB version does not know


@settings(max_examples=10, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(events=st.lists(event, min_size=100, max_size=100))
async def test_random_updates_never_crash_always_get_an_answer_and_leave_a_consistent_database(
    world: World, events: list[tuple[str, int, Any]]
) -> None:
    for kind, who, payload in events:
        await _play(world, kind, who, payload)
    await _assert_consistent(world)


async def _assert_consistent(world: World) -> None:
    metrics = world.bot.running.services.metrics
    assert metrics.handler_errors._value.get() == 0
    uow = world.bot.uow

    async def recorded() -> int:
        async with uow() as u:
            return int((await u.session.exec(select(func.count()).select_from(ProcessedUpdate))).one())

    for _ in range(600):  # up to 30 s: a hang guard, not an expectation
        if await recorded() == world.sent_updates:
            break
        await asyncio.sleep(0.05)
    assert await recorded() == world.sent_updates
    async with uow() as u:
        assert (await audit.verify_chain(u)).ok
    for _ in range(600):
        async with uow() as u:
            pending = (await u.session.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            )).one()
        if pending == 0:
            break
        await asyncio.sleep(0.05)
    assert pending == 0
