"""Every message key exists in every language with the same placeholders (issue: foundation, messages)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import services
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


def test_every_command_has_a_description() -> None:
    assert {c.description_key for c in COMMANDS} <= set(catalog("zh"))


# ---- the domain error tree (services/platform/errors.py) -------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Raises that do not fill their message yet, each with why it is left: keep this empty.
UNFILLED = {
    # never reached (a foreign key guarantees the person); the module is being split elsewhere
    ("services/people/accounts.py", "PersonNotFound"),
}


def _domain_errors() -> list[type[errors.DomainError]]:
    """Every DomainError subclass, after importing every services module (so one defined anywhere is seen)."""
    for module in pkgutil.walk_packages(services.__path__, "services."):
        importlib.import_module(module.name)
    found: list[type[errors.DomainError]] = []
    todo = [errors.DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def _diagram() -> dict[str, str]:
    """The error tree drawn in the errors module's docstring, as child -> parent."""
    parents: dict[str, str] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.fullmatch(r"    ([│ ]*(?:[├└]── )?)(\w+)", line)
        if match is None:
            continue
        depth = len(match.group(1)) // 4
        del stack[depth:]
        if stack:
            parents[match.group(2)] = stack[-1]
        stack.append(match.group(2))
    return parents


def test_every_domain_error_lives_in_the_errors_module_and_its_drawn_tree() -> None:
    found = _domain_errors()
    assert found, "no domain errors found"
    elsewhere = [f"{e.__module__}.{e.__name__}" for e in found if e.__module__ != errors.__name__]
    assert not elsewhere, f"define these in services/platform/errors.py: {elsewhere}"
    assert _diagram() == {e.__name__: e.__bases__[0].__name__ for e in found}, "the docstring tree is out of date"
    for error in found:
        assert error.__doc__, f"{error.__name__} has no docstring"


def test_the_front_end_defines_no_domain_error_of_its_own() -> None:
    names = {e.__name__ for e in [errors.DomainError, *_domain_errors()]}
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                assert not bases & names, f"{path}: {node.name} belongs in services/platform/errors.py"


def test_every_domain_error_has_words_in_every_language() -> None:
    for error in [errors.DomainError, *_domain_errors()]:
        for language in LANGUAGES:
            assert error.message_key in catalog(language), f"{language}: no {error.message_key} ({error.__name__})"


def _raises() -> list[tuple[str, int, str, ast.Call | None]]:
    """Every place bot/ or services/ builds (or raises) a domain error: path, line, class name, the call."""
    names = {e.__name__ for e in [errors.DomainError, *_domain_errors()]}
    sites: list[tuple[str, int, str, ast.Call | None]] = []
    for package in ("bot", "services"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    if name in names:
                        sites.append((relative, node.lineno, str(name), node))
                elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name) and node.exc.id in names:
                    sites.append((relative, node.lineno, node.exc.id, None))
    return sites


def test_every_domain_error_raised_fills_the_placeholders_of_its_words() -> None:
    by_name = {e.__name__: e for e in [errors.DomainError, *_domain_errors()]}
    sites = _raises()
    assert len(sites) > 50, "the scan found too few raises"
    problems: list[str] = []
    for path, line, name, call in sites:
        keywords = call.keywords if call is not None else []
        given = {k.arg for k in keywords if k.arg is not None}
        spread = any(k.arg is None for k in keywords)  # **params from a helper: its own call is checked
        needed = set().union(*(placeholders(catalog(lang).get(by_name[name].message_key, "")) for lang in LANGUAGES))
        reason = next((k.value for k in keywords if k.arg == "reason_key"), None)
        if isinstance(reason, ast.Constant) and isinstance(reason.value, str):
            if reason.value not in catalog("zh"):
                problems.append(f"{path}:{line} {name}: no message {reason.value}")
                continue
            needed |= set().union(*(placeholders(catalog(lang)[reason.value]) for lang in LANGUAGES))
        elif isinstance(reason, ast.JoinedStr):
            head = reason.values[0]
            prefix = head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else ""
            if not any(key.startswith(prefix) for key in catalog("zh")):
                problems.append(f"{path}:{line} {name}: no message starts with {prefix}")
        missing = needed - given - {"reason_key"} if "reason_key" in given else needed - given
        if missing and not spread and (path, name) not in UNFILLED:
            problems.append(f"{path}:{line} {name} leaves {sorted(missing)} unfilled")
    assert not problems, "\n".join(problems)


def test_a_refusal_reason_gets_the_refusals_numbers() -> None:
    refused = errors.LeadRefused("amount", reason_key="leadstaff.reward_bad", min=100, max=5000)
    text = translate("en", refused.message_key, **refused.params)
    assert "5000" in text and "{" not in text
    assert refused.reason_key == "leadstaff.reward_bad"
    assert errors.LeadNotFound("x").reason_key == "lead.error.not_found"


def test_every_key_used_in_code_exists() -> None:
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
