"""Activities and draws from the command line: ``activity create|show|cancel|reschedule`` and
``draw request|approve|reject|show|verify|export`` (the same services as the bot's flows).

``--as`` names the staff member acting (their roles and org unit come from the ``staff`` table), so the
org-scope, four-eyes and secrecy rules apply exactly as in the bot. ``draw verify`` recomputes a draw from
its record and exits 0 when it matches, 1 when it does not, 2 for an unknown id. Wired into :mod:`bot.cli`
by :func:`register`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.settings import Settings
from messages import translate
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.activities.draw_rules import ActivityKind
from services.draws import draw_export, draws
from services.draws.picks import stored_picks
from services.draws.shortfalls import Explained
from services.invitations import cancellation
from services.people.accounts import staff_actor
from services.platform.errors import DrawNotFound
from services.platform.roles import SYSTEM_CLI
from storage.uow import UnitOfWorkFactory

TIME_FORMAT = "%Y-%m-%d %H:%M"
_REQUIRE = re.compile(r"^(?P<category>[a-z]+)(?:/(?P<sub>[a-z_]+))?:(?P<count>\d+)(?::(?P<backups>\d+))?"
                      r"(?::(?P<tags>.*))?$")
PROBLEMS = {
    "snapshot_unreadable": "the stored snapshot cannot be decompressed",
    "snapshot_hash": "the snapshot does not match its recorded SHA-256 hash (the inputs were altered)",
    "algorithm_version": "the result's algorithm version differs from the record's",
    "unknown_algorithm": "the recorded algorithm version is unknown to this program",
    "result": "the stored result differs from the draw recomputed from the snapshot and the seed",
    "audit_missing": "no audit entry was written when the draw ran",
    "audit_result": "the audit entry's hash of the result differs from the stored result",
    "audit_inputs": "the audit entry's seed or snapshot hash differs from the record",
    "roster": "the roster (activity members) differs from the stored result",
}


def _local_time(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), TIME_FORMAT)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 2026-12-01 09:00") from None


def _requirement(text: str) -> RequirementInput:
    """``category[/subcategory]:principals[:backups[:tag,tag]]``."""
    found = _REQUIRE.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not CATEGORY[/SUBCATEGORY]:PRINCIPALS[:BACKUPS[:TAG,TAG]] "
            "(e.g. clinical/medicine:2:1:心血管)")
    tags = tuple(t for t in re.split(r"[,，、]", found["tags"] or "") if t.strip())
    return RequirementInput(category=found["category"], count=int(found["count"]),
                            backups=int(found["backups"] or 0), subcategory=found["sub"], tags=tags)


def register(commands: Any) -> None:
    """Add the ``activity`` and ``draw`` commands to the CLI's subcommands."""
    activity = commands.add_parser("activity", help="activities experts are drawn for").add_subparsers(
        dest="activity_command", required=True)
    create = activity.add_parser("create", help="create an activity and print its id (times in TIME_ZONE)")
    create.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID", help="staff person id")
    create.add_argument("--org", required=True, help="org unit code of the organizer")
    create.add_argument("--kind", required=True, choices=[k.value for k in ActivityKind])
    create.add_argument("--title", required=True)
    create.add_argument("--start", type=_local_time, required=True, help='"YYYY-MM-DD HH:MM"')
    create.add_argument("--end", type=_local_time, required=True, help='"YYYY-MM-DD HH:MM"')
    create.add_argument("--deadline", type=_local_time, required=True,
                        help='"YYYY-MM-DD HH:MM": experts answer by then (no later than the start)')
    create.add_argument("--require", type=_requirement, action="append", required=True, metavar="SPEC",
                        help="CATEGORY[/SUBCATEGORY]:PRINCIPALS[:BACKUPS[:TAG,TAG]], repeatable; categories "
                             "supervision, clinical, informatics, management; sub-categories medicine, pharmacy, "
                             "consumables, lab_reagents")
    create.add_argument("--inspect", type=int, action="append", default=[], metavar="INSTITUTION_ID",
                        help="an inspected institution (recusal reads it), repeatable")
    create.add_argument("--place", default="")
    create.add_argument("--double-blind", action="store_true", help="project reviews only (001 §14)")
    create.add_argument("--even-group-reason", help="waive the odd group of at least 3 (000 §18), with the reason")
    create.add_argument("--notes", default="")
    create.set_defaults(handler=_activity_create)
    show = activity.add_parser("show", help="show an activity, its conditions and roster")
    show.add_argument("activity_id", type=int)
    show.add_argument("--as", dest="as_id", type=int, metavar="STAFF_ID", help="see it as this staff member")
    show.set_defaults(handler=_activity_show)
    _register_changes(activity)

    draw = commands.add_parser("draw", help="draw requests, approval, records, verification, export")
    sub = draw.add_subparsers(dest="draw_command", required=True)
    request = sub.add_parser("request", help="file the draw request of an activity (000 §17, annex 3)")
    request.add_argument("activity_id", type=int)
    request.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID")
    request.set_defaults(handler=_draw_request)
    approve = sub.add_parser("approve", help="approve a pending request (another admin) and run the draw")
    approve.add_argument("request_id", type=int)
    approve.add_argument("--as", dest="as_id", type=int, required=True, metavar="ADMIN_ID")
    approve.set_defaults(handler=_draw_approve)
    reject = sub.add_parser("reject", help="reject a pending request (the filer withdraws it)")
    reject.add_argument("request_id", type=int)
    reject.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID")
    reject.add_argument("--note", default="")
    reject.set_defaults(handler=_draw_reject)
    show_draw = sub.add_parser("show", help="show a draw record (organizer's line of staff only)")
    show_draw.add_argument("draw_id", type=int)
    show_draw.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID")
    show_draw.set_defaults(handler=_draw_show)
    verify = sub.add_parser("verify", help="recompute a draw from its record; exit 0 if it matches, 1 if not")
    verify.add_argument("draw_id", type=int)
    verify.set_defaults(handler=_draw_verify)
    export = sub.add_parser("export", help="write a draw record in the annex 3 layout (XLSX or DOCX)")
    export.add_argument("draw_id", type=int)
    export.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID")
    export.add_argument("--format", dest="fmt", choices=draw_export.FORMATS,
                        help="default: from the file name's extension")
    export.add_argument("--out", required=True, metavar="FILE")
    export.set_defaults(handler=_draw_export)


