"""Telegram's limits in one place (bot/limits.py): lengths in UTF-16 units, cutting with a mark, splitting into
numbered parts at line ends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.limits import CUT_MARK, TEXT_LIMIT, cut, numbered, split, utf16_len


def test_lengths_count_utf16_units_as_telegram_does() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("医保") == 2
    assert utf16_len("😀") == 2


def test_cut_keeps_short_text_and_marks_a_cut() -> None:
    assert cut("short", 10) == "short"
    assert cut("x" * 20, 10) == "x" * 9 + CUT_MARK
    assert utf16_len(cut("😀" * 10, 5)) <= 5


def test_split_prefers_line_ends_and_every_numbered_part_fits() -> None:
    text = "\n".join(f"第 {i} 行：" + "内容" * 30 for i in range(400))
    parts = numbered(split(text))
    assert len(parts) > 1
    assert all(utf16_len(part) <= TEXT_LIMIT for part in parts)
    assert parts[0].startswith(f"（1/{len(parts)}）\n") and parts[-1].startswith(f"（{len(parts)}/{len(parts)}）")
    assert all(part.split("\n", 1)[1].startswith("第 ") for part in parts)  # no line was broken


@given(st.text(min_size=0, max_size=12_000))
def test_split_loses_nothing_but_line_ends_and_fits(text: str) -> None:
    parts = split(text, 300)
    assert all(utf16_len(part) <= 300 for part in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_nul_characters_are_taken_out_of_incoming_updates_before_anything_reads_them() -> None:
    """PostgreSQL's text refuses NUL; a crafted update must not turn a search into a database error."""
    from bot.tolerant import without_nul

    raw = {"update_id": 1, "message": {"text": "/experts a\x00b", "entities": [{"type": "bot_command"}]}}
    cleaned = without_nul(raw)
    assert cleaned["message"]["text"] == "/experts ab" and cleaned["message"]["entities"] == [{"type": "bot_command"}]
