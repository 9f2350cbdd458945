"""Every user-facing text, one catalog per language (``zh.toml`` first, ``en.toml`` second), each
optionally continued by the files of a directory of the same name (``zh/activities.toml``...), one
per capability; a key defined twice is an error.

Keys are dotted (``binding.welcome``), placeholders are named (``{name}``). A parameter whose
name ends in ``_key`` holds another message key and is translated, with the other parameters, before it
is inserted (a refusal's ``reason_key`` text gets the refusal's numbers); one whose name ends in
``_lines`` holds a list of ``[key, params]`` pairs, each translated, joined by newlines (a roster, a
list of reasons).
Only the front ends (``bot/``) use this package.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


def _flatten(prefix: str, table: dict[str, Any], into: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, into)
        else:
            into[full] = str(value)


@cache
def catalog(language: str) -> dict[str, str]:
    """The flat key → text mapping of one language."""
    root = resources.files(__name__)
    flat: dict[str, str] = {}
    _flatten("", tomllib.loads(root.joinpath(f"{language}.toml").read_text(encoding="utf-8")), flat)
    part_dir = root.joinpath(language)
    if part_dir.is_dir():
        for part in sorted((p for p in part_dir.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name):
            more: dict[str, str] = {}
            _flatten("", tomllib.loads(part.read_text(encoding="utf-8")), more)
            clash = sorted(set(more) & set(flat))
            if clash:
                raise ValueError(f"messages/{language}/{part.name} redefines {', '.join(clash[:5])}")
            flat.update(more)
    return flat


def placeholders(text: str) -> set[str]:
    """The named placeholders a text uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def normalize_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a Telegram ``language_code`` (``zh-hans``, ``en-US``...) to a catalog, else ``default``."""
    if code:
        base = code.strip().lower().replace("_", "-").split("-")[0]
        if base in LANGUAGES:
            return base
    return default


@cache
def _used(template: str) -> set[str]:
    return placeholders(template)


class _SafeParams(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(language: str, key: str, **params: Any) -> str:
    """The text for ``key`` in ``language`` (falling back to the default language, then the key)."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    template = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        return key
    values = _SafeParams()
    used = _used(template)
    for name, value in params.items():
        if name.endswith("_key") and isinstance(value, str):
            if name in used:  # the other parameters fill the nested text's own placeholders
                values[name] = translate(lang, value, **{n: v for n, v in params.items() if n != name})
        elif name.endswith("_lines") and isinstance(value, list):
            values[name] = "\n".join(translate(lang, str(item[0]), **dict(item[1] or {})) for item in value
                                     if isinstance(item, (list, tuple)) and len(item) == 2)
        else:
            values[name] = value
    return template.format_map(values)