def _register_changes(activity: Any) -> None:
    """``activity cancel`` and ``activity reschedule`` (issue 13, :mod:`services.invitations.cancellation`)."""
    cancel = activity.add_parser("cancel", help="cancel an activity: every expert is told, no penalty (001 §19)")
    cancel.add_argument("activity_id", type=int)
    cancel.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID", help="staff person id")
    cancel.add_argument("--reason", required=True, help="told to every invited, accepted and signed expert")
    cancel.set_defaults(handler=_activity_cancel)
    move = activity.add_parser("reschedule", help="move an activity; experts reconfirm the new dates (000 §19)")
    move.add_argument("activity_id", type=int)
    move.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID", help="staff person id")
    move.add_argument("--start", type=_local_time, required=True, help='"YYYY-MM-DD HH:MM"')
    move.add_argument("--end", type=_local_time, required=True, help='"YYYY-MM-DD HH:MM"')
    move.add_argument("--deadline", type=_local_time,
                      help='"YYYY-MM-DD HH:MM": answer by then (default: 24 h from now, no later than the start)')
    move.set_defaults(handler=_activity_reschedule)


async def _run(settings: Settings, work: Any) -> Any:
    from bot.cli import _with_uow

    return await _with_uow(settings, work)


def _when(moment: datetime | None, settings: Settings) -> str:
    return "-" if moment is None else moment.astimezone(settings.zone).strftime(TIME_FORMAT)


async def _activity_create(args: argparse.Namespace, settings: Settings) -> int:
    zone = settings.zone
    data = ActivityInput(
        org=args.org, kind=args.kind, title=args.title, starts_at=args.start.replace(tzinfo=zone),
        ends_at=args.end.replace(tzinfo=zone), response_deadline=args.deadline.replace(tzinfo=zone),
        requirements=tuple(args.require), institution_ids=tuple(args.inspect), place=args.place,
        double_blind=args.double_blind, allow_even_group=args.even_group_reason is not None,
        even_group_reason=args.even_group_reason, notes=args.notes,
    )

    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            activity = await activities.create_activity(uow, actor=await staff_actor(uow, args.as_id), data=data)
        return activity.id

    activity_id: int = await _run(settings, work)
    print(f"activity {activity_id} created: {' '.join(args.title.split())}")
    return 0


