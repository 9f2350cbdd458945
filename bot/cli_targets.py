"""``python -m bot targets ...``: drawing inspection targets at random (双随机, 003 三(一)) from the command line,
the same services as the bot's ``/targets`` (:mod:`services.draws.target_draws`). Wired into :mod:`bot.cli` by
:func:`register`.

- ``targets draw --as STAFF --count N [--kind K ...] [--level L ...] [--division CODE ...] [--exclude ID ...]
  [--org CODE] [--all-institutions]``
- ``targets verify DRAW`` (exit 0 when the record verifies, 1 when it does not)
- ``targets to-activities DRAW --as STAFF --kind routine_inspection --title-prefix P --start T --end T
  --deadline T --require category:count[:backups[:subcategory]] ...``
"""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.settings import Settings
from services.activities.activities import RequirementInput
from services.draws import target_activities, target_draws
from services.draws.target_activities import TargetActivityTemplate
from services.draws.target_draws import TargetDrawView, TargetVerifyReport
from services.institutions.institutions import InstitutionKind
from services.people.accounts import staff_actor
from storage.uow import UnitOfWorkFactory


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``targets`` command to the command line's sub-commands."""
    targets = commands.add_parser("targets", help="draw inspection targets at random (double random, 003 三(一))")
    actions = targets.add_subparsers(dest="targets_command", required=True)

    drawn = actions.add_parser("draw", help="draw institutions from the directory and print the record")
    drawn.add_argument("--as", dest="staff", type=int, required=True, help="person id of the staff member drawing")
    drawn.add_argument("--count", type=int, required=True)
    drawn.add_argument("--kind", action="append", default=[], choices=[k.value for k in InstitutionKind],
                       help="institution kind, repeatable (default: any)")
    drawn.add_argument("--level", action="append", default=[], help="level, e.g. 三级甲等, repeatable")
    drawn.add_argument("--division", action="append", default=[], help="org unit code, repeatable")
    drawn.add_argument("--exclude", action="append", default=[], type=int, nargs="+", metavar="ID",
                       help="institution ids to leave out (e.g. inspected recently)")
    drawn.add_argument("--org", help="org unit drawing (default: the staff member's)")
    drawn.add_argument("--all-institutions", action="store_true", help="also draw institutions that are not "
                                                                       "designated (定点)")
    drawn.set_defaults(handler=_draw)

    verify = actions.add_parser("verify", help="recompute a stored target draw (exit 1 when it does not match)")
    verify.add_argument("draw_id", type=int)
    verify.set_defaults(handler=_verify)

    to_activities = actions.add_parser("to-activities", help="make one activity per drawn institution")
    to_activities.add_argument("draw_id", type=int)
    to_activities.add_argument("--as", dest="staff", type=int, required=True, help="person id of the staff member")
    to_activities.add_argument("--kind", default="routine_inspection",
                               choices=[k.value for k in target_activities.INSPECTION_KINDS])
    to_activities.add_argument("--title-prefix", required=True, help="the title is this followed by the name")
    to_activities.add_argument("--start", required=True, help="ISO date-time with offset, e.g. 2026-04-01T09:00+08:00")
    to_activities.add_argument("--end", required=True, help="ISO date-time with offset")
    to_activities.add_argument("--deadline", required=True, help="answers due (ISO date-time with offset)")
    to_activities.add_argument("--require", action="append", required=True, metavar="CAT:COUNT[:BACKUPS[:SUB]]",
                               help="composition line, repeatable, e.g. supervision:3:1")
    to_activities.add_argument("--org", help="organizer org unit code (default: the unit that drew)")
    to_activities.add_argument("--place", default="")
    to_activities.add_argument("--notes", default="")
    to_activities.set_defaults(handler=_to_activities)


