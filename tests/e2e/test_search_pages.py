"""End to end: ``/leads search`` and ``/activities search`` with more than a page of results (issue 17) page through
every match with Previous / Next, the message redrawn in place and each page within Telegram's limits; words too
long for a button still give the first page and say how to see the rest."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.emulator import BotApiEmulator, buttons
from services.insight.search import LIMIT
from storage.activities import Activity
from storage.leads import Lead
from tests.builders import build_org
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits, zh

__all__ = ["emulator_without_limits"]
LEADS, ACTIVITIES = 45, 23
LONG_TITLE = "第一师定点医疗机构医保基金使用情况专项飞行检查（覆盖住院、门诊慢特病、药店进销存及信息系统数据）" * 2


async def _seed(bot: BotHarness, div1: int, div2: int, staff_id: int, supervisor_id: int) -> None:
    """45 matching leads and 23 matching activities in the first division; the second division's never show."""
    async with bot.uow() as u:
        now = u.now()
        for n in range(LEADS + 5):
            unit = div1 if n < LEADS else div2
            u.session.add(Lead(number=f"XS2026-{n + 1:05d}", org_unit_id=unit, reporter_ref=str(supervisor_id),
                               reporter_pseudonym="S-TEST", category="over_charging", what=f"人民医院重复收费 第{n}件",
                               created_at=now - timedelta(hours=n), updated_at=now))
        for n in range(ACTIVITIES):
            at = now - timedelta(days=n + 1)
            u.session.add(Activity(org_unit_id=div1, kind="flight_inspection", title=f"{LONG_TITLE}{n:02d}",
                                   starts_at=at, ends_at=at + timedelta(hours=8), response_deadline=at,
                                   created_by=staff_id, created_at=at, updated_at=at))
        await u.commit()


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"XS2026-\d{5}", text))


async def test_a_lead_search_pages_through_every_match_in_place(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _seed(bot, org.div1_id, org.div2_id, org.staff_id, org.supervisor_id)
        await bind(bot, emulator, org.div1_staff_id, 631, "staff")
        staff = Chat(emulator, 631)
        first = await staff.command("/leads", "search 人民医院 收费", expect="第 1/3 页")
        assert "共 45 条" in (first.text or "") and len(_numbers(first.text or "")) == LIMIT
        assert [[label for label, _ in row] for row in buttons(first)] == [[zh("stats.button.next")]]
        seen = _numbers(first.text or "")
        await staff.user.press(first.message_id, buttons(first)[0][0][1])
        second = await staff.received("第 2/3 页")
        assert second.message_id == first.message_id  # redrawn in place
        assert [[label for label, _ in row] for row in buttons(second)] == [
            [zh("stats.button.previous"), zh("stats.button.next")]]
        seen |= _numbers(second.text or "")
        await staff.user.press(second.message_id, buttons(second)[0][1][1])
        third = await staff.received("第 3/3 页")
        assert len(_numbers(third.text or "")) == LEADS - 2 * LIMIT
        assert [[label for label, _ in row] for row in buttons(third)] == [[zh("stats.button.previous")]]
        seen |= _numbers(third.text or "")
        assert seen == {f"XS2026-{n + 1:05d}" for n in range(LEADS)}  # every match once, none of the second division
        await staff.user.press(third.message_id, buttons(third)[0][0][1])
        back = await staff.received("第 2/3 页")
        assert _numbers(back.text or "") == _numbers(second.text or "")
        assert all(len(data.encode()) <= 64 for row in buttons(back) for _, data in row)


async def test_an_activity_search_pages_within_the_message_limit(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _seed(bot, org.div1_id, org.div2_id, org.staff_id, org.supervisor_id)
        await bind(bot, emulator, org.div1_staff_id, 632, "staff")
        staff = Chat(emulator, 632)
        first = await staff.command("/activities", "search 飞行检查", expect="第 1/2 页")
        assert "共 23 条" in (first.text or "") and len(first.text or "") <= 4096
        await staff.user.press(first.message_id, buttons(first)[0][0][1])
        second = await staff.received("第 2/2 页")
        assert f"{LONG_TITLE}"[:40] in (second.text or "") and len((second.text or "").splitlines()) == 1 + 3


async def test_words_too_long_for_a_button_give_the_first_page_and_say_so(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _seed(bot, org.div1_id, org.div2_id, org.staff_id, org.supervisor_id)
        await bind(bot, emulator, org.div1_staff_id, 633, "staff")
        staff = Chat(emulator, 633)
        words = "第一师定点医疗机构医保基金使用情况专项飞行检查"  # 23 characters: more than a button carries
        found = await staff.command("/activities", f"search {words}", expect="第 1/2 页")
        assert zh("stats.search_narrow") in (found.text or "") and buttons(found) == []
        await staff.command("/leads", "search", expect=zh("stats.search_usage_leads"))
