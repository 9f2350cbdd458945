"""The album acknowledgement of the /report dialog as pure functions: the album state kept in the dialog and the text
that counts its files (bot/dialogs/lead_evidence.py)."""

from __future__ import annotations

from typing import Any

from bot.dialogs.lead_evidence import ALBUM_LISTED, MAX_TEXT, album_text, album_with, file_kb
from messages import translate


def zh(key: str, **params: Any) -> str:
    return translate("zh", key, **params)


def en(key: str, **params: Any) -> str:
    return translate("en", key, **params)


def item(name: str, size: int) -> dict[str, Any]:
    return {"file_name": name, "size": size}


def test_a_file_without_a_media_group_has_no_album() -> None:
    assert album_with({"group": "g", "message_id": 5, "files": [["a.jpg", 1]]}, None, item("b.jpg", 2048)) is None


def test_the_first_item_of_a_group_opens_an_album_without_an_acknowledgement_yet() -> None:
    opened = album_with(None, "g", item("a.jpg", 122_880))
    assert opened == {"group": "g", "message_id": None, "files": [["a.jpg", 120]]}


def test_a_later_item_of_the_same_group_joins_the_album_and_keeps_its_acknowledgement() -> None:
    album = {"group": "g", "message_id": 7, "files": [["a.jpg", 120]]}
    assert album_with(album, "g", item("b.pdf", 1_048_576)) == {
        "group": "g", "message_id": 7, "files": [["a.jpg", 120], ["b.pdf", 1024]]}
    assert album == {"group": "g", "message_id": 7, "files": [["a.jpg", 120]]}  # not changed in place


def test_an_item_of_another_group_starts_a_new_album() -> None:
    album = {"group": "g", "message_id": 7, "files": [["a.jpg", 120]]}
    assert album_with(album, "h", item("c.jpg", 10)) == {"group": "h", "message_id": None, "files": [["c.jpg", 1]]}


def test_sizes_are_whole_kilobytes_and_never_zero() -> None:
    assert (file_kb(0), file_kb(1023), file_kb(2047), file_kb(1_048_576)) == (1, 1, 1, 1024)


def test_the_acknowledgement_counts_and_lists_the_albums_files_with_thousands_separated_sizes() -> None:
    files = [["a.jpg", 120], ["b.jpg", 98], ["c.pdf", 1024]]
    assert album_text(en, files, total=3) == (
        "3 files received: a.jpg (120 KB), b.jpg (98 KB), c.pdf (1,024 KB). Send more, or press Done.")
    assert album_text(zh, files, total=3) == (
        "已收到 3 个文件：a.jpg（120 KB）、b.jpg（98 KB）、c.pdf（1,024 KB）。可继续发送，或按“完成”。")


def test_files_sent_before_the_album_are_counted_in_the_total() -> None:
    text = album_text(en, [["a.jpg", 1], ["b.jpg", 2]], total=5)
    assert text.startswith("2 files received in this album: a.jpg (1 KB), b.jpg (2 KB).")
    assert "5 files in all so far" in text


def test_a_long_album_lists_the_first_names_and_says_how_many_more() -> None:
    files = [[f"photo-{n}.jpg", 1] for n in range(1, 26)]
    text = album_text(zh, files, total=25)
    assert text.startswith("已收到 25 个文件：")
    assert f"photo-{ALBUM_LISTED}.jpg" in text and f"photo-{ALBUM_LISTED + 1}.jpg" not in text
    assert f"以及另外 {25 - ALBUM_LISTED} 个" in text
    assert f"and {25 - ALBUM_LISTED} more" in album_text(en, files, total=25)


def test_the_longest_possible_acknowledgement_stays_under_telegrams_limit() -> None:
    files = [["长" * 200 + f"-{n}.jpg", 20_480] for n in range(100)]
    for t in (zh, en):
        text = album_text(t, files, total=100)
        assert len(text.encode("utf-16-le")) // 2 <= MAX_TEXT
        assert ".jpg" in text  # long names are shortened, their extension kept


def test_a_text_too_long_for_telegram_lists_fewer_names() -> None:
    def wordy(key: str, **params: Any) -> str:
        return en(key, **params) + ("!" * 400 if key == "report.album_file" else "")

    files = [["a.jpg", 1]] * 20
    text = album_text(wordy, files, total=20)
    assert len(text) <= MAX_TEXT
    assert "more" in text and text.count("a.jpg") < ALBUM_LISTED
