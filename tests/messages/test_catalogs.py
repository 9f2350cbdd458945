"""Every message key exists in every language with the same placeholders (issue: foundation, messages)."""

from __future__ import annotations

from pathlib import Path

from bot.commands import COMMANDS
from messages import LANGUAGES, catalog, normalize_language, placeholders, translate
from services.platform import errors


def test_every_key_exists_in_every_catalog_with_the_same_placeholders() -> None:
    reference = catalog("zh")
    for language in LANGUAGES:
        other = catalog(language)
        assert set(other) == set(reference), f"{language} keys differ"
        for key, text in reference.items():
            assert placeholders(other[key]) == placeholders(text), f"{language}:{key} placeholders differ"


def test_every_domain_error_and_command_has_a_message() -> None:
    keys = set(catalog("zh"))
    error_types = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, errors.DomainError)]
    assert {e.message_key for e in error_types} <= keys
    assert {c.description_key for c in COMMANDS} <= keys


def test_every_key_used_in_code_exists() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    used: set[str] = set()
    for package in ("bot", "services"):
        for path in (root / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            used |= set(re.findall(r'(?:key=|t\(update, |deny\(update, context, |message_key = |_KEY = )"([a-z_.]+)"',
                                   source))
    assert used, "the scan found nothing"
    assert used <= set(catalog("zh")), used - set(catalog("zh"))


def test_language_codes_from_telegram_map_to_catalogs() -> None:
    assert normalize_language("zh-hans") == "zh"
    assert normalize_language("en-US") == "en"
    assert normalize_language("fr") == "zh"
    assert normalize_language(None, "en") == "en"


def test_nested_message_keys_are_translated_and_missing_values_stay_visible() -> None:
    assert "专家" in translate("zh", "binding.welcome", name="张三", role_key="role.expert")
    assert "{name}" in translate("en", "start.bound")


def test_the_command_table_matches_the_handlers_declarations() -> None:
    from telegram.ext import CommandHandler

    from bot.app import register_handlers

    class Recorder:
        def __init__(self) -> None:
            self.handlers: list[object] = []

        def add_handler(self, handler: object, group: int = 0) -> None:
            self.handlers.append(handler)

        def add_error_handler(self, _callback: object) -> None:
            pass

    recorder = Recorder()
    register_handlers(recorder)  # type: ignore[arg-type]
    declared = {
        name: handler.callback
        for handler in recorder.handlers
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    assert set(declared) == {c.name for c in COMMANDS}
    for command in COMMANDS:
        callback = declared[command.name]
        assert callback.audience == command.audience, command.name  # type: ignore[attr-defined]
        assert callback.private_only == (not command.in_groups), command.name  # type: ignore[attr-defined]
