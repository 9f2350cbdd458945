"""In-memory Telegram of the Bot API emulator: chats, messages, files, updates and fake users.

:class:`EmulatorState` owns everything the fake Telegram knows — the chats that exist, what the bot
sent to each of them (:class:`SentMessage`), uploaded and downloadable files, the queue of pending
updates — and the in-process test API built on it: :class:`FakeUser` and :class:`FakeGroup` act as
people writing to the bot, :meth:`EmulatorState.messages` / :meth:`EmulatorState.wait_for_messages`
read what the bot answered. The HTTP side lives in :mod:`bot.emulator.server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import mimetypes
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.emulator.limits import JSONDict, bad_request, plain_text

logger = logging.getLogger(__name__)

MAX_REMEMBERED_UPDATES = 10_000


@dataclass
class StoredFile:
    """A file Telegram keeps: downloadable under ``file_path``."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class SentFile:
    """A document the bot sent."""

    file_name: str | None
    mime_type: str | None
    data: bytes
    file_id: str = ""
    file_unique_id: str = ""


@dataclass
class SentMessage:
    """A message the bot sent, in its current state (edits applied)."""

    message_id: int
    chat_id: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JSONDict | None = None
    entities: list[JSONDict] | None = None
    parse_mode: str | None = None
    document: SentFile | None = None
    photo: bytes | None = None
    sent_at: float = 0.0
    edit_count: int = 0
    edits: list[str | None] = field(default_factory=list)
    deleted: bool = False
    date: int = 0
    edit_date: int | None = None
    caption_entities: list[JSONDict] | None = None
    photo_sizes: list[JSONDict] = field(default_factory=list, repr=False)
    reply_to_message_id: int | None = None


@dataclass
class Stats:
    """Counters of the emulator."""

    requests: int = 0
    messages_sent: int = 0
    too_many_requests: int = 0
    failures_injected: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


@dataclass
class ChatState:
    """One chat: its Chat object, the bot's messages, the users' messages and an event log."""

    info: JSONDict
    next_message_id: int = 1
    sent: list[SentMessage] = field(default_factory=list)
    bot_messages: dict[int, SentMessage] = field(default_factory=dict)
    user_messages: dict[int, JSONDict] = field(default_factory=dict)
    events: list[tuple[int, str, int]] = field(default_factory=list)
    blocked: bool = False
    migrated_to: int | None = None  # a group upgraded to this supergroup: Telegram refuses it with the new id
    removed: bool = False  # the bot was removed from this group: sends get 403


@dataclass(eq=False)
class PendingUpdate:
    """An update waiting for getUpdates or webhook delivery (``sticky``: redelivered, keep once)."""

    update_id: int
    update: JSONDict
    sticky: bool = False


def buttons(msg: SentMessage) -> list[list[tuple[str, str]]]:
    """The inline keyboard of ``msg`` as rows of (text, callback_data); url buttons give ``""``."""
    markup = msg.reply_markup or {}
    rows = markup.get("inline_keyboard") or []
    return [[(str(b.get("text", "")), str(b.get("callback_data", ""))) for b in row] for row in rows]


def command_entities(text: str) -> list[JSONDict]:
    """A ``bot_command`` entity at offset 0 when ``text`` starts with ``/``."""
    if not text.startswith("/"):
        return []
    token = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": len(token.encode("utf-16-le")) // 2}]


