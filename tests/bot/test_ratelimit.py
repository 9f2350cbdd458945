"""Tests for :mod:`bot.ratelimit`.

The limiter is driven directly through ``process_request`` with a fake callback that records the
event-loop time of every call. Timing assertions are lower bounds and orderings only (shared CI
machines are slow, never fast), and rates are small so the whole module runs in a few seconds.
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

EPS = 0.01  # timer granularity / float rounding


def retry_after(seconds: float) -> RetryAfter:
    """A RetryAfter as PTB raises it (its constructor warns unless PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        if float(seconds).is_integer():
            return RetryAfter(int(seconds))
        return RetryAfter(dtm.timedelta(seconds=seconds))


class FakeApi:
    """Async callback recording ``(loop time, endpoint, chat_id)``; raises queued errors first."""

    def __init__(self, errors: list[BaseException] | None = None) -> None:
        self.calls: list[tuple[float, str, Any]] = []
        self.errors = list(errors or [])

    async def __call__(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((asyncio.get_running_loop().time(), endpoint, data.get("chat_id")))
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True, "endpoint": endpoint}

    def times(self, chat_id: Any = None) -> list[float]:
        return [t for t, _, c in self.calls if chat_id is None or c == chat_id]


def make_limiter(**overrides: Any) -> TelegramRateLimiter:
    params: dict[str, Any] = {
        "overall_per_second": 10_000.0,  # per-chat tests: the overall spacing (no burst) must not bind
        "group_per_minute": 3.0,
        "private_per_second": 20.0,
        "private_burst": 2,
        "max_retries": 3,
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


def now() -> float:
    return asyncio.get_running_loop().time()


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


def test_message_endpoints_cover_the_documented_list() -> None:
    assert "sendmessage" in MESSAGE_ENDPOINTS
    assert "forwardmessages" in MESSAGE_ENDPOINTS
    assert "editmessagetext" not in MESSAGE_ENDPOINTS
    assert "answercallbackquery" not in MESSAGE_ENDPOINTS
    assert len(MESSAGE_ENDPOINTS) == 19


async def test_private_chat_burst_then_spacing() -> None:
    limiter = make_limiter()  # burst 2, then one per 0.05 s
    api = FakeApi()
    start = now()
    results = await asyncio.gather(*(send(limiter, api, 42) for _ in range(5)))

    assert results == [{"ok": True, "endpoint": "sendMessage"}] * 5
    times = api.times()
    assert times == sorted(times)
    # the burst goes out without waiting, the rest are spaced at 1 / private_per_second
    assert limiter.stats.throttled_waits == 3
    for k in range(2, 5):
        assert times[k] - start >= (k - 1) * 0.05 - EPS
        assert times[k] - times[k - 1] >= 0.05 - EPS


async def test_private_chats_do_not_throttle_each_other() -> None:
    limiter = make_limiter()
    api = FakeApi()
    await asyncio.gather(
        *(send(limiter, api, 1) for _ in range(3)),
        *(send(limiter, api, 2) for _ in range(2)),
    )

    # only chat 1's third message waited; chat 2 used its own full bucket
    assert limiter.stats.throttled_waits == 1
    third_to_chat_1 = api.times(1)[2]
    assert all(t < third_to_chat_1 for t in api.times(2))


async def test_group_chat_window() -> None:
    # private_burst=1 would throttle the 2nd message if groups were treated as private chats
    limiter = make_limiter(group_per_minute=3.0, private_burst=1)
    api = FakeApi()
    await asyncio.gather(
        send(limiter, api, -100123), send(limiter, api, "-100123"), send(limiter, api, -100123)
    )
    assert len(api.calls) == 3
    assert limiter.stats.throttled_waits == 0

    # the window is full: the 4th message would wait ~20 s
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(send(limiter, api, -100123), timeout=0.2)
    assert len(api.calls) == 3

    # another group, addressed by @username (case-insensitive), has its own window
    await asyncio.gather(
        send(limiter, api, "@SomeChannel"),
        send(limiter, api, "@somechannel"),
        send(limiter, api, "@SOMECHANNEL"),
        send(limiter, api, -5),
    )
    assert len(api.calls) == 7
    assert limiter.stats.throttled_waits == 0
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(send(limiter, api, "@someCHANNEL"), timeout=0.1)


@pytest.mark.parametrize(
    "endpoint",
    ["editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "deleteMessage", "getMe"],
)
async def test_other_endpoints_not_throttled(endpoint: str) -> None:
    limiter = make_limiter(private_per_second=0.5, private_burst=1, overall_per_second=2.0)
    api = FakeApi()
    await asyncio.wait_for(
        asyncio.gather(*(send(limiter, api, 7, endpoint=endpoint) for _ in range(20))), timeout=2.0
    )
    assert len(api.calls) == 20
    assert limiter.stats.throttled_waits == 0
    assert limiter.tracked_chats == 0  # no per-chat state created for unthrottled requests

    # and they did not use up the chat's or the overall capacity
    await asyncio.wait_for(send(limiter, api, 7), timeout=0.5)


async def test_endpoint_names_compared_case_insensitively() -> None:
    limiter = make_limiter(private_burst=1)
    api = FakeApi()
    await asyncio.gather(send(limiter, api, 9, endpoint="SENDMESSAGE"), send(limiter, api, 9, "sendphoto"))
    assert limiter.stats.throttled_waits == 1


async def test_overall_limit_across_chats_has_no_burst() -> None:
    """Telegram counts 30 per second in any window: a burst of 30 plus the drain would send up to 60 in the
    first second, so the overall limiter spaces every message (bench/invitations.py: 174 × 429 → 0)."""
    limiter = make_limiter(overall_per_second=2.0)
    api = FakeApi()
    start = now()
    await asyncio.gather(*(send(limiter, api, chat) for chat in (1, 2, 3)))
    assert limiter.stats.throttled_waits == 2
    times = sorted(api.times())
    assert times[1] - start >= 0.5 - EPS and times[2] - start >= 1.0 - EPS


async def test_retry_after_once_then_success() -> None:
    limiter = make_limiter()
    api = FakeApi(errors=[retry_after(0.3)])
    start = now()
    result = await send(limiter, api, 42)

    assert result == {"ok": True, "endpoint": "sendMessage"}
    assert len(api.calls) == 2
    assert api.calls[1][0] - api.calls[0][0] >= 0.3 - EPS
    assert api.calls[1][0] - start >= 0.3 - EPS
    assert limiter.stats.retry_after_hits == 1
    assert limiter.stats.retries == 1


async def test_retry_after_pauses_only_that_chat() -> None:
    limiter = make_limiter()
    api = FakeApi(errors=[retry_after(0.3)])
    start = now()
    first = asyncio.create_task(send(limiter, api, 1))
    await asyncio.sleep(0.05)  # chat 1 is now paused
    await asyncio.gather(
        send(limiter, api, 1),
        send(limiter, api, 2),
        send(limiter, api, 1, endpoint="editMessageText"),
        send(limiter, api, None, endpoint="answerCallbackQuery"),
    )
    await first

    by_call = [(endpoint, chat) for _, endpoint, chat in api.calls]
    times = {(endpoint, chat): t for t, endpoint, chat in api.calls}
    # chat 2 and the chat-less callback answer were not held up by chat 1's pause
    assert times[("sendMessage", 2)] - start < 0.3
    assert times[("answerCallbackQuery", None)] - start < 0.3
    assert by_call.index(("sendMessage", 2)) < by_call.index(("editMessageText", 1))
    # every later request to chat 1 (even an edit) waited for the pause
    later_to_chat_1 = [t for t, _, chat in api.calls[1:] if chat == 1]
    assert len(later_to_chat_1) == 3
    assert all(t - start >= 0.3 - EPS for t in later_to_chat_1)
    assert limiter.stats.retry_after_hits == 1


async def test_retry_after_in_several_chats_pauses_all_messages() -> None:
    limiter = make_limiter()
    api = FakeApi(errors=[retry_after(0.3), retry_after(0.3)])
    start = now()
    failing = [asyncio.create_task(send(limiter, api, chat)) for chat in (1, 2)]
    await asyncio.sleep(0.05)
    await asyncio.gather(send(limiter, api, 3), send(limiter, api, 4, endpoint="editMessageText"))
    await asyncio.gather(*failing)

    times = {(endpoint, chat): t for t, endpoint, chat in api.calls}
    # an unrelated chat's new message waits for the overall pause; edits are not paused
    assert times[("sendMessage", 3)] - start >= 0.3 - EPS
    assert times[("editMessageText", 4)] - start < 0.3
    assert limiter.stats.retry_after_hits == 2
    assert limiter.stats.retries == 2


async def test_retry_after_beyond_max_retries_is_reraised() -> None:
    limiter = make_limiter(max_retries=1)
    errors = [retry_after(0.05), retry_after(0.05), retry_after(0.05)]
    api = FakeApi(errors=list(errors))
    with pytest.raises(RetryAfter) as caught:
        await send(limiter, api, 42)
    assert caught.value is errors[1]
    assert len(api.calls) == 2
    assert limiter.stats.retry_after_hits == 2
    assert limiter.stats.retries == 1


async def test_rate_limit_args_override_max_retries() -> None:
    limiter = make_limiter(max_retries=3)
    api = FakeApi(errors=[retry_after(0.05)])
    with pytest.raises(RetryAfter):
        await send(limiter, api, 42, rate_limit_args=0)
    assert len(api.calls) == 1

    limiter = make_limiter(max_retries=0)
    api = FakeApi(errors=[retry_after(0.05), retry_after(0.05)])
    assert await send(limiter, api, 42, rate_limit_args=2) == {"ok": True, "endpoint": "sendMessage"}
    assert len(api.calls) == 3


@pytest.mark.parametrize("error", [BadRequest("chat not found"), ValueError("boom"), TimeoutError()])
async def test_other_exceptions_propagate_unchanged(error: BaseException) -> None:
    limiter = make_limiter()
    api = FakeApi(errors=[error])
    with pytest.raises(type(error)) as caught:
        await send(limiter, api, 42)
    assert caught.value is error
    assert len(api.calls) == 1
    assert limiter.stats.retry_after_hits == 0
    assert limiter.stats.retries == 0


async def test_lru_eviction_bounds_tracked_chats() -> None:
    limiter = make_limiter(max_tracked_chats=3)
    api = FakeApi()
    for chat in (1, 2, 3, 4, 5):
        await send(limiter, api, chat)
    assert limiter.tracked_chats == 3
    assert list(limiter._chats) == [3, 4, 5]

    await send(limiter, api, 3)  # 3 becomes most recently used
    await send(limiter, api, 6)
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
