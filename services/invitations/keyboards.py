"""The buttons of each message of the invitation loop, i.e. which answers are on offer at each step: Accept /
Decline / Recuse on an invitation, the reasons or grounds behind Decline and Recuse, Sign / Refuse on the
commitment and the confirmation of a refusal (000 §14, §15; 001 §17, §19), and the staff's buttons (removal,
attendance, a top-up when backups run out)."""

from __future__ import annotations

from collections.abc import Sequence

from services.invitations.actions import (
    AcceptInvitation,
    AskToRefuseCommitment,
    AttendanceCode,
    BackToAnswers,
    BackToCommitment,
    ConfirmRemoval,
    DeclineInvitation,
    DeclineReason,
    FileTopUp,
    MarkAttendance,
    RecusalGround,
    RecuseFromInvitation,
    RefuseCommitment,
    ShowDeclineReasons,
    ShowRecusalGrounds,
    SignCommitment,
)
from services.platform.notify import Button

Rows = list[Sequence[Button]]

ATTENDANCE_BY_CODE = {AttendanceCode.ATTENDED: "attended", AttendanceCode.WITH_NOTICE: "absent_with_notice",
                      AttendanceCode.WITHOUT_NOTICE: "absent_without_notice"}
"""The attendance value each button records."""


def answers(slot_id: int) -> Rows:
    """An open invitation: Accept / Decline / Recuse."""
    return [[Button("invite.button.accept", AcceptInvitation(slot_id)),
             Button("invite.button.decline", ShowDeclineReasons(slot_id)),
             Button("invite.button.recuse", ShowRecusalGrounds(slot_id))]]


def decline_reasons(slot_id: int) -> Rows:
    """One button per decline reason (001 §19(四)), then Back."""
    return [*([Button(f"invite.reason.{reason}", DeclineInvitation(slot_id, reason))] for reason in DeclineReason),
            [Button("invite.button.back", BackToAnswers(slot_id))]]


def recusal_grounds(slot_id: int) -> Rows:
    """One button per recusal ground (000 §15, 001 §17), then Back."""
    return [*([Button(f"invite.reason.{ground}", RecuseFromInvitation(slot_id, ground))] for ground in RecusalGround),
            [Button("invite.button.back", BackToAnswers(slot_id))]]


def commitment(slot_id: int) -> Rows:
    """An accepted slot's commitment: Sign / Refuse (000 §14)."""
    return [[Button("invite.button.sign", SignCommitment(slot_id)),
             Button("invite.button.refuse", AskToRefuseCommitment(slot_id))]]


def refusal_confirmation(slot_id: int) -> Rows:
    """After Refuse: confirm (the expert will be removed from the pool), or go back."""
    return [[Button("invite.button.confirm_refusal", RefuseCommitment(slot_id))],
            [Button("invite.button.back", BackToCommitment(slot_id))]]


def removal(slot_id: int) -> Rows:
    """Staff confirm the removal proposed after a refused commitment."""
    return [[Button("invite.button.remove", ConfirmRemoval(slot_id))]]


def attendance(slot_id: int) -> Rows:
    """Staff record attendance: one button per value."""
    return [[Button(f"invite.button.{value}", MarkAttendance(slot_id, code))
             for code, value in ATTENDANCE_BY_CODE.items()]]


def top_up(activity_id: int, requirement_id: int) -> Rows:
    """Backups ran out: file a top-up of one principal (001 §11(二))."""
    return [[Button("invite.button.top_up", FileTopUp(activity_id, requirement_id))]]
