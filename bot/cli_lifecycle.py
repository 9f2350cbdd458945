"""``python -m bot expert <action> <person-id>``: the expert life cycle from the command line
(the same services as the bot's ``/pool``), for operators working outside the bot."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.settings import Settings
from services.platform.roles import SYSTEM_CLI
from services.pool import extensions, history_changes, lifecycle
from services.pool.history_changes import HistoryLine
from services.pool.lifecycle import ExitReason
from services.pool.standing import Standing
from services.pool.work_history import month_bound
from storage.uow import UnitOfWorkFactory

NEEDS_REASON = ("reject", "objection", "exit", "remove")
ACTIONS = ("review", "approve", "reject", "objection", "appoint", "renew", "extend", "exit", "remove", "history",
           "readmit")


def register(commands: Any) -> None:
    """Add the ``expert`` command to the CLI's subcommands."""
    expert = commands.add_parser("expert", help="move an expert through the pool's life cycle")
    expert.add_argument("action", choices=ACTIONS)
    expert.add_argument("person_id", type=int)
    expert.add_argument("sub", nargs="?", choices=("add",), help="history: add or correct a period")
    expert.add_argument("--institution", help="history add: institution id, credit code or exact name")
    expert.add_argument("--from", dest="start", help="history add: first month (2019-03) or day")
    expert.add_argument("--to", dest="end", default="至今", help="history add: last month or day (default: 至今)")
    expert.add_argument("--post", default="", help="history add: the post held")
    expert.add_argument("--until", type=date.fromisoformat, help="extend: grant the extension past 65 until this day "
                                                                 "(000 §22); without it, record the request")
    expert.add_argument("--refuse", action="store_true", help="extend: refuse the pending request")
    expert.add_argument("--reason", default="", help="required for reject, objection, exit and remove")
    expert.add_argument("--exit-reason", choices=[r.value for r in ExitReason], default=ExitReason.OTHER.value,
                        help="for exit: voluntary, term_end, age_limit, other")
    expert.set_defaults(handler=_move)


async def _move(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import CliError, _with_uow

    if args.action in NEEDS_REASON and not args.reason.strip():
        raise CliError(f"{args.action} needs --reason")
    if args.action == "history":
        return await _history(args, settings)

    async def work(uow_factory: UnitOfWorkFactory) -> Standing:
        async with uow_factory() as uow:
            expert_id, reason = args.person_id, args.reason
            if args.action == "review":
                return await lifecycle.start_review(uow, actor=SYSTEM_CLI, expert_id=expert_id)
            if args.action == "approve":
                return await lifecycle.approve(uow, actor=SYSTEM_CLI, expert_id=expert_id)
            if args.action == "reject":
                return await lifecycle.reject(uow, actor=SYSTEM_CLI, expert_id=expert_id, reason=reason)
            if args.action == "objection":
                return await lifecycle.record_objection(uow, actor=SYSTEM_CLI, expert_id=expert_id, note=reason)
            if args.action == "appoint":
                return await lifecycle.appoint(uow, actor=SYSTEM_CLI, expert_id=expert_id)
            if args.action == "renew":
                return await lifecycle.renew(uow, actor=SYSTEM_CLI, expert_id=expert_id)
            if args.action == "extend" and (args.until or args.refuse):
                return await extensions.decide_extension(uow, actor=SYSTEM_CLI, expert_id=expert_id,
                                                         until=None if args.refuse else args.until, note=reason)
            if args.action == "extend":
                return await lifecycle.request_extension(uow, actor=SYSTEM_CLI, expert_id=expert_id)
            if args.action == "exit":
                return await lifecycle.exit_pool(uow, actor=SYSTEM_CLI, expert_id=expert_id,
                                                 reason=ExitReason(args.exit_reason), note=reason)
            if args.action == "readmit":
                return await lifecycle.readmit(uow, actor=SYSTEM_CLI, expert_id=expert_id)
            return await lifecycle.remove(uow, actor=SYSTEM_CLI, expert_id=expert_id, reason=reason)

    expert: Standing = await _with_uow(settings, work)
    term = f", term {expert.term_start} - {expert.term_end}" if expert.term_end else ""
    extension = f", extended until {expert.extended_until}" if expert.extended_until else ""
    print(f"expert {expert.person_id}: {expert.state}{term}{extension}")
    return 0


async def _history(args: argparse.Namespace, settings: Settings) -> int:
    """``expert history <id>`` lists the work history; ``expert history <id> add --institution X --from M [--to M]``
    adds or corrects a period (000 annex 1; the two-year recusal reads it, 000 §15(一))."""
    from bot.cli import CliError, _with_uow

    if args.sub == "add" and not (args.institution and args.start):
        raise CliError("history add needs --institution and --from")

    async def work(uow_factory: UnitOfWorkFactory) -> Sequence[HistoryLine]:
        async with uow_factory() as uow:
            if args.sub == "add":
                start = month_bound(args.start, end=False)
                assert start is not None
                await history_changes.record_period(uow, actor=SYSTEM_CLI, expert_id=args.person_id,
                                                    institution=args.institution, start=start,
                                                    end=month_bound(args.end, end=True), post=args.post)
            return await history_changes.history_of(uow, actor=SYSTEM_CLI, expert_id=args.person_id)

    lines: Sequence[HistoryLine] = await _with_uow(settings, work)
    print(f"expert {args.person_id}: {len(lines)} period(s)")
    for line in lines:
        matched = f"institution {line.institution_id}" if line.institution_id else "not in the directory"
        print(f"  {line.start or '-'} ~ {line.end or 'now'}  {line.institution} ({matched})  {line.post or '-'}")
    return 0
