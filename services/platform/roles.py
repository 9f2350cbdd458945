"""Roles and the actor: who is asking, as the services see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What a person may do. ``admin`` is staff with administrative rights."""

    EXPERT = "expert"
    SUPERVISOR = "supervisor"
    STAFF = "staff"
    ADMIN = "admin"


class InviteRole(StrEnum):
    """The roles an invite can be issued for (admins are staff invited as staff)."""

    EXPERT = "expert"
    SUPERVISOR = "supervisor"
    STAFF = "staff"


@dataclass(frozen=True)
class Actor:
    """A bound person acting through an account (or the system when ``person_id`` is None)."""

    label: str
    person_id: int | None = None
    account_id: int | None = None
    name: str = ""
    roles: frozenset[Role] = field(default_factory=frozenset)
    staff_org_unit_id: int | None = None
    language: str | None = None
    menu: str | None = None  # the "/" menu last set for the account's chat, as recorded (bot/menus.py)

    @property
    def is_bound(self) -> bool:
        """Whether the actor is a known person."""
        return self.person_id is not None

    def has_any(self, roles: frozenset[Role]) -> bool:
        """Whether the actor holds at least one of ``roles``."""
        return bool(self.roles & roles)


SYSTEM_CLI = Actor(label="cli")
SCHEDULER = Actor(label="scheduler")


def person_actor_label(person_id: int) -> str:
    """The audit label for a person."""
    return f"person:{person_id}"
