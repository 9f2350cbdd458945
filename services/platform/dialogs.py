"""Guided conversations kept in the database: where an account is in a flow, and its answers so far.

A front end asks one question at a time (creating an activity, reporting a lead...). Keeping the step and the
answers in the ``dialog`` table, one row per account, lets a conversation survive a restart and a second
process read it; PTB's in-memory conversation state would not (``docs/ARCHITECTURE.md``, deliberate choices).

Every row carries a short random ``token`` and a ``seq`` in its data. ``seq`` grows whenever the step
changes, so a front end puts ``token:seq`` into its buttons and refuses a button pressed from an older step or
an earlier conversation (:func:`is_current`).

These helpers add, change and delete rows but never commit: the caller commits, so a step can be saved (or the
dialog cleared) in the same transaction as the service call it leads to.

Also here: reading a date and time typed by a person in the bureau's time zone (:func:`parse_local_datetime`),
which every flow that asks for a moment needs.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm.attributes import flag_modified

from storage.activities import Dialog
from storage.uow import UnitOfWork

NONCE_FIELD = "_nonce"
SEQ_FIELD = "_seq"
IDLE_LIMIT = timedelta(days=7)  # a dialog untouched for this long is forgotten


async def get(uow: UnitOfWork, account_id: int, *, flow: str | None = None,
              idle_limit: timedelta | None = IDLE_LIMIT) -> Dialog | None:
    """The account's open dialog (of ``flow``, when given), or None; one idle past ``idle_limit`` is None."""
    dialog = await uow.session.get(Dialog, account_id)
    if dialog is None or (flow is not None and dialog.flow != flow):
        return None
    if idle_limit is not None and dialog.updated_at is not None and uow.now() - dialog.updated_at > idle_limit:
        return None
    return dialog


@dataclass(frozen=True)
class DialogState:
    """An open dialog as a plain value: its flow, step, answers so far, and the stamp its buttons carry."""

    flow: str
    step: str
    data: dict[str, Any]
    token: str
    seq: int
    account_id: int = 0

    def is_stamped(self, token: str, seq: int) -> bool:
        """Whether a button stamped ``token``/``seq`` belongs to this dialog's current step."""
        return token == self.token and seq == self.seq


def _state(dialog: Dialog) -> DialogState:
    return DialogState(flow=dialog.flow, step=dialog.step, data=dict(dialog.data),
                       token=str(dialog.data.get(NONCE_FIELD, "")), seq=int(dialog.data.get(SEQ_FIELD, 0)),
                       account_id=dialog.account_id)


async def current(uow: UnitOfWork, account_id: int, *, flow: str | None = None,
                  idle_limit: timedelta | None = IDLE_LIMIT) -> DialogState | None:
    """The account's open dialog (of ``flow``, when given) as a plain value, or None (none, or idle past
    ``idle_limit``)."""
    dialog = await get(uow, account_id, flow=flow, idle_limit=idle_limit)
    return None if dialog is None else _state(dialog)


async def begin(uow: UnitOfWork, account_id: int, *, flow: str, step: str,
                data: dict[str, Any] | None = None) -> DialogState:
    """:func:`start` for a front end: the new dialog as a plain value."""
    return _state(await start(uow, account_id, flow=flow, step=step, data=data))


async def update(uow: UnitOfWork, state: DialogState, *, step: str | None = None,
                 data: dict[str, Any] | None = None) -> DialogState | None:
    """:func:`save` for a front end, on the dialog ``state`` was read from; None when it ended meanwhile."""
    dialog = await uow.session.get(Dialog, state.account_id)
    if dialog is None or dialog.flow != state.flow:
        return None
    return _state(await save(uow, dialog, step=step, data=data))


async def start(uow: UnitOfWork, account_id: int, *, flow: str, step: str,
                data: dict[str, Any] | None = None) -> Dialog:
    """Open a dialog for the account at ``step``, replacing whatever dialog it had."""
    values = dict(data or {})
    values[NONCE_FIELD] = secrets.token_hex(3)
    values[SEQ_FIELD] = 1
    dialog = await uow.session.get(Dialog, account_id)
    if dialog is None:
        dialog = Dialog(account_id=account_id, flow=flow, step=step, data=values, updated_at=uow.now())
    else:
        dialog.flow, dialog.step, dialog.data, dialog.updated_at = flow, step, values, uow.now()
        flag_modified(dialog, "data")
    uow.session.add(dialog)
    await uow.session.flush()
    return dialog


async def save(uow: UnitOfWork, dialog: Dialog, *, step: str | None = None,
               data: dict[str, Any] | None = None) -> Dialog:
    """Store new answers and/or move to ``step`` (a new step invalidates the buttons of the old one)."""
    values = dict(dialog.data if data is None else data)
    values.setdefault(NONCE_FIELD, dialog.data.get(NONCE_FIELD) or secrets.token_hex(3))
    values[SEQ_FIELD] = int(dialog.data.get(SEQ_FIELD, 0))
    if step is not None and step != dialog.step:
        values[SEQ_FIELD] += 1
        dialog.step = step
    dialog.data = values
    dialog.updated_at = uow.now()
    flag_modified(dialog, "data")
    uow.session.add(dialog)
    await uow.session.flush()
    return dialog


async def clear(uow: UnitOfWork, account_id: int) -> bool:
    """End the account's dialog; whether there was one."""
    dialog = await uow.session.get(Dialog, account_id)
    if dialog is None:
        return False
    await uow.session.delete(dialog)
    await uow.session.flush()
    return True


def stamp(dialog: Dialog) -> str:
    """The dialog's current ``token:seq``, for the buttons of its current step."""
    return f"{dialog.data.get(NONCE_FIELD, '')}:{dialog.data.get(SEQ_FIELD, 0)}"


def is_current(dialog: Dialog | None, token: str, seq: str) -> bool:
    """Whether a button stamped ``token:seq`` belongs to this dialog's current step."""
    return dialog is not None and f"{token}:{seq}" == stamp(dialog)


class UnreadableMoment(ValueError):
    """A typed date and time could not be read."""


_DATE_TIME = re.compile(
    r"^\s*(?:(?P<year>\d{4})\s*[-/.年]\s*)?(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:\s+|\s*[Tt]\s*|(?<=日)\s*)"
    r"(?P<hour>\d{1,2})\s*(?:[:：点时]\s*(?P<minute>\d{1,2})?\s*分?)?\s*$"
)


def parse_local_datetime(text: str, *, zone: ZoneInfo, now: datetime) -> datetime:
    """A moment typed in the bureau's time zone, as an aware UTC datetime.

    Accepts ``2026-12-01 09:00``, ``2026/12/01 9:00``, ``2026.12.01 09:00``, ``2026年12月1日 9:30``,
    ``12-01 9:00`` and ``12月1日9点``. Without a year, the next such day from today (in ``zone``) is meant.
    """
    match = _DATE_TIME.match(text.replace("　", " "))
    if match is None:
        raise UnreadableMoment(text)
    today = now.astimezone(zone).date()
    month, day = int(match["month"]), int(match["day"])
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    try:
        if match["year"]:
            day_of = date(int(match["year"]), month, day)
        else:
            day_of = date(today.year, month, day)
            if day_of < today:
                day_of = date(today.year + 1, month, day)
        local = datetime(day_of.year, day_of.month, day_of.day, hour, minute, tzinfo=zone)
    except ValueError:
        raise UnreadableMoment(text) from None
    return local.astimezone(UTC)


def format_local(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as the bureau reads it: ``2026-12-01 09:00`` in ``zone``."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
