"""Buttons of the guided creation of an activity (``/newactivity``).

Every button carries the dialog's ``token`` and ``seq`` (:class:`services.platform.dialogs.DialogState`), so a
press from an older step, an earlier dialog or a summary already confirmed is refused as stale. These buttons live
only as long as one conversation, so their layout may change freely (the ``na`` and ``na-…`` prefixes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from services.activities.draw_rules import ActivityKind
from services.platform.actions import Action, Index
from services.pool.eligibility import Category


@dataclass(frozen=True)
class NewActivityButton(Action):
    """A button of the new-activity dialog, stamped with the dialog's step."""

    token: str
    seq: Index


class Move(enum.StrEnum):
    """A button without an argument; which steps accept it is :mod:`services.activities.new_activity`'s rule."""

    BACK = "back"
    CANCEL = "x"
    CONFIRM = "ok"
    MY_UNIT = "org"
    DONE = "done"
    CLEAR = "clr"
    SKIP = "skip"
    MORE = "more"
    CHANGE = "chg"
    WAIVE = "wv"


class Section(enum.StrEnum):
    """A part of the summary that can be answered again."""

    KIND = "kind"
    TITLE = "title"
    ORG = "org"
    TIME = "time"
    INSTITUTIONS = "inst"
    PLACE = "place"
    COMPOSITION = "comp"
    DOUBLE_BLIND = "db"


@dataclass(frozen=True)
class NewActivityMove(NewActivityButton):
    """Back, cancel, confirm, done, skip... (see :class:`Move`)."""

    prefix: ClassVar[str] = "na"
    move: Move


@dataclass(frozen=True)
class ChooseKind(NewActivityButton):
    """The kind of activity."""

    prefix: ClassVar[str] = "na-k"
    kind: ActivityKind


@dataclass(frozen=True)
class AddInstitution(NewActivityButton):
    """Add a found institution to the inspected ones."""

    prefix: ClassVar[str] = "na-i"
    institution_id: int


@dataclass(frozen=True)
class ChooseCategory(NewActivityButton):
    """The category of a composition line (000 §7)."""

    prefix: ClassVar[str] = "na-c"
    category: Category


@dataclass(frozen=True)
class ChooseSubcategory(NewActivityButton):
    """The clinical sub-category of a line (000 §7(二)): a :class:`ClinicalSubcategory` value or ``any``."""

    prefix: ClassVar[str] = "na-s"
    subcategory: str


@dataclass(frozen=True)
class ChooseCount(NewActivityButton):
    """The number of principals or backups of a line."""

    prefix: ClassVar[str] = "na-n"
    count: Index


@dataclass(frozen=True)
class EditSection(NewActivityButton):
    """Answer one part of the summary again."""

    prefix: ClassVar[str] = "na-e"
    section: Section


@dataclass(frozen=True)
class ChooseDoubleBlind(NewActivityButton):
    """Whether a project review is double blind (001 §14)."""

    prefix: ClassVar[str] = "na-db"
    double_blind: bool
