"""End to end: /experts says how many matched and pages through all of them with Previous/Next buttons, the message
redrawn in place, every value in the reader's language; the /extensions list shows the birth year only, like the
card (issue 14, "Staff views")."""

from __future__ import annotations

from bot.emulator import BotApiEmulator, buttons
from tests.builders import add_pool, build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, data_of, emulator_without_limits, zh

__all__ = ["emulator_without_limits"]


async def test_experts_pages_through_every_match(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await add_pool(bot.uow, org.div1_id, [{"name": f"王{n:02d}"} for n in range(23)])
        await bind(bot, emulator, org.div1_staff_id, 90, "staff")
        staff = Chat(emulator, 90)
        first = await staff.command("/experts", "王", expect=zh("pool.search_header", count=23, page=1, pages=3))
        assert "王00" in (first.text or "") and "王10" not in (first.text or "")
        assert zh("lifecycle.state.active") in (first.text or "") and "active" not in (first.text or "")
        assert [[label for label, _ in row] for row in buttons(first)] == [[zh("pool.page_next")]]
        await staff.user.press(first.message_id, data_of(first, ""))
        second = await staff.received(zh("pool.search_header", count=23, page=2, pages=3))
        assert second.message_id == first.message_id and "王10" in (second.text or "")
        await staff.user.press(second.message_id, buttons(second)[0][1][1])  # next
        third = await staff.received(zh("pool.search_header", count=23, page=3, pages=3))
        assert "王22" in (third.text or "") and "王19" not in (third.text or "")
        assert [[label for label, _ in row] for row in buttons(third)] == [[zh("pool.page_previous")]]
        await staff.user.press(third.message_id, buttons(third)[0][0][1])
        await staff.received(zh("pool.search_header", count=23, page=2, pages=3))

        await bind(bot, emulator, org.staff_id, 91, "staff")
        english = Chat(emulator, 91)
        await english.command("/language", "en", expect="English")
        shown = await english.command("/experts", "active", expect="25 expert(s) found, page 1 of 3")
        assert "在库" not in (shown.text or "") and "王00" in (shown.text or "")
        assert [[label for label, _ in row] for row in buttons(shown)] == [["Next ▶"]]
