"""Slots from the command line: ``slot answer <slot> --as <staff id> --answer accept|decline|recuse [--reason …]
[--signed-on-paper]`` records an answer given by phone or in person (issue 13,
:mod:`services.invitations.by_phone`), as ``/answer`` does in the bot. Wired into :mod:`bot.cli` by
:func:`register`."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli_draws import _run
from bot.settings import Settings
from services.invitations import by_phone
from services.people.accounts import staff_actor
from storage.uow import UnitOfWorkFactory


def register(commands: Any) -> None:
    """``slot answer``."""
    slot = commands.add_parser("slot", help="a drawn expert's slot").add_subparsers(dest="slot_command", required=True)
    answer = slot.add_parser("answer", help="record an answer given by phone or in person (000 §19)")
    answer.add_argument("slot_id", type=int)
    answer.add_argument("--as", dest="as_id", type=int, required=True, metavar="STAFF_ID", help="staff person id")
    answer.add_argument("--answer", required=True, choices=("accept", "decline", "recuse"))
    answer.add_argument("--reason", default="",
                        help="decline: busy|field|health|other or words; recuse: worked|relative|dispute|other")
    answer.add_argument("--signed-on-paper", action="store_true",
                        help="the commitment (000 §14) was signed on paper: with accept, or alone on an accepted slot")
    answer.set_defaults(handler=_slot_answer)


async def _slot_answer(args: argparse.Namespace, settings: Settings) -> int:
    kind: by_phone.PhoneAnswer = args.answer

    async def work(uow_factory: UnitOfWorkFactory) -> by_phone.SlotAnswered:
        async with uow_factory() as uow:
            actor = await staff_actor(uow, args.as_id)
            return await by_phone.record_answer(uow, actor=actor, member_id=args.slot_id, answer=kind,
                                                reason=args.reason, signed_on_paper=args.signed_on_paper)

    answered: by_phone.SlotAnswered = await _run(settings, work)
    print(f"slot {answered.slot_id}: {answered.status} (recorded by phone)")
    return 0
