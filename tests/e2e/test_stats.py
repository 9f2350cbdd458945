"""``/stats`` end to end (issue 17): seeded activities, invitations, draws, leads and experts; a staff member asks
through the bot and the figures in the answer equal those counted here, independently, from the seed; a division's
staff see only their division; the list behind a figure pages in place."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

from bot.emulator import BotApiEmulator, buttons
from services.leads import lead_triage, leads
from services.platform.roles import Actor, Role
from storage.activities import Activity, ActivityMember, ActivityRequirement, DrawRecord
from storage.models import Expert
from tests.builders import add_institutions, add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import Chat, bind, emulator_without_limits, zh  # noqa: F401 - this module's emulator


async def _month_start(bot: BotHarness) -> datetime:
    """Move the clock to 04:00 UTC on the 1st of the month after next: the test's "this month"."""
    now = bot.clock.now()
    year, month = (now.year + (now.month + 1) // 12, (now.month + 1) % 12 + 1)
    target = datetime(year, month, 1, 4, 0, tzinfo=UTC)
    bot.clock.advance(target - now)
    return target


# (unit, start offset in days, status) of each activity; the members of the first one and of the third.
ANSWERS = [("signed", "principal", 2), ("declined", "principal", 4), ("recused", "principal", 6),
           ("expired", "principal", None), ("invited", "backup", None)]


async def _seed(bot: BotHarness, start: datetime, div1: int, div2: int, staff_id: int) -> list[int]:
    experts = await add_pool(bot.uow, div1, [{"name": f"一师专家{i}"} for i in range(6)])
    experts += await add_pool(bot.uow, div2, [{"name": "二师专家", "categories": ["clinical"],
                                                "birth_date": date(1965, 5, 1)}])
    async with bot.uow() as u:
        expert = await u.session.get(Expert, experts[0])
        assert expert is not None
        expert.term_end = start.date() + timedelta(days=30)  # ending within 60 days
        u.session.add(expert)
        plan = [(div1, 3, "planned"), (div1, 4, "cancelled"), (div2, 5, "drawn"), (div1, -20, "drawn")]
        ids = []
        for unit, days, status in plan:
            at = start + timedelta(days=days)
            activity = Activity(org_unit_id=unit, kind="routine_inspection", title=f"活动{days}", starts_at=at,
                                ends_at=at + timedelta(hours=8), response_deadline=at - timedelta(hours=1),
                                status=status, created_by=staff_id, created_at=start, updated_at=start)
            u.session.add(activity)
            await u.session.flush()
            assert activity.id is not None
            ids.append(activity.id)
        await _members(u, ids[0], div1, staff_id, start, experts[:5], ANSWERS, short=True)
        await _members(u, ids[2], div2, staff_id, start, experts[6:], [("accepted", "principal", 1)], short=False)
        await _members(u, ids[3], div1, staff_id, start - timedelta(days=25), experts[5:6],
                       [("accepted", "principal", 1)], short=False)
        await u.commit()
    return experts


async def _members(u: object, activity_id: int, unit: int, staff_id: int, when: datetime, people: list[int],
                   answers: list[tuple[str, str, int | None]], *, short: bool) -> None:
    session = u.session  # type: ignore[attr-defined]
    line = ActivityRequirement(activity_id=activity_id, position=1, category="supervision", count=3, backups=1)
    draw = DrawRecord(subject="experts", org_unit_id=unit, activity_id=activity_id, algorithm_version="test",
                      seed="00", snapshot=b"", snapshot_hash="0" * 64, outcome="short" if short else "drawn",
                      operator_id=staff_id, drawn_at=when)
    session.add_all([line, draw])
    await session.flush()
    for position, (person, (status, role, hours)) in enumerate(zip(people, answers, strict=True), start=1):
        session.add(ActivityMember(activity_id=activity_id, requirement_id=line.id, draw_id=draw.id, person_id=person,
                                   role=role, position=position, status=status, created_at=when, invited_at=when,
                                   answered_at=when + timedelta(hours=hours) if hours is not None else None))


async def _leads(bot: BotHarness, supervisor_id: int, staff: Actor) -> None:
    """Two leads decided 2 and 4 days after they arrived (median 3), one left waiting."""
    [hospital] = await add_institutions(bot.uow, ["第一师医院"])
    reporter = Actor(label=f"person:{supervisor_id}", person_id=supervisor_id, roles=frozenset({Role.SUPERVISOR}))
    ids = []
    for what in ("重复收费", "串换药品", "虚假住院"):
        async with bot.uow() as u:
            lead = await leads.submit(u, actor=reporter, draft=leads.LeadDraft(
                category="over_charging", what=what, institution_id=hospital))
        ids.append(int(lead.id or 0))
    bot.clock.advance(timedelta(days=2))
    async with bot.uow() as u:
        await lead_triage.accept(u, actor=staff, lead_id=ids[0])
    bot.clock.advance(timedelta(days=2))
    async with bot.uow() as u:
        await lead_triage.reject(u, actor=staff, lead_id=ids[1], reason="不属于医保基金使用范围")


async def test_stats_give_the_figures_counted_from_the_records_and_a_division_sees_its_own(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        start = await _month_start(bot)
        await _seed(bot, start, org.div1_id, org.div2_id, org.staff_id)
        await _leads(bot, org.supervisor_id, staff_actor(org.staff_id, org.bureau_id))
        await bind(bot, emulator, org.staff_id, 601, "staff")
        await bind(bot, emulator, org.div1_staff_id, 602, "staff")

        bureau = await Chat(emulator, 601).command("/stats", expect="📊")
        text = bureau.text or ""
        month = f"{start.year}-{start.month:02d}"
        hours = statistics.median([2, 4, 6, 1])  # answered, not expired: both divisions
        for part in (f"兵团医疗保障局 · {month}", "举行 2（+1）", "取消 1", "抽取人数不足 1", "发出 6（+5）",
                     "接受 2", "拒绝 1", "回避 1", "未答复 1", "待答复 1", "启用备选 1", f"中位数 {hours} 小时",
                     "收到 3（+3）", "已受理（已立案） 1", "不予受理 1", "已收到，待受理 1",
                     "受理决定用时中位数 3.0 天", zh("lifecycle.state.active") + " 9",  # 7 seeded, 2 of build_org
                     "医保监管类 6", "医药临床类 1", "40–49 岁 6", "60 岁及以上 1", "未填出生日期 2",
                     "60 天内任期届满：1"):
            assert part in text, (part, text)

        division = await Chat(emulator, 602).command("/stats", expect="📊")
        mine = division.text or ""
        assert "第一师医保局" in mine and "发出 5（+4）" in mine and "医药临床类" not in mine, mine
        assert f"中位数 {float(statistics.median([2, 4, 6]))} 小时" in mine
        refused = await Chat(emulator, 602).command("/stats", "div2", expect="不在您所在单位")
        assert "📊" not in (refused.text or "")

        chat = Chat(emulator, 601)
        listed = await chat.press(bureau, f":no_answer:{org.bureau_id}:{start.year}{start.month:02d}:0",
                                  zh("stats.button.no_answer"))
        assert "一师专家3" in (listed.text or "") and "共 1 条" in (listed.text or "")
        assert buttons(listed) == []  # one page: no Previous / Next


async def test_staff_search_leads_and_activities_of_their_line(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        start = await _month_start(bot)
        await _seed(bot, start, org.div1_id, org.div2_id, org.staff_id)
        await _leads(bot, org.supervisor_id, staff_actor(org.staff_id, org.bureau_id))
        await bind(bot, emulator, org.div1_staff_id, 611, "staff")
        staff = Chat(emulator, 611)
        found = await staff.command("/leads", "search 串换", expect="共 1 条")
        assert "不予受理" in (found.text or "")
        hospital = await staff.command("/leads", "search 第一师医院", expect="共 3 条")
        assert "陈监督" not in (hospital.text or "")  # never the reporter
        await staff.command("/leads", "search 不存在的词", expect="没有找到")
        await staff.command("/leads", "search", expect=zh("stats.search_usage_leads"))
        acts = await staff.command("/activities", "search 活动", expect="共 3 条")  # div1's three, not div2's
        assert "活动5" not in (acts.text or "")


async def test_a_chart_arrives_as_a_photo_that_decodes_and_is_not_blank(
    emulator: BotApiEmulator, database_url: str
) -> None:
    import io

    from PIL import Image

    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        start = await _month_start(bot)
        await _seed(bot, start, org.div1_id, org.div2_id, org.staff_id)
        await _leads(bot, org.supervisor_id, staff_actor(org.staff_id, org.bureau_id))
        await bind(bot, emulator, org.staff_id, 621, "staff")
        chat = Chat(emulator, 621)
        card = await chat.command("/stats", expect="📊")
        for kind in ("leads", "invitations", "answers", "pool"):
            before = len([m for m in chat.messages() if m.photo])
            data = next(d for row in buttons(card) for _, d in row if d.startswith(f"st:c:{kind}:"))
            await chat.user.press(card.message_id, data)
            await emulator.wait_for(lambda b=before: len([m for m in chat.messages() if m.photo]) > b, timeout=60)
            photo = [m for m in chat.messages() if m.photo][-1]
            assert photo.photo is not None and photo.caption
            image = Image.open(io.BytesIO(photo.photo)).convert("RGB")
            assert image.size[0] >= 600
            colours = image.getcolors(maxcolors=1 << 20) or []
            assert len(colours) > 10, kind  # drawn bars, axes and labels, not a blank canvas
