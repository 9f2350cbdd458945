"""/help groups the commands by task (issue 20): every command has exactly one topic."""

from __future__ import annotations

from bot.commands import COMMANDS, TOPICS


def test_every_command_has_a_help_topic() -> None:
    """Issue 20: /help groups commands by task; a command added without a topic would land in "basics"."""
    listed = [name for names in TOPICS.values() for name in names]
    assert sorted(listed) == sorted(set(listed)), "a command in two topics"
    assert {c.name for c in COMMANDS} == set(listed)
