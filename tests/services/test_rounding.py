"""Dependent rounding (``services.activities.rounding``, the draw v3's, issue 18): the adjacency kept up to date
(issue 21: it was rebuilt per step, quadratic in the edges) must choose exactly the paths the rebuilt one chose,
or stored v3 draws would no longer verify (001 §11 做好记录, 000 §25)."""

from __future__ import annotations

import random
from collections import defaultdict
from fractions import Fraction

import pytest

from services.activities import rounding
from services.activities.sampling import SeededStream


def _path_rebuilt(edges: dict[tuple[object, object], Fraction]) -> list[tuple[object, object]]:
    """The path as the first v3 found it: the adjacency rebuilt from the edges left, in their order."""
    around: dict[object, list[tuple[object, object]]] = defaultdict(list)
    for edge in edges:
        around[edge[0]].append(edge)
        around[edge[1]].append(edge)
    start = next((v for v, es in around.items() if len(es) == 1), next(iter(around)))
    path: list[tuple[object, object]] = []
    seen_at: dict[object, int] = {start: 0}
    vertex: object = start
    used: set[tuple[object, object]] = set()
    while True:
        step = next((e for e in around[vertex] if e not in used), None)
        if step is None:
            return path
        used.add(step)
        path.append(step)
        vertex = step[1] if step[0] == vertex else step[0]
        if vertex in seen_at:
            return path[seen_at[vertex]:]
        seen_at[vertex] = len(path)


def _round_rebuilt(weights: dict[tuple[object, object], Fraction], stream: SeededStream
                   ) -> set[tuple[object, object]]:
    edges = {e: w for e, w in sorted(weights.items(), key=lambda ew: repr(ew[0])) if 0 < w < 1}
    ones = {e for e, w in weights.items() if w == 1}
    while edges:
        path = _path_rebuilt(edges)
        even, odd = path[0::2], path[1::2]
        up = min([1 - edges[e] for e in even] + [edges[e] for e in odd])
        down = min([edges[e] for e in even] + [1 - edges[e] for e in odd])
        step = up if stream.below((down / (up + down)).denominator) < (down / (up + down)).numerator else -down
        for e in path:
            edges[e] += step if e in even else -step
            if edges[e] in (0, 1) and edges.pop(e) == 1:
                ones.add(e)
    return ones


@pytest.mark.parametrize("case", range(40))
def test_the_kept_adjacency_rounds_exactly_as_the_rebuilt_one(case: int) -> None:
    rng = random.Random(case)
    units = [("clinical", i) for i in range(rng.randint(1, 40))] + [("", 1000 + i) for i in range(rng.randint(0, 5))]
    lines = [f"r{i}" for i in range(rng.randint(1, 4))]
    weights: dict[tuple[object, object], Fraction] = {}
    for unit in units:
        for line in rng.sample(lines, rng.randint(1, len(lines))):
            weights[(unit, line)] = Fraction(rng.randint(0, 12), 12)
    for line in lines:
        weights[(("one-line", line), line)] = Fraction(rng.randint(1, 11), 12)
    seed = bytes([case]) * 32
    expected = _round_rebuilt(weights, SeededStream(seed, "joint", domain=b"test\x00"))
    assert rounding.round_edges(weights, SeededStream(seed, "joint", domain=b"test\x00")) == expected
