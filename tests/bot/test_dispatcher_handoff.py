"""The dispatcher's side of a hand-off (bot/dispatcher.py: take): a chat waiting behind a message to retry
keeps its order even in the moment before that wait is written to the outbox (issue 2, outbox order)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, cast

import pytest
from telegram import Bot

from bot.dispatcher import OutboxDispatcher
from bot.metrics import Metrics
from services.platform import outbox
from services.platform.outbox import REFRESH, ClaimResult, Delivery, Outcome, OutcomeKind
from storage.uow import UnitOfWorkFactory


def _delivery(outbox_id: int, address: str) -> Delivery:
    return Delivery(outbox_id=outbox_id, channel="telegram", kind="send", address=address, language="zh",
                    message_key="language.set", params={}, buttons=[])


async def test_a_held_chat_sends_its_handed_off_row_back_with_the_same_wait() -> None:
    now = 1000.0
    dispatcher = OutboxDispatcher(cast(Bot, None), cast(UnitOfWorkFactory, None), Metrics(), monotonic=lambda: now)
    dispatcher._running = True
    sent: list[Any] = []
    dispatcher._enqueue = sent.append  # type: ignore[method-assign]
    dispatcher._held["telegram:42"] = now + 5.0
    now += 1.5
    dispatcher.take([_delivery(1, "42"), _delivery(2, "43")])
    assert [d.outbox_id for d in sent] == [2]  # another chat goes on
    outcome = dispatcher._outcomes.get_nowait()
    assert (outcome.outbox_id, outcome.kind, outcome.retry_after) == (1, OutcomeKind.THROTTLED, 3.5)
    assert dispatcher.in_flight == 1  # until the outcome is recorded


async def test_a_stopped_dispatcher_takes_nothing() -> None:
    dispatcher = OutboxDispatcher(cast(Bot, None), cast(UnitOfWorkFactory, None), Metrics())
    dispatcher.take([_delivery(1, "42")])  # the rows stay leased; the next start releases them
    assert dispatcher.in_flight == 0 and dispatcher._outcomes.empty()


def _roster_edit(outbox_id: int, message_id: str = "5") -> Delivery:
    return Delivery(outbox_id=outbox_id, channel="telegram", kind="edit", address="-100", language="zh",
                    message_key="invite.roster.message", params={REFRESH: "invite.roster", "activity_id": 7},
                    buttons=[], edit_message_id=message_id)


async def test_a_roster_edit_with_a_newer_one_behind_it_is_skipped_unsent() -> None:
    """Issue 21: of the edits of one roster message waiting in the chat's queue, only the last is rendered and sent
    (it reads the latest state); the others are recorded as skipped, without a request."""
    dispatcher = OutboxDispatcher(cast(Bot, None), cast(UnitOfWorkFactory, None), Metrics())
    sent: list[Delivery] = []

    async def send(delivery: Delivery) -> Outcome:
        sent.append(delivery)
        return Outcome(delivery.outbox_id, OutcomeKind.SENT, delivery.edit_message_id, delivery.address)

    dispatcher._send = send  # type: ignore[method-assign]
    first, other_message, newer = _roster_edit(1), _roster_edit(2, message_id="6"), _roster_edit(3)
    outcome = await dispatcher._send_latest(first, deque([first, other_message, newer]))
    assert (outcome.kind, outcome.error) == (OutcomeKind.SKIPPED, "superseded by a newer edit") and sent == []
    plain = _delivery(4, "-100")
    outcome = await dispatcher._send_latest(plain, deque([plain, newer]))  # not a row to refresh: sent as is
    assert outcome.kind is OutcomeKind.SENT and sent == [plain]


class _MigratedGroup:
    """A Bot whose group -100 became the supergroup -1000000000100 (PTB raises ChatMigrated for the old id)."""

    def __init__(self) -> None:
        self.sent: list[int | str] = []

    async def send_message(self, chat_id: int | str, text: str, reply_markup: Any = None) -> Any:
        from telegram import Chat, Message
        from telegram.error import ChatMigrated

        if chat_id == -100:
            raise ChatMigrated(-1000000000100)
        self.sent.append(chat_id)
        return Message(len(self.sent), None, Chat(int(chat_id), "supergroup"))  # type: ignore[arg-type]

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> Any:
        from telegram.error import ChatMigrated

        raise ChatMigrated(-1000000000100)


class _NoUow:
    """A unit-of-work factory that fails: moving the binding is best effort, the message still goes."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database unavailable")


async def test_a_message_refused_because_the_group_became_a_supergroup_goes_to_the_supergroup() -> None:
    bot = _MigratedGroup()
    dispatcher = OutboxDispatcher(cast(Bot, bot), cast(UnitOfWorkFactory, _NoUow()), Metrics())
    outcome = await dispatcher._send(_delivery(1, "-100"))
    assert (outcome.kind, outcome.address) == (OutcomeKind.SENT, "-1000000000100")
    assert bot.sent == [-1000000000100]
    edit = await dispatcher._send(_roster_edit(2))  # the old group's messages cannot be edited any more
    assert edit.kind is OutcomeKind.SKIPPED and "supergroup" in (edit.error or "")


class _FakeUow:
    """A unit-of-work factory whose units do nothing (the claim is replaced)."""

    def __call__(self, **_: Any) -> _FakeUow:
        return self

    async def __aenter__(self) -> _FakeUow:
        return self

    async def __aexit__(self, *_: Any) -> None:
        return None


async def test_under_load_claims_are_spaced_and_a_quiet_dispatcher_claims_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 21: each claim is a write transaction that holds every other writer back on SQLite; a wake soon after a
    claim waits for the spacing (the next claim then takes everything due meanwhile), the first claim does not."""
    claims: list[int] = []

    async def claim(_uow: Any, *, limit: int, exclude: set[int] | None = None) -> ClaimResult:
        claims.append(limit)
        return ClaimResult()

    monkeypatch.setattr(outbox, "claim", claim)
    dispatcher = OutboxDispatcher(cast(Bot, None), cast(UnitOfWorkFactory, _FakeUow()), Metrics(),
                                  claim_spacing=3600.0)
    dispatcher._running = True
    task = asyncio.create_task(dispatcher._claim_loop())
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(claims) == 1  # at once
        dispatcher.wake()
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(claims) == 1  # woken within the spacing: waits
    finally:
        dispatcher._running = False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
