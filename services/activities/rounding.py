"""Dependent rounding on a bipartite graph (Gandhi, Khuller, Parthasarathy, Srinivasan, J. ACM 2006), as the joint
draw v3 uses it (:mod:`services.activities.joint_draw`): fractional edges rounded to 0 or 1, each keeping its
probability and every vertex its sum's floor or ceiling. Stored v3 draws verify only while its choices (which path,
which direction) stay the same: tests/services/test_joint_draw.py and ``draw verify``."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction

from services.activities.sampling import SeededStream

__all__ = ["round_edges"]


def _bernoulli(chance: Fraction, stream: SeededStream) -> bool:
    return stream.below(chance.denominator) < chance.numerator


Edge = tuple[object, object]


class _Graph:
    """The fractional edges' adjacency, kept up to date as edges are rounded, so that each step of
    :func:`round_edges` costs the length of its path, not the number of edges (thousands of units in several
    lines made it quadratic: seconds at province scale). It finds exactly the path that rebuilding the adjacency
    from the edges left (in their order) would find: the start is the first vertex of degree 1 in the order the
    vertices first appear among those edges, else the first vertex; each step takes the vertex's first edge not yet
    on the path."""

    def __init__(self, edges: Sequence[Edge]) -> None:
        self.position = {e: i for i, e in enumerate(edges)}
        self.around: dict[object, list[Edge]] = defaultdict(list)
        for edge in edges:
            self.around[edge[0]].append(edge)
            self.around[edge[1]].append(edge)
        self.all = [(self._key(v), v) for v in self.around]  # heaps by first appearance (stale entries skipped)
        self.single = [entry for entry in self.all if len(self.around[entry[1]]) == 1]
        heapq.heapify(self.all)
        heapq.heapify(self.single)

    def _key(self, vertex: object) -> tuple[int, int]:
        first = self.around[vertex][0]
        return (self.position[first], 0 if first[0] == vertex else 1)

    def _valid(self, entry: tuple[tuple[int, int], object], degree_one: bool) -> bool:
        es = self.around.get(entry[1])
        return bool(es) and self._key(entry[1]) == entry[0] and (not degree_one or len(es) == 1)  # type: ignore[arg-type]

    def start(self) -> object:
        for heap, degree_one in ((self.single, True), (self.all, False)):
            while heap:
                if self._valid(heap[0], degree_one):
                    return heap[0][1]
                heapq.heappop(heap)
        raise AssertionError("no edge left")

    def remove(self, edge: Edge) -> None:
        for vertex in edge:
            es = self.around[vertex]
            es.remove(edge)
            if not es:
                del self.around[vertex]
                continue
            entry = (self._key(vertex), vertex)
            heapq.heappush(self.all, entry)
            if len(es) == 1:
                heapq.heappush(self.single, entry)

    def path(self) -> list[Edge]:
        """A maximal path or a cycle of the fractional edges (a cycle of a bipartite graph is even)."""
        start = self.start()
        path: list[Edge] = []
        seen_at: dict[object, int] = {start: 0}
        vertex: object = start
        used: set[Edge] = set()
        while True:
            step = next((e for e in self.around[vertex] if e not in used), None)
            if step is None:
                return path
            edge = step
            used.add(edge)
            path.append(edge)
            vertex = edge[1] if edge[0] == vertex else edge[0]
            if vertex in seen_at:
                return path[seen_at[vertex]:]
            seen_at[vertex] = len(path)


def round_edges(weights: dict[tuple[object, object], Fraction], stream: SeededStream) -> set[tuple[object, object]]:
    """Dependent rounding on a bipartite graph: the edges rounded to 1, each with probability its weight, every
    vertex's sum kept to its floor or ceiling (exactly, where it is whole)."""
    edges = {e: w for e, w in sorted(weights.items(), key=lambda ew: repr(ew[0])) if 0 < w < 1}
    ones = {e for e, w in weights.items() if w == 1}
    graph = _Graph(list(edges))
    while edges:
        path = graph.path()
        even, odd = path[0::2], path[1::2]
        up = min([1 - edges[e] for e in even] + [edges[e] for e in odd])
        down = min([edges[e] for e in even] + [1 - edges[e] for e in odd])
        step = up if _bernoulli(down / (up + down), stream) else -down
        for e in path:
            edges[e] += step if e in even else -step
            if edges[e] in (0, 1):
                graph.remove(e)
                if edges.pop(e) == 1:
                    ones.add(e)
    return ones
