"""Generated Telegram updates for robustness tests: every kind a bot may receive, with hostile contents.

A seeded generator (the same seed gives the same updates), so a failure can be replayed. Used by the suite's fuzz
test (tests/e2e/test_fuzz.py) and the nightly-size benchmark (bench/fuzz.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.commands import COMMANDS
from services.buttons import registered

JSON = dict[str, Any]

GARBAGE_ARGUMENTS = (
    "", "1", "0", "-1", "²", "٣", "１２", "99999999999999999999999", "2147483648", "9" * 400, "1e9", "0x10", "1.5",
    "NaN", " ", "\u200b", "'; DROP TABLE person; --", "=HYPERLINK(\"http://x\")", "<b>x</b>", "*_`[", "\x00",
    "zh", "en", "xx", "2026-13-45", "2026-02-30 25:61", "1 2 3 4 5 6 7 8 9", "🙂" * 50, "x" * 5000,
)
FIELDS = ("", "0", "1", "²", "-1", "99999999999999999999", "a", "x" * 40, "ok", "a1b2c3", "🙂", ":", "None")


@dataclass(frozen=True)
class Cast:
    """Who may send updates: private chats (user id = chat id) and groups the emulator knows."""

    users: Sequence[int]
    groups: Sequence[int] = ()


class UpdateFuzzer:
    """Yields raw updates (dicts as Telegram posts them) with increasing ``update_id``."""

    def __init__(self, seed: int, cast: Cast, *, first_update_id: int = 1_000_000) -> None:
        self.random = random.Random(seed)
        self.cast = cast
        self.next_id = first_update_id
        self.message_ids: dict[int, int] = {}
        self.commands = [c.name for c in COMMANDS] + ["nosuchcommand", "start@other_bot", "HELP"]
        self.prefixes = sorted(registered())

    def updates(self, count: int) -> Iterator[JSON]:
        """``count`` updates of mixed kinds."""
        kinds = (self.command, self.command, self.text, self.callback, self.callback, self.document, self.photo,
                 self.edited, self.channel_post, self.without_sender, self.member_change, self.group_message)
        for _ in range(count):
            yield self.random.choice(kinds)()

    # --- building blocks -----------------------------------------------------------------------------

    def _update(self, body: JSON) -> JSON:
        self.next_id += 1
        return {"update_id": self.next_id, **body}

    def _user(self, user_id: int) -> JSON:
        return {"id": user_id, "is_bot": False, "first_name": "测试", "language_code": self.random.choice(["zh", "en"])}

    def _message(self, chat_id: int, sender: JSON | None, content: JSON) -> JSON:
        self.message_ids[chat_id] = self.message_ids.get(chat_id, 0) + 1
        chat = {"id": chat_id, "type": "private", "first_name": "测试"} if chat_id > 0 else {
            "id": chat_id, "type": "supergroup", "title": "工作群"}
        message: JSON = {"message_id": 10_000 + self.message_ids[chat_id], "date": 1_780_000_000, "chat": chat,
                         **content}
        if sender is not None:
            message["from"] = sender
        return message

    def _private(self) -> tuple[int, JSON]:
        user = self.random.choice(self.cast.users)
        return user, self._user(user)

    def _text_content(self, text: str) -> JSON:
        content: JSON = {"text": text}
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return content

    def _garbage(self) -> str:
        return " ".join(self.random.choice(GARBAGE_ARGUMENTS) for _ in range(self.random.randint(0, 3)))

    # --- kinds -----------------------------------------------------------------------------------------

    def command(self) -> JSON:
        user, sender = self._private()
        text = f"/{self.random.choice(self.commands)} {self._garbage()}".rstrip()
        return self._update({"message": self._message(user, sender, self._text_content(text))})

    def text(self) -> JSON:
        user, sender = self._private()
        text = self.random.choice([self._garbage() or "hello", "x" * self.random.choice([1, 4096, 4097, 9000]),
                                   "😀" * 2100, "测" * 4096])
        return self._update({"message": self._message(user, sender, self._text_content(text))})

    def callback(self) -> JSON:
        user, sender = self._private()
        prefix = self.random.choice([*self.prefixes, "x", "", "inv", "na:zz"])
        data = ":".join([prefix, *(self.random.choice(FIELDS) for _ in range(self.random.randint(0, 4)))])
        data = data.encode()[:64].decode("utf-8", "ignore") or "x"
        query: JSON = {"id": str(self.random.getrandbits(48)), "from": sender, "chat_instance": "1", "data": data}
        if self.random.random() < 0.8:  # else: the message is too old to be included
            query["message"] = self._message(user, {"id": 1, "is_bot": True, "first_name": "bot"}, {"text": "旧消息"})
            query["message"]["message_id"] = self.random.choice([1, 2, 999_999])
        return self._update({"callback_query": query})

    def document(self) -> JSON:
        user, sender = self._private()
        name = self.random.choice(["a.xlsx", "b.csv", "c.pdf", "d.exe", "", "x" * 300 + ".xlsx"])
        document: JSON = {"file_id": self.random.choice(["bad", "", "AgAD" + "x" * 80]), "file_unique_id": "u",
                          "file_size": self.random.choice([10, 20 * 1024 * 1024 + 1, 0])}
        if name:
            document["file_name"] = name
        content: JSON = {"document": document}
        if self.random.random() < 0.5:
            content["caption"] = self.random.choice(["/supervisors_import", "x" * 2000, self._garbage()])
        return self._update({"message": self._message(user, sender, content)})

    def photo(self) -> JSON:
        user, sender = self._private()
        sizes = [{"file_id": "nope", "file_unique_id": "p", "width": 90, "height": 90, "file_size": 100}]
        content: JSON = {"photo": sizes}
        if self.random.random() < 0.5:
            content["caption"] = "x" * self.random.choice([10, 1024, 2000])
        if self.random.random() < 0.3:
            content["media_group_id"] = str(self.random.randint(1, 5))
        return self._update({"message": self._message(user, sender, content)})

    def edited(self) -> JSON:
        user, sender = self._private()
        message = self._message(user, sender, self._text_content(f"/{self.random.choice(self.commands)}"))
        message["edit_date"] = 1_780_000_100
        return self._update({"edited_message": message})

    def channel_post(self) -> JSON:
        chat = {"id": -1009999, "type": "channel", "title": "频道"}
        return self._update({"channel_post": {"message_id": 1, "date": 1_780_000_000, "chat": chat,
                                              "text": "/help"}})

    def without_sender(self) -> JSON:
        user, _ = self._private()
        return self._update({"message": self._message(user, None, self._text_content("/start"))})

    def member_change(self) -> JSON:
        user, sender = self._private()
        member = {"user": sender, "status": "member"}
        return self._update({"my_chat_member": {
            "chat": {"id": user, "type": "private", "first_name": "测试"}, "from": sender, "date": 1_780_000_000,
            "old_chat_member": member, "new_chat_member": {"user": sender, "status": "kicked",
                                                            "until_date": 0}}})

    def group_message(self) -> JSON:
        if not self.cast.groups:
            return self.command()
        group = self.random.choice(self.cast.groups)
        _, sender = self._private()
        text = f"/{self.random.choice(self.commands)} {self._garbage()}".rstrip()
        return self._update({"message": self._message(group, sender, self._text_content(text))})
