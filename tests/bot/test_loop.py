"""The event loop the bot runs on (bot/loop.py): uvloop by default, asyncio's own on request."""

from __future__ import annotations

import asyncio

import pytest

from bot import loop
from bot.settings import EventLoop, Settings


async def _kind() -> str:
    return loop.loop_name(asyncio.get_running_loop())


def test_uvloop_is_the_default_and_asyncio_can_be_chosen() -> None:
    pytest.importorskip("uvloop")
    assert Settings(_env_file=None).event_loop is EventLoop.UVLOOP  # type: ignore[call-arg]
    assert loop.run(_kind()) == "uvloop"
    assert loop.run(_kind(), choice="asyncio") == "asyncio"


def test_an_unknown_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event loop"):
        loop.loop_factory("trio")


def test_without_uvloop_the_standard_loop_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(loop.importlib, "import_module", missing)
    assert loop.loop_factory("uvloop") is None
    assert loop.run(_kind()) == "asyncio"


async def test_the_tests_run_on_the_loop_the_bot_runs_on() -> None:
    from tests.conftest import TEST_EVENT_LOOP

    pytest.importorskip("uvloop")
    assert loop.loop_name(asyncio.get_running_loop()) == TEST_EVENT_LOOP
