"""The HTTP face of the Bot API emulator: a fake ``api.telegram.org`` in aiohttp.

:class:`BotApiEmulator` serves ``/bot<token>/<method>`` and ``/file/bot<token>/<path>`` the way
Telegram does (parameters as query string, form, multipart or JSON; answers ``{"ok": ...}`` with
Telegram's error texts), applies flood limits and injected failures, delivers updates by
getUpdates or webhook, and offers a small control API under ``/_emulator/`` for a browser sandbox.
The in-memory Telegram it serves is :class:`bot.emulator.state.EmulatorState`.

Its flood limits, outages, long polls, hangs and webhook retries measure time with an injected
``monotonic`` clock and wait with an injected async ``sleep`` (defaults :func:`time.monotonic` and
:func:`asyncio.sleep`), so a test can hold time still or move it, instead of timing real waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator.limits import (
    ApiError,
    FailureMode,
    FailurePlan,
    JSONDict,
    Limits,
    RateLimiter,
    bad_request,
    check_caption,
    check_reply_markup,
    check_text,
    failure_description,
)
from bot.emulator.parallel import deliver_in_parallel
from bot.emulator.state import ChatState, EmulatorState, SentFile, SentMessage

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
WEBHOOK_MAX_TRIES = 10
WEBHOOK_FIRST_DELAY = 0.1
WEBHOOK_MAX_DELAY = 2.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
POLLING_METHODS = frozenset({"getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo"})
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)

Handler = Callable[["Params"], Awaitable[Any]]


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class Webhook:
    """The webhook set by setWebhook."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class Params:
    """Parameters of one request, decoded the way the Bot API does (form strings or JSON values)."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        """Wrap decoded ``values`` and uploaded ``files``."""
        self.values = values
        self.files = files

    def get_str(self, name: str) -> str | None:
        """A string parameter."""
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str) -> int | None:
        """An integer parameter (``Bad Request`` if it is not one)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def require_int(self, name: str) -> int:
        """A required integer parameter."""
        value = self.get_int(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def get_float(self, name: str) -> float | None:
        """A number parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        """A boolean parameter (``true``/``1`` or JSON true)."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        """A parameter that is a JSON object/array (form fields carry it JSON-encoded)."""
        value = self.values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id_or_none(self) -> int | None:
        """The ``chat_id`` if it is an integer (for the request log)."""
        value = self.values.get("chat_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
        return None

    def get_file(self, name: str) -> Upload | str | None:
        """An uploaded file (direct part or ``attach://``) or a file_id/URL string."""
        upload = self.files.get(name)
        if upload is not None:
            return upload
        value = self.get_str(name)
        if value and value.startswith("attach://"):
            upload = self.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"wrong file identifier/HTTP URL specified ({value})")
            return upload
        return value


def _inline(markup: JSONDict | None) -> JSONDict | None:
    """``markup`` if it is an inline keyboard, else ``None``."""
    return markup if markup and "inline_keyboard" in markup else None


def _scope_key(scope: Any) -> str:
    """A readable key for a BotCommandScope: ``default``, ``chat:<id>``, ``chat_member:<id>:<user>``."""
    if not isinstance(scope, dict):
        return "default"
    parts = [str(scope.get("type", "default"))]
    for key in ("chat_id", "user_id"):
        if key in scope:
            parts.append(str(scope[key]))
    return ":".join(parts)


class BotApiEmulator(EmulatorState):
    """A fake Telegram Bot API server plus the in-process test API of :class:`EmulatorState`."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 (a fake token)
        bot_id: int = 123456,
        bot_username: str = "fundwatch_bot",
        limits: Limits | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """An emulator for the bot with ``token``; call :meth:`start` or embed :meth:`make_app`.

        ``monotonic`` and ``sleep`` are the clock and the wait of every time-dependent behaviour (see the
        module docstring).
        """
        super().__init__(bot_id=bot_id, bot_username=bot_username)
        self.token = token
        self._monotonic = monotonic
        self._sleep = sleep
        self.limits = limits if limits is not None else Limits()
        self.rate_limiter = RateLimiter(self.limits, clock=monotonic)
        self.failures = FailurePlan(clock=monotonic)
        self.webhook: Webhook | None = None
        # Deliver up to the webhook's max_connections updates at once, one at a time per chat, as Telegram
        # does (bot/emulator/parallel.py); off: one update at a time.
        self.webhook_parallel = False
        self.allowed_updates: list[str] | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._method_table().items():
            self._methods[name.lower()] = (name, handler)

    # ---- lifecycle -------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application serving the Bot API (embeddable in another app)."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_get("/bot{token}/{method}", self._handle_api)
        app.router.add_post("/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.*}", self._handle_file)
        app.router.add_post("/_emulator/users/{user_id}/text", self._control(self._control_text))
        app.router.add_post("/_emulator/users/{user_id}/press", self._control(self._control_press))
        app.router.add_get("/_emulator/chats/{chat_id}/events", self._control(self._control_events))
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 = a free port, see :attr:`port`)."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])
        logger.info("Bot API emulator listening on %s:%s", host, self._port)

    async def stop(self) -> None:
        """Stop serving; wakes long polls and hanging requests first."""
        await self._shutdown()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def port(self) -> int:
        """The port the emulator listens on."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``base_url`` for :class:`telegram.Bot` (it appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """``base_file_url`` for :class:`telegram.Bot`."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _on_startup(self, _app: web.Application) -> None:
        self._stopping.clear()
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        if self.webhook is not None:
            self._ensure_worker()

    async def _on_cleanup(self, _app: web.Application) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        self._stopping.set()
        self._signal_update()
        await self._stop_worker()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ---- failure injection -----------------------------------------------------------------

    def fail_next(self, count: int, status: int = 502, *, include_polling: bool = False) -> None:
        """The next ``count`` API calls (not getUpdates/webhook calls unless asked) answer ``status``."""
        self.failures.fail_next(count, status, include_polling)

    def fail_for(self, seconds: float, mode: FailureMode = "5xx", *, hang_seconds: float = 30.0) -> None:
        """For ``seconds`` every call but getUpdates answers 502 (``timeout``: after hanging)."""
        self.failures.fail_for(seconds, mode, hang_seconds)

    def inject_429(self, count: int, retry_after: int = 1) -> None:
        """The next ``count`` message-creating calls get a 429 with ``retry_after``."""
        self.failures.inject_429(count, retry_after)

    def clear_failures(self) -> None:
        """Cancel all injected failures."""
        self.failures.clear()

    async def _apply_failures(self, name: str) -> None:
        status = self.failures.take_next(polling=name in POLLING_METHODS)
        if status is not None:
            self.stats.failures_injected += 1
            raise ApiError(status, failure_description(status))
        mode = self.failures.outage(get_updates=name == "getUpdates")
        if mode is not None:
            self.stats.failures_injected += 1
            if mode == "timeout":
                await self._wait(self._stopping, self.failures.hang_seconds)
            raise ApiError(502, "Bad Gateway")

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until ``event`` is set or ``seconds`` have passed (by the injected ``sleep``)."""
        if event.is_set():
            return
        woken = asyncio.ensure_future(event.wait())
        timer = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait((woken, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            timer.cancel()

    def _check_rate(self, chat_id: int) -> None:
        retry = self.failures.take_429()
        if retry is not None:
            self.stats.failures_injected += 1
        else:
            retry = self.rate_limiter.acquire(chat_id)
        if retry is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})

    # ---- HTTP handlers ---------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raw_name = request.match_info["method"]
        if request.match_info["token"] != self.token:
            self.request_log.append((raw_name, None, 401, self._monotonic()))
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        entry = self._methods.get(raw_name.lower())
        if entry is None:
            logger.info("emulator: unknown Bot API method %s", raw_name)
            self.request_log.append((raw_name, None, 404, self._monotonic()))
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        name, handler = entry
        stats = self.stats
        stats.requests += 1
        stats.by_method[name] = stats.by_method.get(name, 0) + 1
        chat_id: int | None = None
        try:
            params = await self._read_params(request)
            chat_id = params.chat_id_or_none()
            await self._apply_failures(name)
            result = await handler(params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as err:
            status, body = err.code, err.payload()
            if status == 429:
                stats.too_many_requests += 1
        except Exception:
            logger.exception("emulator: %s failed", name)
            status, body = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        self.request_log.append((name, chat_id, status, self._monotonic()))
        if status != 200:
            logger.debug("emulator: %s chat=%s -> %s %s", name, chat_id, status, body.get("description"))
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON encoded request body") from None
                if not isinstance(body, dict):
                    raise bad_request("request body must be a JSON object")
                values.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        with value.file as handle:
                            files[key] = Upload(handle.read(), value.filename, value.content_type)
                    elif isinstance(value, str):
                        values[key] = value
                    else:
                        values[key] = bytes(value).decode()
        return Params(values, files)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        stored = self.file_by_path(request.match_info["file_path"])
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    @staticmethod
    def _control(
        action: Callable[[web.Request], Awaitable[Any]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return web.json_response(await action(request))
            except ApiError as err:
                return web.json_response(err.payload(), status=err.code)
            except (ValueError, KeyError, TypeError) as exc:
                return web.json_response({"ok": False, "error_code": 400, "description": repr(exc)}, status=400)

        return handle

    async def _control_text(self, request: web.Request) -> JSONDict:
        body = await request.json()
        user = self.user(int(request.match_info["user_id"]))
        return await user.send_text(str(body["text"]))

    async def _control_press(self, request: web.Request) -> JSONDict:
        body = await request.json()
        user = self.user(int(request.match_info["user_id"]))
        return await user.press(int(body["message_id"]), str(body["data"]))

    async def _control_events(self, request: web.Request) -> JSONDict:
        after = int(request.query.get("after", "0"))
        events = self.events(int(request.match_info["chat_id"]), after)
        last = events[-1]["seq"] if events else after
        return {"events": events, "last_seq": last}

    # ---- webhook delivery ------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._webhook_loop(), name="emulator-webhook")

    async def _stop_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _webhook_loop(self) -> None:
        if self.webhook_parallel:
            await deliver_in_parallel(self, self._post_with_retries, lambda: self._update_event, self._stopping)
            return
        while self.webhook is not None and not self._stopping.is_set():
            event = self._update_event
            entry = self.next_pending()
            if entry is None:
                await event.wait()
                continue
            try:
                await self._post_with_retries(entry.update)
            except asyncio.CancelledError:
                self.enqueue(entry, front=True)  # webhook deleted mid-delivery: keep it for getUpdates
                raise

    async def _post_with_retries(self, update: JSONDict) -> bool:
        delay = WEBHOOK_FIRST_DELAY
        for attempt in range(1, WEBHOOK_MAX_TRIES + 1):
            hook = self.webhook
            if hook is None:
                return False
            try:
                status = await self._post(hook.url, update, hook.secret_token)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc!r}"
            else:
                self.webhook_responses.append(status)
                if 200 <= status < 300:
                    return True
                error = f"Wrong response from the webhook: {status}"
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            logger.warning(
                "webhook delivery of update %s failed (try %s/%s): %s",
                update.get("update_id"),
                attempt,
                WEBHOOK_MAX_TRIES,
                error,
            )
            if attempt < WEBHOOK_MAX_TRIES:
                await self._sleep(delay)
                delay = min(delay * 2, WEBHOOK_MAX_DELAY)
        logger.error("giving up webhook delivery of update %s after %s tries", update.get("update_id"), attempt)
        return False

    async def _post(self, url: str, update: JSONDict, secret: str | None) -> int:
        if self._session is None:
            raise RuntimeError("emulator not started")
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self._session.post(url, json=update, headers=headers) as response:
            await response.read()
            return response.status

    async def deliver_to_webhook_raw(self, update: JSONDict, *, secret: str | None) -> int:
        """POST one update to the webhook with ``secret`` as header (or none); returns the status."""
        if self.webhook is None:
            raise RuntimeError("no webhook is set")
        if not isinstance(update.get("update_id"), int):
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        return await self._post(self.webhook.url, update, secret)

    # ---- Bot API methods -------------------------------------------------------------------

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "copyMessage": self._copy_message,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
        }

    async def _true(self, _p: Params) -> bool:
        return True

    async def _get_me(self, _p: Params) -> JSONDict:
        flags = ("can_join_groups", "can_read_all_group_messages", "supports_inline_queries")
        return self.bot_user | dict.fromkeys(flags, False) | {"can_join_groups": True}

    async def _get_updates(self, p: Params) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        offset = p.get_int("offset")
        limit = min(100, max(1, p.get_int("limit") or 100))
        timeout = max(0.0, p.get_float("timeout") or 0.0)
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(kind) for kind in allowed]
        if offset is not None:
            self.confirm_updates(offset)
        deadline = self._monotonic() + timeout
        while True:
            updates = self.take_updates(limit)
            remaining = deadline - self._monotonic()
            if updates or remaining <= 0 or self._stopping.is_set() or self.webhook is not None:
                return updates
            await self._wait(self._update_event, remaining)

    async def _set_webhook(self, p: Params) -> bool:
        url = p.get_str("url") or ""
        if not url:
            return await self._delete_webhook(p)
        secret = p.get_str("secret_token") or None
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates")
        self.webhook = Webhook(
            url=url,
            secret_token=secret,
            max_connections=p.get_int("max_connections") or 40,
            allowed_updates=[str(kind) for kind in allowed] if isinstance(allowed, list) else None,
        )
        if self.webhook.allowed_updates is not None:
            self.allowed_updates = self.webhook.allowed_updates
        if p.get_bool("drop_pending_updates"):
            self.drop_pending()
        self._ensure_worker()
        self._signal_update()
        return True

    async def _delete_webhook(self, p: Params) -> bool:
        self.webhook = None
        await self._stop_worker()
        if p.get_bool("drop_pending_updates"):
            self.drop_pending()
        return True

    async def _get_webhook_info(self, _p: Params) -> JSONDict:
        info: JSONDict = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        hook = self.webhook
        if hook is not None:
            info.update(url=hook.url, max_connections=hook.max_connections)
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
        return info

    def _target(self, p: Params, name: str = "chat_id") -> tuple[int, ChatState]:
        raw = p.values.get(name)
        if raw is None or raw == "":
            raise bad_request(f"{name} is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        chat = self.chat(chat_id)
        if chat.migrated_to is not None:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": chat.migrated_to})
        return chat_id, chat

    def _writable(self, p: Params) -> tuple[int, ChatState]:
        chat_id, chat = self._target(p)
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.removed:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat_id, chat

    def _reply_to(self, p: Params, chat: ChatState) -> int | None:
        reply = p.get_json("reply_parameters")
        message_id = p.get_int("reply_to_message_id")
        allow_missing = p.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict) and reply.get("message_id") is not None:
            message_id = int(reply["message_id"])
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if message_id is None:
            return None
        known = message_id in chat.user_messages or message_id in chat.bot_messages
        if not known:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return message_id

    async def _send_message(self, p: Params) -> JSONDict:
        chat_id, chat = self._writable(p)
        parse_mode = p.get_str("parse_mode")
        text = check_text(p.get_str("text"), parse_mode)
        markup = check_reply_markup(p.get_json("reply_markup"))
        reply_to = self._reply_to(p, chat)
        entities = p.get_json("entities")
        self._check_rate(chat_id)
        msg = SentMessage(0, chat_id, text=text, parse_mode=parse_mode, reply_markup=markup, entities=entities)
        msg.reply_to_message_id = reply_to
        return self.message_dict(self.add_bot_message(msg))

    def _editable(self, p: Params) -> SentMessage:
        if p.get_str("inline_message_id"):
            raise bad_request("message to edit not found")
        _chat_id, chat = self._target(p)
        message_id = p.require_int("message_id")
        msg = chat.bot_messages.get(message_id)
        if msg is None or msg.deleted:
            if message_id in chat.user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return msg

    def _edited(self, msg: SentMessage) -> JSONDict:
        msg.edit_count += 1
        msg.edit_date = int(time.time())
        self.record_event(msg, "edited")
        return self.message_dict(msg)

    async def _edit_message_text(self, p: Params) -> JSONDict:
        msg = self._editable(p)
        parse_mode = p.get_str("parse_mode")
        text = check_text(p.get_str("text"), parse_mode)
        markup = check_reply_markup(p.get_json("reply_markup"))
        entities = p.get_json("entities")
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        new_markup = markup if markup is not None else (None if _inline(msg.reply_markup) else msg.reply_markup)
        same = (text, parse_mode, entities or None) == (msg.text, msg.parse_mode, msg.entities or None)
        if same and _inline(new_markup) == _inline(msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        msg.edits.append(msg.text)
        msg.text, msg.parse_mode, msg.entities, msg.reply_markup = text, parse_mode, entities, new_markup
        return self._edited(msg)

    async def _edit_message_caption(self, p: Params) -> JSONDict:
        msg = self._editable(p)
        parse_mode = p.get_str("parse_mode")
        caption = p.get_str("caption")
        check_caption(caption, parse_mode)
        markup = check_reply_markup(p.get_json("reply_markup"))
        if msg.text is not None:
            raise bad_request("there is no caption in the message to edit")
        new_markup = markup if markup is not None else (None if _inline(msg.reply_markup) else msg.reply_markup)
        if (caption, parse_mode) == (msg.caption, msg.parse_mode) and _inline(new_markup) == _inline(msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        msg.edits.append(msg.caption)
        msg.caption, msg.parse_mode, msg.reply_markup = caption, parse_mode, new_markup
        msg.caption_entities = p.get_json("caption_entities")
        return self._edited(msg)

    async def _edit_message_reply_markup(self, p: Params) -> JSONDict:
        msg = self._editable(p)
        markup = check_reply_markup(p.get_json("reply_markup"))
        if _inline(markup) == _inline(msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        msg.reply_markup = markup
        return self._edited(msg)

    async def _delete_message(self, p: Params) -> bool:
        _chat_id, chat = self._target(p)
        message_id = p.require_int("message_id")
        msg = chat.bot_messages.get(message_id)
        if msg is not None and not msg.deleted:
            msg.deleted = True
            self.record_event(msg, "deleted")
        elif chat.user_messages.pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, p: Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        answer: JSONDict = {
            "text": p.get_str("text"),
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time"),
        }
        self.close_callback(query_id, answer)
        return True

    def _media(self, p: Params, name: str, kind: str) -> tuple[bytes, str | None, str | None, str | None]:
        """(data, file_name, mime_type, file_id of an existing file) of the media parameter ``name``."""
        value = p.get_file(name)
        if isinstance(value, Upload):
            mime = value.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename or "")[0] or mime
            return value.data, value.filename, mime, None
        stored = self.file(value) if value else None
        if stored is None:
            if not value:
                raise bad_request(f"there is no {kind} in the request")
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored.data, stored.file_name, stored.mime_type, stored.file_id

    async def _send_document(self, p: Params) -> JSONDict:
        chat_id, chat = self._writable(p)
        data, file_name, mime, file_id = self._media(p, "document", "document")
        caption, parse_mode = p.get_str("caption"), p.get_str("parse_mode")
        check_caption(caption, parse_mode)
        markup = check_reply_markup(p.get_json("reply_markup"))
        reply_to = self._reply_to(p, chat)
        self._check_rate(chat_id)
        stored = self.file(file_id) if file_id else None
        if stored is None:
            stored = self.store_file(data, kind="documents", file_name=file_name, mime=mime)
        document = SentFile(file_name, mime, data, stored.file_id, stored.file_unique_id)
        msg = SentMessage(0, chat_id, caption=caption, parse_mode=parse_mode, reply_markup=markup, document=document)
        msg.caption_entities = p.get_json("caption_entities")
        msg.reply_to_message_id = reply_to
        return self.message_dict(self.add_bot_message(msg))

    async def _send_photo(self, p: Params) -> JSONDict:
        chat_id, chat = self._writable(p)
        data, _name, _mime, _file_id = self._media(p, "photo", "photo")
        caption, parse_mode = p.get_str("caption"), p.get_str("parse_mode")
        check_caption(caption, parse_mode)
        markup = check_reply_markup(p.get_json("reply_markup"))
        reply_to = self._reply_to(p, chat)
        self._check_rate(chat_id)
        msg = SentMessage(0, chat_id, caption=caption, parse_mode=parse_mode, reply_markup=markup, photo=data)
        msg.photo_sizes = self.photo_sizes(data)
        msg.caption_entities = p.get_json("caption_entities")
        msg.reply_to_message_id = reply_to
        return self.message_dict(self.add_bot_message(msg))

    async def _copy_message(self, p: Params) -> JSONDict:
        chat_id, _chat = self._writable(p)
        _from_id, source_chat = self._target(p, "from_chat_id")
        message_id = p.require_int("message_id")
        copy = SentMessage(0, chat_id)
        sent = source_chat.bot_messages.get(message_id)
        if sent is not None and not sent.deleted:
            copy.text, copy.entities, copy.parse_mode = sent.text, sent.entities, sent.parse_mode
            copy.caption, copy.caption_entities = sent.caption, sent.caption_entities
            copy.document, copy.photo, copy.photo_sizes = sent.document, sent.photo, sent.photo_sizes
        else:
            original = source_chat.user_messages.get(message_id)
            if original is None:
                raise bad_request("message to copy not found")
            copy.text, copy.entities = original.get("text"), original.get("entities")
            copy.caption, copy.caption_entities = original.get("caption"), original.get("caption_entities")
            if "document" in original:
                stored = self.file(original["document"]["file_id"])
                if stored is not None:
                    copy.document = SentFile(
                        stored.file_name, stored.mime_type, stored.data, stored.file_id, stored.file_unique_id
                    )
            if original.get("photo"):
                copy.photo_sizes = original["photo"]
                stored = self.file(original["photo"][-1]["file_id"])
                copy.photo = stored.data if stored is not None else b""
        if p.values.get("caption") is not None:
            copy.caption, copy.parse_mode = p.get_str("caption"), p.get_str("parse_mode")
            copy.caption_entities = p.get_json("caption_entities")
        check_caption(copy.caption, copy.parse_mode)
        copy.reply_markup = check_reply_markup(p.get_json("reply_markup"))
        self._check_rate(chat_id)
        return {"message_id": self.add_bot_message(copy).message_id}

    async def _send_chat_action(self, p: Params) -> bool:
        self._writable(p)
        if not p.get_str("action"):
            raise bad_request("action is empty")
        return True

    async def _get_file(self, p: Params) -> JSONDict:
        stored = self.file(p.get_str("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _commands_key(self, p: Params) -> tuple[str, str]:
        return _scope_key(p.get_json("scope")), p.get_str("language_code") or ""

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an array of at most 100 BotCommand")
        stored = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("BOT_COMMAND_INVALID")
            command = str(item.get("command", "")).lower()
            description = str(item.get("description", ""))
            if not _COMMAND_RE.match(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not description.strip() or len(description) > 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": command, "description": description})
        self.commands[self._commands_key(p)] = stored
        return True

    async def _get_my_commands(self, p: Params) -> list[JSONDict]:
        return list(self.commands.get(self._commands_key(p), []))

    async def _delete_my_commands(self, p: Params) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    async def _get_chat(self, p: Params) -> JSONDict:
        _chat_id, chat = self._target(p)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
        return chat.info | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }
