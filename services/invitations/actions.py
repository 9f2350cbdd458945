"""Buttons of invitations, the commitment, attendance and employer letters.

Most of these are sent through the outbox and stay in experts' and staff's chats for days, so each prefix and
layout reproduces the callback data the bot has always written (``inv:a:<slot>``, ``inv:dr:<slot>:<reason>``,
``ltr:sent:<slot>``…): a new layout takes a new prefix.

:class:`FileTopUp` (``draw:tu:<activity>:<requirement>``) is handled with the draws but declared here: the
invitations send it when a requirement's backups run out, and the draws package already depends on this one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action


class DeclineReason(enum.StrEnum):
    """Why an expert declines (001 §19(四): outside my field)."""

    BUSY = "busy"
    FIELD = "field"
    HEALTH = "health"
    OTHER = "other"


class RecusalGround(enum.StrEnum):
    """The ground an expert declares to recuse (000 §15, 001 §17)."""

    WORKED = "worked"
    RELATIVE = "relative"
    DISPUTE = "dispute"
    OTHER = "other"


class AttendanceCode(enum.StrEnum):
    """Attendance as a button writes it: attended, absent with notice, absent without notice."""

    ATTENDED = "a"
    WITH_NOTICE = "n"
    WITHOUT_NOTICE = "w"


@dataclass(frozen=True)
class AcceptInvitation(Action):
    """The invited expert accepts (000 §14)."""

    prefix: ClassVar[str] = "inv:a"
    slot_id: int


@dataclass(frozen=True)
class ShowDeclineReasons(Action):
    """The invited expert opens the decline reasons."""

    prefix: ClassVar[str] = "inv:d"
    slot_id: int


@dataclass(frozen=True)
class ShowRecusalGrounds(Action):
    """The invited expert opens the recusal grounds."""

    prefix: ClassVar[str] = "inv:r"
    slot_id: int


@dataclass(frozen=True)
class BackToAnswers(Action):
    """Back from the reasons or grounds to Accept / Decline / Recuse."""

    prefix: ClassVar[str] = "inv:b"
    slot_id: int


@dataclass(frozen=True)
class DeclineInvitation(Action):
    """Decline for a reason ("other" asks for a line of text)."""

    prefix: ClassVar[str] = "inv:dr"
    slot_id: int
    reason: DeclineReason


@dataclass(frozen=True)
class RecuseFromInvitation(Action):
    """Recuse on a ground ("other" asks for a line of text)."""

    prefix: ClassVar[str] = "inv:rg"
    slot_id: int
    ground: RecusalGround


@dataclass(frozen=True)
class SignCommitment(Action):
    """Sign the commitment (000 §14)."""

    prefix: ClassVar[str] = "inv:s"
    slot_id: int


@dataclass(frozen=True)
class AskToRefuseCommitment(Action):
    """Refuse to sign: first shows the warning and a confirmation."""

    prefix: ClassVar[str] = "inv:x"
    slot_id: int


@dataclass(frozen=True)
class RefuseCommitment(Action):
    """Refusal confirmed (000 §14: removal from the pool follows)."""

    prefix: ClassVar[str] = "inv:xx"
    slot_id: int


@dataclass(frozen=True)
class BackToCommitment(Action):
    """Back from the refusal warning to Sign / Refuse."""

    prefix: ClassVar[str] = "inv:xb"
    slot_id: int


@dataclass(frozen=True)
class ConfirmRemoval(Action):
    """Staff confirm the removal proposed after a refused commitment (000 §14)."""

    prefix: ClassVar[str] = "inv:rm"
    slot_id: int


@dataclass(frozen=True)
class MarkAttendance(Action):
    """Staff record an expert's attendance after the activity."""

    prefix: ClassVar[str] = "inv:at"
    slot_id: int
    code: AttendanceCode


@dataclass(frozen=True)
class MarkLetterSent(Action):
    """Staff record the letter to the expert's employer sent (000 §19, 001 §12)."""

    prefix: ClassVar[str] = "ltr:sent"
    slot_id: int


@dataclass(frozen=True)
class FileTopUp(Action):
    """File a top-up draw of one principal for a requirement whose backups ran out (001 §11(二))."""

    prefix: ClassVar[str] = "draw:tu"
    activity_id: int
    requirement_id: int


class PhoneChoice(enum.StrEnum):
    """What staff press on ``/answer``: accept, accept with the commitment signed on paper, the commitment signed
    on paper (an accepted slot), open the decline reasons or the recusal grounds, back."""

    ACCEPT = "a"
    ACCEPT_ON_PAPER = "ap"
    SIGNED_ON_PAPER = "p"
    DECLINE = "d"
    RECUSE = "r"
    BACK = "b"


@dataclass(frozen=True)
class RecordPhoneAnswer(Action):
    """Staff record an answer given by phone or in person (issue 13)."""

    prefix: ClassVar[str] = "inv:ph"
    slot_id: int
    choice: PhoneChoice


@dataclass(frozen=True)
class RecordPhoneDecline(Action):
    """Staff record a decline given by phone, with its reason."""

    prefix: ClassVar[str] = "inv:phd"
    slot_id: int
    reason: DeclineReason


@dataclass(frozen=True)
class RecordPhoneRecusal(Action):
    """Staff record a recusal declared by phone, with its ground (000 §15, 001 §17)."""

    prefix: ClassVar[str] = "inv:phr"
    slot_id: int
    ground: RecusalGround


@dataclass(frozen=True)
class WithdrawFromActivity(Action):
    """An accepted or signed expert withdraws before the start: asks for the reason in words (issue 13)."""

    prefix: ClassVar[str] = "inv:w"
    slot_id: int


@dataclass(frozen=True)
class ReallyRemove(Action):
    """The second confirmation of a removal from the pool (000 §14; irreversible: five years barred, issue 13)."""

    prefix: ClassVar[str] = "inv:rm2"
    slot_id: int


@dataclass(frozen=True)
class BackFromRemoval(Action):
    """Back from the removal's second confirmation to the proposal."""

    prefix: ClassVar[str] = "inv:rmb"
    slot_id: int
