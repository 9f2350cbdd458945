"""Buttons after the activity: the work record dialog's and the sanction confirmation.

- :class:`ConfirmSanction` (``sc:c:<proposal id>``) is sent by :func:`services.records.sanctions.evaluate` through the
  outbox and stays in staff chats for days: its wire form is the one of the old buttons and must not change.
- The work record buttons (``wr-…``) carry the dialog's ``token`` and ``seq``
  (:class:`services.platform.dialogs.DialogState`): a press from an older step is refused as stale; their layout
  lives only as long as one conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.platform.actions import Action, Index, OptionalToken


@dataclass(frozen=True)
class ConfirmSanction(Action):
    """Staff confirm a proposed sanction (000 §23, §27; 001 §22)."""

    prefix: ClassVar[str] = "sc:c"
    proposal_id: int


@dataclass(frozen=True)
class ReallyConfirmSanction(Action):
    """The second confirmation of a sanction, naming the expert and the consequence (issue 13: irreversible)."""

    prefix: ClassVar[str] = "sc:cc"
    proposal_id: int


@dataclass(frozen=True)
class BackToSanction(Action):
    """Not now: back from the second confirmation to the proposal."""

    prefix: ClassVar[str] = "sc:cb"
    proposal_id: int


@dataclass(frozen=True)
class WorkRecordButton(Action):
    """A button of the work record dialog, stamped with the dialog's step."""

    token: str
    seq: Index


@dataclass(frozen=True)
class ChooseAnswer(WorkRecordButton):
    """One of the offered answers of the current question (empty: "none", for the credit opinion)."""

    prefix: ClassVar[str] = "wr-v"
    value: OptionalToken


@dataclass(frozen=True)
class KeepAnswer(WorkRecordButton):
    """Keep the typed answer already given."""

    prefix: ClassVar[str] = "wr-k"


@dataclass(frozen=True)
class EditExpert(WorkRecordButton):
    """From the summary: answer again for the expert at ``index``."""

    prefix: ClassVar[str] = "wr-e"
    index: Index


@dataclass(frozen=True)
class EditGroup(WorkRecordButton):
    """From the summary: answer again for the group (final opinion, consensus or majority)."""

    prefix: ClassVar[str] = "wr-g"


@dataclass(frozen=True)
class SubmitRecord(WorkRecordButton):
    """From the summary: submit the work record."""

    prefix: ClassVar[str] = "wr-s"
