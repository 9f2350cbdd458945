"""The Bot API emulator and the load driver in a process of their own (``--emulator-process``).

In the default set-up of ``bench.button_presses`` the emulator (fake Telegram), the users pressing
and the bot share one process and one event loop, so the emulator's CPU is taken from the bot.
With ``--emulator-process`` a child process (``python -m bench.emulator_process``) runs the
:class:`~bench.button_presses.TimedEmulator`, the fake users and the measured phase; the bot under
test (product or baseline) stays in the parent and talks to it over loopback HTTP exactly as before.
Latencies are still taken inside the emulator, so both ends of a measurement use the same clock.

Parent and child speak JSON lines over the child's stdin/stdout: one command, one answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
from typing import Any

from bench.button_presses import (
    TOKEN,
    BenchError,
    Keyboard,
    Phase,
    TimedEmulator,
    Workload,
    open_keyboards,
    press_phase,
)
from bot.emulator import SentMessage
from bot.loop import UVLOOP, loop_name, run
from messages import translate


class EmulatorProcess:
    """The parent's handle on the child: its URLs, and one coroutine per command."""

    def __init__(self) -> None:
        self.base_url = ""
        self.file_base_url = ""
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the child and wait until its emulator listens."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.emulator_process", loop_name(asyncio.get_running_loop()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**26,
        )
        hello = await self._answer()
        self.base_url, self.file_base_url = hello["base_url"], hello["file_base_url"]

    async def call(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send one command and return the child's answer (a failure in the child raises here)."""
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write((json.dumps({"command": command, **arguments}) + "\n").encode())
        await self._process.stdin.drain()
        return await self._answer()

    async def _answer(self) -> dict[str, Any]:
        assert self._process is not None and self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise BenchError("the emulator process ended unexpectedly")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise BenchError(f"in the emulator process: {answer['error']}")
        return answer

    async def users(self, ids: list[int]) -> None:
        """Create the fake users."""
        await self.call("users", ids=ids)

    async def open_keyboards(self, ids: list[int]) -> None:
        """Each user sends /language to the bot; the child keeps their keyboard messages."""
        await self.call("open_keyboards", ids=ids)

    async def baseline_keyboards(self, ids: list[int]) -> None:
        """Put each user's keyboard message straight into the emulator (no bot involved)."""
        await self.call("baseline_keyboards", ids=ids)

    async def log_mark(self) -> tuple[int, int]:
        """Where the request log ends now, and how many 429s the emulator has answered so far."""
        answer = await self.call("log_mark")
        return answer["position"], answer["too_many_requests"]

    async def sends(self, start: int) -> list[tuple[int | None, int, float]]:
        """``(chat, status, at)`` of every ``sendMessage`` logged since ``start`` (``at``: the system's monotonic
        clock, the same in both processes)."""
        return [tuple(row) for row in (await self.call("sends", start=start))["sends"]]  # type: ignore[misc]

    async def texts_containing(self, ids: list[int], mark: str) -> dict[int, int]:
        """How many of the bot's messages in each user's chat contain ``mark``."""
        counts = (await self.call("texts_containing", ids=ids, mark=mark))["counts"]
        return {int(user): count for user, count in counts.items()}

    async def phase(self, work: Workload) -> Phase:
        """The measured phase, run in the child; ``cpu_s`` is the child's CPU time."""
        answer = await self.call("phase", work=dataclasses.asdict(work))
        return Phase(**answer["phase"])

    async def stop(self) -> None:
        """Stop the child's emulator and wait for the child."""
        if self._process is None:
            return
        with contextlib.suppress(BenchError, ConnectionError):
            await self.call("stop")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 10)
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        self._process = None


# ---- the child ---------------------------------------------------------------------------------


async def serve() -> None:
    """Run the emulator and answer the parent's commands until told to stop."""
    emulator = TimedEmulator(token=TOKEN)  # default flood limits: edits and answers are not limited
    await emulator.start()
    reader = asyncio.StreamReader(limit=2**26)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    keyboards: list[Keyboard] = []

    def reply(answer: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()

    reply({"base_url": emulator.base_url, "file_base_url": emulator.file_base_url})
    try:
        while line := await reader.readline():
            request = json.loads(line)
            command = request["command"]
            try:
                if command == "stop":
                    reply({})
                    break
                if command == "users":
                    for n, uid in enumerate(request["ids"]):
                        emulator.user(uid, first_name=f"Expert{n}", language_code="zh")
                elif command == "open_keyboards":
                    keyboards = await open_keyboards(emulator, request["ids"])
                elif command == "baseline_keyboards":
                    keyboards = _baseline_keyboards(emulator, request["ids"])
                elif command == "log_mark":
                    reply({"position": len(emulator.request_log),
                           "too_many_requests": emulator.stats.too_many_requests})
                    continue
                elif command == "sends":
                    reply({"sends": [(chat, status, at) for name, chat, status, at
                                     in emulator.request_log[request["start"]:] if name == "sendMessage"]})
                    continue
                elif command == "texts_containing":
                    mark = request["mark"]
                    reply({"counts": {str(uid): sum(1 for m in emulator.messages(uid) if mark in (m.text or ""))
                                      for uid in request["ids"]}})
                    continue
                elif command == "phase":
                    phase = await press_phase(emulator, keyboards, Workload(**request["work"]), probe_lag=False)
                    reply({"phase": dataclasses.asdict(phase)})
                    continue
                else:
                    raise BenchError(f"unknown command {command!r}")
                reply({})
            except Exception as error:  # reported to the parent, which raises it
                reply({"error": f"{type(error).__name__}: {error}"})
    finally:
        await emulator.stop()


def _baseline_keyboards(emulator: TimedEmulator, ids: list[int]) -> list[Keyboard]:
    keyboard = {
        "inline_keyboard": [[{"text": translate("zh", f"language.name.{code}"), "callback_data": f"lang:{code}"}
                             for code in ("zh", "en")]]
    }
    keyboards = []
    for n, uid in enumerate(ids):
        user = emulator.user(uid, first_name=f"Expert{n}", language_code="zh")
        msg = emulator.add_bot_message(
            SentMessage(0, uid, text=translate("zh", "language.choose"), reply_markup=keyboard)
        )
        keyboards.append(Keyboard(user, msg.message_id))
    return keyboards


if __name__ == "__main__":
    run(serve(), choice=sys.argv[1] if len(sys.argv) > 1 else UVLOOP)  # the parent's kind of loop
