"""The HTTP side: the Telegram webhook (PTB's custom-webhook pattern), health and metrics.

``POST <webhook path>``, in this order:

- the ``X-Telegram-Bot-Api-Secret-Token`` header is compared with the secret as bytes, in constant time;
  missing, wrong or undecodable: 403, nothing read or processed;
- a body over 1 MB: 413 (a Telegram update is a few kilobytes);
- a body that is not a JSON object (not UTF-8, not JSON, nested too deep to parse, an array...): 400 and one
  log line. Telegram itself never sends one, and without the secret nobody gets this far; a 4xx makes
  Telegram retry, which is right for a sender that is wrong;
- an object whose ``update_id`` is not an integer in [0, 2^63): one log line and 200, so it is not sent
  again forever; it never reaches the intake or the delivery ledger;
- otherwise the body is recorded as it came (``services.platform.intake.IntakeBatcher``: the requests that
  arrive together share one transaction) and only once committed put on PTB's update queue and answered 200:
  an update Telegram was told arrived survives a crash (a restart feeds it again). If it cannot be recorded
  the answer is 503 and Telegram sends it again.

``GET /healthz`` answers 200 when the database answers, with the process's role (``active``, or ``standby``
behind another process on the same PostgreSQL database: bot/standby.py); ``GET /metrics`` is Prometheus.

With ``feed`` (two processes on PostgreSQL) a recorded update is handed to ``feed`` instead of PTB's queue: the
active process feeds it at once, a standby leaves it to the active one's reads of the intake (bot/feeder.py).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.context import CHANNEL, BotServices
from bot.tolerant import parse_each
from services.platform import intake

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_UPDATE_BYTES = intake.MAX_BODY_BYTES
INTAKE = web.AppKey("intake", intake.IntakeBatcher)  # the webhook's recorder, for tests and benchmarks


def build_web_app(
    services: BotServices,
    *,
    application: Any | None = None,
    webhook_secret: str | None = None,
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
    feed: Callable[[int, dict[str, Any]], Awaitable[None]] | None = None,
    role: Callable[[], str] = lambda: "active",
) -> web.Application:
    """The aiohttp application; the webhook route exists only when ``application`` is given."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with services.uow(readonly=True) as uow:
                await uow.session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        except Exception:
            logger.exception("health check: database unreachable")
            return web.json_response({"status": "error", "database": "unreachable", "role": role()}, status=503)
        return web.json_response({"status": "ok", "database": "ok", "role": role()})

    async def metrics(_request: web.Request) -> web.Response:
        if refresh_metrics is not None:
            await refresh_metrics()
        return web.Response(body=services.metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)

    if application is not None:
        if not webhook_secret:
            raise ValueError("a webhook needs a secret")
        secret = webhook_secret.encode("utf-8")
        batcher = intake.IntakeBatcher(services.uow, channel=CHANNEL)
        app[INTAKE] = batcher

        async def finish_recording(_app: web.Application) -> None:
            await batcher.drain()

        app.on_shutdown.append(finish_recording)

        async def webhook(request: web.Request) -> web.Response:
            if not _secret_matches(request.headers.get(SECRET_HEADER), secret):
                logger.warning("webhook request refused: missing or wrong secret token from %s", request.remote)
                return web.json_response({"ok": False, "description": "forbidden"}, status=403)
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge:
                logger.error("webhook body over %s bytes refused", MAX_UPDATE_BYTES)
                raise
            try:
                body = raw.decode("utf-8")
                payload = json.loads(body)
            except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                payload = None
            if not isinstance(payload, dict):
                logger.error("webhook body is not a JSON object (%s bytes); refused", len(raw))
                return web.json_response({"ok": False, "description": "not a JSON object"}, status=400)
            update_id = payload.get("update_id")
            if not intake.is_storable_update_id(update_id):
                # Acknowledged, so it is not sent again forever; nothing could ever store or process it.
                logger.error("webhook update with update_id %.40r dropped: not an integer in [0, 2^63)", update_id)
                return web.json_response({"ok": False, "description": "bad update_id"})
            try:
                await batcher.record(update_id, body)
            except Exception:
                logger.exception("webhook update %s could not be recorded; not acknowledged", update_id)
                return web.json_response({"ok": False, "description": "not recorded, send again"}, status=503)
            if feed is not None:
                await feed(update_id, payload)
                return web.json_response({"ok": True})
            (update,) = parse_each([payload], application.bot)
            await application.update_queue.put(update)
            return web.json_response({"ok": True})

        app.router.add_post(services.settings.webhook_path, webhook)
    return app


def _secret_matches(given: str | None, secret: bytes) -> bool:
    """Whether a header value is the secret, compared as bytes in constant time.

    aiohttp decodes header bytes as UTF-8 with ``surrogateescape``; encoding back the same way gives the
    bytes as sent, whatever they were.
    """
    if given is None:
        return False
    try:
        sent = given.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(sent, secret)
