"""``python -m bot sandbox`` as a newcomer runs it: it says where the page is, serves it, stops on Ctrl+C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.e2e.harness import free_port


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TELEGRAM_"))}


def _start(tmp_path: Path, port: int, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", str(port), "--db", str(tmp_path / "sandbox.db"), *extra],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("press Ctrl+C"):
            return process, lines
    process.kill()
    raise AssertionError(f"the sandbox did not start: {lines} {process.stderr.read() if process.stderr else ''}")


def _stop(process: subprocess.Popen[str], *, forgotten_ok: bool = False) -> tuple[int, str]:
    """Stop the sandbox; nothing on stderr (``forgotten_ok``: after a restart the fresh emulator no longer has the
    messages sent before it, so an edit of one of them is refused and logged; nothing else may be)."""
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    # the demo's open leads have deadlines; near a year's end they fall in a year the holiday data does not cover yet
    # (services.platform.workdays says so once, as it would for any lead filed then)
    lines = [line for line in err.splitlines() if line.strip() and "no official holiday data for" not in line]
    if forgotten_ok:
        lines = [line for line in lines if "Message to edit not found" not in line]
    assert lines == [], err
    return process.returncode, out


def test_the_sandbox_prints_its_address_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process, lines = _start(tmp_path, port)
    try:
        assert "demo data created" in lines
        assert f"sandbox ready: open http://127.0.0.1:{port}/ in a browser" in lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/personas", timeout=10) as response:
            personas = json.load(response)["personas"]
        assert len(personas) == 313
    finally:
        status, out = _stop(process)
    assert status == 0 and out.strip().endswith("sandbox stopped")

    again, lines = _start(tmp_path, port)  # the same database: the demo data is kept, not made twice
    status, _ = _stop(again)
    assert status == 0 and "demo data created" not in lines


def test_a_taken_port_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "sandbox", "--port", str(port), "--db", str(tmp_path / "s.db")],
            env=_env(), capture_output=True, text=True, timeout=60, check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_the_new_commands_have_help() -> None:
    for command in (["sandbox", "--help"], ["demo-data", "--help"]):
        result = subprocess.run([sys.executable, "-m", "bot", *command], env=_env(), capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0 and "usage:" in result.stdout, result.stderr


def test_the_sandbox_keeps_its_time_across_a_restart_and_the_cli_works_on_its_data(tmp_path: Path) -> None:
    """Issue 20: a restart does not send the clock back while the data stays; the printed CLI hint works."""
    port = free_port()
    process, lines = _start(tmp_path, port)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/clock/advance", method="POST",
                                         data=json.dumps({"hours": 48}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.load(response)["offset_hours"] == 48
    finally:
        _stop(process)
    hint = next(line for line in lines if line.startswith("command line on this sandbox"))
    assert f"--sandbox-db {tmp_path / 'sandbox.db'}" in hint

    process, _ = _start(tmp_path, port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/clock", timeout=10) as response:
            assert json.load(response)["offset_hours"] == 48  # restored from the sandbox database
        reset = urllib.request.Request(f"http://127.0.0.1:{port}/api/clock/reset", method="POST", data=b"{}",
                                       headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(reset, timeout=10) as response:
            assert json.load(response)["offset_hours"] == 0
    finally:
        _stop(process, forgotten_ok=True)

    verified = subprocess.run([sys.executable, "-m", "bot", "--sandbox-db", str(tmp_path / "sandbox.db"), "audit",
                               "verify"], env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert verified.returncode == 0, verified.stderr
    missing = subprocess.run([sys.executable, "-m", "bot", "--sandbox-db", str(tmp_path / "none.db"), "audit",
                              "verify"], env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode != 0 and "no sandbox database" in missing.stderr
