"""The sandbox page and its JSON API (aiohttp), served on 127.0.0.1 only.

``GET /`` is the page (plain HTML/CSS/JS from ``static/``). The API acts as the emulated people and
reads what the bot sent them:

- ``GET  /api/personas``                       who can be played, the group chats, people to invite
- ``POST /api/personas``                       one more unbound account (another newcomer)
- ``POST /api/personas/{user_id}/language``    ``{"language": "zh"|"en"}``: the account's language_code
- ``GET  /api/commands?language=zh&chat_id=N``  the chat's command menu (as set with setMyCommands)
- ``POST /api/chats/{chat_id}/text``           ``{"user_id", "text"}``: send a text or a command
- ``POST /api/chats/{chat_id}/press``          ``{"user_id", "message_id", "data"}``: press an inline button
- ``POST /api/chats/{chat_id}/upload``         multipart ``user_id``, ``kind`` (photo|document), ``caption``, ``file``
- ``GET  /api/chats/{chat_id}/events``         ``?after=SEQ&after_message=ID&timeout=S``: long poll
- ``GET  /api/files/{file_id}``                a file's bytes (photos inline, documents as attachments)
- ``GET  /api/clock``, ``POST /api/clock/advance`` ``{"hours": N}``, ``POST /api/clock/reset``: the sandbox
  time (kept across restarts), moved forward or back to the machine's

Events are the emulator's bot-message events (new, edited, deleted; ``after`` is its sequence) plus
the people's messages in that chat (``after_message`` is the last message id seen).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from yarl import URL

from bot.emulator import BotApiEmulator, FakeUser, JSONDict
from bot.emulator.limits import ApiError
from bot.runtime import Running
from bot.sandbox import views
from bot.settings import Settings
from services.demo import demo
from services.platform.clock import OffsetClock
from services.scheduler import JOBS

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_POLL_SECONDS = 25.0
MAX_ADVANCE_HOURS = 24 * 90
CALLBACK_ANSWER_WAIT = 3.0
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
NEW_USER_NAME = "新用户"


class Problem(Exception):
    """A request the API refuses: HTTP ``status`` with a one-line message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class SandboxBackend:
    """What the page acts on: the emulator, the running bot and its clock."""

    emulator: BotApiEmulator
    running: Running
    clock: OffsetClock
    settings: Settings
    users: dict[int, str]
    """emulated people (private chats): user id → first name"""
    groups: dict[int, str]
    """emulated group chats: chat id → title"""
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        """Let pending long polls return (the page is shutting down)."""
        self.closing.set()

    def user(self, user_id: int) -> FakeUser:
        """An emulated person the page may act as."""
        if user_id not in self.users:
            raise Problem(f"unknown user {user_id}", 404)
        return self.emulator.user(user_id)

    def writable(self, user: FakeUser, chat_id: int) -> None:
        """Refuse a chat that is neither the person's private chat nor a known group."""
        if chat_id != user.id and chat_id not in self.groups:
            raise Problem(f"user {user.id} cannot write in chat {chat_id}", 403)


