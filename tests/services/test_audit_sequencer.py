"""Issue 21 goal 4: audit entries are written pending in their transaction and linked into the chain by one
sequencer after commit, so appends no longer serialise every transaction; the chain verifies as before, every
entry is linked once, an entry committed before a crash is linked by the next start, tampering is still named."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select, update

from bot.audit_sequencer import AuditSequencer
from services.platform import audit
from services.platform.clock import FixedClock
from storage.db import create_engine, create_session_factory
from storage.models import AuditEntry
from storage.uow import UnitOfWorkFactory


async def _transaction(uow: UnitOfWorkFactory, n: int, *, commit: bool) -> int:
    """One transaction recording one to three entries (one by one, or as a batch); returns how many it kept."""
    async with uow() as u:
        at = u.now()
        count = 1 + n % 3
        if n % 2:
            for k in range(count):
                await audit.record(u, at=at, actor=f"t{n}", action=f"act.{k}", object_type="test", object_id=n,
                                   details={"n": n, "k": k, "text": "中文"})
        else:
            await audit.record_many(u, [audit.Pending(at=at, actor=f"t{n}", action=f"batch.{k}", object_type="test",
                                                      object_id=n, details={"k": k}) for k in range(count)])
        await asyncio.sleep(0)  # let other transactions interleave before this one commits
        if not commit:
            return 0
        await u.commit()
        return count


async def _counts(uow: UnitOfWorkFactory) -> tuple[int, int, int]:
    """(entries, linked entries, distinct positions)."""
    async with uow() as u:
        row = (await u.session.exec(select(func.count(), func.count(AuditEntry.seq),  # type: ignore[call-overload]
                                           func.count(func.distinct(AuditEntry.seq))))).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_concurrent_transactions_and_two_sequencers_link_every_entry_once(
        uow_factory: UnitOfWorkFactory, database_url: str, clock: FixedClock) -> None:
    other_engine = create_engine(database_url)  # a second sequencer on its own connections, as another process
    other = UnitOfWorkFactory(create_session_factory(other_engine), clock=clock)
    try:
        rng = random.Random(21)
        jobs = [_transaction(uow_factory, n, commit=rng.random() > 0.15) for n in range(60)]
        linkers = [audit.chain_all(factory, batch=size) for factory, size in [(uow_factory, 7), (other, 5)] * 4]
        rng.shuffle(linkers)
        results = await asyncio.gather(*jobs, *linkers)
        kept = sum(results[:60])
        linked_while_running = sum(results[60:])
        linked_after = await audit.chain_all(other)
    finally:
        await other_engine.dispose()
    assert linked_while_running + linked_after == kept
    assert await _counts(uow_factory) == (kept, kept, kept)
    async with uow_factory(readonly=True) as u:
        report = await audit.verify_chain(u)
        entries = await u.audit.in_chain_order(limit=10_000)
    assert report.ok and report.checked == kept and report.pending == 0
    assert [e.seq for e in entries] == list(range(1, kept + 1))
    # entries of one transaction keep their order in the chain
    for n in range(60):
        mine = [e.action for e in entries if e.actor == f"t{n}"]
        assert mine == sorted(mine)


async def test_a_crash_between_commit_and_linking_loses_no_entry(database_url: str, clock: FixedClock) -> None:
    crashed = create_engine(database_url)
    try:
        before = UnitOfWorkFactory(create_session_factory(crashed), clock=clock)
        for n in range(5):
            assert await _transaction(before, n, commit=True)
        async with before(readonly=True) as u:
            assert await audit.has_pending(u)
    finally:
        await crashed.dispose()  # the process ends before any sequencer ran: the entries are committed, not linked
    engine = create_engine(database_url)
    try:
        uow = UnitOfWorkFactory(create_session_factory(engine), clock=clock)
        sequencer = AuditSequencer(uow, poll_seconds=3600)
        await sequencer.start()  # the next start links what the last run left
        try:
            assert sequencer.linked == 1 + 2 + 3 + 1 + 2
            async with uow(readonly=True) as u:
                report = await audit.verify_chain(u)
                assert not await audit.has_pending(u)
            assert report.ok and report.checked == 9 and report.pending == 0
        finally:
            await sequencer.stop()
    finally:
        await engine.dispose()


async def test_a_commit_wakes_the_running_sequencer_and_stop_links_the_rest(uow_factory: UnitOfWorkFactory) -> None:
    sequencer = AuditSequencer(uow_factory, poll_seconds=3600)  # it never polls here: only a commit wakes it
    await sequencer.start()
    try:
        await _transaction(uow_factory, 1, commit=True)
        for _ in range(500):  # the sequencer runs on this loop: give it turns until it has linked the entries
            if sequencer.linked == 2:
                break
            await asyncio.sleep(0.01)
        assert sequencer.linked == 2
        await _transaction(uow_factory, 2, commit=False)  # a rolled-back transaction leaves nothing to link
    finally:
        await _transaction(uow_factory, 3, commit=True)
        await sequencer.stop()
    assert sequencer.linked == 2 + 1
    assert await _counts(uow_factory) == (3, 3, 3)
    assert sequencer.wake not in audit._wakers


async def test_unlinking_a_linked_entry_to_get_it_relinked_is_named(uow_factory: UnitOfWorkFactory) -> None:
    """Clearing the position of the newest entry (to rewrite it and have the sequencer link it afresh) leaves its
    position missing: the head never moves back."""
    for n in range(3):
        await _transaction(uow_factory, n, commit=True)
    linked = await audit.chain_all(uow_factory)
    async with uow_factory() as u:
        await u.session.exec(update(AuditEntry).where(AuditEntry.seq == linked)  # type: ignore[call-overload,arg-type]
                             .values(seq=None, prev_hash=None, hash=None, actor="someone-else"))
        await u.commit()
    async with uow_factory(readonly=True) as u:
        assert (await audit.verify_chain(u)).first_bad_id == linked  # removed from the end
    assert await audit.chain_all(uow_factory) == 1
    async with uow_factory(readonly=True) as u:
        report = await audit.verify_chain(u)
    assert not report.ok and report.first_bad_id == linked and "missing" in report.reason


async def test_a_pending_entry_is_linked_with_what_the_database_holds(uow_factory: UnitOfWorkFactory) -> None:
    """The hash is computed from the stored row (details round-tripped through JSON), so verify agrees with it."""
    async with uow_factory() as u:
        entry = await audit.record(u, at=u.now(), actor="cli", action="odd", object_type="t", object_id=7,
                                   details={"when": u.now(), "nested": {"b": [1, 2]}, "ü": "中文"})
        await u.commit()
    assert entry.id == 1 and entry.seq is None and entry.hash is None
    assert await audit.chain_all(uow_factory) == 1
    async with uow_factory(readonly=True) as u:
        (linked,) = await u.audit.in_chain_order()
        report = await audit.verify_chain(u)
    assert linked.seq == 1 and linked.prev_hash == audit.GENESIS_HASH and report.ok and report.checked == 1
