"""Buttons as typed actions: the one codec for every button's callback data.

Each button is a small frozen dataclass under :class:`Action` with a ``prefix`` and typed fields. ``encode()``
writes ``<prefix>:<field>:<field>…`` and refuses anything over Telegram's 64 bytes when the button is built;
:func:`parse` reads any string a client sends (64 bytes of anything, trusted for nothing) and returns the typed
action or a :class:`Refusal`. No other code builds or splits callback data.

Field types, each bounded so a crafted value is refused by construction, never a crash further in:

- ``int``: a record id, ASCII digits without a leading zero, 1 … 2³¹−1 (PostgreSQL's ``integer``);
- :data:`Index`: a small position or count, 0 … 9,999;
- a :class:`enum.StrEnum`: one of its values;
- ``str``: a token of ``A–Z a–z 0–9 _ -``, 1 … 32 characters (dialog tokens, language codes);
- :data:`OptionalToken`: the same, or empty.

Versioning: a prefix names one layout of fields. Buttons stay in chats for days, so a layout is never changed in
place: a new layout takes a new prefix (``inv:a`` → ``inv:a2``), and the old class stays registered while its buttons
may still be pressed (or is removed, and its buttons answer as stale).

Each topic package declares its actions in its own ``actions`` module (``services/invitations/actions.py``…);
:mod:`services.buttons` imports them all, so that :func:`parse` knows every prefix.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, get_args, get_origin, get_type_hints

MAX_BYTES: Final = 64  # Telegram's limit for callback_data
MAX_ID: Final = 2**31 - 1  # PostgreSQL integer columns; SQLite's are wider
MAX_INDEX: Final = 9_999
SEPARATOR: Final = ":"

_ID = re.compile(r"[1-9][0-9]{0,9}")
_INDEX = re.compile(r"0|[1-9][0-9]{0,3}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,32}")


class _Optional:
    """Marks a ``str`` field that may be empty."""


Index = Annotated[int, "index"]
"""A small non-negative number (a position in a list, a count)."""
OptionalToken = Annotated[str, _Optional]
"""A token that may be empty."""


def parse_id(text: str) -> int | None:
    """A record id written by a person or a button, or None: ASCII digits only (``²`` and ``٣`` are refused, which
    ``str.isdigit`` accepts), no sign, no leading zero, at most :data:`MAX_ID`."""
    if _ID.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def parse_index(text: str) -> int | None:
    """A small non-negative number, or None."""
    return int(text) if _INDEX.fullmatch(text) is not None else None


@dataclass(frozen=True)
class Refusal:
    """Why callback data was not understood: ``unknown`` (no such button) or ``malformed`` (a known prefix with
    fields that do not fit)."""

    reason: str
    data: str


Reader = Callable[[str], Any]
Writer = Callable[[Any], str]


class MalformedAction(ValueError):
    """An action built with a value its field cannot carry (a bug in the caller, raised when the button is built)."""


def _field_codec(hint: Any) -> tuple[Reader, Writer]:
    """How one field is read (returning ``_NO`` when the text does not fit) and written."""
    if get_origin(hint) is Annotated:
        base, *marks = get_args(hint)
        if base is int and "index" in marks:
            return (lambda s: _or_no(parse_index(s))), _write_index
        if base is str and _Optional in marks:
            return (lambda s: s if s == "" or _TOKEN.fullmatch(s) else _NO), _write_optional_token
        raise TypeError(f"unsupported action field type {hint!r}")
    if hint is bool:
        return (lambda s: {"1": True, "0": False}.get(s, _NO)), (lambda v: "1" if v else "0")
    if hint is int:
        return (lambda s: _or_no(parse_id(s))), _write_id
    if hint is str:
        return (lambda s: s if _TOKEN.fullmatch(s) else _NO), _write_token
    if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        members = {m.value: m for m in hint}
        return (lambda s: members.get(s, _NO)), (lambda v: str(hint(v).value))
    raise TypeError(f"unsupported action field type {hint!r}")


_NO: Final = object()


def _or_no(value: int | None) -> Any:
    return _NO if value is None else value


def _write_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise MalformedAction(f"not a record id: {value!r}")
    return str(value)


def _write_index(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INDEX:
        raise MalformedAction(f"not an index: {value!r}")
    return str(value)


def _write_token(value: Any) -> str:
    if not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        raise MalformedAction(f"not a token: {value!r}")
    return value


def _write_optional_token(value: Any) -> str:
    return "" if value == "" else _write_token(value)


_REGISTRY: dict[str, type[Action]] = {}
_CODECS: dict[type[Action], tuple[tuple[str, Reader, Writer], ...]] = {}


@dataclass(frozen=True)
class Action:
    """A button's meaning. Subclasses are frozen dataclasses with a unique ``prefix``."""

    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prefix = cls.__dict__.get("prefix")
        if not prefix:
            return  # an abstract grouping class
        if not all(_TOKEN.fullmatch(part) for part in prefix.split(SEPARATOR)):
            raise TypeError(f"bad action prefix {prefix!r}")
        for other in _REGISTRY:
            if other == prefix or other.startswith(prefix + SEPARATOR) or prefix.startswith(other + SEPARATOR):
                raise TypeError(f"action prefix {prefix!r} collides with {other!r}")
        _REGISTRY[prefix] = cls

    def encode(self) -> str:
        """The callback data: ``<prefix>:<field>…``, at most 64 bytes (checked here, when the button is built)."""
        parts = [self.prefix] + [write(getattr(self, name)) for name, _, write in _codec(type(self))]
        data = SEPARATOR.join(parts)
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise MalformedAction(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data


def _codec(cls: type[Action]) -> tuple[tuple[str, Reader, Writer], ...]:
    codec = _CODECS.get(cls)
    if codec is None:
        hints = get_type_hints(cls, include_extras=True)
        codec = tuple((f.name, *_field_codec(hints[f.name])) for f in dataclasses.fields(cls))
        _CODECS[cls] = codec
    return codec


def parse(data: str | None) -> Action | Refusal:
    """The action ``data`` encodes, or why not. Never raises, whatever the client sent."""
    if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return Refusal("malformed" if data else "unknown", data or "")
    parts = data.split(SEPARATOR)
    for cut in range(min(len(parts), 3), 0, -1):
        cls = _REGISTRY.get(SEPARATOR.join(parts[:cut]))
        if cls is not None:
            return _build(cls, parts[cut:], data)
    return Refusal("unknown", data)


def _build(cls: type[Action], values: list[str], data: str) -> Action | Refusal:
    codec = _codec(cls)
    if len(values) != len(codec):
        return Refusal("malformed", data)
    kwargs: dict[str, Any] = {}
    for (name, read, _), text in zip(codec, values, strict=True):
        value = read(text)
        if value is _NO:
            return Refusal("malformed", data)
        kwargs[name] = value
    return cls(**kwargs)


def registered() -> dict[str, type[Action]]:
    """Every registered action by prefix (for tests and documentation)."""
    return dict(_REGISTRY)