class EmulatorState:
    """The fake Telegram's memory plus the in-process test API (users, groups, observation)."""

    def __init__(self, *, bot_id: int, bot_username: str) -> None:
        """An empty Telegram with one bot."""
        self.bot_user: JSONDict = {"id": bot_id, "is_bot": True, "first_name": "Emulated Bot", "username": bot_username}
        self.stats = Stats()
        self.request_log: list[tuple[str, int | None, int, float]] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook_responses: list[int] = []
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._next_update_id = 1
        self._seen_updates: dict[int, JSONDict] = {}
        self._pending: deque[PendingUpdate] = deque()
        self._sticky_pending = 0
        self._event_seq = 0
        self._update_event = asyncio.Event()
        self._change_event = asyncio.Event()

    # ---- users and chats -------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh",
    ) -> FakeUser:
        """The fake user ``user_id`` (created on first call; later calls return the same one)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        fake = FakeUser(
            self, user_id, first_name=first_name, last_name=last_name, username=username, language_code=language_code
        )
        self._users[user_id] = fake
        info: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            info["last_name"] = last_name
        if username:
            info["username"] = username
        self._chats[user_id] = ChatState(info=info)
        return fake

    def group(self, chat_id: int, title: str) -> FakeGroup:
        """The fake group ``chat_id`` (negative), created on first call."""
        existing = self._groups.get(chat_id)
        if existing is not None:
            return existing
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        fake = FakeGroup(self, chat_id, title)
        self._groups[chat_id] = fake
        self._chats[chat_id] = ChatState(info={"id": chat_id, "type": "group", "title": title})
        return fake

    def chat(self, chat_id: int) -> ChatState:
        """The known chat ``chat_id`` or an ApiError "chat not found"."""
        state = self._chats.get(chat_id)
        if state is None:
            raise bad_request("chat not found")
        return state

    # ---- files -----------------------------------------------------------------------------

    def store_file(
        self, data: bytes, *, kind: str, file_name: str | None = None, mime: str | None = None
    ) -> StoredFile:
        """Register ``data`` as a downloadable file of ``kind`` ("photos", "documents")."""
        n = next(self._file_seq)
        prefix = "AgAC" if kind == "photos" else "BQAC"
        ext = mimetypes.guess_extension(mime or "") or (".jpg" if kind == "photos" else "")
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{prefix}{n:06d}{self.bot_user['id']:x}",
            file_unique_id=f"AQAD{n:06d}",
            data=data,
            file_path=f"{kind}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def photo_sizes(self, data: bytes) -> list[JSONDict]:
        """Register ``data`` as a photo in three sizes, as Telegram's ``photo`` array."""
        sizes = []
        for side in (90, 320, 800):
            stored = self.store_file(data, kind="photos", mime="image/jpeg")
            sizes.append(
                {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": side, "height": side}
                | {"file_size": len(data)}
            )
        return sizes

    def file(self, file_id: str) -> StoredFile | None:
        """The stored file with ``file_id``."""
        return self._files.get(file_id)

    def file_by_path(self, file_path: str) -> StoredFile | None:
        """The stored file downloadable under ``file_path``."""
        return self._files_by_path.get(file_path)

    # ---- messages --------------------------------------------------------------------------

    def new_user_message(self, chat_id: int, sender: JSONDict, content: JSONDict) -> JSONDict:
        """Create a message from ``sender`` in ``chat_id`` (not yet delivered)."""
        chat = self.chat(chat_id)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        msg: JSONDict = {"message_id": message_id, "date": int(time.time()), "chat": chat.info, "from": sender}
        msg.update(content)
        chat.user_messages[message_id] = msg
        return msg

    def add_bot_message(self, msg: SentMessage) -> SentMessage:
        """Give ``msg`` the next message_id of its chat and record it as sent by the bot."""
        chat = self.chat(msg.chat_id)
        msg.message_id = chat.next_message_id
        chat.next_message_id += 1
        msg.date = int(time.time())
        msg.sent_at = time.monotonic()
        chat.sent.append(msg)
        chat.bot_messages[msg.message_id] = msg
        self.stats.messages_sent += 1
        self.record_event(msg, "new")
        return msg

    def record_event(self, msg: SentMessage, kind: str) -> None:
        """Note that ``msg`` was created, edited or deleted; wakes waiters."""
        self._event_seq += 1
        self._chats[msg.chat_id].events.append((self._event_seq, kind, msg.message_id))
        self._signal_change()

    def message_dict(self, msg: SentMessage) -> JSONDict:
        """``msg`` as a Bot API Message object."""
        out: JSONDict = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self._chats[msg.chat_id].info,
            "from": self.bot_user,
        }
        if msg.text is not None:
            out["text"] = plain_text(msg.text, msg.parse_mode)
            if msg.entities:
                out["entities"] = msg.entities
        if msg.caption is not None:
            out["caption"] = plain_text(msg.caption, msg.parse_mode)
            if msg.caption_entities:
                out["caption_entities"] = msg.caption_entities
        if msg.document is not None:
            doc = msg.document
            out["document"] = {"file_id": doc.file_id, "file_unique_id": doc.file_unique_id, "file_size": len(doc.data)}
            if doc.file_name:
                out["document"]["file_name"] = doc.file_name
            if doc.mime_type:
                out["document"]["mime_type"] = doc.mime_type
        if msg.photo_sizes:
            out["photo"] = msg.photo_sizes
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.reply_to_message_id is not None:
            source = self._chats[msg.chat_id].user_messages.get(msg.reply_to_message_id)
            if source is not None:
                out["reply_to_message"] = source
        return out

    def messages(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to ``chat_id``, in order, in its current state (deleted ones flagged)."""
        state = self._chats.get(chat_id)
        return list(state.sent) if state else []

    def all_messages(self) -> list[SentMessage]:
        """What the bot sent to every chat, chat by chat."""
        return [msg for state in self._chats.values() for msg in state.sent]

    def events(self, chat_id: int, after: int = 0) -> list[JSONDict]:
        """Bot message events (new/edited/deleted) of ``chat_id`` with sequence number > ``after``."""
        state = self._chats.get(chat_id)
        if state is None:
            return []
        lo, hi = 0, len(state.events)
        while lo < hi:
            mid = (lo + hi) // 2
            if state.events[mid][0] <= after:
                lo = mid + 1
            else:
                hi = mid
        out = []
        for seq, kind, message_id in state.events[lo:]:
            msg = state.bot_messages[message_id]
            out.append({"seq": seq, "kind": kind, "message": self.message_dict(msg), "deleted": msg.deleted})
        return out

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 (part of the test API, like asyncio.wait_for)
    ) -> list[SentMessage]:
        """Wait until the bot sent at least ``count`` messages to ``chat_id``; TimeoutError otherwise."""
        try:
            await self.wait_for(lambda: len(self.messages(chat_id)) >= count, timeout)
        except TimeoutError:
            got = [(m.message_id, m.text if m.text is not None else m.caption) for m in self.messages(chat_id)]
            raise TimeoutError(
                f"expected {count} bot message(s) in chat {chat_id} within {timeout} s, got {len(got)}: {got!r}"
            ) from None
        return self.messages(chat_id)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 (part of the test API, like asyncio.wait_for)
    ) -> None:
        """Wait until ``predicate()`` is true (checked on every change and every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            event = self._change_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(0.02, remaining))

    def _signal_change(self) -> None:
        event, self._change_event = self._change_event, asyncio.Event()
        event.set()

    # ---- updates ---------------------------------------------------------------------------

    def deliver(self, update: JSONDict, *, force: bool = False) -> JSONDict:
        """Queue ``update`` (assigning ``update_id``); a seen update_id is dropped unless ``force``."""
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            update_id = self._next_update_id
            update["update_id"] = update_id
        self._next_update_id = max(self._next_update_id, update_id + 1)
        if update_id in self._seen_updates and not force:
            logger.warning("update %s was already delivered; dropped (use redeliver)", update_id)
            return update
        self._seen_updates[update_id] = update
        if len(self._seen_updates) > MAX_REMEMBERED_UPDATES:
            del self._seen_updates[next(iter(self._seen_updates))]
        self.enqueue(PendingUpdate(update_id, update, sticky=force))
        return update

    def enqueue(self, entry: PendingUpdate, *, front: bool = False) -> None:
        """Queue ``entry``; a redelivered (sticky) one goes first, after other redelivered ones."""
        pending = self._pending
        if front:
            pending.appendleft(entry)
        elif entry.sticky:
            position = 0
            while position < len(pending) and pending[position].sticky:
                position += 1
            pending.insert(position, entry)
        else:
            pending.append(entry)
        if entry.sticky:
            self._sticky_pending += 1
        self._signal_update()

    async def inject_update(self, update: JSONDict) -> JSONDict:
        """Deliver an arbitrary update (``update_id`` assigned if absent); returns it."""
        return self.deliver(update)

    async def redeliver(self, update_id: int) -> JSONDict:
        """Deliver the update ``update_id`` again, as Telegram does when a webhook answer is lost."""
        update = self._seen_updates.get(update_id)
        if update is None:
            raise KeyError(f"update {update_id} is unknown")
        return self.deliver(update, force=True)

    def confirm_updates(self, offset: int) -> None:
        """Drop pending updates confirmed by a getUpdates ``offset`` (negative: keep the last -offset)."""
        pending = self._pending
        if offset < 0:
            while len(pending) > -offset:
                self._drop(pending.popleft())
            return
        if self._sticky_pending:
            keep = deque(p for p in pending if p.sticky or p.update_id >= offset)
            self._pending = keep
            return
        while pending and pending[0].update_id < offset:
            pending.popleft()

    def take_updates(self, limit: int) -> list[JSONDict]:
        """The first ``limit`` pending updates (redelivered ones lose their stickiness)."""
        out = []
        for entry in itertools.islice(self._pending, limit):
            if entry.sticky:
                entry.sticky = False
                self._sticky_pending -= 1
            out.append(entry.update)
        return out

    def drop_pending(self) -> None:
        """Forget every pending update."""
        self._pending.clear()
        self._sticky_pending = 0

    def next_pending(self) -> PendingUpdate | None:
        """Take the first pending update off the queue (webhook delivery)."""
        if not self._pending:
            return None
        entry = self._pending.popleft()
        self._drop(entry)
        return entry

    def _drop(self, entry: PendingUpdate) -> None:
        if entry.sticky:
            self._sticky_pending -= 1

    def _signal_update(self) -> None:
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    # ---- callback queries ------------------------------------------------------------------

    def open_callback(self) -> str:
        """A fresh callback_query id the bot has to answer."""
        query_id = f"{self.bot_user['id']}{next(self._callback_seq):010d}"
        self._open_callbacks.add(query_id)
        return query_id

    def close_callback(self, query_id: str, answer: JSONDict) -> None:
        """Record the bot's answer to ``query_id``; an unknown or answered id is an ApiError."""
        if query_id not in self._open_callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = answer


class FakeUser:
    """A person talking to the bot in a private chat (chat id = user id)."""

    def __init__(
        self,
        state: EmulatorState,
        user_id: int,
        *,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        """Use :meth:`EmulatorState.user` instead."""
        self._state = state
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code

    @property
    def chat_id(self) -> int:
        """The id of the private chat with the bot."""
        return self.id

    def to_dict(self) -> JSONDict:
        """The Bot API User object."""
        out: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    def _message(self, chat_id: int | None, content: JSONDict) -> JSONDict:
        msg = self._state.new_user_message(self.id if chat_id is None else chat_id, self.to_dict(), content)
        return self._state.deliver({"message": msg})

    async def send_text(self, text: str, *, chat_id: int | None = None) -> JSONDict:
        """Write ``text`` to the bot; returns the update."""
        content: JSONDict = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return self._message(chat_id, content)

    async def send_command(self, command: str, args: str = "", *, chat_id: int | None = None) -> JSONDict:
        """Send ``/command args``; returns the update."""
        text = "/" + command.lstrip("/") + (f" {args}" if args else "")
        return await self.send_text(text, chat_id=chat_id)

    async def edit_text(self, message_id: int, text: str, *, chat_id: int | None = None) -> JSONDict:
        """Edit the text of message ``message_id`` this user sent; returns the ``edited_message`` update."""
        chat = self._state.chat(self.id if chat_id is None else chat_id)
        original = chat.user_messages.get(message_id)
        if original is None or original.get("from", {}).get("id") != self.id:
            raise ValueError(f"user {self.id} sent no message {message_id} there")
        edited: JSONDict = {k: v for k, v in original.items() if k != "entities"}
        edited.update(text=text, edit_date=int(time.time()))
        entities = command_entities(text)
        if entities:
            edited["entities"] = entities
        chat.user_messages[message_id] = edited
        return self._state.deliver({"edited_message": edited})

    async def press(self, message_id: int, data: str, *, chat_id: int | None = None) -> JSONDict:
        """Press an inline button with ``data`` under message ``message_id``; returns the update."""
        target = self.id if chat_id is None else chat_id
        chat = self._state.chat(target)
        sent = chat.bot_messages.get(message_id)
        if sent is not None:
            message = self._state.message_dict(sent)
        else:
            message = {"message_id": message_id, "date": int(time.time()), "chat": chat.info}
            message["from"] = self._state.bot_user
        query = {
            "id": self._state.open_callback(),
            "from": self.to_dict(),
            "chat_instance": str(abs(target) * 7919 + self._state.bot_user["id"]),
            "data": data,
            "message": message,
        }
        return self._state.deliver({"callback_query": query})

    async def send_photo(
        self, data: bytes, *, caption: str | None = None, media_group_id: str | None = None
    ) -> JSONDict:
        """Send a photo (registered as a downloadable file); returns the update."""
        content: JSONDict = {"photo": self._state.photo_sizes(data)}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._message(None, content)

    async def send_document(
        self,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        """Send a document (registered as a downloadable file); returns the update."""
        stored = self._state.store_file(data, kind="documents", file_name=file_name, mime=mime_type)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        content: JSONDict = {"document": document}
        if caption is not None:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._message(None, content)

    async def block(self) -> JSONDict:
        """Block the bot: later sends to this chat get 403; returns the my_chat_member update."""
        self._state.chat(self.id).blocked = True
        return self._member_update(self.id, "member", "kicked")

    async def unblock(self) -> JSONDict:
        """Unblock the bot; returns the my_chat_member update."""
        self._state.chat(self.id).blocked = False
        return self._member_update(self.id, "kicked", "member")

    def _member_update(self, chat_id: int, old: str, new: str) -> JSONDict:
        bot = self._state.bot_user
        old_member: JSONDict = {"user": bot, "status": old}
        new_member: JSONDict = {"user": bot, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        if old == "kicked":
            old_member["until_date"] = 0
        member = {
            "chat": self._state.chat(chat_id).info,
            "from": self.to_dict(),
            "date": int(time.time()),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return self._state.deliver({"my_chat_member": member})


class FakeGroup:
    """A group chat (negative id) where fake users write and the bot can be added."""

    def __init__(self, state: EmulatorState, chat_id: int, title: str) -> None:
        """Use :meth:`EmulatorState.group` instead."""
        self._state = state
        self.id = chat_id
        self.title = title

    @property
    def chat_id(self) -> int:
        """The group's chat id."""
        return self.id

    async def send_text(self, from_user: FakeUser, text: str) -> JSONDict:
        """``from_user`` writes ``text`` in the group; returns the update."""
        return await from_user.send_text(text, chat_id=self.id)

    async def send_command(self, from_user: FakeUser, command: str, args: str = "") -> JSONDict:
        """``from_user`` sends ``/command args`` in the group; returns the update."""
        return await from_user.send_command(command, args, chat_id=self.id)

    async def add_bot(self, by: FakeUser) -> JSONDict:
        """``by`` adds the bot to the group; returns the my_chat_member update."""
        self._state.chat(self.id).removed = False
        return by._member_update(self.id, "left", "member")

    async def remove_bot(self, by: FakeUser, *, announce: bool = True) -> JSONDict | None:
        """``by`` removes the bot from the group: later sends there get 403 "bot was kicked from the group chat";
        returns the my_chat_member update (none with ``announce=False``, as if the bot had missed it)."""
        self._state.chat(self.id).removed = True
        return by._member_update(self.id, "member", "kicked") if announce else None

    async def upgrade_to_supergroup(self, by: FakeUser, *, announce: bool = True) -> FakeGroup:
        """What Telegram does when a group becomes a supergroup (an admin turns on visible history, or the group
        grows): the group gets a new chat id; the old chat gets a service message with ``migrate_to_chat_id``, the
        new one a message with ``migrate_from_chat_id``, and from then on every request to the old id fails with
        400 "group chat was upgraded to a supergroup chat" carrying ``parameters.migrate_to_chat_id``. Returns the
        supergroup. ``announce=False`` leaves the service messages out (as if the bot had missed them)."""
        new_id = -(10**12 + abs(self.id))
        supergroup = FakeGroup(self._state, new_id, self.title)
        self._state._groups[new_id] = supergroup
        self._state._chats[new_id] = ChatState(info={"id": new_id, "type": "supergroup", "title": self.title})
        old = self._state.chat(self.id)
        if announce:
            by._message(self.id, {"migrate_to_chat_id": new_id})
        old.migrated_to = new_id
        if announce:
            by._message(new_id, {"migrate_from_chat_id": self.id})
        return supergroup
