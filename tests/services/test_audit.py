"""The hash-chained audit trail (issue: foundation, audit trail)."""

from __future__ import annotations

import itertools

from sqlalchemy import delete, update

from services import audit, orgs
from services.roles import SYSTEM_CLI
from storage.models import AuditEntry
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org


async def _verify(uow: UnitOfWorkFactory) -> audit.ChainReport:
    async with uow() as u:
        return await audit.verify_chain(u)


async def test_every_state_change_appends_a_chained_entry(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    report = await _verify(uow_factory)
    assert report.ok and report.checked == 9
    async with uow_factory() as u:
        entries = await u.audit.in_order()
    assert entries[0].prev_hash == audit.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))


async def test_an_edited_row_is_named_by_verify(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(update(AuditEntry).where(AuditEntry.id == 4).values(actor="someone-else"))  # type: ignore[call-overload,arg-type]
        await u.commit()
    report = await _verify(uow_factory)
    assert not report.ok and report.first_bad_id == 4 and report.checked == 3


async def test_a_deleted_row_breaks_the_chain(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(delete(AuditEntry).where(AuditEntry.id == 5))  # type: ignore[call-overload,arg-type]
        await u.commit()
    assert (await _verify(uow_factory)).first_bad_id == 5


async def test_removing_the_newest_rows_is_detected(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(delete(AuditEntry).where(AuditEntry.id >= 8))  # type: ignore[call-overload,arg-type,operator]
        await u.commit()
    assert (await _verify(uow_factory)).first_bad_id == 8


async def test_a_rolled_back_change_leaves_no_entry(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as u:
        await audit.record(u, at=u.now(), actor="cli", action="x", object_type="y", object_id=1)
        # no commit
    async with uow_factory() as u:
        await orgs.add_org_unit(u, actor=SYSTEM_CLI, code="b", name="B", kind="bureau")
    report = await _verify(uow_factory)
    assert report.ok and report.checked == 1
