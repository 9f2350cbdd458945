"""Settings, from environment variables and an optional ``.env`` file (pydantic-settings).

Nothing is read at import time: call :func:`load_settings`. A missing or invalid setting raises
:class:`SettingsError` whose message is one line naming the variable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/fundwatch.db"


class BotMode(StrEnum):
    """How updates arrive."""

    POLLING = "polling"
    WEBHOOK = "webhook"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    """Every setting of the product; the environment variable is the upper-case field name."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, description="Bot API token from @BotFather")
    bot_username: str | None = Field(default=None, description="the bot's username, for deep links")
    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    telegram_api_base_url: str = Field(default="https://api.telegram.org/bot")
    telegram_file_base_url: str = Field(default="https://api.telegram.org/file/bot")
    bot_mode: BotMode = BotMode.POLLING
    webhook_url: str | None = Field(default=None, description="public HTTPS URL Telegram posts updates to")
    webhook_secret: SecretStr | None = Field(default=None, description="1-256 chars of A-Z a-z 0-9 _ -")
    webhook_path: str = "/telegram/webhook"
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=0, le=65535)
    time_zone: str = "Asia/Shanghai"
    default_language: str = "zh"
    invite_ttl_days: float = Field(default=7, gt=0, le=90)
    outbox_max_in_flight: int = Field(default=200, ge=1, le=10_000)
    rate_overall_per_second: float = Field(default=30.0, gt=0)
    rate_private_per_second: float = Field(default=1.0, gt=0)
    rate_private_burst: int = Field(default=3, ge=1)
    rate_group_per_minute: float = Field(default=20.0, gt=0)
    request_timeout: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh", "en"):
            raise ValueError("must be zh or en")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raw = value.get_secret_value()
            if not 1 <= len(raw) <= 256 or not all(c.isalnum() or c in "_-" for c in raw):
                raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The bureau's time zone."""
        return ZoneInfo(self.time_zone)

    def token(self) -> str:
        """The bot token, or a SettingsError naming BOT_TOKEN."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError("BOT_TOKEN is not set: get a token from @BotFather and set BOT_TOKEN")
        return self.bot_token.get_secret_value().strip()

    def require_webhook(self) -> tuple[str, str]:
        """The webhook URL and secret, or a SettingsError naming the missing one."""
        if not self.webhook_url:
            raise SettingsError("WEBHOOK_URL is not set: webhook mode needs the public HTTPS URL")
        if self.webhook_secret is None:
            raise SettingsError("WEBHOOK_SECRET is not set: webhook mode needs a secret token")
        return self.webhook_url, self.webhook_secret.get_secret_value()


def load_settings(env_file: Path | None = None) -> Settings:
    """Read the settings, turning a validation error into one line naming the variable."""
    try:
        if env_file is not None:
            return Settings(_env_file=env_file)
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{name}: {first['msg']}") from None
