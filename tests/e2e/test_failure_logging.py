"""A failed Bot API request in the log, as an operator reads it at LOG_LEVEL=INFO: one line naming the
method, the chat, the error and the next attempt, without a traceback (that is written at DEBUG only)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from telegram.error import NetworkError

from bot.emulator import BotApiEmulator
from bot.logs import configure_logging
from services.platform import notify
from tests.e2e.harness import TOKEN, running_bot


@contextlib.contextmanager
def logging_as_run(level: str) -> Iterator[io.StringIO]:
    """Logging configured as ``python -m bot run`` configures it at ``level``, written to a buffer."""
    root = logging.getLogger()
    before, filters = root.level, {handler: list(handler.filters) for handler in root.handlers}
    stream = io.StringIO()
    handler = configure_logging(level, secrets=[TOKEN], stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
        for existing, kept in filters.items():
            existing.filters[:] = kept


@pytest.fixture
def info_log() -> Iterator[io.StringIO]:
    """Logging as at LOG_LEVEL=INFO."""
    with logging_as_run("INFO") as stream:
        yield stream


async def test_a_transient_bot_api_failure_is_one_line_without_a_traceback(
    emulator: BotApiEmulator, database_url: str, info_log: io.StringIO
) -> None:
    async with running_bot(emulator, database_url) as bot:
        emulator.user(70)
        emulator.fail_next(1, 502)
        async with bot.uow() as u:
            await notify.to_address(u, address="70", key="start.bound", params={"name": "13812345678"})
            await u.commit()
        await emulator.wait_for_messages(70, 1, timeout=30)
    output = info_log.getvalue()
    failures = [line for line in output.splitlines() if "sendMessage" in line]
    assert len(failures) == 1, output
    assert " WARNING bot.dispatcher: Bot API sendMessage to chat 70 failed (NetworkError: Bad Gateway)" in failures[0]
    assert re.search(r"outbox row \d+: attempt 1 of 8, next in [12] s$", failures[0]), failures[0]
    assert "Traceback" not in output and "13812345678" not in output


def _fail(log: Callable[[NetworkError], None]) -> None:
    try:
        raise NetworkError("Bad Gateway")
    except NetworkError as error:
        log(error)


def test_a_failed_poll_is_one_line_and_its_traceback_shows_only_at_debug() -> None:
    from bot.runtime import _polling_failed

    with logging_as_run("INFO") as info:
        _fail(_polling_failed)
    assert info.getvalue().splitlines() == [info.getvalue().splitlines()[0]]
    assert info.getvalue().rstrip().endswith(
        "WARNING bot.runtime: Bot API getUpdates failed (NetworkError: Bad Gateway); polling again shortly"
    )
    with logging_as_run("DEBUG") as debug:
        _fail(_polling_failed)
    assert "Traceback (most recent call last)" in debug.getvalue()


def test_what_ptb_logs_with_a_traceback_for_a_failed_request_is_one_line_too() -> None:
    ptb = logging.getLogger("telegram.ext.Updater")
    with logging_as_run("INFO") as info:
        _fail(lambda _: ptb.exception("Error while calling `get_updates` one more time"))
        _fail(lambda error: ptb.error("no error handler", exc_info=error))
        try:
            raise ValueError("a bug")
        except ValueError:
            ptb.exception("a bug keeps its traceback")
    lines = info.getvalue().splitlines()
    assert lines[0].endswith("Error while calling `get_updates` one more time (NetworkError: Bad Gateway)")
    assert lines[1].endswith("no error handler (NetworkError: Bad Gateway)")
    assert lines[2].endswith("a bug keeps its traceback") and lines[3] == "Traceback (most recent call last):"
    with logging_as_run("DEBUG") as debug:
        _fail(lambda _: ptb.exception("Error while calling `get_updates` one more time"))
    assert "Traceback (most recent call last)" in debug.getvalue()
