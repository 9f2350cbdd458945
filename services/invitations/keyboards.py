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
    BackFromRemoval,
    BackToAnswers,
    BackToCommitment,
    ConfirmRemoval,
    DeclineInvitation,
    DeclineReason,
    FileTopUp,
    MarkAttendance,
    PhoneChoice,
    ReallyRemove,
    RecordPhoneAnswer,
    RecordPhoneDecline,
    RecordPhoneRecusal,
    RecusalGround,
    RecuseFromInvitation,
    RefuseCommitment,
    ShowDeclineReasons,
    ShowRecusalGrounds,
    SignCommitment,
    WithdrawFromActivity,
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
    """One button per decline reason (001 §19(四)), in plain words (the articles stay in staff views), then Back."""
    return [*([Button(f"invite.choice.{reason}", DeclineInvitation(slot_id, reason))] for reason in DeclineReason),
            [Button("invite.button.back", BackToAnswers(slot_id))]]


def recusal_grounds(slot_id: int) -> Rows:
    """One button per recusal ground (000 §15, 001 §17), then Back."""
    return [*([Button(f"invite.choice.{ground}", RecuseFromInvitation(slot_id, ground))] for ground in RecusalGround),
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


def removal_confirmation(slot_id: int, name: str) -> Rows:
    """The second confirmation of a removal, naming the expert, and Back (issue 13: irreversible decisions)."""
    return [[Button("invite.button.remove_really", ReallyRemove(slot_id), {"name": name})],
            [Button("invite.button.back", BackFromRemoval(slot_id))]]


def attendance(slot_id: int) -> Rows:
    """Staff record attendance: one button per value."""
    return [[Button(f"invite.button.{value}", MarkAttendance(slot_id, code))
             for code, value in ATTENDANCE_BY_CODE.items()]]


def top_up(activity_id: int, requirement_id: int) -> Rows:
    """Backups ran out: file a top-up of one principal (001 §11(二))."""
    return [[Button("invite.button.top_up", FileTopUp(activity_id, requirement_id))]]


def phone_answers(slot_id: int, status: str) -> Rows:
    """Staff's ``/answer``: for an invited slot Accept / Accept, signed on paper / Decline / Recuse; for an accepted
    one Signed on paper / Recuse; nothing for a closed one (issue 13)."""
    if status == "invited":
        paper = RecordPhoneAnswer(slot_id, PhoneChoice.ACCEPT_ON_PAPER)
        return [[Button("invite.phone.button.accept", RecordPhoneAnswer(slot_id, PhoneChoice.ACCEPT)),
                 Button("invite.phone.button.accept_on_paper", paper)],
                [Button("invite.phone.button.decline", RecordPhoneAnswer(slot_id, PhoneChoice.DECLINE)),
                 Button("invite.phone.button.recuse", RecordPhoneAnswer(slot_id, PhoneChoice.RECUSE))]]
    if status in ("accepted", "signed"):
        row = [Button("invite.phone.button.recuse", RecordPhoneAnswer(slot_id, PhoneChoice.RECUSE))]
        if status == "accepted":
            row.insert(0, Button("invite.phone.button.signed_on_paper",
                                 RecordPhoneAnswer(slot_id, PhoneChoice.SIGNED_ON_PAPER)))
        return [row]
    return []


def phone_reasons(slot_id: int, kind: str) -> Rows:
    """Staff's ``/answer``: the decline reasons (001 §19(四)) or the recusal grounds with their articles, then Back."""
    if kind == "decline":
        rows: Rows = [[Button(f"invite.reason.{r}", RecordPhoneDecline(slot_id, r))] for r in DeclineReason]
    else:
        rows = [[Button(f"invite.phone.ground.{g}", RecordPhoneRecusal(slot_id, g))] for g in RecusalGround]
    return [*rows, [Button("invite.button.back", RecordPhoneAnswer(slot_id, PhoneChoice.BACK))]]


def assignment(slot_id: int) -> Rows:
    """An accepted or signed slot, until the start: withdraw (a reason is asked) or declare a conflict of interest
    that arose late (the recusal grounds) (issue 13)."""
    return [[Button("invite.button.withdraw", WithdrawFromActivity(slot_id)),
             Button("invite.button.late_recusal", ShowRecusalGrounds(slot_id))]]
