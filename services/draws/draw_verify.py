"""Checking a stored draw record (001 §11 做好记录, 000 §25 可回溯): the part of verification that expert draws
(``services.draws.draws.verify_draw``) and inspection-target draws (``services.draws.target_draws.verify_target_draw``)
share.

:func:`check_record` reads the record's compressed snapshot and checks its SHA-256, rebuilds the inputs and the
stored result, recomputes the draw from them and the seed with the recorded algorithm version, and checks the
audit entry made when the draw ran (seed, snapshot hash, :func:`result_hash`). The caller loads the record,
passes its own kind's rules (``services.activities.draw_rules`` or ``services.draws.target_rules``), adds what only its
kind has
(the roster; the activities made from the targets) and builds its report.

Problems, in the order they are checked: ``snapshot_unreadable`` (stops), ``snapshot_hash``, ``unreadable: …``
(the snapshot or the result cannot be rebuilt; stops), ``algorithm_version`` (the result's is not the record's),
``unknown_algorithm``, ``result``, ``outcome`` (only with ``check_outcome``), ``audit_missing``, ``audit_result``,
``audit_inputs``.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlmodel import col, select

from storage.activities import DrawRecord
from storage.models import AuditEntry
from storage.uow import UnitOfWork

__all__ = ["RecordCheck", "check_record", "result_hash"]


class _StoredResult(Protocol):
    @property
    def algorithm_version(self) -> str: ...

    @property
    def ok(self) -> bool: ...


InputsT = TypeVar("InputsT")
ResultT = TypeVar("ResultT", bound=_StoredResult)
_InputsT_contra = TypeVar("_InputsT_contra", contravariant=True)
_ResultT_contra = TypeVar("_ResultT_contra", contravariant=True)


class _Recompute(Protocol[_InputsT_contra, _ResultT_contra]):
    def __call__(self, inputs: _InputsT_contra, seed: bytes, *, stored: _ResultT_contra) -> bool: ...


@dataclass(frozen=True)
class RecordCheck(Generic[InputsT, ResultT]):
    """What :func:`check_record` found: the problems in the order checked, and the inputs and stored result it
    rebuilt (both ``None`` when the snapshot or the result could not be read; the problems say why)."""

    problems: tuple[str, ...]
    inputs: InputsT | None = None
    stored: ResultT | None = None


def result_hash(data: dict[str, Any]) -> str:
    """The hash of a stored result (``DrawRecord.result``), as the audit entry of a draw carries it."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def check_record(uow: UnitOfWork, record: DrawRecord, *, parse_snapshot: Callable[[str], InputsT],
                       result_from_json: Callable[[dict[str, Any]], ResultT],
                       verify: _Recompute[InputsT, ResultT], check_outcome: bool = False
                       ) -> RecordCheck[InputsT, ResultT]:
    """Check ``record`` against itself and its audit entry (module docstring); ``check_outcome`` also requires
    the record's ``outcome`` to be what the stored result says (``drawn`` or ``short``)."""
    problems: list[str] = []
    try:
        snapshot = zlib.decompress(record.snapshot)
    except zlib.error:
        return RecordCheck(("snapshot_unreadable",))
    if hashlib.sha256(snapshot).hexdigest() != record.snapshot_hash:
        problems.append("snapshot_hash")
    try:
        inputs = parse_snapshot(snapshot.decode("utf-8"))
        stored = result_from_json(record.result)
    except (ValueError, KeyError, TypeError) as error:
        return RecordCheck((*problems, f"unreadable: {error}"))
    if stored.algorithm_version != record.algorithm_version:
        problems.append("algorithm_version")
    try:
        same = verify(inputs, bytes.fromhex(record.seed), stored=stored)
    except ValueError:
        same = False
        problems.append("unknown_algorithm")
    if not same:
        problems.append("result")
    if check_outcome and record.outcome != ("drawn" if stored.ok else "short"):
        problems.append("outcome")
    entry = (await uow.session.exec(select(AuditEntry).where(
        AuditEntry.object_type == "draw", AuditEntry.object_id == str(record.id),
        col(AuditEntry.action).in_(("draw.drawn", "draw.short"))))).first()
    if entry is None:
        problems.append("audit_missing")
    else:
        if entry.details.get("result_hash") != result_hash(record.result):
            problems.append("audit_result")
        if entry.details.get("snapshot_hash") != record.snapshot_hash or entry.details.get("seed") != record.seed:
            problems.append("audit_inputs")
    return RecordCheck(tuple(problems), inputs, stored)
