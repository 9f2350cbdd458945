"""Processed update ids: a redelivered update (same id) is handled once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from storage.uow import UnitOfWork

KEEP_FOR = timedelta(days=2)  # Telegram keeps undelivered updates at most 24 hours


async def first_delivery(uow: UnitOfWork, *, channel: str, update_id: int) -> bool:
    """Record the update id; False when it was already recorded (a duplicate delivery)."""
    if await uow.updates.exists(channel, update_id):
        return False
    try:
        await uow.updates.add(channel, update_id, uow.now())
        await uow.commit()
    except IntegrityError:
        await uow.rollback()
        return False
    return True


async def prune(uow: UnitOfWork) -> int:
    """Forget update ids older than ``KEEP_FOR``."""
    removed = await uow.updates.prune(uow.now() - KEEP_FOR)
    await uow.commit()
    return removed
