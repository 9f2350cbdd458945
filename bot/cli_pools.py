"""``python -m bot pools``: per-unit expert pools from the command line (:mod:`services.pool.pools`):
``pools parent <org> on|off`` (000 §5: the unit's draws also take from its parent's pool), ``pools share
--lender <org> --borrower <org> --from <day> --to <day>`` (003 三(八)), ``pools revoke <id>`` and ``pools list``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.settings import Settings
from services.platform.roles import SYSTEM_CLI
from services.pool import pools
from services.pool.pools import ShareView
from storage.uow import UnitOfWorkFactory


def register(commands: Any) -> None:
    """Add the ``pools`` command to the CLI's subcommands."""
    parser = commands.add_parser("pools", help="per-unit expert pools and lending them (000 §5, 003 三(八))")
    actions = parser.add_subparsers(dest="pools_command", required=True)
    parent = actions.add_parser("parent", help="whether a unit's draws also take from its parent's pool (000 §5)")
    parent.add_argument("org")
    parent.add_argument("switch", choices=("on", "off"))
    share = actions.add_parser("share", help="lend a unit's pool to another unit for a period (003 三(八))")
    share.add_argument("--lender", required=True)
    share.add_argument("--borrower", required=True)
    share.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    share.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    share.add_argument("--note", default="")
    revoke = actions.add_parser("revoke", help="end a grant early")
    revoke.add_argument("share_id", type=int)
    actions.add_parser("list", help="current and coming grants")
    parser.set_defaults(handler=_pools)


async def _pools(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import _with_uow

    async def work(uow_factory: UnitOfWorkFactory) -> Sequence[ShareView] | str:
        async with uow_factory() as uow:
            if args.pools_command == "parent":
                unit = await pools.set_draws_from_parent(uow, actor=SYSTEM_CLI, org=args.org,
                                                         enabled=args.switch == "on")
                return f"{unit.code}: draws from the parent's pool {args.switch}"
            if args.pools_command == "share":
                share = await pools.grant_share(uow, actor=SYSTEM_CLI, lender=args.lender, borrower=args.borrower,
                                                starts_on=args.start, ends_on=args.end, note=args.note)
                return f"pool share {share.id}: {args.lender} -> {args.borrower}, {args.start} - {args.end}"
            if args.pools_command == "revoke":
                return f"pool share {(await pools.revoke_share(uow, actor=SYSTEM_CLI, share_id=args.share_id)).id}" \
                    " revoked"
            return await pools.shares(uow, actor=SYSTEM_CLI)

    outcome = await _with_uow(settings, work)
    if isinstance(outcome, str):
        print(outcome)
        return 0
    for s in outcome:
        print(f"{s.share_id}  {s.lender} -> {s.borrower}  {s.starts_on} - {s.ends_on}"
              f"{' (revoked)' if s.revoked else ''}  {s.note}")
    if not outcome:
        print("no pool is lent")
    return 0
