"""End to end: staff draw inspection targets at random through the bot (``/targets``), verify the record with
``/targetverify`` and the button, and an operator turns the draw into activities and verifies it from the
command line (issue "Double random (003 三(一))")."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.emulator import BotApiEmulator, buttons
from messages import translate
from services.people import accounts
from services.platform.roles import SYSTEM_CLI
from storage.activities import Activity, ActivityInstitution, DrawRecord
from storage.pool import Institution
from tests.builders import build_org
from tests.e2e.harness import BotHarness, running_bot

HOSPITALS = ["兵团医院", "石河子人民医院", "奎屯医院", "五家渠医院"]
PHARMACIES = ["兵团大药房", "石河子药店"]


async def _bind(bot: BotHarness, emulator: BotApiEmulator, person_id: int, user_id: int) -> None:
    async with bot.uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=person_id)
    await emulator.user(user_id, language_code="zh").send_command("/start", issued.code)
    await emulator.wait_for_messages(user_id, 1)


async def _directory(bot: BotHarness) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with bot.uow() as u:
        now = u.now()
        for name in HOSPITALS + PHARMACIES:
            row = Institution(name=name, kind="hospital" if name in HOSPITALS else "pharmacy", level="三级甲等",
                              designated=True, created_at=now, updated_at=now)
            u.session.add(row)
            await u.session.flush()
            assert row.id is not None
            ids[name] = row.id
        await u.commit()
    return ids


async def test_staff_draw_two_hospitals_verify_the_record_and_make_activities_from_it(
        emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        directory = await _directory(bot)
        await _bind(bot, emulator, org.staff_id, 90)
        staff = emulator.user(90)

        await staff.send_command("/targets", "2 kind=hospital")
        drawn = (await emulator.wait_for_messages(90, 2))[-1]
        text = drawn.text or ""
        async with bot.uow(readonly=True) as u:
            record = (await u.session.exec(select(DrawRecord).order_by(col(DrawRecord.id).desc()))).first()
        assert record is not None and record.subject == "institutions" and record.outcome == "drawn"
        picks = record.result["picks"]
        names = {v: k for k, v in directory.items()}
        assert len(picks) == 2 and all(names[i] in HOSPITALS for i in picks)
        assert f"抽取记录 {record.id}" in text and all(names[i] in text for i in picks)
        assert not any(p in text for p in PHARMACIES) and "医院，三级甲等" in text
        [[(label, data)]] = buttons(drawn)
        assert label == translate("zh", "targets.button.verify")

        await staff.send_command("/targetverify", str(record.id))
        verified = (await emulator.wait_for_messages(90, 3))[-1].text or ""
        assert verified == translate("zh", "targets.verify_ok", draw_id=record.id, directory=6, version="t1",
                                     picks=2)
        await staff.press(drawn.message_id, data)
        assert (await emulator.wait_for_messages(90, 4))[-1].text == verified

        await staff.send_command("/targets", "9 kind=hospital")
        short = (await emulator.wait_for_messages(90, 5))[-1]
        assert "少于要抽取的 9 家" in (short.text or "") and "类型不符 2 家" in (short.text or "")
        assert buttons(short) == []

        start = (datetime.now().astimezone() + timedelta(days=30)).replace(microsecond=0)
        status, out, err = await bot.cli(
            "targets", "to-activities", str(record.id), "--as", str(org.staff_id), "--kind", "routine_inspection",
            "--title-prefix", "2026年双随机检查：", "--start", start.isoformat(),
            "--end", (start + timedelta(days=1)).isoformat(), "--deadline", (start - timedelta(days=5)).isoformat(),
            "--require", "supervision:3:1")
        assert status == 0, err
        assert "2 activities created" in out
        async with bot.uow(readonly=True) as u:
            made = (await u.session.exec(select(Activity, ActivityInstitution.institution_id).join(
                ActivityInstitution, col(ActivityInstitution.activity_id) == Activity.id)
                .order_by(col(Activity.id)))).all()
        assert [i for _, i in made] == picks
        assert all(a.target_draw_id == record.id and a.title.startswith("2026年双随机检查：") for a, _ in made)

        status, out, _ = await bot.cli("targets", "verify", str(record.id))
        assert status == 0 and "verified" in out
        status, out, err = await bot.cli("targets", "draw", "--as", str(org.staff_id), "--count", "3",
                                         "--kind", "pharmacy")
        assert status == 1 and "short by 1" in out, err  # two pharmacies only


async def test_a_tampered_record_does_not_verify_from_the_command_line(
        emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        await _directory(bot)
        status, out, err = await bot.cli("targets", "draw", "--as", str(org.staff_id), "--count", "2",
                                         "--exclude", "1", "2")
        assert status == 0, err
        draw_id = int(out.split()[2])
        assert "excluded 2" in out
        async with bot.uow() as u:
            record = await u.session.get(DrawRecord, draw_id)
            assert record is not None
            record.result = {**record.result, "picks": list(reversed(record.result["picks"]))}
            u.session.add(record)
            await u.commit()
        status, out, _ = await bot.cli("targets", "verify", str(draw_id))
        assert status == 1 and "does NOT verify: result, audit_result" in out
