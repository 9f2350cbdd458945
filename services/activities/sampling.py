"""The draws' deterministic randomness (``draw_rules`` point 11): :class:`SeededStream` (uniform integers from
SHA-256 over a domain, the seed, a key and a counter) and the lazy Fisher–Yates shuffle the expert draw visits its
candidates in (:func:`shuffled`, :func:`visit_order` to prefetch them). Stored draws verify only while these
sequences stay the same (tests/services/test_seeded_stream.py pins them)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

__all__ = ["SeededStream", "shuffled", "visit_order"]

_STREAM_DOMAIN = b"fundwatch/draw/v1\x00"


class SeededStream:
    """Uniform integers from SHA-256(domain, seed, key, counter); independent of Python's ``random``.

    Each draw algorithm passes a ``domain`` of its own (this module's for the expert draw v1,
    ``services.draws.target_rules``'s for the target draw t1), so the same seed gives each its own sequence. Stored
    draws verify only while the sequences stay the same: change nothing here, add a new algorithm version."""

    def __init__(self, seed: bytes, key: str, *, domain: bytes) -> None:
        encoded = key.encode("utf-8")
        self._prefix = (domain + len(seed).to_bytes(8, "big") + seed
                        + len(encoded).to_bytes(8, "big") + encoded)
        self._counter = 0

    @property
    def prefix(self) -> bytes:
        """The domain, seed and key this stream hashes (for a derived stream of its own)."""
        return self._prefix

    def _next64(self) -> int:
        digest = hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
        self._counter += 1
        return int.from_bytes(digest[:8], "big")

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` by rejection sampling (no modulo bias)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = self._next64()
            if value < limit:
                return value % n


class _Shuffle:
    """A lazy Fisher–Yates shuffle from the front: ``next()`` fixes one more position of a uniformly random
    permutation of ``ids``, so visiting k candidates costs k steps whatever the size of the pool."""

    def __init__(self, ids: Sequence[int], seed: bytes, key: str) -> None:
        self._order = list(ids)
        self._stream = SeededStream(seed, key, domain=_STREAM_DOMAIN)
        self._i = 0

    def __iter__(self) -> Iterator[int]:
        order, n = self._order, len(self._order)
        while self._i < n:
            i = self._i
            j = i + self._stream.below(n - i)
            order[i], order[j] = order[j], order[i]
            self._i += 1
            yield order[i]


def shuffled(ids: Sequence[int], seed: bytes, key: str) -> Iterator[int]:
    """``ids`` lazily in the expert draw v1's order for the requirement ``key`` (one step per id taken)."""
    return iter(_Shuffle(ids, seed, key))


def visit_order(ids: Sequence[int], seed: bytes, key: str, upto: int) -> list[int]:
    """The first ``upto`` ids in the order the draw visits them for the requirement ``key`` (for prefetching)."""
    out: list[int] = []
    for person_id in shuffled(ids, seed, key):
        if len(out) >= upto:
            break
        out.append(person_id)
    return out
