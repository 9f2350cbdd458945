"""Drawing inspection targets at random (双随机、一公开, 003 三(一)): the reproducible draw of institutions from the
directory of inspection targets (随机抽查检查对象名录库), and its verification.

Pure functions over plain data: no I/O, no clock, no global randomness (the caller passes the ``seed``).

Interpretations
---------------
1. **The directory** is the list of :class:`Target` facts the caller read: every institution in the drawing
   org unit's scope (``services.draws.target_draws`` says which), with its kind, level, division and whether it is a
   designated (定点) institution. It is stored whole with the record, so the filters can be re-applied.
2. **Filters** (:class:`TargetFilters`) are applied in a fixed order, each counting what it removes among what
   the previous ones kept: ``designated`` (only designated institutions, when ``designated_only``), ``kind``,
   ``level`` (exact text, e.g. 三级甲等), ``division`` (the institution's org unit is among ``division_ids``,
   already expanded to their subtrees by the caller), then ``excluded`` (ids staff left out, e.g. inspected
   recently). An empty set of kinds, levels or divisions means "any". What is left is the *eligible* list.
3. **The draw, t1**: the eligible ids are sorted and visited in the order of a Fisher–Yates shuffle done from
   the front with the expert draw's :class:`services.activities.sampling.SeededStream` (SHA-256 over a domain string
   of
   this module's own, the seed, the key ``"targets"`` and a counter; uniform integers by rejection sampling, no
   modulo bias); the first ``count`` are drawn, in that order. Every ``count``-subset of the eligible list is
   equally likely. The domain string keeps the sequence apart from the expert draw's; the stream itself is
   frozen for both (stored v1 and t1 draws verify only with it), so this version stays fixed.
4. **Shortfall**: fewer eligible than ``count`` → nothing is drawn; the result says how many are missing and
   what each filter removed (the counts are there for a successful draw too).
5. **Record**: :func:`canonical_snapshot` / :func:`parse_snapshot` store and rebuild the :class:`TargetInputs`,
   :func:`snapshot_hash` fingerprints them, and :func:`verify` recomputes the draw with the stored version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.activities.sampling import SeededStream

__all__ = [
    "ALGORITHM_VERSION",
    "FILTER_ORDER",
    "MAX_COUNT",
    "SNAPSHOT_FORMAT",
    "Target",
    "TargetFilters",
    "TargetInputs",
    "TargetRequestError",
    "TargetResult",
    "canonical_snapshot",
    "draw",
    "eligible_ids",
    "parse_snapshot",
    "result_from_json",
    "result_json",
    "snapshot_hash",
    "verify",
]

ALGORITHM_VERSION = "t1"
SNAPSHOT_FORMAT = "fundwatch-targets-snapshot/1"
MAX_COUNT = 100
FILTER_ORDER = ("designated", "kind", "level", "division", "excluded")
STREAM_LABEL = "targets"


@dataclass(frozen=True)
class Target:
    """What the draw needs to know about one institution of the directory."""

    institution_id: int
    kind: str
    level: str | None = None
    division_id: int | None = None
    designated: bool = False


@dataclass(frozen=True)
class TargetFilters:
    """Which institutions may be drawn (empty sets: any) and which staff left out."""

    kinds: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    division_ids: frozenset[int] = frozenset()
    designated_only: bool = True
    exclude_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class TargetInputs:
    """Everything the draw read: the directory (any order; kept sorted by id), the filters and the count."""

    directory: tuple[Target, ...]
    filters: TargetFilters
    count: int


@dataclass(frozen=True)
class TargetResult:
    """The outcome: ``picks`` in draw order (empty on a shortfall), how many were in the directory, passed the
    filters, were eligible after the exclusions, and what each filter removed (``FILTER_ORDER``)."""

    algorithm_version: str
    count: int
    picks: tuple[int, ...] = ()
    directory: int = 0
    eligible: int = 0
    removed: tuple[tuple[str, int], ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when ``count`` institutions were drawn."""
        return len(self.picks) == self.count

    @property
    def short(self) -> int:
        """How many are missing (0 when the draw succeeded)."""
        return 0 if self.ok else self.count - self.eligible

    def removed_by(self, name: str) -> int:
        """How many the filter ``name`` removed."""
        return dict(self.removed).get(name, 0)


