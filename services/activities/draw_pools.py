"""Where the expert draw's candidates come from (``expert_draw``'s pools and the exceptions a pool raises when
the draw needs a candidate it has not loaded)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from services.activities.draw_rules import Candidate, DrawRequestError, Requirement, matches

__all__ = ["CandidatePool", "ListPool", "MissingCandidate", "MissingNamed", "SortedIds"]


class SortedIds(tuple[int, ...]):
    """Ids ascending without repeats, as a pool may hand them over (the draw's recorder then keeps them as they
    are instead of sorting them again: ``services.activities.pool_index``)."""

    __slots__ = ()


class MissingCandidate(LookupError):
    """The draw needs a candidate the pool has not loaded (``person_ids``: all it knows it needs, the first
    being ``person_id``); the caller loads them and draws again."""

    def __init__(self, person_id: int, person_ids: Sequence[int] = ()) -> None:
        super().__init__(f"candidate {person_id} is not loaded")
        self.person_id = person_id
        self.person_ids = tuple(person_ids) or (person_id,)


class MissingNamed(MissingCandidate):
    """The draw v2 needs the facts of these experts (drawn ones, to record and for the leader; or those that may
    match two requirements): load exactly them."""


class CandidatePool(Protocol):
    """What the draw reads: for a requirement, the sorted ids of the experts that may match it (a superset is
    fine: :func:`matches` is checked again for each one visited), and a candidate's facts by id."""

    def matching(self, requirement: Requirement) -> Sequence[int]: ...

    def get(self, person_id: int) -> Candidate: ...


class ListPool:
    """A pool over candidates held in memory (tests, the frequency benchmark)."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self._by_id: dict[int, Candidate] = {}
        for c in candidates:
            if c.person_id in self._by_id:
                raise DrawRequestError("duplicate_candidate", "", "a person appears twice among the candidates")
            self._by_id[c.person_id] = c
        self._ids = sorted(self._by_id)

    def matching(self, requirement: Requirement) -> Sequence[int]:
        return [i for i in self._ids if matches(self._by_id[i], requirement)]

    def get(self, person_id: int) -> Candidate:
        try:
            return self._by_id[person_id]
        except KeyError:
            raise MissingCandidate(person_id) from None
