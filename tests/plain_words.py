"""Internal identifiers that must never reach a reader (issue 20: "every displayed value goes through the
catalog"): a state key, an enum value or a snake_case name in a Chinese message means a value was shown raw.

:func:`internal_words` finds them in one text; the end-to-end fixtures run it over every message the bot sent in
a test (``tests/e2e/conftest.py``), so a card or list that shows ``线索（open）`` or ``性别：male`` fails the test that
produced it, whatever that test was about.
"""

from __future__ import annotations

import re
from functools import cache

from bot.emulator.state import SentMessage, buttons
from messages import catalog

# Catalog tables whose last key segment is an internal value (``lead.state.open`` → ``open``).
_ENUM_PARENTS = {"state", "kind", "category", "reason", "source", "status", "gender", "which", "reward", "role",
                 "outcome", "ground", "code", "verdict", "rating", "discipline", "channel"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SNAKE = re.compile(r"(?<![\w/.\-@#=<\[|])[a-z]+(?:_[a-z0-9]+)+(?![\w.(/])")
# Lines that show commands or their arguments (a usage, a list of choices), CLI hints and file names keep their ASCII
# on purpose; so does what a person typed, echoed between quotes.
_EXEMPT_LINE = re.compile(r"/[a-z]|python -m|https?:|\||\.(xlsx|csv|docx|pdf|zip|ics|png|jpg)\b")
_USAGE = re.compile(r"用法：|Usage:")
_QUOTED = re.compile("“[^”]*”|「[^」]*」|\"[^\"]*\"")


@cache
def _values() -> re.Pattern[str]:
    words: set[str] = set()
    for key in catalog("zh"):
        parts = key.split(".")
        if len(parts) >= 3 and parts[-2] in _ENUM_PARENTS and re.fullmatch(r"[a-z][a-z0-9]{2,}", parts[-1]):
            words.add(parts[-1])
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_/\-.|<\[#@]){'(?:' + alternatives + ')'}(?![A-Za-z0-9_])")


def internal_words(text: str) -> list[str]:
    """The internal identifiers in a Chinese ``text`` (empty for a text without Chinese characters)."""
    if len(_CJK.findall(text)) < len(re.findall(r"[A-Za-z]", text)) / 2 or _USAGE.search(text):
        return []  # an English text (a Chinese name in it is no reason), or a usage
    text = _QUOTED.sub("", text)
    found: list[str] = []
    for line in text.splitlines():
        if _EXEMPT_LINE.search(line):
            continue
        found += _SNAKE.findall(line) + _values().findall(line)
    return found


def assert_plain(sent: list[SentMessage]) -> None:
    """Fail when any sent text, caption, earlier edit or button label shows an internal identifier."""
    problems: list[str] = []
    for msg in sent:
        labels = [label for row in buttons(msg) for label, _ in row]
        for text in [msg.text, msg.caption, *msg.edits, *labels]:
            if text and (words := internal_words(text)):
                problems.append(f"chat {msg.chat_id} message {msg.message_id}: {sorted(set(words))} in {text[:300]!r}")
    assert not problems, "internal identifiers shown to users:\n" + "\n".join(problems[:10])
