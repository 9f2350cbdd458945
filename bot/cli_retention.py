"""``python -m bot retention preview [--days N]`` (what the retention sweep would warn about and delete, and when),
``retention run`` (the sweep now, as the bot's hourly job does it), ``retention hold <lead> [--until DAY]
[--reason …]`` and ``retention release <lead>`` (postpone a lead's pending deletions, or end that:
``services/leads/retention_hold.py``): issue 19, ``services/leads/retention.py``. Leads are shown by number and
unit, never by reporter. Wired into :mod:`bot.cli` by :func:`register`."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from bot.settings import Settings
from services.leads import retention, retention_hold
from services.leads.lead_rules import parse_number
from services.platform.roles import SYSTEM_CLI
from storage.uow import UnitOfWorkFactory

STATUS = {"warn": "warn now", "delete": "delete now", "held": "kept: a case is open on it"}


def register(commands: Any) -> None:
    """``retention preview`` and ``retention run``."""
    group = commands.add_parser("retention", help="retention of lead records (PIPL storage limitation)")
    actions = group.add_subparsers(dest="retention_command", required=True)
    preview = actions.add_parser("preview", help="what would be warned about and deleted, and when")
    preview.add_argument("--days", type=int, default=60, help="also list what is warned about within N days (60)")
    preview.set_defaults(handler=_preview)
    actions.add_parser("run", help="warn and delete what is due now").set_defaults(handler=_run_sweep)
    hold = actions.add_parser("hold", help="postpone a lead's pending deletions until a day or until released")
    hold.add_argument("lead", help="the lead's number (XS2026-00042) or id")
    hold.add_argument("--until", type=date.fromisoformat, help="the last day held (YYYY-MM-DD); else until released")
    hold.add_argument("--reason", default="", help="why (audited); needed without --until")
    hold.set_defaults(handler=_hold)
    release = actions.add_parser("release", help="end a lead's hold: its deletions are warned about again")
    release.add_argument("lead", help="the lead's number or id")
    release.set_defaults(handler=_release)


async def _preview(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError, _with_uow

    if not 0 <= args.days <= 3650:
        raise CliError("--days must be 0 to 3650")

    async def work(uow_factory: UnitOfWorkFactory) -> list[tuple[retention.Planned, str]]:
        async with uow_factory(readonly=True) as uow:
            found = await retention.plan(uow, settings=settings.policy().retention,
                                         horizon=timedelta(days=args.days))
            units = {p.org_unit_id: await uow.org_units.get(p.org_unit_id) for p in found}
            return [(p, (unit.code if (unit := units[p.org_unit_id]) is not None else "?")) for p in found]

    rows: list[tuple[retention.Planned, str]] = await _with_uow(settings, work)
    if not rows:
        print(f"nothing is due for warning or deletion within {args.days} days")
        return 0
    print(f"{'lead':<14} {'unit':<10} {'what':<9} {'due':<10} {'warned':<10} {'deleted':<10} now")
    zone = settings.zone
    for item, unit in rows:
        warned = f"{item.timing.warn_on.astimezone(zone):%Y-%m-%d}" if item.warned else "not yet"
        status = STATUS.get(item.action) or ("waiting" if item.warned else "to be warned")
        if item.action == "on_hold":
            status = (f"on hold until {item.held_until.astimezone(zone) - timedelta(days=1):%Y-%m-%d}"
                      if item.held_until else "on hold until released")
        print(f"{item.number:<14} {unit:<10} {item.kind:<9} {item.timing.due.astimezone(zone):%Y-%m-%d} "
              f"{warned:<10} {item.timing.delete_on.astimezone(zone):%Y-%m-%d} {status}")
    return 0


async def _run_sweep(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
        return await retention.sweep(uow_factory, settings.policy().retention)

    counts: dict[str, int] = await _with_uow(settings, work)
    print(f"retention: {counts['warned']} warned, {counts['deleted']} deleted ({counts['shredded']} file(s) "
          f"destroyed), {counts['held']} kept while a case is open, {counts['on_hold']} on hold")
    return 0


def _lead_id(text: str) -> int:
    from bot.cli import CliError

    lead_id = parse_number(text)
    if lead_id is None:
        raise CliError(f"not a lead number: {text}")
    return lead_id


async def _hold(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow

    lead_id = _lead_id(args.lead)

    async def work(uow_factory: UnitOfWorkFactory) -> retention_hold.Hold:
        async with uow_factory() as uow:
            return await retention_hold.hold(uow, actor=SYSTEM_CLI, lead_id=lead_id, until=args.until,
                                             reason=args.reason)

    done: retention_hold.Hold = await _with_uow(settings, work)
    print(f"{done.number}: {', '.join(done.kinds)} on hold "
          f"{'until ' + done.until.isoformat() if done.until else 'until released'}")
    return 0


async def _release(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow

    lead_id = _lead_id(args.lead)

    async def work(uow_factory: UnitOfWorkFactory) -> retention_hold.Hold:
        async with uow_factory() as uow:
            return await retention_hold.release(uow, actor=SYSTEM_CLI, lead_id=lead_id)

    done: retention_hold.Hold = await _with_uow(settings, work)
    print(f"{done.number}: hold released ({', '.join(done.kinds)}); warned again, then deleted when due")
    return 0
