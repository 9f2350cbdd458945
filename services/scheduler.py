"""The scheduler: every periodic job is registered here, in one place.

Deadlines and due times live in database rows; jobs are sweeps that find what is due through an
index and act on it, so a restart loses nothing and running a job twice does no harm. APScheduler
only provides the heartbeat (``max_instances=1``, ``coalesce=True``: a late job runs once).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.platform import intake, updates
from storage.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

JobFunction = Callable[[UnitOfWorkFactory], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    """A periodic sweep: its name, how often it runs, and what it does."""

    name: str
    every: timedelta
    run: JobFunction


def sweep(module: str, function: str) -> JobFunction:
    """``module.function``, imported when the job first runs (issue 21: the sweeps' topics are not loaded at
    start-up) and looked up at each run."""

    async def run(uow_factory: UnitOfWorkFactory) -> object:
        job: JobFunction = getattr(importlib.import_module(module), function)
        return await job(uow_factory)

    run.__qualname__ = run.__name__ = f"{module}.{function}"
    return run


async def prune_processed_updates(uow_factory: UnitOfWorkFactory) -> int:
    """Forget update ids older than two days (Telegram redelivers within 24 hours)."""
    async with uow_factory() as uow:
        return await updates.prune(uow)


async def prune_received_updates(uow_factory: UnitOfWorkFactory) -> int:
    """Forget recorded updates already processed (a safety net: the ledger deletes each one in the
    transaction that records it processed)."""
    async with uow_factory() as uow:
        return await intake.prune(uow)


async def prune_redeem_failures(uow_factory: UnitOfWorkFactory) -> int:
    """Forget failed invite attempts older than a day."""
    async with uow_factory() as uow:
        removed = await uow.invites.prune_failures(uow.now() - timedelta(days=1))
        await uow.commit()
        return removed


JOBS: tuple[Job, ...] = (
    # Daily rules run hourly: each is idempotent, and an hourly beat notices a new day (or a clock
    # advanced in the sandbox) without waiting up to a day.
    Job("expert_pool_daily", timedelta(hours=1), sweep("services.pool.pool_jobs", "daily_sweep")),
    Job("prune_processed_updates", timedelta(hours=1), prune_processed_updates),
    Job("prune_received_updates", timedelta(hours=1), prune_received_updates),
    Job("prune_redeem_failures", timedelta(hours=1), prune_redeem_failures),
    # Due times of invitations (reminders, expiry, commitment) are rows; the sweep reads what is due.
    Job("invitations_chase", timedelta(minutes=1), sweep("services.invitations.invitations", "sweep")),
    # The reminder the day before the start, at the configured local hour (issue 13).
    Job("invitations_eve", timedelta(minutes=5), sweep("services.invitations.eve", "eve_sweep")),
    Job("calendar_fallback_warning", timedelta(hours=6),
        sweep("services.platform.calendar_watch", "warn_uncovered_years")),
    # Lead deadlines (reminder before, escalation after, reward claim window) and supervisor terms.
    Job("lead_deadlines", timedelta(minutes=15), sweep("services.leads.lead_triage", "sweep")),
    Job("supervisor_terms", timedelta(hours=1), sweep("services.supervisors.supervisors", "term_sweep")),
    # Retention of lead records (PIPL storage limitation): warn the unit, then delete at the due day. A daily rule
    # on the hourly beat like the others (a restart never postpones it by a day).
    Job("lead_retention", timedelta(hours=1), sweep("services.leads.retention", "sweep")),
    # After the activity (000 §25): work records opened, reminded daily, escalated after 5 working days; credit
    # events of expired and refused slots.
    Job("work_records", timedelta(minutes=15), sweep("services.records.work_records", "sweep")),
    Job("credit_slots", timedelta(minutes=15), sweep("services.records.credit", "sweep_slots")),
)


def build_scheduler(
    uow_factory: UnitOfWorkFactory, *, extra: Sequence[Job] = (), jobs: Sequence[Job] = JOBS
) -> AsyncIOScheduler:
    """An AsyncIO scheduler with every job registered (not started)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in (*jobs, *extra):
        scheduler.add_job(
            _guarded(job, uow_factory),
            "interval",
            seconds=job.every.total_seconds(),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


def _guarded(job: Job, uow_factory: UnitOfWorkFactory) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job.run(uow_factory)
            logger.debug("job %s done: %s", job.name, result)
        except Exception:
            logger.exception("job %s failed; it runs again at its next interval", job.name)

    return run
