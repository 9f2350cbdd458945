"""The social supervisor registry (002 §3–§8): validated and masked ID numbers, source (§4) and method (§6), a
3-year term (§7), termination on a §8 ground, term-end reminders and expiry, import/export idempotent by ID number."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from services.platform.clock import FixedClock
from services.platform.errors import InvalidInput
from services.platform.roles import SYSTEM_CLI
from services.supervisors import supervisor_io, supervisors
from services.supervisors.supervisors import SupervisorInput
from storage.models import AuditEntry, OutboxMessage, Supervisor
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org, staff_actor

ID_1 = "11010519491231002X"
ID_2 = "110105194912310021"  # wrong check character


async def test_an_appointment_validates_the_id_number_and_runs_three_years(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await build_org(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput("甲", ID_2, "div1"))
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await supervisors.save_supervisor(uow, actor=SYSTEM_CLI,
                                              data=SupervisorInput("甲", ID_1, "div1", source="lawyer"))
    async with uow_factory() as uow:
        person_id, created = await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput(
            "刘代表", ID_1, "div1", source="deputy", appointment_method="special_invitation",
            certificate_number="JD-2026-001"))
    assert created
    async with uow_factory() as uow:
        row = await uow.session.get(Supervisor, person_id)
    assert row is not None and row.term_start == date(2026, 3, 2) and row.term_end == date(2029, 3, 2)
    async with uow_factory() as uow:
        again, created = await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput(
            "刘代表", ID_1, "div1", source="deputy", mobile="13800138000"))
    assert (again, created) == (person_id, False)


async def test_staff_see_id_numbers_masked_and_admins_in_full(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    async with uow_factory() as uow:
        await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput("刘", ID_1, "div1"))
    async with uow_factory() as uow:
        shown = await supervisors.list_supervisors(uow, actor=staff_actor(org.div1_staff_id, org.div1_id))
        full = await supervisors.list_supervisors(uow, actor=staff_actor(org.admin_id, org.bureau_id, admin=True))
    assert [v.id_number for v in shown if v.id_number] == ["110105********002X"]
    assert [v.id_number for v in full if v.id_number] == [ID_1]


async def test_termination_needs_a_ground_of_article_8(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await supervisors.terminate(uow, actor=SYSTEM_CLI, person_id=org.supervisor_id, reason="dislike")
    async with uow_factory() as uow:
        row = await supervisors.terminate(uow, actor=SYSTEM_CLI, person_id=org.supervisor_id, reason="resigned",
                                          note="本人申请")
    assert (row.status, row.end_reason) == ("ended", "resigned")
    async with uow_factory() as uow:
        entry = (await uow.session.exec(select(AuditEntry).where(AuditEntry.action == "supervisor.terminated"))).one()
    assert entry.details["article"] == "002 §8(五)"


async def test_the_division_is_reminded_before_a_term_ends_and_the_appointment_ends_after(
    uow_factory: UnitOfWorkFactory, clock: FixedClock
) -> None:
    await build_org(uow_factory)
    async with uow_factory() as uow:
        person_id, _ = await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput(
            "刘", ID_1, "div1", term_start=date(2023, 3, 20)))
    assert await supervisors.term_sweep(uow_factory) == {"reminded": 1, "ended": 0}
    assert await supervisors.term_sweep(uow_factory) == {"reminded": 0, "ended": 0}
    clock.advance(timedelta(days=20))
    assert await supervisors.term_sweep(uow_factory) == {"reminded": 0, "ended": 1}
    async with uow_factory() as uow:
        row = await uow.session.get(Supervisor, person_id)
        keys = [m.message_key for m in (await uow.session.exec(select(OutboxMessage))).all()]
    assert row is not None and (row.status, row.end_reason) == ("ended", "term_expired")
    assert keys.count("supervisor.term_ending") == 1 and keys.count("supervisor.term_ended") == 1


async def test_the_registry_round_trips_through_csv_and_xlsx_rejecting_bad_rows(
    uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    await build_org(uow_factory)
    table = ("姓名,身份证号码,所属单位,来源,聘任方式,聘书编号\n"
             f"刘代表,{ID_1},div1,deputy,special_invitation,JD-1\n"
             f"错号,{ID_2},div1,media,open_selection,JD-2\n").encode()
    async with uow_factory() as uow:
        refused = await supervisor_io.import_supervisors(uow, actor=SYSTEM_CLI, source=table, filename="s.csv",
                                                         strict=True)
    assert refused.refused and refused.created == 0
    async with uow_factory() as uow:
        report = await supervisor_io.import_supervisors(uow, actor=SYSTEM_CLI, source=table, filename="s.csv")
    assert (report.total, report.created, len(report.rejected)) == (2, 1, 1)
    for suffix in ("csv", "xlsx"):
        path = tmp_path / f"out.{suffix}"
        async with uow_factory() as uow:
            count = await supervisor_io.export_supervisors(uow, actor=SYSTEM_CLI, path=path)
        assert count == 2  # the builder's supervisor and the imported one
        async with uow_factory() as uow:
            again = await supervisor_io.import_supervisors(uow, actor=SYSTEM_CLI, source=path.read_bytes(),
                                                           filename=path.name)
        assert (again.created, again.updated) == (0, 1)  # idempotent by ID number (the builder's row has none)