async def _activity_cancel(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> cancellation.Cancelled:
        async with uow_factory() as uow:
            return await cancellation.cancel_activity(uow, actor=await staff_actor(uow, args.as_id),
                                                      activity_id=args.activity_id, reason=args.reason)

    done: cancellation.Cancelled = await _run(settings, work)
    print(f"activity {done.activity_id} cancelled: {done.told} expert(s) told")
    return 0


async def _activity_reschedule(args: argparse.Namespace, settings: Settings) -> int:
    zone = settings.zone
    deadline = args.deadline.replace(tzinfo=zone) if args.deadline is not None else None

    async def work(uow_factory: UnitOfWorkFactory) -> cancellation.Rescheduled:
        async with uow_factory() as uow:
            return await cancellation.reschedule(
                uow, actor=await staff_actor(uow, args.as_id), activity_id=args.activity_id,
                starts_at=args.start.replace(tzinfo=zone), ends_at=args.end.replace(tzinfo=zone),
                response_deadline=deadline)

    done: cancellation.Rescheduled = await _run(settings, work)
    print(f"activity {done.activity_id} rescheduled to {done.start} - {done.end}: {done.asked} expert(s) asked to "
          f"reconfirm, {done.conflicts} no longer qualify (backups invited)")
    return 0


async def _activity_show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> list[str]:
        async with uow_factory(readonly=True) as uow:
            actor = SYSTEM_CLI if args.as_id is None else await staff_actor(uow, args.as_id)
            info = await activities.view(uow, actor=actor, activity_id=args.activity_id, with_members=True)
        a = info.activity
        lines = [f"activity {a.id}: {a.title}", f"organizer: {info.organizer.code} {info.organizer.name}",
                 f"kind: {a.kind}{' (double blind)' if a.double_blind else ''}; status: {a.status}",
                 f"time: {_when(a.starts_at, settings)} - {_when(a.ends_at, settings)} ({settings.time_zone}); "
                 f"answers due {_when(a.response_deadline, settings)}", f"place: {a.place or '-'}",
                 "inspected: " + (", ".join(f"{i.id} {i.name}" for i in info.institutions) or "-")]
        if a.allow_even_group:
            lines.append(f"odd group waived: {a.even_group_reason}")
        for r in info.requirements:
            sub = f"/{r.subcategory}" if r.subcategory else ""
            tags = f" tags {','.join(r.tags)}" if r.tags else ""
            lines.append(f"  requirement {r.id}: {r.category}{sub} {r.count} principal(s), {r.backups} backup(s)"
                         f"{tags}")
        for member, name in info.members:
            lines.append(f"  member: requirement {member.requirement_id} {member.role} {member.position}: "
                         f"{member.person_id} {name} ({member.status})")
        return lines

    print("\n".join(await _run(settings, work)))
    return 0


def _outcome_lines(outcome: draws.DrawOutcome, shortfalls: tuple[Explained, ...] = ()) -> list[str]:
    request = outcome.request
    if outcome.record is None or outcome.result is None:
        return [f"draw request {request.id} for activity {request.activity_id}: {request.status}"]
    record, result = outcome.record, outcome.result
    lines = [f"draw request {request.id} for activity {request.activity_id}: {request.status}",
             f"draw {record.id}: {record.outcome}; {len(result.principals)} principal(s), "
             f"{len(result.backups)} backup(s)"]
    for short in shortfalls:  # in words: the line and its category, the reasons (issue 13)
        reasons = ", ".join(f"{translate('en', f'draw.reason.{code}')}: {n}" for code, n in short.reasons)
        category = translate("en", f"category.{short.category}")
        lines.append(f"  short: line {short.position} ({category}) needs {short.needed}, {short.short} missing "
                     f"({short.matched} in the category; {reasons or 'nobody excluded: the pool is too small'})")
    return lines


async def _explained(uow_factory: UnitOfWorkFactory, actor_id: int,
                     outcome: draws.DrawOutcome) -> tuple[draws.DrawOutcome, tuple[Explained, ...]]:
    """The outcome, with its shortfalls in words when the draw was short."""
    if outcome.record is None or outcome.result is None or outcome.result.ok or outcome.record.id is None:
        return outcome, ()
    async with uow_factory(readonly=True) as uow:
        seen = await draws.get_draw(uow, actor=await staff_actor(uow, actor_id), draw_id=outcome.record.id)
    return outcome, seen.shortfalls


async def _draw_request(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> tuple[draws.DrawOutcome, tuple[Explained, ...]]:
        async with uow_factory() as uow:
            outcome = await draws.file_request(uow, actor=await staff_actor(uow, args.as_id),
                                               activity_id=args.activity_id)
        return await _explained(uow_factory, args.as_id, outcome)

    print("\n".join(_outcome_lines(*await _run(settings, work))))
    return 0


async def _draw_approve(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> tuple[draws.DrawOutcome, tuple[Explained, ...]]:
        async with uow_factory() as uow:
            outcome = await draws.approve(uow, actor=await staff_actor(uow, args.as_id), request_id=args.request_id)
        return await _explained(uow_factory, args.as_id, outcome)

    print("\n".join(_outcome_lines(*await _run(settings, work))))
    return 0


async def _draw_reject(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> str:
        async with uow_factory() as uow:
            request = await draws.reject(uow, actor=await staff_actor(uow, args.as_id), request_id=args.request_id,
                                         note=args.note)
        return request.status

    print(f"draw request {args.request_id}: {await _run(settings, work)}")
    return 0


async def _draw_show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> list[str]:
        async with uow_factory(readonly=True) as uow:
            seen = await draws.get_draw(uow, actor=await staff_actor(uow, args.as_id), draw_id=args.draw_id)
        record, result = seen.record, seen.result
        title = seen.info.activity.title if seen.info else "-"
        lines = [f"draw {record.id} for activity {record.activity_id} ({title}): {record.outcome}",
                 f"requested by {record.operator_id} {seen.operator}; approved by "
                 + (f"{record.approver_id} {seen.approver}" if record.approver_id else "- (no approval needed)"),
                 f"drawn at {_when(record.drawn_at, settings)} ({settings.time_zone})",
                 f"algorithm {record.algorithm_version}; seed {record.seed}", f"snapshot sha256 {record.snapshot_hash}"]
        lines += [f"  {p.requirement_key} {p.role.value} {p.order}: {p.person_id} {seen.names.get(p.person_id, '')}"
                  for p in result.picks]
        if result.leader is not None:
            lines.append(f"leader: {result.leader} {seen.names.get(result.leader, '')}")
        elif result.needs_leader_choice:
            lines.append("leader: to be named by the organizer (several chief experts drawn)")
        return lines

    print("\n".join(await _run(settings, work)))
    return 0


def chance_lines(report: draws.VerifyReport) -> list[str]:
    """The principals' chances (the marginals) recomputed by a v2 draw's verification (issue 18)."""
    if report.fallback:
        return ["chances: not stated (requirements depend on each other; drawn in v1's order)"]
    lines = []
    for c in report.chances:
        lines.append(f"chances {c.requirement_key}: {c.eligible} eligible; each {c.level} ({float(c.level):.2%})"
                     + "".join(f"; employer {e}: {n} experts, each {chance} ({float(chance):.2%})"
                               for e, n, chance in c.listed()))
    return lines


async def _draw_verify(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> tuple[draws.VerifyReport, list[str]] | None:
        async with uow_factory(readonly=True) as uow:
            try:
                report = await draws.verify_draw(uow, args.draw_id)
            except DrawNotFound:
                return None
            picks = await stored_picks(uow, args.draw_id)
        return report, [f"  {p.requirement_key} {p.role} {p.order}: {p.person_id} {p.name}" for p in picks]

    found = await _run(settings, work)
    if found is None:
        print(f"error: no draw record {args.draw_id}", file=sys.stderr)
        return 2
    report, picks = found
    print(f"draw {report.draw_id}: " + ("MATCHES its record" if report.ok else "DOES NOT MATCH its record"))
    print(f"algorithm version: {report.algorithm_version}")
    print(f"candidates in the snapshot: {report.candidates}")
    print(f"picks: {len(picks)}")
    if picks:
        print("\n".join(picks))
    print("\n".join(chance_lines(report)))
    for problem in report.problems:
        print(f"problem: {problem}: {PROBLEMS.get(problem, problem)}")
    return 0 if report.ok else 1


async def _draw_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError

    out = Path(args.out)
    fmt = args.fmt or out.suffix.lower().lstrip(".")
    if fmt not in draw_export.FORMATS:
        raise CliError("give --format xlsx|docx or an --out file ending in .xlsx or .docx")

    async def work(uow_factory: UnitOfWorkFactory) -> bytes:
        async with uow_factory(readonly=True) as uow:
            return await draw_export.export_draw(uow, actor=await staff_actor(uow, args.as_id), draw_id=args.draw_id,
                                                 fmt=fmt)

    data: bytes = await _run(settings, work)
    try:
        await asyncio.to_thread(out.write_bytes, data)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None
    print(f"draw {args.draw_id} written to {out} ({fmt}, {len(data)} bytes)")
    return 0
