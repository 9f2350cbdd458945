"""Dated work history (000 annex 1; the two-year recusal of 000 §15(一) reads it): reading the annex's periods,
merging them, importing the column, and recusing by the real end date (issue 14, "Dated work history")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import select

from services.activities.candidates import load_candidates
from services.activities.draw_rules import ActivityKind, ActivitySpec, DrawSettings, ExclusionCode, exclusions
from services.platform.roles import SYSTEM_CLI
from services.pool import expert_io, history_changes
from services.pool.work_history import Period, month_bound, parse_history
from storage.models import Expert
from storage.pool import ExpertEmployment
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org
from tests.services.test_expert_io import ANNEX, LI, WANG, write_xlsx

TODAY = date(2026, 3, 2)


def test_periods_are_read_with_the_common_separators_and_months_are_whole() -> None:
    text = ("2001.07–2010.06 某县医院 医师\n2010年7月至2024年4月　第一师医院　主治医师\n"
            "２０２４．０５—至今 石河子大学 副教授\n擅长医保基金审核\n2019-13~2020-01 某地\n2020.05-2019.01 倒序医院")
    periods, unreadable = parse_history(text, today=TODAY)
    assert periods == [
        Period("某县医院", "医师", date(2001, 7, 1), date(2010, 6, 30)),
        Period("第一师医院", "主治医师", date(2010, 7, 1), date(2024, 4, 30)),
        Period("石河子大学", "副教授", date(2024, 5, 1), None),
    ]
    assert [u.code for u in unreadable] == ["history_bad_month", "history_bad_dates"]  # free text is not a period


def test_month_bounds_for_commands() -> None:
    assert month_bound("2024-02", end=True) == date(2024, 2, 29)
    assert month_bound("2024.2", end=False) == date(2024, 2, 1)
    assert month_bound("2024-02-10", end=True) == date(2024, 2, 10)
    assert month_bound("至今", end=True) is None


async def test_import_reads_the_history_lists_unmatched_periods_and_reimport_dates_the_job_change(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await build_org(uow_factory)
    hospital, university = await add_institutions(uow_factory, ["第一师医院", "石河子大学"])
    headers = [*ANNEX, "专业类型", "工作经历及专业特长"]
    first = write_xlsx(tmp_path / "a.xlsx", headers, [
        [1, "李四", "男", "第一师医院 主任医师", "本科", "新疆医科大学", "临床医学", LI, "13800138000", "医保监管",
         "2001.07-2010.06 某县医院 医师\n2010.07-至今 第一师医院 主任医师"]])
    async with uow_factory() as uow:
        report = await expert_io.import_experts(uow, actor=SYSTEM_CLI, source=first)
    assert [(p.row, p.text, p.code) for p in report.history_unmatched] == [(4, "某县医院", "history_unmatched")]
    again = write_xlsx(tmp_path / "b.xlsx", headers, [
        [1, "李四", "男", "石河子大学 教授", "本科", "新疆医科大学", "临床医学", LI, "13800138000", "医保监管",
         "2001.07-2010.06 某县医院 医师\n2010.07-2024.04 第一师医院 主任医师\n2024.05-至今 石河子大学 教授"]])
    for _ in range(2):  # the second run changes nothing
        async with uow_factory() as uow:
            await expert_io.import_experts(uow, actor=SYSTEM_CLI, source=again)
    async with uow_factory() as uow:
        expert = (await uow.session.exec(select(Expert).where(Expert.id_number == LI))).one()
        rows = (await uow.session.exec(select(ExpertEmployment).where(
            ExpertEmployment.expert_id == expert.person_id))).all()
    assert sorted((r.institution_id, r.start_date, r.end_date) for r in rows if r.institution_id) == [
        (hospital, date(2010, 7, 1), date(2024, 4, 30)), (university, date(2024, 5, 1), None)]
    assert [(r.institution_name, r.end_date) for r in rows if r.institution_id is None] == [
        ("某县医院", date(2010, 6, 30))]


async def test_the_recusal_uses_the_real_end_date(uow_factory: UnitOfWorkFactory, tmp_path: Path) -> None:
    await build_org(uow_factory)
    hospital, = await add_institutions(uow_factory, ["第一师医院"])
    headers = [*ANNEX, "专业类型", "工作经历"]
    roster = write_xlsx(tmp_path / "a.xlsx", headers, [
        [1, "李四", "男", "石河子大学 教授", "本科", "新疆医科大学", "临床医学", LI, "13800138000", "医保监管",
         "2010.07-2024.04 第一师医院 主任医师"],  # left 23 months before the activity
        [2, "王五", "女", "石河子大学 教授", "本科", "新疆医科大学", "临床医学", WANG, "13900139000", "医保监管",
         "2010.07-2024.02 第一师医院 主任医师"]])  # left 25 months before
    async with uow_factory() as uow:
        report = await expert_io.import_experts(uow, actor=SYSTEM_CLI, source=roster)
    li, wang = report.created_ids
    spec = ActivitySpec(ActivityKind.ROUTINE_INSPECTION, date(2026, 3, 12), date(2026, 3, 13),
                        inspected=frozenset({hospital}))
    settings = DrawSettings()
    async with uow_factory(readonly=True) as uow:
        facts = await load_candidates(uow, [li, wang], spec, settings, None)
    codes = {pid: [e.code for e in exclusions(facts[pid], spec, settings)] for pid in (li, wang)}
    assert codes == {li: [ExclusionCode.RECUSAL_PAST_EMPLOYER], wang: []}


async def test_staff_record_and_correct_a_period(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    hospital, = await add_institutions(uow_factory, ["第一师医院"])
    for end in (date(2024, 6, 30), date(2024, 8, 31)):  # the same institution and start: corrected
        async with uow_factory() as uow:
            line = await history_changes.record_period(uow, actor=SYSTEM_CLI, expert_id=org.expert_id,
                                                       institution=str(hospital), start=date(2019, 1, 1), end=end)
    assert (line.institution_id, line.end) == (hospital, date(2024, 8, 31))
    async with uow_factory(readonly=True) as uow:
        assert len(await history_changes.history_of(uow, actor=None, expert_id=org.expert_id)) == 1
