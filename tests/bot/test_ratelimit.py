"""Tests for :mod:`bot.ratelimit`.

The limiter is driven directly through ``process_request`` with a fake callback that records the time of
every call, on a fake clock (:class:`tests.fake_time.FakeTime`) the limiter takes as its ``monotonic`` and
``sleep``. Time moves only when every request waits, straight to the next wake-up, so the times and waits
asserted here are exact whatever the load on the machine, and a 20-second wait takes no real time.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import warnings
from typing import Any

import pytest
from telegram.error import BadRequest, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.ratelimit import MESSAGE_ENDPOINTS, TelegramRateLimiter, retry_after_seconds
from tests.fake_time import FakeTime, settle

OVERALL_STEP = 1e-3  # the overall spacing at 10,000/s (0.1 ms) is within this of "at once"
SENT = {"ok": True, "endpoint": "sendMessage"}  # what FakeApi answers a sendMessage


def retry_after(seconds: float) -> RetryAfter:
    """A RetryAfter as PTB raises it (its constructor warns unless PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        if float(seconds).is_integer():
            return RetryAfter(int(seconds))
        return RetryAfter(dtm.timedelta(seconds=seconds))


class FakeApi:
    """Async callback recording ``(seconds since start, endpoint, chat_id)``; raises queued errors first."""

    def __init__(self, time: FakeTime, errors: list[BaseException] | None = None) -> None:
        self.time = time
        self.start = time.now
        self.calls: list[tuple[float, str, Any]] = []
        self.errors = list(errors or [])

    async def __call__(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((self.time.now - self.start, endpoint, data.get("chat_id")))
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True, "endpoint": endpoint}

    def times(self, chat_id: Any = None) -> list[float]:
        return [t for t, _, c in self.calls if chat_id is None or c == chat_id]


def make_limiter(time: FakeTime, **overrides: Any) -> TelegramRateLimiter:
    params: dict[str, Any] = {
        "overall_per_second": 10_000.0,  # per-chat tests: the overall spacing (no burst) must not bind
        "group_per_minute": 3.0,
        "private_per_second": 20.0,
        "private_burst": 2,
        "max_retries": 3,
        "monotonic": time.monotonic,
        "sleep": time.sleep,
    }
    params.update(overrides)
    return TelegramRateLimiter(**params)


async def send(
    limiter: TelegramRateLimiter,
    api: FakeApi,
    chat_id: Any,
    endpoint: str = "sendMessage",
    rate_limit_args: int | None = None,
) -> Any:
    data = {"chat_id": chat_id, "text": "hi"}
    return await limiter.process_request(
        callback=api,
        args=(endpoint, data),
        kwargs={},
        endpoint=endpoint,
        data=data,
        rate_limit_args=rate_limit_args,
    )


def at(*seconds: float) -> Any:
    """Times after the start, up to the overall spacing."""
    return pytest.approx(list(seconds), abs=OVERALL_STEP)


async def test_defaults_and_lifecycle() -> None:
    limiter = TelegramRateLimiter()
    assert limiter.overall_per_second == 30.0
    assert limiter.group_per_minute == 20.0
    assert limiter.private_per_second == 1.0
    assert limiter.private_burst == 3
    assert limiter.max_retries == 3
    assert limiter.max_tracked_chats == 10_000
    await limiter.initialize()
    await limiter.shutdown()
    assert limiter.stats.as_dict() == {"throttled_waits": 0, "retry_after_hits": 0, "retries": 0}


async def test_by_default_it_runs_on_the_real_clock() -> None:
    limiter = TelegramRateLimiter(private_per_second=1000.0, overall_per_second=10_000.0)
    api = FakeApi(FakeTime(), errors=[retry_after(0.01)])  # the fake only numbers the calls here
    assert await asyncio.gather(*(send(limiter, api, 42) for _ in range(2))) == [SENT] * 2
    assert len(api.calls) == 3  # one retried after a real 10 ms
    assert limiter.stats.retries == 1


def test_message_endpoints_cover_the_documented_list() -> None:
    assert "sendmessage" in MESSAGE_ENDPOINTS
    assert "forwardmessages" in MESSAGE_ENDPOINTS
    assert "editmessagetext" not in MESSAGE_ENDPOINTS
    assert "answercallbackquery" not in MESSAGE_ENDPOINTS
    assert len(MESSAGE_ENDPOINTS) == 19


async def test_private_chat_burst_then_spacing() -> None:
    time = FakeTime()
    limiter = make_limiter(time)  # burst 2, then one per 0.05 s
    api = FakeApi(time)
    results = await time.run(asyncio.gather(*(send(limiter, api, 42) for _ in range(5))))

    assert results == [SENT] * 5
    # the burst goes out without waiting, the rest are spaced at 1 / private_per_second
    assert api.times() == at(0, 0, 0.05, 0.10, 0.15)
    assert [wait for wait in time.sleeps if wait > OVERALL_STEP] == pytest.approx([0.05] * 3)
    assert limiter.stats.throttled_waits == 3


async def test_private_chats_do_not_throttle_each_other() -> None:
    time = FakeTime()
    limiter = make_limiter(time)
    api = FakeApi(time)
    await time.run(asyncio.gather(
        *(send(limiter, api, 1) for _ in range(3)),
        *(send(limiter, api, 2) for _ in range(2)),
    ))

    # only chat 1's third message waited; chat 2 used its own full bucket
    assert api.times(1) == at(0, 0, 0.05)
    assert api.times(2) == at(0, 0)
    assert limiter.stats.throttled_waits == 1


async def test_group_chat_window() -> None:
    # private_burst=1 would throttle the 2nd message if groups were treated as private chats
    time = FakeTime()
    limiter = make_limiter(time, group_per_minute=3.0, private_burst=1)
    api = FakeApi(time)
    await time.run(asyncio.gather(
        send(limiter, api, -100123), send(limiter, api, "-100123"), send(limiter, api, -100123)
    ))
    assert api.times() == at(0, 0, 0)
    assert limiter.stats.throttled_waits == 0

    # the bucket is full: the 4th message waits until one has drained, 60 / 3 = 20 s
    fourth = asyncio.create_task(send(limiter, api, -100123))
    await time.advance(19.9)
    assert len(api.calls) == 3

    # meanwhile another group, addressed by @username (case-insensitive), has its own bucket
    await time.run(asyncio.gather(
        send(limiter, api, "@SomeChannel"),
        send(limiter, api, "@somechannel"),
        send(limiter, api, "@SOMECHANNEL"),
        send(limiter, api, -5),
    ))
    assert api.times()[3:] == at(19.9, 19.9, 19.9, 19.9)
    assert not fourth.done()

    await time.run(fourth)
    assert api.calls[-1][0] == pytest.approx(20.0, abs=OVERALL_STEP)
    assert await time.run(send(limiter, api, "@someCHANNEL")) == SENT
    assert api.calls[-1][0] == pytest.approx(19.9 + 20.0, abs=OVERALL_STEP)
    assert limiter.stats.throttled_waits == 2


@pytest.mark.parametrize(
    "endpoint",
    ["editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "deleteMessage", "getMe"],
)
async def test_other_endpoints_not_throttled(endpoint: str) -> None:
    time = FakeTime()
    limiter = make_limiter(time, private_per_second=0.5, private_burst=1, overall_per_second=2.0)
    api = FakeApi(time)
    await time.run(asyncio.gather(*(send(limiter, api, 7, endpoint=endpoint) for _ in range(20))))
    assert len(api.calls) == 20
    assert time.sleeps == []
    assert limiter.stats.throttled_waits == 0
    assert limiter.tracked_chats == 0  # no per-chat state created for unthrottled requests

    # and they did not use up the chat's or the overall capacity
    await time.run(send(limiter, api, 7))
    assert time.sleeps == []
    assert api.times() == [0.0] * 21


async def test_endpoint_names_compared_case_insensitively() -> None:
    time = FakeTime()
    limiter = make_limiter(time, private_burst=1)
    api = FakeApi(time)
    await time.run(asyncio.gather(send(limiter, api, 9, endpoint="SENDMESSAGE"), send(limiter, api, 9, "sendphoto")))
    assert api.times() == at(0, 0.05)
    assert limiter.stats.throttled_waits == 1


async def test_overall_limit_across_chats_has_no_burst() -> None:
    """Telegram counts 30 per second in any window: a burst of 30 plus the drain would send up to 60 in the
    first second, so the overall limiter spaces every message (bench/invitations.py: 174 × 429 → 0)."""
    time = FakeTime()
    limiter = make_limiter(time, overall_per_second=2.0)
    api = FakeApi(time)
    await time.run(asyncio.gather(*(send(limiter, api, chat) for chat in (1, 2, 3))))
    step = 1 / (2.0 * 0.985)  # just under 2 per second
    assert api.times() == pytest.approx([0, step, 2 * step])
    assert limiter.stats.throttled_waits == 2


async def test_retry_after_once_then_success() -> None:
    time = FakeTime()
    limiter = make_limiter(time)
    api = FakeApi(time, errors=[retry_after(0.3)])
    result = await time.run(send(limiter, api, 42))

    assert result == SENT
    assert api.times() == pytest.approx([0, 0.3])
    assert time.sleeps == pytest.approx([0.3])
    assert limiter.stats.retry_after_hits == 1
    assert limiter.stats.retries == 1


async def test_retry_after_pauses_only_that_chat() -> None:
    time = FakeTime()
    limiter = make_limiter(time)
    api = FakeApi(time, errors=[retry_after(0.3)])
    first = asyncio.create_task(send(limiter, api, 1))
    await settle()  # chat 1 got its RetryAfter and is now paused
    assert len(api.calls) == 1
    await time.run(asyncio.gather(
        send(limiter, api, 1),
        send(limiter, api, 2),
        send(limiter, api, 1, endpoint="editMessageText"),
        send(limiter, api, None, endpoint="answerCallbackQuery"),
    ))
    await time.run(first)

    by_call = [(endpoint, chat) for _, endpoint, chat in api.calls]
    times = {(endpoint, chat): t for t, endpoint, chat in api.calls}
    # chat 2 and the chat-less callback answer were not held up by chat 1's pause
    assert times[("sendMessage", 2)] == pytest.approx(0, abs=OVERALL_STEP)
    assert times[("answerCallbackQuery", None)] == 0
    assert by_call.index(("sendMessage", 2)) < by_call.index(("editMessageText", 1))
    # every later request to chat 1 (even an edit) waited for the pause
    later_to_chat_1 = [t for t, _, chat in api.calls[1:] if chat == 1]
    assert later_to_chat_1 == at(0.3, 0.3, 0.3)
    assert limiter.stats.retry_after_hits == 1


async def test_retry_after_in_several_chats_pauses_all_messages() -> None:
    time = FakeTime()
    limiter = make_limiter(time)
    api = FakeApi(time, errors=[retry_after(0.3), retry_after(0.3)])
    failing = [asyncio.create_task(send(limiter, api, chat)) for chat in (1, 2)]
    await time.advance(0.05)  # both got their RetryAfter (chat 2 after the overall spacing)
    assert len(api.calls) == 2
    await time.run(asyncio.gather(send(limiter, api, 3), send(limiter, api, 4, endpoint="editMessageText")))
    await time.run(asyncio.gather(*failing))

    times = {(endpoint, chat): t for t, endpoint, chat in api.calls}
    # an unrelated chat's new message waits for the overall pause; edits are not paused
    assert times[("sendMessage", 3)] == pytest.approx(0.3, abs=OVERALL_STEP)
    assert times[("editMessageText", 4)] == pytest.approx(0.05)
    assert limiter.stats.retry_after_hits == 2
    assert limiter.stats.retries == 2


async def test_retry_after_beyond_max_retries_is_reraised() -> None:
    time = FakeTime()
    limiter = make_limiter(time, max_retries=1)
    errors = [retry_after(0.05), retry_after(0.05), retry_after(0.05)]
    api = FakeApi(time, errors=list(errors))
    with pytest.raises(RetryAfter) as caught:
        await time.run(send(limiter, api, 42))
    assert caught.value is errors[1]
    assert api.times() == pytest.approx([0, 0.05])
    assert limiter.stats.retry_after_hits == 2
    assert limiter.stats.retries == 1


async def test_rate_limit_args_override_max_retries() -> None:
    time = FakeTime()
    limiter = make_limiter(time, max_retries=3)
    api = FakeApi(time, errors=[retry_after(0.05)])
    with pytest.raises(RetryAfter):
        await time.run(send(limiter, api, 42, rate_limit_args=0))
    assert len(api.calls) == 1

    limiter = make_limiter(time, max_retries=0)
    api = FakeApi(time, errors=[retry_after(0.05), retry_after(0.05)])
    assert await time.run(send(limiter, api, 42, rate_limit_args=2)) == SENT
    assert len(api.calls) == 3


@pytest.mark.parametrize("error", [BadRequest("chat not found"), ValueError("boom"), TimeoutError()])
async def test_other_exceptions_propagate_unchanged(error: BaseException) -> None:
    time = FakeTime()
    limiter = make_limiter(time)
    api = FakeApi(time, errors=[error])
    with pytest.raises(type(error)) as caught:
        await time.run(send(limiter, api, 42))
    assert caught.value is error
    assert len(api.calls) == 1
    assert limiter.stats.retry_after_hits == 0
    assert limiter.stats.retries == 0


async def test_lru_eviction_bounds_tracked_chats() -> None:
    time = FakeTime()
    limiter = make_limiter(time, max_tracked_chats=3)
    api = FakeApi(time)
    for chat in (1, 2, 3, 4, 5):
        await time.run(send(limiter, api, chat))
    assert limiter.tracked_chats == 3
    assert list(limiter._chats) == [3, 4, 5]

    await time.run(send(limiter, api, 3))  # 3 becomes most recently used
    await time.run(send(limiter, api, 6))
    assert list(limiter._chats) == [5, 3, 6]


def test_retry_after_seconds_accepts_int_and_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    assert retry_after_seconds(retry_after(2)) == 2.0  # int, deprecation warning silenced
    assert retry_after_seconds(retry_after(0.5)) == pytest.approx(0.5)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    assert retry_after_seconds(retry_after(2)) == 2.0  # now a timedelta
    assert retry_after_seconds(retry_after(0.5)) == pytest.approx(0.5)


def test_invalid_arguments_rejected() -> None:
    with pytest.raises(ValueError):
        TelegramRateLimiter(private_burst=0)
    with pytest.raises(ValueError):
        TelegramRateLimiter(overall_per_second=0)
    with pytest.raises(ValueError):
        TelegramRateLimiter(max_tracked_chats=0)


class SlowApi(FakeApi):
    """Telegram receives the first ``stalled`` requests ``delay`` seconds after they were sent (a stall in the
    bot's process or on the way), the others at once; records when Telegram received each."""

    def __init__(self, time: FakeTime, *, stalled: int, delay: float) -> None:
        super().__init__(time)
        self.stalled, self.delay = stalled, delay

    async def __call__(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        if self.stalled > 0:
            self.stalled -= 1
            await self.time.sleep(self.delay)
        return await super().__call__(endpoint, data)


def most_in_one_window(times: list[float], window: float = 1.0) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_a_stall_does_not_crowd_the_window_telegram_sees() -> None:
    """Messages held up between the bot and Telegram arrive together with the ones sent after them; pacing by
    when each was answered (Telegram saw it by then) keeps any one-second window of arrivals within the rate,
    where spacing by send time alone put 15 of 10 allowed into one second (issue 21)."""
    time = FakeTime()
    limiter = make_limiter(time, overall_per_second=10.0)
    api = SlowApi(time, stalled=5, delay=0.5)
    await time.run(asyncio.gather(*(send(limiter, api, chat) for chat in range(1, 31))))
    assert len(api.times()) == 30
    assert most_in_one_window(api.times()) <= 10


async def test_the_margin_shrinks_after_a_429_and_recovers_when_quiet() -> None:
    time = FakeTime()
    limiter = make_limiter(time, overall_per_second=10.0)
    api = FakeApi(time, errors=[retry_after(0.1)])
    await time.run(send(limiter, api, 1))
    assert limiter.margin == pytest.approx(0.985 * 0.85)  # one 429: paced lower
    api.errors = [retry_after(0.1)]
    await time.run(send(limiter, api, 2))
    assert limiter.margin == pytest.approx(0.985 * 0.85)  # within a second of the cut: the same crowded second
    await time.advance(2.0)
    api.errors = [retry_after(0.1), retry_after(0.1)]
    await time.run(asyncio.gather(send(limiter, api, 2), send(limiter, api, 3)))
    assert limiter.margin == pytest.approx(0.985 * 0.85 ** 2)  # two more in a later second: cut once more
    cut = limiter.margin
    await time.advance(35.0)  # three quiet recovery periods
    await time.run(send(limiter, api, 4))
    assert limiter.margin == pytest.approx(cut + 0.03)
    await time.advance(1000.0)
    await time.run(send(limiter, api, 5))
    assert limiter.margin == pytest.approx(0.985)  # never above the resting margin