def _moment(raw: str, name: str, settings: Settings) -> datetime:
    from bot.cli import CliError

    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(f"{name}: not an ISO date-time: {raw!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=settings.zone)


def _requirement(raw: str) -> RequirementInput:
    from bot.cli import CliError

    parts = raw.split(":")
    if not 2 <= len(parts) <= 4 or not all(p.isdigit() for p in parts[1:3]):
        raise CliError(f"--require: expected CATEGORY:COUNT[:BACKUPS[:SUBCATEGORY]], got {raw!r}")
    return RequirementInput(parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0,
                            parts[3] if len(parts) > 3 else None)


def describe(view: TargetDrawView) -> list[str]:
    """The lines printed for a target draw."""
    result, record = view.result, view.record
    removed = ", ".join(f"{name} {n}" for name, n in result.removed)
    head = (f"target draw {record.id} ({record.outcome}, algorithm {record.algorithm_version}): "
            f"{result.eligible} of {result.directory} institutions eligible, {result.count} requested; "
            f"removed: {removed}")
    lines = [head]
    for n, institution in enumerate(view.institutions, start=1):
        unit = view.units.get(institution.org_unit_id) if institution.org_unit_id is not None else None
        lines.append(f"  {n}. {institution.id}\t{institution.name}\t{institution.kind}\t{institution.level or '-'}"
                     f"\t{unit.code if unit is not None else '-'}")
    if not result.ok:
        lines.append(f"  short by {result.short}: nothing drawn")
    lines.append(f"snapshot sha256 {record.snapshot_hash}")
    return lines


async def _draw(args: argparse.Namespace, settings: Settings) -> int:
    """targets draw: draw and print the record."""
    from bot.cli import _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> TargetDrawView:
        async with uow_factory() as uow:
            actor = await staff_actor(uow, args.staff)
            record, _ = await target_draws.draw_targets(
                uow, actor=actor, org=args.org, kinds=args.kind, levels=args.level, division_ids=args.division,
                designated_only=not args.all_institutions, exclude_ids=[i for ids in args.exclude for i in ids],
                count=args.count)
        assert record.id is not None
        async with uow_factory(readonly=True) as uow:
            return await target_draws.get_target_draw(uow, actor=actor, draw_id=record.id)

    view: TargetDrawView = await _with_uow(settings, work)
    for line in describe(view):
        print(line)
    return 0 if view.result.ok else 1


async def _verify(args: argparse.Namespace, settings: Settings) -> int:
    """targets verify DRAW: exit 0 when the record verifies."""
    from bot.cli import _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> TargetVerifyReport:
        async with uow_factory(readonly=True) as uow:
            return await target_draws.verify_target_draw(uow, args.draw_id)

    report: TargetVerifyReport = await _with_uow(settings, work)
    if report.ok:
        print(f"target draw {report.draw_id} verified: algorithm {report.algorithm_version}, "
              f"{report.directory} institutions in the snapshot, {report.picks} drawn")
        return 0
    print(f"target draw {report.draw_id} does NOT verify: {', '.join(report.problems)}")
    return 1


async def _to_activities(args: argparse.Namespace, settings: Settings) -> int:
    """targets to-activities DRAW: one activity per drawn institution."""
    from bot.cli import _with_uow

    template = TargetActivityTemplate(
        kind=args.kind, title_prefix=args.title_prefix, starts_at=_moment(args.start, "--start", settings),
        ends_at=_moment(args.end, "--end", settings), response_deadline=_moment(args.deadline, "--deadline", settings),
        requirements=tuple(_requirement(r) for r in args.require), org=args.org, place=args.place, notes=args.notes,
    )

    async def work(uow_factory: UnitOfWorkFactory) -> list[target_activities.CreatedActivity]:
        async with uow_factory() as uow:
            actor = await staff_actor(uow, args.staff)
            return await target_activities.to_activities(uow, actor=actor, draw_id=args.draw_id, template=template)

    created: list[target_activities.CreatedActivity] = await _with_uow(settings, work)
    print(f"{len(created)} activit{'y' if len(created) == 1 else 'ies'} created from target draw {args.draw_id}:")
    for activity in created:
        print(f"  activity {activity.id}\t{activity.title}")
    return 0
