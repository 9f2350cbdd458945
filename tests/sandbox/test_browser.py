"""The sandbox page in a real browser: headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright.

A trainee picks a demo staff member, sends /help and sees the staff commands; then picks the
unbound demo account, types an invite code made on the command line, and is welcomed as bound.
Skipped, with the reason, where Chromium is missing or cannot be launched.

The second test walks a staff member, an expert and a supervisor on a 390×844 page (issue 20). Screenshots are
saved in the tests' temporary directories; with ``UPDATE_SCREENSHOT=1`` the staff member's chat replaces
``docs/sandbox.png`` (the README's picture).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Sandbox, open_sandbox
from bot.settings import Settings
from messages import translate
from services.demo import demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "sandbox.png"
PHONE = {"width": 420, "height": 860}


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium, or a skip saying why there is none."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed")
    async with async_playwright() as playwright:
        try:
            chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                                        timeout=30_000)
        except PlaywrightError as error:
            pytest.skip(f"Playwright cannot launch {CHROMIUM}: {str(error).splitlines()[0]}")
        try:
            yield chromium
        finally:
            await chromium.close()


async def cli(sandbox: Sandbox, *args: str) -> str:
    """``python -m bot <args>`` on the sandbox's database; returns what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "TELEGRAM_"))}
    env["DATABASE_URL"] = sandbox.settings.database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_trainee_sees_the_staff_help_then_binds_a_newcomer_with_an_invite_from_the_cli(
    browser: Any, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    async with open_sandbox(Settings(_env_file=None), database=tmp_path / "sandbox.db", port=0) as sandbox:
        page = await browser.new_page(viewport=PHONE)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(sandbox.url)

        # A division's staff member: /help lists the staff commands.
        await page.locator(f'.persona[data-user-id="{demo.DEMO_USER_BASE + 2}"]').click()
        await page.fill("#text", "/help")
        await page.press("#text", "Enter")
        help_answer = page.locator("#messages .msg.in").filter(has_text="/invite")
        await expect(help_answer).to_be_visible()
        await expect(help_answer).to_contain_text("/unbind")
        await page.fill("#text", "/language")
        await page.click("#send")
        await expect(page.locator("#messages .buttons button").first).to_be_visible()
        shot = tmp_path / "sandbox.png"
        await page.screenshot(path=str(shot))
        assert shot.read_bytes().startswith(b"\x89PNG")

        # The unbound demo account redeems a code made on the command line.
        async with sandbox.uow() as uow:
            (person,) = (await demo.personas(uow))[1]
        out = await cli(sandbox, "invite", "expert", str(person.person_id))
        match = re.search(r"^code: (\S+)$", out, re.M)
        assert match, out
        await page.click("#back")
        await page.locator(f'.persona[data-user-id="{demo.NEW_USER_ID}"]').click()
        await expect(page.locator("#unbound-hint")).to_be_visible()
        await page.fill("#text", match.group(1))
        await page.press("#text", "Enter")
        await expect(page.locator("#messages .msg.in").filter(has_text="绑定成功")).to_be_visible()
        await expect(page.locator("#subtitle")).to_contain_text(person.name)
        await expect(page.locator("#unbound-hint")).to_be_hidden()
        assert errors == []


PHONE_390 = {"width": 390, "height": 844}


async def _say(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


def _live_keyboards(sandbox: Sandbox, chat_id: int) -> list[int]:
    from bot.emulator import buttons

    return [m.message_id for m in sandbox.emulator.messages(chat_id) if buttons(m) and not m.deleted]


async def test_staff_an_expert_and_a_supervisor_walk_their_main_journey_on_a_phone(
    browser: Any, tmp_path: Path
) -> None:
    """Issue 20's walk at 390×844: each role's "/" menu lists its own commands, no message shows an internal
    identifier, a question keeps at most one live keyboard, and a screenshot of each chat is saved (with
    ``UPDATE_SCREENSHOT=1`` the staff one becomes the README's picture)."""
    from playwright.async_api import expect

    from services.platform.roles import Role
    from tests.plain_words import assert_plain

    async with open_sandbox(Settings(_env_file=None), database=tmp_path / "sandbox.db", port=0) as sandbox:
        async with sandbox.uow() as uow:
            playable, _ = await demo.personas(uow)
        staff = next(p for p in playable if p.roles == (Role.STAFF,) or set(p.roles) == {Role.STAFF})
        expert = next(p for p in playable if set(p.roles) == {Role.EXPERT})
        supervisor = next(p for p in playable if set(p.roles) == {Role.SUPERVISOR})
        page = await browser.new_page(viewport=PHONE_390)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(sandbox.url)

        for persona, own, not_own in ((staff, "/newactivity", "/report"), (expert, "/profile", "/newactivity"),
                                      (supervisor, "/report", "/newactivity")):
            await page.goto(f"{sandbox.url}#/u/{persona.user_id}")
            await _say(page, "/help")
            await expect(page.locator("#messages .msg.in").last).to_contain_text("/")
            await page.click("#commands")
            menu = page.locator("#commands-menu")
            await expect(menu).to_contain_text(own)
            assert not re.search(rf"{re.escape(not_own)}(?![a-z_])", await menu.inner_text())
            await page.click("#commands")  # closes it
            await page.screenshot(path=str(tmp_path / f"{persona.user_id}.png"))

        # The supervisor starts a report: every answered question loses its buttons.
        chat = int(supervisor.user_id)
        await _say(page, "/report")
        await expect(page.locator("#messages .msg.in").last.locator(".buttons button").first).to_be_visible()
        await _say(page, "医院")
        await expect(page.locator("#messages .msg.in").last.locator(".buttons button").first).to_be_visible()
        assert len(_live_keyboards(sandbox, chat)) <= 1
        await page.locator("#messages .msg.in").last.locator(".buttons button").first.click()
        await expect(page.locator("#messages .msg.in").last).to_contain_text("参保")
        assert len(_live_keyboards(sandbox, chat)) <= 1
        await _say(page, "/cancel")
        await expect(page.locator("#messages .msg.in .text").last).to_have_text(translate("zh", "report.cancelled"))
        await sandbox.emulator.wait_for(lambda: _live_keyboards(sandbox, chat) == [])  # /cancel retires it

        shot = tmp_path / f"{staff.user_id}.png"
        assert shot.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(shot, SCREENSHOT)
        assert_plain(sandbox.emulator.all_messages())
        assert errors == []
