"""Settings, from environment variables and an optional ``.env`` file (pydantic-settings).

Nothing is read at import time: call :func:`load_settings`. A missing or invalid setting raises
:class:`SettingsError` whose message is one line naming the variable.
"""

from __future__ import annotations

from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from services.platform.policy import (
    DEFAULT_CREDIT_POINTS,
    ChaseSettings,
    DrawSettings,
    ImportSettings,
    LeadRules,
    Policy,
    RecordSettings,
    RetentionSettings,
    parse_credit_points,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/fundwatch.db"  # its folder is the bot's own: created if missing
DEFAULT_SANDBOX_DB = "./var/sandbox.db"  # python -m bot sandbox, and the CLI's --sandbox
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class EventLoop(StrEnum):
    """Which event loop runs the bot (see bot/loop.py)."""

    UVLOOP = "uvloop"
    ASYNCIO = "asyncio"


class BotMode(StrEnum):
    """How updates arrive."""

    POLLING = "polling"
    WEBHOOK = "webhook"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class StartupError(Exception):
    """What the settings point at cannot be used (the database, the Bot API, the listening port); the
    message is one line naming the cause (``python -m bot`` exits with 2)."""


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
    # the least seconds between two write transactions of the same background kind (issue 21: under load one
    # claim, one record of outcomes, one audit link takes what many presses left; a quiet bot is not delayed)
    outbox_claim_spacing: float = Field(default=0.05, ge=0, le=1)
    outbox_record_spacing: float = Field(default=0.05, ge=0, le=1)
    audit_link_spacing: float = Field(default=0.1, ge=0, le=5)
    rate_overall_per_second: float = Field(default=30.0, gt=0)
    rate_private_per_second: float = Field(default=1.0, gt=0)
    rate_private_burst: int = Field(default=3, ge=1)
    rate_group_per_minute: float = Field(default=20.0, gt=0)
    request_timeout: float = Field(default=10.0, gt=0)
    event_loop: EventLoop = Field(default=EventLoop.UVLOOP, description="uvloop (if installed) or asyncio")
    # PostgreSQL only (bot/standby.py): a standby tries the active role's lock this often; the active process
    # proves it still holds the lock this often (each check bounded by the same time) or steps down
    standby_retry_seconds: float = Field(default=5.0, gt=0, le=300)
    standby_check_seconds: float = Field(default=2.0, ge=0.1, le=60)
    # draws (001 §14) and invitations (000 §19): the tunable rule numbers, see services/platform/policy.py
    draw_rotation_window_days: int = Field(default=180, ge=1, le=3650)
    draw_rotation_max: int = Field(default=2, ge=1, le=100)
    draw_rotation_gap_days: int = Field(default=30, ge=0, le=3650)
    invite_reminder_hours: str = Field(default="2,6", description="reminders, hours after the invitation")
    quiet_hours: str = Field(default="22:00-08:00", description="no reminders in this local window")
    eve_reminder_time: time = Field(default=time(18, 0), description="local time of the reminder the day before")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL (for run)")
    # supervisors and leads (issue 8): evidence storage and the reporting rules' numbers
    evidence_dir: Path = Field(default=Path("./var/evidence"), description="where lead evidence files are kept")
    evidence_key: SecretStr | None = Field(default=None, description="master key (base64 of 32 bytes) encrypting "
                                           "evidence and personal data at rest; never stored in the database")
    evidence_key_file: Path | None = Field(default=None, description="file holding the master key instead; unset "
                                           "and no EVIDENCE_KEY: fundwatch.key beside the SQLite database (made on "
                                           "first start)")
    backup_dir: Path | None = Field(default=None, description="daily backups go here (SQLite); unset: none")
    backup_keep: int = Field(default=7, ge=1, le=3650, description="how many daily backups are kept")
    evidence_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1, le=20 * 1024 * 1024)
    evidence_max_files: int = Field(default=20, ge=1, le=100)
    lead_accept_working_days: int = Field(default=15, ge=1, le=120)
    lead_handle_working_days: int = Field(default=30, ge=1, le=250)
    lead_remind_working_days: int = Field(default=3, ge=0, le=30)
    lead_duplicate_window_days: int = Field(default=90, ge=0, le=3650)
    reward_min_yuan: int = Field(default=200, ge=0)
    reward_max_yuan: int = Field(default=200_000, ge=1)
    reward_claim_months: int = Field(default=2, ge=1, le=24)
    reward_reminder_days: str = Field(default="14,3", description="remind the reporter to claim a reward this many "
                                      "days before the claim window's last day")
    # retention of lead records (issue 19, PIPL storage limitation): see services/leads/retention.py; 0 months: kept
    retention_evidence_months: int = Field(default=60, ge=0, le=1200, description="evidence of a closed lead")
    retention_rejected_months: int = Field(default=12, ge=0, le=1200, description="a lead not accepted, all of it")
    retention_reporter_days: int = Field(default=0, ge=0, le=36500, description="reporter link, after the reward "
                                         "window")
    retention_warning_days: int = Field(default=30, ge=1, le=365, description="staff warned this long before")
    # work records and credit (issue 7): see services/platform/policy.py RecordSettings and services/records/credit.py
    work_record_working_days: int = Field(default=5, ge=1, le=60, description="000 §25: 5 working days")
    credit_points: str = Field(default="", description="overrides of the credit points table, e.g. late=-5,praise=8")
    absence_removal_count: int = Field(default=3, ge=1, le=20, description="001 §22(三)")
    absence_window_days: int = Field(default=365, ge=30, le=3650, description="001 §22(三): within 1 year")
    import_max_rows: int = Field(default=50_000, ge=1, le=1_000_000,
                                 description="most data rows in an imported table (experts, institutions)")

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

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}: one of {', '.join(LOG_LEVELS)}")
        return level

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

    @field_validator("invite_reminder_hours")
    @classmethod
    def _hours_list(cls, value: str) -> str:
        try:
            hours = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("must be hours separated by commas, e.g. 2,6") from None
        if any(h <= 0 or h > 24 * 30 for h in hours) or hours != sorted(hours):
            raise ValueError("must be increasing positive hours, e.g. 2,6")
        return value

    @field_validator("reward_reminder_days")
    @classmethod
    def _days_list(cls, value: str) -> str:
        try:
            days = [int(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("must be days separated by commas, e.g. 14,3") from None
        if any(d < 0 or d > 365 for d in days) or days != sorted(set(days), reverse=True):
            raise ValueError("must be decreasing days from 0 to 365, e.g. 14,3")
        return value

    @field_validator("credit_points")
    @classmethod
    def _credit_points(cls, value: str) -> str:
        parse_credit_points(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str) -> str:
        try:
            start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
        except ValueError:
            raise ValueError("must be HH:MM-HH:MM, e.g. 22:00-08:00") from None
        if start == end:
            raise ValueError("start and end must differ")
        return value

    def policy(self) -> Policy:
        """The rule numbers for the services (``services.platform.policy``)."""
        start, end = (time.fromisoformat(part.strip()) for part in self.quiet_hours.split("-"))
        hours = tuple(timedelta(hours=float(h)) for h in self.invite_reminder_hours.split(",") if h.strip())
        return Policy(
            draw=DrawSettings(rotation_window_days=self.draw_rotation_window_days, rotation_max=self.draw_rotation_max,
                              rotation_gap_days=self.draw_rotation_gap_days),
            chase=ChaseSettings(reminder_offsets=hours, quiet_start=start, quiet_end=end,
                                eve_reminder_at=self.eve_reminder_time),
            records=RecordSettings(work_record_working_days=self.work_record_working_days,
                                   credit_points={**DEFAULT_CREDIT_POINTS, **parse_credit_points(self.credit_points)},
                                   absence_removal_count=self.absence_removal_count,
                                   absence_window_days=self.absence_window_days),
            leads=LeadRules(accept_working_days=self.lead_accept_working_days,
                            handle_working_days=self.lead_handle_working_days,
                            remind_working_days_before=self.lead_remind_working_days,
                            duplicate_window_days=self.lead_duplicate_window_days, reward_min=self.reward_min_yuan,
                            reward_max=self.reward_max_yuan, reward_claim_months=self.reward_claim_months,
                            reward_reminder_days_before=tuple(
                                int(d) for d in self.reward_reminder_days.split(",") if d.strip())),
            imports=ImportSettings(max_rows=self.import_max_rows),
            retention=RetentionSettings(evidence_months=self.retention_evidence_months,
                                        rejected_months=self.retention_rejected_months,
                                        reporter_days=self.retention_reporter_days,
                                        warning_days=self.retention_warning_days, evidence_dir=self.evidence_dir),
        )

    @property
    def zone(self) -> ZoneInfo:
        """The bureau's time zone."""
        return ZoneInfo(self.time_zone)

    def token(self) -> str:
        """The bot token, or a SettingsError naming BOT_TOKEN."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError("BOT_TOKEN is not set: get a token from @BotFather and set BOT_TOKEN")
        return self.bot_token.get_secret_value().strip()

    def secrets(self) -> list[str]:
        """The configured values no log line may show: the token, the webhook secret, the database password."""
        values = [self.bot_token, self.webhook_secret, self.evidence_key]
        found = [value.get_secret_value().strip() for value in values if value is not None]
        try:
            password = make_url(self.database_url).password
        except ArgumentError:
            password = None
        return [value for value in [*found, str(password or "")] if value]

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
        raise SettingsError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None
