"""The HTTP side: the Telegram webhook (PTB's custom-webhook pattern), health and metrics.

``POST <webhook path>`` accepts an update only with the right ``X-Telegram-Bot-Api-Secret-Token``
(compared in constant time) and puts it on PTB's update queue; anything else is refused and not
processed. ``GET /healthz`` answers 200 when the database answers; ``GET /metrics`` is Prometheus.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.context import BotServices
from bot.tolerant import parse_each

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_UPDATE_BYTES = 1 << 20


def build_web_app(
    services: BotServices,
    *,
    application: Any | None = None,
    webhook_secret: str | None = None,
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
) -> web.Application:
    """The aiohttp application; the webhook route exists only when ``application`` is given."""
    app = web.Application(client_max_size=MAX_UPDATE_BYTES)

    async def healthz(_request: web.Request) -> web.Response:
        try:
            async with services.uow(readonly=True) as uow:
                await uow.session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        except Exception:
            logger.exception("health check: database unreachable")
            return web.json_response({"status": "error", "database": "unreachable"}, status=503)
        return web.json_response({"status": "ok", "database": "ok"})

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

        async def webhook(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
            if not hmac.compare_digest(given, secret):
                logger.warning("webhook request refused: missing or wrong secret token from %s", request.remote)
                return web.json_response({"ok": False, "description": "forbidden"}, status=403)
            try:
                payload = await request.json()
                if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                    raise ValueError("not an update")
            except (ValueError, json.JSONDecodeError):
                # Authenticated but unreadable: answering an error would make Telegram resend it forever.
                logger.error("webhook body is not a Telegram update; dropped")
                return web.json_response({"ok": False, "description": "bad update"})
            (update,) = parse_each([payload], application.bot)
            await application.update_queue.put(update)
            return web.json_response({"ok": True})

        app.router.add_post(services.settings.webhook_path, webhook)
    return app
