"""The tunable numbers of the rules, set once at start-up from the settings (``bot.settings``) and read by the
services: the draw's rotation window and limits (001 §14, ``DrawSettings``) and the chasing of invitations
(reminder offsets, quiet hours; ``ChaseSettings``). Tests and the sandbox may :func:`configure` other values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

from services.draw_rules import DrawSettings


@dataclass(frozen=True)
class ChaseSettings:
    """When to remind about an invitation and when to stay quiet (issue defaults: 2 h and 6 h, 22:00–08:00)."""

    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=2), timedelta(hours=6))
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    late_window: timedelta = timedelta(hours=24)  # a backup invited after the deadline gets this long
    sign_reminder_before: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Policy:
    """Every tunable rule number in one value."""

    draw: DrawSettings = field(default_factory=DrawSettings)
    chase: ChaseSettings = field(default_factory=ChaseSettings)


_current: list[Policy] = [Policy()]


def current() -> Policy:
    """The policy in force."""
    return _current[0]


def configure(policy: Policy) -> None:
    """Set the policy (at start-up)."""
    _current[0] = policy
