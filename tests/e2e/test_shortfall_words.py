"""End to end through the emulator: a short draw explains itself in words (issue 13; 001 §11(二)): the requirement
by its line number and category, never an internal key like ``r5``, and an expert removed from the pool is given as
a reason ("已解聘出库 1 人"); the command line says the same in English."""

from __future__ import annotations

import re

from bot.cli_draws import _outcome_lines
from bot.emulator import BotApiEmulator
from services.activities.activities import RequirementInput
from services.draws import draws
from services.pool import lifecycle
from storage.activities import DrawRequest
from tests.builders import add_pool, build_org, staff_actor
from tests.e2e.talk import bind, emulator_without_limits  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_draw_flow import _activity
from tests.e2e.test_invitations import running_bot

CLERK = 81


async def test_a_shortfall_names_the_line_its_category_and_the_removed_expert(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        people = await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}"} for i in range(3)])
        admin = staff_actor(org.admin_id, org.bureau_id, admin=True)
        async with bot.uow() as u:
            await lifecycle.remove(u, actor=admin, expert_id=people[0], reason="违反工作纪律")
        async with bot.uow() as u:
            await draws.set_approval(u, actor=admin, org="bureau", enabled=False)
        await bind(bot, emulator, org.staff_id, CLERK, "staff")
        activity_id = await _activity(bot, org.staff_id, org.bureau_id, (RequirementInput("supervision", 3, 0),))
        await emulator.user(CLERK).send_command("/draw", str(activity_id))
        await emulator.wait_for(lambda: any("尚缺" in (m.text or "") for m in emulator.messages(CLERK)))
        card = next(m.text or "" for m in emulator.messages(CLERK) if "尚缺" in (m.text or ""))
        assert "条件1【医保监管类】需要 3 人，尚缺 1 人" in card and "已解聘出库 1 人" in card
        assert re.search(r"\br\d", card) is None

        async with bot.uow(readonly=True) as u:
            record = await draws.latest_draw(u, actor=admin, activity_id=activity_id)
            assert record is not None and record.id is not None
            seen = await draws.get_draw(u, actor=admin, draw_id=record.id)
        outcome = draws.DrawOutcome(request=DrawRequest(id=record.request_id, activity_id=activity_id,
                                                        requested_by=org.staff_id, status="short"),
                                    record=record, result=seen.result)
        line = next(ln for ln in _outcome_lines(outcome, seen.shortfalls) if "short:" in ln)
        assert line.startswith("  short: line 1 (") and "removed from the pool: 1" in line
        assert re.search(r"\br\d", line) is None

