"""The outbox dispatcher: renders pending notifications and sends them through the Bot API.

One loop claims due rows (``services.platform.outbox.claim``), hands them to one worker per chat (so a
chat's messages keep their order and a slow chat does not hold up the others), and a recorder
stores the outcomes in batches. Limits are enforced by the bot's rate limiter
(:class:`bot.ratelimit.TelegramRateLimiter`); what remains is mapped here:

- 429 ``RetryAfter`` → back in the queue after ``retry_after``, no attempt counted;
- timeouts, network errors and 5xx → retried with backoff, up to ``services.platform.outbox.MAX_ATTEMPTS``;
- 400/403 (bad request, blocked) → failed at once; staff are alerted by the service.

Each failed request is logged as one line once its outcome is recorded: the method, the chat, the error
and what happens next (attempt n of ``MAX_ATTEMPTS`` and when the next one is due, or failed for good).
A 429 is logged by the rate limiter instead; the traceback of a failure is logged only at DEBUG.

Commits wake the loop at once; otherwise it polls, so rows that become due later are found.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.keyboards import from_stored
from bot.metrics import Metrics
from bot.ratelimit import retry_after_seconds
from messages import translate
from services.platform import outbox
from services.platform.outbox import Delivery, Outcome, OutcomeKind
from storage.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)


def chat_id_of(address: str) -> int | str:
    """Telegram chat ids are integers; channel usernames stay strings."""
    try:
        return int(address)
    except ValueError:
        return address


async def _roster_params(uow: UnitOfWork, params: Mapping[str, Any]) -> dict[str, Any]:
    from services.invitations.roster import refreshed_params  # loaded on first use, not at start

    return await refreshed_params(uow, params)


REFRESHERS: dict[str, outbox.Refresher] = {"invite.roster": _roster_params}
"""The rows rendered from the state when they are sent (``services.platform.outbox.REFRESH``), by name."""


class OutboxDispatcher:
    """Sends the outbox; start it with :meth:`start`, stop it with :meth:`stop`."""

    def __init__(
        self,
        bot: Bot,
        uow: UnitOfWorkFactory,
        metrics: Metrics,
        *,
        default_language: str = "zh",
        max_in_flight: int = 200,
        idle_poll: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
        refreshers: Mapping[str, outbox.Refresher] | None = None,
        claim_spacing: float = 0.0,
        record_spacing: float = 0.01,
    ) -> None:
        """``monotonic``: the clock a chat's hold behind a message to retry is measured on; ``refreshers``: the rows
        rendered when they are sent, by name (:data:`REFRESHERS` by default). ``claim_spacing`` and
        ``record_spacing``: the least time (seconds) between two claims and between two records of outcomes; each
        is one write transaction, which on SQLite holds every other writer back, so under load one claim takes all
        the rows that became due meanwhile and one record all the outcomes (issue 21). A claim after a quiet spell
        is not delayed."""
        self.bot = bot
        self.uow = uow
        self.metrics = metrics
        self.default_language = default_language
        self.max_in_flight = max_in_flight
        self.idle_poll = idle_poll
        self.claim_spacing, self.record_spacing = claim_spacing, record_spacing
        self.refreshers = REFRESHERS if refreshers is None else refreshers
        self._wakeup = asyncio.Event()
        self._running = False
        self._loop_task: asyncio.Task[None] | None = None
        self._recorder_task: asyncio.Task[None] | None = None
        self._in_flight: set[int] = set()
        self._queues: dict[str, deque[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._monotonic = monotonic
        self._held: dict[str, float] = {}  # chat -> time (on monotonic) until which it waits behind a message to retry
        self._failed_requests: dict[int, tuple[str, str]] = {}  # outbox id -> (Bot API method, chat) to log

    def wake(self) -> None:
        """Look for due rows now (called after a commit that wrote to the outbox)."""
        self._wakeup.set()

    async def start(self) -> None:
        """Release stale claims (this is the only dispatcher) and start sending."""
        async with self.uow() as uow:
            released = await outbox.release_claims(uow)
        if released:
            logger.info("released %s outbox claims left by a previous run", released)
        self._running = True
        self.uow.accept_handoffs(self.take)
        self._recorder_task = asyncio.create_task(self._record_loop(), name="outbox-recorder")
        self._loop_task = asyncio.create_task(self._claim_loop(), name="outbox-claimer")

    async def stop(self, flush_timeout: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish (up to ``flush_timeout``), record their outcomes."""
        self._running = False
        self.uow.accept_handoffs(None)
        self._wakeup.set()
        if self._loop_task is not None:
            await self._loop_task
        workers = list(self._workers.values())
        if workers:
            _, pending = await asyncio.wait(workers, timeout=flush_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._outcomes.join()
        if self._recorder_task is not None:
            self._recorder_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recorder_task

    @property
    def in_flight(self) -> int:
        """Rows claimed and not yet recorded."""
        return len(self._in_flight)

    async def _claim_loop(self) -> None:
        last = -math.inf
        while self._running:
            if (wait := last + self.claim_spacing - asyncio.get_running_loop().time()) > 0:
                await asyncio.sleep(wait)  # busy: the rows due meanwhile go in this claim
            last = asyncio.get_running_loop().time()
            self._wakeup.clear()
            free = self.max_in_flight - len(self._in_flight)
            if free > 0:
                try:
                    async with self.uow() as uow:
                        claimed = await outbox.claim(uow, limit=free, exclude=self._in_flight)
                    for delivery in claimed.deliveries:
                        self._enqueue(delivery)
                except Exception:
                    logger.exception("could not claim outbox rows; retrying")
                    await asyncio.sleep(1.0)
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.idle_poll)

    def take(self, deliveries: list[Any]) -> None:
        """Rows a committed unit of work handed off (written leased, address known): send them without a claim.

        A chat that is waiting behind a message to retry keeps its order: the row goes back to the outbox
        with the same wait, as the rows queued behind that message do. Stopped, the rows stay leased and the
        next start releases them.
        """
        if not self._running:
            return
        now = self._monotonic()
        for delivery in deliveries:
            assert isinstance(delivery, Delivery)
            key = f"{delivery.channel}:{delivery.address}"
            until = self._held.get(key, 0.0)
            if until > now:
                self._in_flight.add(delivery.outbox_id)
                self._outcomes.put_nowait(Outcome(delivery.outbox_id, OutcomeKind.THROTTLED,
                                                  error="held behind an earlier message", retry_after=until - now))
                continue
            self._held.pop(key, None)
            self._enqueue(delivery)

    def _enqueue(self, delivery: Delivery) -> None:
        self._in_flight.add(delivery.outbox_id)
        key = f"{delivery.channel}:{delivery.address}"
        self._queues.setdefault(key, deque()).append(delivery)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._chat_worker(key), name=f"outbox-chat-{key}")

    async def _chat_worker(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                delivery = queue[0]
                outcome = await self._send_latest(delivery, queue)
                queue.popleft()
                self._outcomes.put_nowait(outcome)
                if outcome.kind is OutcomeKind.SENT:
                    self._held.pop(key, None)  # the chat is moving again
                if outcome.kind in (OutcomeKind.RETRY, OutcomeKind.THROTTLED):
                    # Keep the chat's order: what follows waits behind the message that must be retried.
                    wait = max(outcome.retry_after, 1.0)
                    self._held[key] = self._monotonic() + wait
                    while queue:
                        later = queue.popleft()
                        self._outcomes.put_nowait(
                            Outcome(later.outbox_id, OutcomeKind.THROTTLED, error="held behind an earlier message",
                                    retry_after=wait)
                        )
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            else:  # cancelled while stopping: the rest stays claimed and is released at the next start
                for delivery in queue:
                    self._in_flight.discard(delivery.outbox_id)
                self._queues.pop(key, None)

    async def _send_latest(self, delivery: Delivery, queue: deque[Delivery]) -> Outcome:
        """Send a delivery; one to refresh (``outbox.REFRESH``: a roster edit) is skipped when a later one in the
        chat's queue refreshes the same message, else its parameters are read now (issue 21: the latest state
        wins, at most one such edit per message is sent at a time, and none is rendered before its turn)."""
        if outbox.REFRESH not in delivery.params:
            return await self._send(delivery)
        if any(outbox.same_refreshed_message(delivery, later) for later in list(queue)[1:]):
            return Outcome(delivery.outbox_id, OutcomeKind.SKIPPED, error="superseded by a newer edit")
        async with self.uow(readonly=True) as uow:
            params = await outbox.refreshed(uow, delivery, self.refreshers)
        if params is None:
            return Outcome(delivery.outbox_id, OutcomeKind.SKIPPED, error="its parameters could not be read")
        return await self._send(dataclasses.replace(delivery, params=params))

    async def _send(self, delivery: Delivery, *, followed: bool = False) -> Outcome:
        try:
            message = await self._deliver(delivery)
        except ChatMigrated as error:
            if not followed:
                return await self._follow_migration(delivery, error)
            return Outcome(delivery.outbox_id, OutcomeKind.PERMANENT, error=f"ChatMigrated twice: {error}")
        except TelegramError as error:
            outcome = self._failure(delivery, error)
            if isinstance(error, Forbidden) and delivery.address.startswith("-") and await self._group_lost(delivery):
                outcome = Outcome(delivery.outbox_id, OutcomeKind.SKIPPED,
                                  error="the bot was removed from the group; sent to the unit's staff instead")
            if outcome.kind is not OutcomeKind.SENT:
                method = "editMessageText" if delivery.kind == "edit" else "sendMessage"
                logger.debug("Bot API %s to chat %s failed", method, delivery.address, exc_info=error)
                self._failed_requests[delivery.outbox_id] = (method, delivery.address)
            return outcome
        message_id = str(message.message_id) if isinstance(message, Message) else delivery.edit_message_id
        if delivery.created_at is not None:
            latency = (self.uow.clock.now() - delivery.created_at).total_seconds()
            self.metrics.send_latency.observe(max(latency, 0.0))
        return Outcome(delivery.outbox_id, OutcomeKind.SENT, message_id, delivery.address)

    async def _follow_migration(self, delivery: Delivery, error: ChatMigrated) -> Outcome:
        """The chat became a supergroup with a new id: move its staff binding there (so later alerts go there) and
        send this message there now; an edit cannot follow (the group's old messages stay in the old chat) and is
        skipped."""
        from services.people import groups  # rare: loaded on first use, not at start

        new_address = str(error.new_chat_id)
        try:
            async with self.uow() as uow:
                await groups.chat_migrated(uow, channel=delivery.channel, old_chat_id=delivery.address,
                                           new_chat_id=new_address)
        except Exception:  # the binding moves when the service message arrives, or at the next failed send
            logger.exception("could not move the staff binding of chat %s to %s", delivery.address, new_address)
        if delivery.kind == "edit":  # skipped, not failed: a roster edited on every answer would alert staff each time
            return Outcome(delivery.outbox_id, OutcomeKind.SKIPPED,
                           error=f"the group became a supergroup ({new_address}); its old messages cannot be edited")
        return await self._send(dataclasses.replace(delivery, address=new_address), followed=True)

    async def _group_lost(self, delivery: Delivery) -> bool:
        """A group refused a message with 403 (the bot was removed, or the group is gone): should it be a bound
        staff group, its binding ends, the unit's staff are told privately and get this message instead (its
        membership update may never have come: the bot was down, or it was removed while another process held the
        role). Whether the message went to them."""
        from services.people import groups  # rare: loaded on first use, not at start

        try:
            async with self.uow() as uow:
                lost = await groups.bot_removed(uow, channel=delivery.channel, chat_id=delivery.address,
                                                undelivered=delivery.outbox_id)
        except Exception:
            logger.exception("could not end the staff binding of chat %s", delivery.address)
            return False
        return lost is not None and lost.redirected > 0

    def _failure(self, delivery: Delivery, error: TelegramError) -> Outcome:
        """What a Bot API error means for the delivery."""
        outbox_id = delivery.outbox_id
        if isinstance(error, RetryAfter):
            self.metrics.outbox_retries.labels(reason="throttled").inc()
            return Outcome(outbox_id, OutcomeKind.THROTTLED, error=str(error), retry_after=retry_after_seconds(error))
        if isinstance(error, BadRequest):
            if "message is not modified" in str(error).lower():
                return Outcome(outbox_id, OutcomeKind.SENT, delivery.edit_message_id, delivery.address)
            return Outcome(outbox_id, OutcomeKind.PERMANENT, error=f"BadRequest: {error}")
        if isinstance(error, Forbidden):
            return Outcome(outbox_id, OutcomeKind.PERMANENT, error=f"Forbidden: {error}")
        if isinstance(error, TimedOut | NetworkError):
            self.metrics.outbox_retries.labels(reason="network").inc()
        return Outcome(outbox_id, OutcomeKind.RETRY, error=f"{type(error).__name__}: {error}")

    async def _deliver(self, delivery: Delivery) -> Message | bool:
        language = delivery.language or self.default_language
        text = translate(language, delivery.message_key, **delivery.params)
        markup = from_stored(language, delivery.buttons)
        chat_id = chat_id_of(delivery.address)
        if delivery.kind == "edit":
            if delivery.edit_message_id is None:
                raise BadRequest("message to edit not found")
            return await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=int(delivery.edit_message_id), reply_markup=markup
            )
        return await self.bot.send_message(chat_id, text, reply_markup=markup)

    async def _record_loop(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            await asyncio.sleep(self.record_spacing)
            while not self._outcomes.empty() and len(batch) < 200:
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record(batch)
            finally:
                for _ in batch:
                    self._outcomes.task_done()

    async def _record(self, batch: list[Outcome]) -> None:
        recorded = True
        for attempt in range(5):
            try:
                async with self.uow() as uow:
                    failed = await outbox.record(uow, batch)
                break
            except Exception:
                logger.exception("could not record %s outbox outcomes (attempt %s)", len(batch), attempt + 1)
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            failed = []  # claims expire and the rows are sent again: at least once, never lost
            recorded = False
        requests: list[tuple[Outcome, str, str]] = []
        for outcome in batch:
            self._in_flight.discard(outcome.outbox_id)
            if outcome.kind is OutcomeKind.SENT:
                self.metrics.outbox_sent.inc()
            request = self._failed_requests.pop(outcome.outbox_id, None)
            if request is not None:
                requests.append((outcome, *request))
        if failed:
            self.metrics.outbox_failed.inc(len(failed))
        if requests:
            await self._log_failed_requests(requests, recorded=recorded)
        if any(o.kind is not OutcomeKind.SENT for o in batch):
            self.wake()

    async def _log_failed_requests(self, requests: list[tuple[Outcome, str, str]], *, recorded: bool) -> None:
        """One line per failed Bot API request, with what was recorded: the next attempt, or failed for good."""
        if not logger.isEnabledFor(logging.WARNING):
            return
        rows: dict[int, Any] = {}
        ids = [outcome.outbox_id for outcome, _, _ in requests if outcome.kind is not OutcomeKind.THROTTLED]
        if recorded and ids:
            try:
                async with self.uow(readonly=True) as uow:
                    rows = await uow.outbox.many(ids)
            except Exception:  # the database is in trouble too: say what is known
                logger.debug("could not read the outbox rows of failed requests", exc_info=True)
        now = self.uow.clock.now()
        for outcome, method, chat in requests:
            if outcome.kind is OutcomeKind.THROTTLED:  # the rate limiter has logged the 429
                logger.debug("Bot API %s to chat %s throttled (%s); outbox row %s waits %.0f s",
                             method, chat, outcome.error, outcome.outbox_id, outcome.retry_after)
                continue
            row = rows.get(outcome.outbox_id)
            if row is None:
                then = "not recorded; sent again when its claim expires" if not recorded else "outcome unknown"
            elif row.status == "failed":
                then = (f"failed for good after {row.attempts} attempt(s)" if outcome.kind is OutcomeKind.RETRY
                        else "refused for good, not retried")
            elif row.status == "pending":
                wait = max((row.next_attempt_at - now).total_seconds(), 0.0)
                then = f"attempt {row.attempts} of {outbox.MAX_ATTEMPTS}, next in {wait:.0f} s"
            else:
                then = row.status
            logger.warning("Bot API %s to chat %s failed (%s); outbox row %s: %s",
                           method, chat, outcome.error, outcome.outbox_id, then)
