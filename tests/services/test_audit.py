"""The hash-chained audit trail (issue: foundation, audit trail)."""

from __future__ import annotations

import itertools

from sqlalchemy import delete, update

from services.people import orgs
from services.platform import audit
from services.platform.roles import SYSTEM_CLI
from storage.models import AuditEntry
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org


async def _verify(uow: UnitOfWorkFactory) -> audit.ChainReport:
    async with uow() as u:
        return await audit.verify_chain(u)


async def _built_and_linked(uow: UnitOfWorkFactory) -> None:
    """An org (nine entries, written pending) linked into the chain, as the sequencer does after the commits."""
    await build_org(uow)
    assert await audit.chain_all(uow) == 9


async def test_every_state_change_appends_a_chained_entry(uow_factory: UnitOfWorkFactory) -> None:
    await build_org(uow_factory)
    pending = await _verify(uow_factory)
    assert pending.ok and pending.checked == 9 and pending.pending == 9  # written pending, verifiable once linked
    assert await audit.chain_all(uow_factory) == 9
    report = await _verify(uow_factory)
    assert report.ok and report.checked == 9 and report.pending == 0
    async with uow_factory() as u:
        entries = await u.audit.in_order()
    assert entries[0].prev_hash == audit.GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(entries))
    assert [e.seq for e in entries] == [e.id for e in entries] == list(range(1, 10))


async def test_an_edited_row_is_named_by_verify(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(update(AuditEntry).where(AuditEntry.id == 4).values(actor="someone-else"))  # type: ignore[call-overload,arg-type]
        await u.commit()
    report = await _verify(uow_factory)
    assert not report.ok and report.first_bad_id == 4 and report.checked == 3


async def test_a_deleted_row_breaks_the_chain(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(delete(AuditEntry).where(AuditEntry.id == 5))  # type: ignore[call-overload,arg-type]
        await u.commit()
    assert (await _verify(uow_factory)).first_bad_id == 5


async def test_removing_the_newest_rows_is_detected(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
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
    assert await audit.chain_all(uow_factory) == 1
    report = await _verify(uow_factory)
    assert report.ok and report.checked == 1


async def test_a_batch_append_chains_exactly_like_one_append_after_another(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as u:
        at = u.now()
        await audit.record(u, at=at, actor="cli", action="first", object_type="t", object_id=1)
        written = await audit.record_many(u, [audit.Pending(at=at, actor="cli", action=f"batch.{n}", object_type="t",
                                                            object_id=n, details={"n": n}) for n in range(3)])
        await audit.record(u, at=at, actor="cli", action="after", object_type="t", object_id=9)
        await u.commit()
    assert [e.id for e in written] == [2, 3, 4]
    assert await audit.chain_all(uow_factory) == 5
    async with uow_factory() as u:
        entries = await u.audit.in_chain_order()
    assert [e.action for e in entries] == ["first", "batch.0", "batch.1", "batch.2", "after"]
    assert [e.seq for e in entries] == [e.id for e in entries] == [1, 2, 3, 4, 5]
    report = await _verify(uow_factory)
    assert report.ok and report.checked == 5


async def _rewrite(uow: UnitOfWorkFactory, entry_id: int, actor: str) -> None:
    """Rewrite an entry's content and recompute its own hash over the same link (a careful forger)."""
    async with uow() as u:
        entry = next(e for e in await u.audit.in_order() if e.id == entry_id)
        forged = audit.entry_hash(entry_id=entry_id, at=entry.at, actor=actor, action=entry.action,
                                  object_type=entry.object_type, object_id=entry.object_id, details=entry.details,
                                  prev_hash=entry.prev_hash or "")
        await u.session.exec(update(AuditEntry).where(AuditEntry.id == entry_id)  # type: ignore[call-overload,arg-type]
                             .values(actor=actor, hash=forged))
        await u.commit()


async def test_a_rewritten_last_entry_with_a_recomputed_hash_is_named(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
    await _rewrite(uow_factory, 9, "someone-else")
    report = await _verify(uow_factory)
    assert not report.ok and report.first_bad_id == 9 and "rewritten" in report.reason


async def test_a_rewritten_first_entry_with_a_recomputed_hash_is_named(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
    await _rewrite(uow_factory, 1, "someone-else")
    report = await _verify(uow_factory)
    assert not report.ok and report.first_bad_id == 2  # entry 2's link no longer matches entry 1's hash


async def test_an_entry_appended_outside_the_chain_is_named_at_its_own_id(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
    async with uow_factory() as u:
        last = (await u.audit.in_order())[-1]
        assert last.id == 9
        at = last.at
        forged = audit.entry_hash(entry_id=10, at=at, actor="x", action="y", object_type="z", object_id="1",
                                  details={}, prev_hash=last.hash or "")
        u.session.add(AuditEntry(id=10, seq=10, at=at, actor="x", action="y", object_type="z", object_id="1",
                                 details={}, prev_hash=last.hash, hash=forged))
        await u.commit()
    report = await _verify(uow_factory)
    assert not report.ok and report.first_bad_id == 10 and "added" in report.reason and report.checked == 10


async def test_removing_only_the_newest_entry_names_it(uow_factory: UnitOfWorkFactory) -> None:
    await _built_and_linked(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(delete(AuditEntry).where(AuditEntry.id == 9))  # type: ignore[call-overload,arg-type]
        await u.commit()
    report = await _verify(uow_factory)
    assert report.first_bad_id == 9 and "removed" in report.reason