def build_app(backend: SandboxBackend) -> web.Application:
    """The page and its API."""
    app = web.Application(middlewares=[_guard], client_max_size=MAX_UPLOAD_BYTES + 64 * 1024)
    api = Api(backend)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/api/personas", api.personas)
    app.router.add_post("/api/personas", api.new_persona)
    app.router.add_post("/api/personas/{user_id}/language", api.language)
    app.router.add_get("/api/commands", api.commands)
    app.router.add_post("/api/chats/{chat_id}/text", api.text)
    app.router.add_post("/api/chats/{chat_id}/press", api.press)
    app.router.add_post("/api/chats/{chat_id}/upload", api.upload)
    app.router.add_get("/api/chats/{chat_id}/events", api.events)
    app.router.add_get("/api/files/{file_id}", api.file)
    app.router.add_get("/api/clock", api.clock)
    app.router.add_post("/api/clock/advance", api.advance)
    app.router.add_post("/api/clock/reset", api.reset_clock)
    return app


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Loopback names only (no DNS rebinding), no cross-site writes; errors as JSON."""
    if _host_name(request.host) not in LOCAL_HOSTS:
        return web.json_response({"error": "the sandbox answers on 127.0.0.1 only"}, status=403)
    origin = request.headers.get("Origin")
    if request.method not in ("GET", "HEAD") and origin is not None and origin != f"http://{request.host}":
        return web.json_response({"error": "cross-site request refused"}, status=403)
    try:
        response: web.StreamResponse = await handler(request)
    except Problem as problem:
        return web.json_response({"error": str(problem)}, status=problem.status)
    except ApiError as error:
        return web.json_response({"error": error.description}, status=400)
    if request.path == "/" or request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-cache"
    return response


def _host_name(host: str) -> str | None:
    try:
        return URL(f"http://{host}").host
    except ValueError:
        return None


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem("the body must be JSON") from None
    if not isinstance(body, dict):
        raise Problem("the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Problem(f"{name} must be a whole number") from None


class Api:
    """The JSON API's handlers."""

    def __init__(self, backend: SandboxBackend) -> None:
        self.backend = backend
        self.emulator = backend.emulator

    async def personas(self, _request: web.Request) -> web.Response:
        """Who can be played (bound accounts, then unbound ones), the group chats, people to invite."""
        backend = self.backend
        async with backend.running.services.uow() as uow:
            playable, unbound_people = await demo.personas(uow)
            chats = {chat.chat_id: chat for chat in await demo.staff_chats(uow)}
        out: list[JSONDict] = []
        bound: set[int] = set()
        for persona in playable:
            if not persona.user_id.isdigit() or int(persona.user_id) not in backend.users:
                continue  # an account the sandbox does not emulate (bound outside it)
            user_id = int(persona.user_id)
            bound.add(user_id)
            out.append({
                "user_id": user_id, "person_id": persona.person_id, "name": persona.name, "bound": True,
                "roles": [role.value for role in persona.roles],
                "org_unit": {"code": persona.org_unit_code, "name": persona.org_unit_name},
                "language": self.emulator.user(user_id).language_code,
            })
        for user_id, name in backend.users.items():
            if user_id not in bound:
                out.append({"user_id": user_id, "person_id": None, "name": name, "bound": False, "roles": [],
                            "org_unit": None, "language": self.emulator.user(user_id).language_code})
        groups = []
        for chat_id, title in backend.groups.items():
            chat = chats.get(str(chat_id))
            unit = {"code": chat.org_unit_code, "name": chat.org_unit_name} if chat is not None else None
            groups.append({"chat_id": chat_id, "title": title, "org_unit": unit})
        invitable = [
            {"person_id": p.person_id, "name": p.name, "roles": [role.value for role in p.roles],
             "org_unit": {"code": p.org_unit_code, "name": p.org_unit_name}}
            for p in unbound_people
        ]
        return web.json_response({
            "bot": {"username": self.emulator.bot_user["username"]},
            "personas": out, "groups": groups, "unbound_people": invitable,
        })

    async def new_persona(self, _request: web.Request) -> web.Response:
        """Another unbound account, for showing the invite flow again."""
        user_id = demo.NEW_USER_ID - 1
        while user_id in self.backend.users:
            user_id -= 1
        self.backend.users[user_id] = NEW_USER_NAME
        self.emulator.user(user_id, first_name=NEW_USER_NAME, language_code=self.backend.settings.default_language)
        return web.json_response({"user_id": user_id})

    async def language(self, request: web.Request) -> web.Response:
        """Set the language_code the account's Telegram app reports (the bot answers in it)."""
        user = self.backend.user(_int(request.match_info["user_id"], "user_id"))
        language = (await _json(request)).get("language")
        if language not in ("zh", "en"):
            raise Problem("language must be zh or en")
        user.language_code = str(language)
        return web.json_response({"user_id": user.id, "language": user.language_code})

    async def commands(self, request: web.Request) -> web.Response:
        """The command menu a chat shows, resolved as Telegram does: the chat's own menu (bot/menus.py sets one per
        bound person) in the language, then without one, then the default menu in the language, then without."""
        language = request.query.get("language", "zh")
        lang = "" if language == "zh" else language
        menus = self.emulator.commands
        chat = request.query.get("chat_id", "")
        keys = [(f"chat:{chat}", lang), (f"chat:{chat}", "")] if chat.lstrip("-").isdigit() else []
        keys += [("default", lang), ("default", "")]
        menu = next((menus[key] for key in keys if menus.get(key)), [])
        return web.json_response({"commands": menu})

    async def text(self, request: web.Request) -> web.Response:
        """Send a text (a command if it starts with ``/``) as a person, in their chat or a group."""
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        body = await _json(request)
        user = self.backend.user(_int(body.get("user_id"), "user_id"))
        self.backend.writable(user, chat_id)
        text = str(body.get("text") or "").strip()
        if not text or len(text) > 4096:
            raise Problem("text must be 1-4096 characters")
        update = await user.send_text(text, chat_id=chat_id)
        return web.json_response({"message": views.user_message(update["message"])})

    async def press(self, request: web.Request) -> web.Response:
        """Press an inline button; answers with the bot's callback answer (toast or alert) if it came."""
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        body = await _json(request)
        user = self.backend.user(_int(body.get("user_id"), "user_id"))
        self.backend.writable(user, chat_id)
        data = str(body.get("data") or "")
        if not 1 <= len(data.encode("utf-8")) <= 64:
            raise Problem("data must be 1-64 bytes")
        update = await user.press(_int(body.get("message_id"), "message_id"), data, chat_id=chat_id)
        query_id = update["callback_query"]["id"]
        answers = self.emulator.callback_answers
        with contextlib.suppress(TimeoutError):
            await self.emulator.wait_for(lambda: query_id in answers, CALLBACK_ANSWER_WAIT)
        answer = answers.get(query_id)
        if answer is None or not answer.get("text"):
            return web.json_response({"answer": None})
        return web.json_response({"answer": {"text": answer["text"], "show_alert": bool(answer.get("show_alert"))}})

    async def upload(self, request: web.Request) -> web.Response:
        """Send a photo or a document (multipart form) as a person."""
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        form = await request.post()
        user = self.backend.user(_int(form.get("user_id"), "user_id"))
        self.backend.writable(user, chat_id)
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise Problem("file is missing")
        data = upload.file.read()
        if not data:
            raise Problem("the file is empty")
        kind = form.get("kind")
        content: JSONDict
        if kind == "photo":
            content = {"photo": self.emulator.photo_sizes(data)}
        elif kind == "document":
            mime = upload.content_type or "application/octet-stream"
            stored = self.emulator.store_file(data, kind="documents", file_name=upload.filename, mime=mime)
            content = {"document": {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                    "file_name": upload.filename, "mime_type": mime, "file_size": len(data)}}
        else:
            raise Problem("kind must be photo or document")
        caption = str(form.get("caption") or "").strip()
        if caption:
            content["caption"] = caption[:1024]
        message = self.emulator.new_user_message(chat_id, user.to_dict(), content)
        self.emulator.deliver({"message": message})
        return web.json_response({"message": views.user_message(message)})

    async def events(self, request: web.Request) -> web.Response:
        """What happened in a chat after the given cursors; waits up to ``timeout`` s for something."""
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        if chat_id not in self.backend.users and chat_id not in self.backend.groups:
            raise Problem(f"unknown chat {chat_id}", 404)
        after = _int(request.query.get("after", "0"), "after")
        after_message = _int(request.query.get("after_message", "0"), "after_message")
        try:
            timeout = min(max(float(request.query.get("timeout", "0")), 0.0), MAX_POLL_SECONDS)
        except ValueError:
            raise Problem("timeout must be a number of seconds") from None
        chat = self.emulator.chat(chat_id)

        def anything_new() -> bool:
            last_event = chat.events[-1][0] if chat.events else 0
            last_message = next(reversed(chat.user_messages), 0)
            return last_event > after or last_message > after_message or self.backend.closing.is_set()

        if timeout > 0 and not anything_new():
            with contextlib.suppress(TimeoutError):
                await self.emulator.wait_for(anything_new, timeout)
        events: list[JSONDict] = []
        start = bisect.bisect_right(chat.events, after, key=lambda event: event[0])
        for seq, kind, message_id in chat.events[start:]:
            events.append({"seq": seq, "kind": kind, "message": views.bot_message(chat.bot_messages[message_id])})
            after = seq
        for message_id, message in list(chat.user_messages.items()):
            if message_id > after_message:
                events.append({"seq": None, "kind": "new", "message": views.user_message(message)})
        after_message = max([after_message, *chat.user_messages])
        events.sort(key=lambda event: (event["message"]["id"], event["seq"] or 0))
        return web.json_response({"events": events, "after": after, "after_message": after_message})

    async def file(self, request: web.Request) -> web.Response:
        """A file's bytes: images inline, everything else as a download."""
        stored = self.emulator.file(request.match_info["file_id"])
        if stored is None:
            raise Problem("no such file", 404)
        mime = stored.mime_type or "application/octet-stream"
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
        if stored.file_path.startswith("documents/") or not mime.startswith("image/"):
            name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return web.Response(body=stored.data, content_type=mime, headers=headers)

    async def clock(self, _request: web.Request) -> web.Response:
        """The sandbox time."""
        return web.json_response(self._clock())

    async def advance(self, request: web.Request) -> web.Response:
        """Move the sandbox clock forward, run every scheduled sweep once, and send what became due."""
        try:
            hours = float((await _json(request)).get("hours", 0))
        except (TypeError, ValueError):
            raise Problem("hours must be a number") from None
        if not 0 < hours <= MAX_ADVANCE_HOURS:
            raise Problem(f"hours must be more than 0 and at most {MAX_ADVANCE_HOURS}")
        self.backend.clock.advance(timedelta(hours=hours))
        await self._save_clock()
        ran = await self._run_jobs()
        self.backend.running.dispatcher.wake()
        return web.json_response(self._clock() | {"jobs": ran})

    async def reset_clock(self, _request: web.Request) -> web.Response:
        """Back to the machine's time (a sandbox whose clock was stored, bot/sandbox/clock_store.py)."""
        reset = getattr(self.backend.clock, "reset", None)
        if reset is None:
            raise Problem("this sandbox's clock cannot be reset")
        reset()
        await self._save_clock()
        return web.json_response(self._clock())

    async def _save_clock(self) -> None:
        save = getattr(self.backend.clock, "save", None)
        if save is not None:
            await save()

    async def _run_jobs(self) -> list[str]:
        """Every periodic job of the product, once, as the scheduler would run it at the new time."""
        uow = self.backend.running.services.uow
        ran = []
        for job in JOBS:
            try:
                await job.run(uow)
            except Exception:
                logger.exception("job %s failed after the clock moved", job.name)
                continue
            ran.append(job.name)
        return ran

    def _clock(self) -> JSONDict:
        now = self.backend.clock.now()
        local = now.astimezone(self.backend.settings.zone)
        return {
            "now": now.isoformat(),
            "local": local.strftime("%Y-%m-%d %H:%M"),
            "weekday": local.isoweekday(),
            "zone": self.backend.settings.time_zone,
            "offset_hours": round(self.backend.clock.offset.total_seconds() / 3600, 2),
        }
