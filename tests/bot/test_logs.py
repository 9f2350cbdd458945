"""Logging (bot/logs.py): what PTB, aiohttp and the project log at DEBUG never shows the token, an ID
number or a mobile number, tracebacks included."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from telegram.error import NetworkError
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

from bot.logs import Redactor, configure_logging
from bot.settings import Settings

TOKEN = "7123456789:AAHk3vQx-Zr9LmP0_sT2uVwXyZaBcDeFgHi"  # the shape of a real one, not a real one
OTHER_TOKEN = "987654321:AAEe1fGh2iJk3lMn4oPq5rSt6uVw7xYz8Ab"  # a token nobody configured
WEBHOOK_SECRET = "hook-secret_0123456789"
MOBILE = "13812345678"
ID_NUMBER = "11010519491231002X"
OLD_ID_NUMBER = "110105491231002"


class CannedRequest(BaseRequest):
    """A request class that answers every call with a sent message echoing the text (no network)."""

    @property
    def read_timeout(self) -> float | None:
        """No timeouts: nothing waits."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """``{"ok": true}`` with a message carrying the text that was sent."""
        parameters = request_data.parameters if request_data is not None else {}
        result = {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"},
                  "text": str(parameters.get("text", ""))}
        return 200, json.dumps({"ok": True, "result": result}).encode()


@pytest.fixture
def log_output() -> Iterator[tuple[io.StringIO, Settings]]:
    """Logging configured as ``python -m bot run`` configures it (LOG_LEVEL=DEBUG), written to a buffer."""
    settings = Settings(_env_file=None, bot_token=SecretStr(TOKEN), webhook_secret=SecretStr(WEBHOOK_SECRET),
                        log_level="debug")
    root = logging.getLogger()
    level, filters = root.level, {handler: list(handler.filters) for handler in root.handlers}
    stream = io.StringIO()
    handler = configure_logging(settings.log_level, secrets=settings.secrets(), stream=stream)
    try:
        yield stream, settings
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for existing, before in filters.items():
            existing.filters[:] = before


async def test_at_debug_the_token_and_personal_data_never_reach_the_log(
    log_output: tuple[io.StringIO, Settings],
) -> None:
    stream, settings = log_output
    bot = ExtBot(settings.token(), request=CannedRequest(), get_updates_request=CannedRequest())  # logs its URL
    text = f"专家 王五 手机 {MOBILE}，身份证 {ID_NUMBER}（旧 {OLD_ID_NUMBER}），电话 +86 138-1234-5678"
    await bot.send_message(42, text)  # PTB logs the parameters and the answer
    logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: %s", f"https://api.telegram.org/bot{TOKEN}")
    logging.getLogger("aiohttp.client").debug("POST https://api.telegram.org/bot%s/sendMessage", OTHER_TOKEN)
    logging.getLogger("telegram.ext.Updater").debug("setWebhook with %s", {"secret_token": WEBHOOK_SECRET})
    try:
        raise NetworkError(f"cannot reach https://api.telegram.org/bot{TOKEN}/sendMessage for {MOBILE}")
    except NetworkError:
        logging.getLogger("bot.dispatcher").exception("sending to %s failed", ID_NUMBER)
    logging.getLogger("bot").info("%s", {"mobile": MOBILE}, stack_info=True)

    output = stream.getvalue()
    assert "Calling Bot API endpoint `sendMessage`" in output and "Traceback" in output
    for secret in (TOKEN, TOKEN.split(":")[1], OTHER_TOKEN, WEBHOOK_SECRET, MOBILE, ID_NUMBER, OLD_ID_NUMBER,
                   "138-1234-5678", "1234-5678"):
        assert secret not in output
    assert "https://api.telegram.org/bot[token]" in output
    assert "手机 [mobile]，身份证 [id number]（旧 [id number]），电话 [mobile]" in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机13812345678。", "手机[mobile]。"),
        ("tel:+8619912345678", "tel:[mobile]"),
        ("8613812345678", "[mobile]"),
        ("138 1234 5678", "[mobile]"),
        ("id=11010519491231002x;", "id=[id number];"),
        ("id 110105491231002 ok", "id [id number] ok"),
        ("bot123456789:AAHk3vQxZr9LmP0sT2uVwXyZaBcDeFgHiJ/getMe", "bot[token]/getMe"),
    ],
)
def test_personal_data_and_tokens_are_replaced_wherever_they_stand(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "update 912345678 from chat -1001234567890 at 1767225600",  # ids and times stay readable
        "12812345678 is no mobile (12), nor is 138123456789 (12 digits)",
        "1100001234567890 has 16 digits, 1234567890123456789 has 19",
        "outbox row 17: attempt 3 of 8, next in 8 s",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert Redactor()(text) == text


def test_a_short_configured_secret_is_not_used_for_exact_replacement() -> None:
    redact = Redactor(["abc", "s3cr3t-token_for-tests"])
    assert redact("abc and s3cr3t-token_for-tests") == "abc and [secret]"