class TargetRequestError(ValueError):
    """The request itself is invalid (independent of the directory): ``code`` says which rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- deterministic randomness ---------------------------------------------------------------------


_STREAM_DOMAIN = b"fundwatch/targets/t1\x00"  # not the expert draw's: another sequence from the same seed


def _shuffled(ids: Sequence[int], seed: bytes, key: str) -> Iterator[int]:
    """A lazy Fisher–Yates shuffle from the front of ``ids``."""
    order, stream = list(ids), SeededStream(seed, key, domain=_STREAM_DOMAIN)
    n = len(order)
    for i in range(n):
        j = i + stream.below(n - i)
        order[i], order[j] = order[j], order[i]
        yield order[i]


# --- the draw -------------------------------------------------------------------------------------


def _validate(inputs: TargetInputs) -> None:
    if not 1 <= inputs.count <= MAX_COUNT:
        raise TargetRequestError("count", f"the count must be between 1 and {MAX_COUNT}")
    ids = [t.institution_id for t in inputs.directory]
    if len(set(ids)) != len(ids):
        raise TargetRequestError("duplicate_institution", "an institution appears twice in the directory")


def _filtered(inputs: TargetInputs) -> tuple[list[int], list[tuple[str, int]]]:
    f = inputs.filters
    tests: tuple[tuple[str, Callable[[Target], bool]], ...] = (
        ("designated", lambda t: t.designated or not f.designated_only),
        ("kind", lambda t: not f.kinds or t.kind in f.kinds),
        ("level", lambda t: not f.levels or t.level in f.levels),
        ("division", lambda t: not f.division_ids or t.division_id in f.division_ids),
        ("excluded", lambda t: t.institution_id not in f.exclude_ids),
    )
    kept = sorted(inputs.directory, key=lambda t: t.institution_id)
    removed: list[tuple[str, int]] = []
    for name, passes in tests:
        before = len(kept)
        kept = [t for t in kept if passes(t)]
        removed.append((name, before - len(kept)))
    return [t.institution_id for t in kept], removed


def eligible_ids(inputs: TargetInputs) -> list[int]:
    """The sorted ids that pass every filter and are not excluded."""
    return _filtered(inputs)[0]


def _draw_t1(inputs: TargetInputs, seed: bytes) -> TargetResult:
    _validate(inputs)
    eligible, removed = _filtered(inputs)
    picks: tuple[int, ...] = ()
    if len(eligible) >= inputs.count:
        shuffled = _shuffled(eligible, seed, STREAM_LABEL)
        picks = tuple(next(shuffled) for _ in range(inputs.count))
    return TargetResult(ALGORITHM_VERSION, inputs.count, picks, len(inputs.directory), len(eligible),
                        tuple(removed))


class _Algorithm(Protocol):
    def __call__(self, inputs: TargetInputs, seed: bytes) -> TargetResult: ...


_ALGORITHMS: dict[str, _Algorithm] = {"t1": _draw_t1}


def draw(inputs: TargetInputs, seed: bytes) -> TargetResult:
    """Draw with the current algorithm (``ALGORITHM_VERSION``); deterministic from ``seed``. Raises
    :class:`TargetRequestError` for an invalid request."""
    return _ALGORITHMS[ALGORITHM_VERSION](inputs, seed)


def verify(inputs: TargetInputs, seed: bytes, *, stored: TargetResult) -> bool:
    """Recompute the draw from its inputs with the stored result's algorithm version and compare (order and
    counts included). Raises ``ValueError`` for an unknown version."""
    algorithm = _ALGORITHMS.get(stored.algorithm_version)
    if algorithm is None:
        raise ValueError(f"unknown target draw algorithm {stored.algorithm_version!r}")
    try:
        recomputed = algorithm(inputs, seed)
    except TargetRequestError:
        return False
    return recomputed == stored


# --- stored forms ---------------------------------------------------------------------------------


def result_json(result: TargetResult) -> dict[str, Any]:
    """The stored form of a result (exactly what :func:`result_from_json` reads back)."""
    return {
        "algorithm_version": result.algorithm_version,
        "count": result.count,
        "picks": list(result.picks),
        "directory": result.directory,
        "eligible": result.eligible,
        "removed": [[name, n] for name, n in result.removed],
    }


def result_from_json(data: dict[str, Any]) -> TargetResult:
    """Rebuild a result from :func:`result_json`."""
    return TargetResult(
        algorithm_version=str(data["algorithm_version"]),
        count=int(data["count"]),
        picks=tuple(int(i) for i in data["picks"]),
        directory=int(data["directory"]),
        eligible=int(data["eligible"]),
        removed=tuple((str(name), int(n)) for name, n in data["removed"]),
    )


def canonical_snapshot(inputs: TargetInputs) -> str:
    """Canonical JSON of the inputs: the directory by id as ``[id, kind, level, division, designated]``, sets
    sorted, compact separators, sorted keys."""
    f = inputs.filters
    data = {
        "format": SNAPSHOT_FORMAT,
        "directory": [[t.institution_id, t.kind, t.level, t.division_id, t.designated]
                      for t in sorted(inputs.directory, key=lambda t: t.institution_id)],
        "filters": {
            "kinds": sorted(f.kinds),
            "levels": sorted(f.levels),
            "division_ids": sorted(f.division_ids),
            "designated_only": f.designated_only,
            "exclude_ids": sorted(f.exclude_ids),
        },
        "count": inputs.count,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def snapshot_hash(inputs: TargetInputs) -> str:
    """Hex SHA-256 of :func:`canonical_snapshot` (UTF-8)."""
    return hashlib.sha256(canonical_snapshot(inputs).encode("utf-8")).hexdigest()


def parse_snapshot(text: str) -> TargetInputs:
    """Rebuild :class:`TargetInputs` from :func:`canonical_snapshot` (``ValueError`` for another format)."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError("unknown target snapshot format")
    f = data["filters"]
    return TargetInputs(
        directory=tuple(Target(int(i), str(kind), None if level is None else str(level),
                               None if division is None else int(division), bool(designated))
                        for i, kind, level, division, designated in data["directory"]),
        filters=TargetFilters(
            kinds=frozenset(str(k) for k in f["kinds"]),
            levels=frozenset(str(v) for v in f["levels"]),
            division_ids=frozenset(int(d) for d in f["division_ids"]),
            designated_only=bool(f["designated_only"]),
            exclude_ids=frozenset(int(i) for i in f["exclude_ids"]),
        ),
        count=int(data["count"]),
    )
