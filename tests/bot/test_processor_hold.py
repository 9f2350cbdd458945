"""The processor's hold (issue 21): while the handler modules load after start-up, updates wait in their chat's
order; released, they run in that order and are reported processed; abandoned, none runs and none is reported (the
durable intake feeds them again at the next start)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.processor import PerChatUpdateProcessor


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, datetime(2026, 1, 5, tzinfo=UTC), chat, text="hi"))


async def _feed(processor: PerChatUpdateProcessor, updates: list[Update], ran: list[int]) -> list[asyncio.Task[None]]:
    async def work(update_id: int) -> None:
        ran.append(update_id)

    tasks = [asyncio.create_task(processor.process_update(update, work(update.update_id))) for update in updates]
    for _ in range(5):
        await asyncio.sleep(0)
    return tasks


async def test_held_updates_wait_then_run_in_order_once_released() -> None:
    reported: list[int] = []
    processor = PerChatUpdateProcessor(8, on_processed=reported.append)
    processor.hold()
    ran: list[int] = []
    tasks = await _feed(processor, [_update(1, 10), _update(2, 10), _update(3, 20), _update(4, 10)], ran)
    assert ran == [] and reported == []
    processor.release()
    await asyncio.gather(*tasks)
    assert [i for i in ran if i != 3] == [1, 2, 4]
    assert sorted(ran) == sorted(reported) == [1, 2, 3, 4]
    later: list[int] = []
    await asyncio.gather(*await _feed(processor, [_update(5, 10)], later))
    assert later == [5]


async def test_abandoned_updates_neither_run_nor_count_as_processed() -> None:
    reported: list[int] = []
    processor = PerChatUpdateProcessor(8, on_processed=reported.append)
    processor.hold()
    ran: list[int] = []
    tasks = await _feed(processor, [_update(1, 10), _update(2, 20)], ran)
    processor.abandon()
    await asyncio.gather(*tasks)
    assert ran == [] and reported == []


async def test_without_a_hold_updates_run_at_once() -> None:
    reported: list[int] = []
    processor = PerChatUpdateProcessor(8, on_processed=reported.append)
    ran: list[int] = []
    await asyncio.gather(*await _feed(processor, [_update(1, 10)], ran))
    assert ran == reported == [1]
