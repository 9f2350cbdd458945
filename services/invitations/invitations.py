"""Invitations, answers, the commitment, replacement by backups and the chasing sweep (000 §14, §15, §19;
001 §17, §19).

A slot is an ``ActivityMember`` row. Its life::

    drawn (backup, not yet needed) ──invite──▶ invited ──accept──▶ accepted ──sign──▶ signed
                                                 │  │                  │
                         decline / recuse ◀──────┘  └── deadline ──▶ expired (no response)
                                                                       refuse ──▶ refused (000 §14)
    any open slot ── staff cancel / required recusal ──▶ cancelled

Closing a slot (declined, recused, expired, refused, cancelled) invites the next backup of the same requirement
in order (000 §19 "依次通知递补专家"), after checking again, at that moment, that the backup is still available,
not to recuse, and keeps the group's one-per-employer-and-field rule (000 §18(三)); a backup that no longer
qualifies is passed over with the reason. When a requirement has no backup left, staff get a shortfall alert with
a one-tap top-up draw (001 §11(二)).

Every answer is checked against the presser (only the invited expert answers their slot) and the slot's current
state, inside a transaction that locks the row, so a press racing the expiry or a cancellation has one outcome.
Due times live in ``activity_member.due_at`` (indexed): :func:`sweep` reads only what is due.

Chasing (configurable: :class:`services.platform.policy.ChaseSettings`): reminders at offsets after the invitation
(default 2 h and 6 h), never in quiet hours (22:00–08:00 local) unless the deadline falls inside them; expiry at
the deadline; an accepted expert who has not signed is reminded 24 h before the start, and staff are alerted
at the start.

The steps live in modules of this package: :mod:`~services.invitations.slots` (states and shared helpers),
:mod:`~services.invitations.timing`, :mod:`~services.invitations.invite`, :mod:`~services.invitations.answers`,
:mod:`~services.invitations.replacement`, :mod:`~services.invitations.staff`, :mod:`~services.invitations.roster`
and :mod:`~services.invitations.chase`; this module gathers their public names.
"""

from __future__ import annotations

from services.invitations.answers import accept, decline, recuse, refuse_commitment, sign
from services.invitations.chase import SWEEP_BATCH, SweepReport, sweep
from services.invitations.choices import (
    REASON_FLOW,
    Answered,
    answer_choices,
    answer_with_text,
    ask_reason,
    commitment_choices,
    decline_choices,
    drop_reason_question,
    recusal_choices,
    refusal_choices,
)
from services.invitations.invite import invite, invite_principals
from services.invitations.keyboards import ATTENDANCE_BY_CODE
from services.invitations.replacement import replace
from services.invitations.roster import RosterMessage, roster_lines, roster_message, update_roster
from services.invitations.slots import (
    CLOSED,
    DECLINE_REASONS,
    OPEN,
    RECUSAL_GROUNDS,
    local_start_day,
)
from services.invitations.staff import (
    ATTENDANCE,
    AttendanceLine,
    AttendanceSheet,
    InvitedBackup,
    attendance_sheet,
    cancel,
    close_roster,
    confirm_removal,
    invite_next,
    invite_next_on_line,
    mark_attendance,
    removal_question,
    require_recusal,
)
from services.invitations.timing import in_quiet_hours, next_due, quiet_end_after
from services.platform.policy import ChaseSettings

__all__ = [
    "ATTENDANCE",
    "ATTENDANCE_BY_CODE",
    "CLOSED",
    "DECLINE_REASONS",
    "OPEN",
    "REASON_FLOW",
    "RECUSAL_GROUNDS",
    "SWEEP_BATCH",
    "Answered",
    "AttendanceLine",
    "AttendanceSheet",
    "ChaseSettings",
    "InvitedBackup",
    "RosterMessage",
    "SweepReport",
    "accept",
    "answer_choices",
    "answer_with_text",
    "ask_reason",
    "attendance_sheet",
    "cancel",
    "close_roster",
    "commitment_choices",
    "confirm_removal",
    "decline",
    "decline_choices",
    "drop_reason_question",
    "in_quiet_hours",
    "invite",
    "invite_next",
    "invite_next_on_line",
    "invite_principals",
    "local_start_day",
    "mark_attendance",
    "next_due",
    "quiet_end_after",
    "recusal_choices",
    "recuse",
    "refusal_choices",
    "refuse_commitment",
    "removal_question",
    "replace",
    "require_recusal",
    "roster_lines",
    "roster_message",
    "sign",
    "sweep",
    "update_roster",
]
