"""The expert draw v3 (issue 18, the general case): every requirement of a request drawn *jointly*, with stated
chances, also when an expert is eligible for two requirements or two requirements are of one field (where v2
drew as v1). Pure functions over the screening (:class:`~services.activities.fair_draw.Screened`).

**Who may fill which line** (:func:`partition`, deterministic from the screening, so ``draw verify`` recomputes
it): an expert eligible for several lines is counted in one of them, the line whose chance per expert
(principals / experts counted) is then the highest (ties: the earlier line), experts by id. So every expert has
one chance, in one line; lines of different fields no longer share anyone.

**One place per employer and field** (000 §18(三)): the *unit* of an employer in a field is all its experts
counted in the lines of that field (``m`` of them). A unit fills at most one place over all those lines, so each
of its experts can have at most ``1/m``. Each line ``r`` has a water level ``p_r`` (:func:`level`): an expert's
chance is ``min(p_r, 1/m)``, with ``Σ = k_r`` over the line. With one line per field this is v2's LEXIMIN
water level exactly; with several lines of one field it is an approximation: the unit's single place is shared
among its lines in proportion to its experts in each (exact LEXIMIN would need a linear programme over all
groups; README, "Fair draws").

**Sampling exactly those chances** (:func:`sample`): a unit in one line only is laid out, in a seeded random
order, for systematic sampling within its line (v2's scheme). A unit in several lines is an edge of a bipartite
graph *units × lines* weighted with its chance in that line; the fractional part of each line's one-line units
is one more edge. Dependent rounding (Gandhi, Khuller, Parthasarathy, Srinivasan, J. ACM 2006) rounds the edges
to 0 or 1 keeping every edge's probability and every line's total exactly, and each unit at most 1; the one-line
units of a line then fill their rounded count by systematic sampling with a start conditioned on it (its start
stays uniform, so each unit keeps its chance). Inside a picked unit one expert is taken uniformly. All the
randomness comes from :class:`~services.activities.sampling.SeededStream` over the domain ``fundwatch/draw/v3``.

**Backups**: the same joint draw for the backup counts over the units no principal came from, their order
random (their chances are conditional on the principals and not stated, as in v2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from services.activities.fair_draw import Chances, Group, Screened, groups_of
from services.activities.sampling import SeededStream

__all__ = ["ALGORITHM_V3", "Line", "Plan", "chances", "draw_lines", "level", "marginals", "partition", "round_edges",
           "sample"]

ALGORITHM_V3 = "v3"
_STREAM_DOMAIN = b"fundwatch/draw/v3\x00"

UnitKey = tuple[str, int]  # (field, employer id) or ("", person id) for an expert without an employer


@dataclass(frozen=True)
class Line:
    """One requirement as the joint draw sees it: its key, field and places."""

    key: str
    field: str
    count: int
    backups: int = 0


@dataclass(frozen=True)
class Plan:
    """The lines' groups after :func:`partition`, each group's unit and each unit's size (experts over the
    lines of its field)."""

    lines: tuple[Line, ...]
    groups: dict[str, tuple[Group, ...]]
    unit_size: dict[UnitKey, int]

    def unit_of(self, line: Line, group: Group) -> UnitKey:
        """The unit a group of ``line`` belongs to."""
        return ("", group.ids[0]) if group.employer_id is None else (line.field, group.employer_id)

    def cap(self, line: Line, group: Group) -> int:
        """``m``: an expert of ``group`` can have at most ``1/m``."""
        return self.unit_size[self.unit_of(line, group)]


def partition(lines: Sequence[Line], screened: dict[str, Screened]) -> Plan:
    """Every eligible expert counted in one line (module docstring), and the units."""
    employer: dict[int, int | None] = {}
    fits: dict[int, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        for group in screened[line.key].groups:
            for person_id in group.ids:
                employer[person_id] = group.employer_id
                fits[person_id].append(index)
    chosen: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    units: list[set[UnitKey]] = [set() for _ in lines]
    shared: list[int] = []
    for person_id, where in fits.items():
        if len(where) == 1:
            chosen[where[0]].append((person_id, employer[person_id]))
            units[where[0]].add(_unit(lines[where[0]], person_id, employer[person_id]))
        else:
            shared.append(person_id)
    for person_id in sorted(shared):
        best = max(fits[person_id], key=lambda i: _preference(lines[i], i, len(chosen[i]), units[i],
                                                              _unit(lines[i], person_id, employer[person_id])))
        chosen[best].append((person_id, employer[person_id]))
        units[best].add(_unit(lines[best], person_id, employer[person_id]))
    groups = {line.key: tuple(groups_of(chosen[i])) for i, line in enumerate(lines)}
    plan = Plan(tuple(lines), groups, {})
    for line in lines:
        for group in groups[line.key]:
            unit = plan.unit_of(line, group)
            plan.unit_size[unit] = plan.unit_size.get(unit, 0) + len(group.ids)
    return plan


def _unit(line: Line, person_id: int, employer_id: int | None) -> UnitKey:
    return ("", person_id) if employer_id is None else (line.field, employer_id)


def _preference(line: Line, index: int, counted: int, units: set[UnitKey], unit: UnitKey
                ) -> tuple[int, int, Fraction, int]:
    """Where a shared expert is counted: first a line short of employers for its places that the expert's
    employer would join (the shortest first), then the highest places / (experts + 1), then the earlier line."""
    short = line.count + line.backups - len(units)
    joins = short > 0 and unit not in units
    return (int(joins), short if joins else 0, Fraction(line.count, counted + 1), -index)


def level(sizes: Sequence[tuple[int, int]], places: int) -> Fraction | None:
    """The water level ``p`` with ``Σ n·min(p, 1/m) = places`` over groups of ``n`` experts in units of ``m``
    (``n ≤ m``); None when even every unit's share (``Σ n/m``) is below the places."""
    if places == 0:
        return Fraction(0)
    ordered = sorted(sizes, key=lambda nm: -nm[1])  # the lowest ceiling 1/m first
    rest = sum(n for n, _ in ordered)
    full = Fraction(0)
    for n, m in ordered:
        p = (places - full) / rest
        if p * m <= 1:
            return p
        full += Fraction(n, m)
        rest -= n
        if rest == 0:
            return Fraction(1, m) if full == places else None
    return None


def _level_of(plan: Plan, line: Line, groups: Sequence[Group], places: int) -> Fraction | None:
    return level([(len(g.ids), plan.cap(line, g)) for g in groups], places)


def marginals(plan: Plan, counts: dict[str, int] | None = None) -> dict[tuple[str, int], Fraction] | None:
    """Each (line key, person id)'s chance to be drawn as a principal; None when a line cannot be filled."""
    out: dict[tuple[str, int], Fraction] = {}
    for line in plan.lines:
        p = _level_of(plan, line, plan.groups[line.key], line.count if counts is None else counts[line.key])
        if p is None:
            return None
        for g in plan.groups[line.key]:
            chance = min(p, Fraction(1, plan.cap(line, g)))
            out.update({(line.key, i): chance for i in g.ids})
    return out


def chances(plan: Plan, line: Line) -> Chances:
    """The stored form of a line's principals' chances (v2's :class:`Chances`; ``units`` where a capped
    employer's experts in the field are more than those in this line)."""
    groups = plan.groups[line.key]
    p = _level_of(plan, line, groups, line.count)
    assert p is not None
    capped = [(g.employer_id, len(g.ids), plan.cap(line, g)) for g in groups
              if g.employer_id is not None and p * plan.cap(line, g) > 1]
    big = max((g for g in groups if g.employer_id is not None and len(g.ids) > 1),
              key=lambda g: (len(g.ids), -(g.employer_id or 0)), default=None)
    largest = None if big is None or big.employer_id is None or any(big.employer_id == c for c, _, _ in capped) \
        else (big.employer_id, len(big.ids))
    return Chances(line.key, sum(len(g.ids) for g in groups), p, tuple((e, n) for e, n, _ in capped), largest,
                   tuple((e, m) for e, n, m in capped if m != n))


# --- sampling ------------------------------------------------------------------------------------------------


def _shuffle(items: list[Group], stream: SeededStream) -> None:
    for i in range(len(items) - 1, 0, -1):
        j = stream.below(i + 1)
        items[i], items[j] = items[j], items[i]


def _bernoulli(chance: Fraction, stream: SeededStream) -> bool:
    return stream.below(chance.denominator) < chance.numerator


def _path(edges: dict[tuple[object, object], Fraction]) -> list[tuple[object, object]]:
    """A maximal path or a cycle of the fractional edges (a cycle of a bipartite graph is even)."""
    around: dict[object, list[tuple[object, object]]] = defaultdict(list)
    for edge in edges:
        around[edge[0]].append(edge)
        around[edge[1]].append(edge)
    start = next((v for v, es in around.items() if len(es) == 1), next(iter(around)))
    path: list[tuple[object, object]] = []
    seen_at: dict[object, int] = {start: 0}
    vertex, used = start, set()
    while True:
        edge = next((e for e in around[vertex] if e not in used), None)
        if edge is None:
            return path
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
    while edges:
        path = _path(edges)
        even, odd = path[0::2], path[1::2]
        up = min([1 - edges[e] for e in even] + [edges[e] for e in odd])
        down = min([edges[e] for e in even] + [1 - edges[e] for e in odd])
        step = up if _bernoulli(down / (up + down), stream) else -down
        for e in path:
            edges[e] += step if e in even else -step
            if edges[e] in (0, 1) and edges.pop(e) == 1:
                ones.add(e)
    return ones


def _systematic(weights: Sequence[int], start: int, denominator: int) -> list[int]:
    """Indexes picked by points ``start, start + D, …`` over integer weights laid end to end."""
    picked: list[int] = []
    point, edge = start, 0
    for index, size in enumerate(weights):
        edge += size
        while point < edge:
            picked.append(index)
            point += denominator
    return picked


def _weights(groups: Sequence[Group], p: Fraction) -> list[int]:
    """The one-line units' chances ``min(1, n·p)`` in units of ``1/denominator(p)`` (integers: no Fraction per
    unit on the hot path)."""
    a, b = p.numerator, p.denominator
    return [min(len(g.ids) * a, b) for g in groups]


def _singles(groups: list[Group], weights: list[int], p: Fraction, ceil: bool | None,
             stream: SeededStream) -> list[Group]:
    """The one-line units of a line picked by systematic sampling: with ``ceil`` None the whole count, else
    the rounded count, the start drawn below (or above) the fractional part."""
    rest = sum(weights) % p.denominator
    if ceil is None or rest == 0:
        start = stream.below(p.denominator)
    elif ceil:
        start = stream.below(rest)
    else:
        start = rest + stream.below(p.denominator - rest)
    return [groups[i] for i in _systematic(weights, start, p.denominator)]


def sample(plan: Plan, counts: dict[str, int], taken: set[UnitKey], stream: SeededStream
           ) -> dict[str, list[int]] | None:
    """``counts[key]`` experts per line from the units not ``taken`` (which then holds the picked ones), in a
    random order; None when a line's water level cannot be reached."""
    free = {line.key: [g for g in plan.groups[line.key] if plan.unit_of(line, g) not in taken]
            for line in plan.lines}
    lines_of: dict[UnitKey, list[str]] = defaultdict(list)
    for line in plan.lines:
        for g in free[line.key]:
            lines_of[plan.unit_of(line, g)].append(line.key)
    edges: dict[tuple[object, object], Fraction] = {}
    singles: dict[str, tuple[list[Group], list[int], Fraction]] = {}
    by_unit: dict[tuple[UnitKey, str], Group] = {}
    for line in plan.lines:
        p = _level_of(plan, line, free[line.key], counts[line.key])
        if p is None:
            return None
        alone = [g for g in free[line.key] if len(lines_of[plan.unit_of(line, g)]) == 1]
        _shuffle(alone, stream)
        weights = _weights(alone, p)
        singles[line.key] = (alone, weights, p)
        edges[(("one-line", line.key), line.key)] = Fraction(sum(weights) % p.denominator, p.denominator)
        for g in free[line.key]:
            unit = plan.unit_of(line, g)
            if len(lines_of[unit]) > 1:
                by_unit[(unit, line.key)] = g
                edges[(unit, line.key)] = len(g.ids) * min(p, Fraction(1, plan.cap(line, g)))
    rounded = round_edges(edges, stream)
    out: dict[str, list[int]] = {}
    for line in plan.lines:
        alone, weights, p = singles[line.key]
        fractional = edges[(("one-line", line.key), line.key)] != 0
        ceil = (("one-line", line.key), line.key) in rounded if fractional else None
        picked = (_singles(alone, weights, p, ceil, stream) if p else []) + \
            [g for (unit, key), g in sorted(by_unit.items(), key=lambda item: repr(item[0]))
             if key == line.key and (unit, key) in rounded]
        taken.update(plan.unit_of(line, g) for g in picked)
        people = [g.ids[stream.below(len(g.ids))] for g in picked]
        for i in range(len(people) - 1, 0, -1):
            j = stream.below(i + 1)
            people[i], people[j] = people[j], people[i]
        out[line.key] = people
    return out


def draw_lines(lines: Sequence[Line], screened: dict[str, Screened], backups: dict[str, int], seed: bytes
               ) -> tuple[dict[str, list[int]], dict[str, list[int]], Plan] | None:
    """Principals then backups per line (module docstring); None when the shares the plan gives a line cannot
    fill it (the caller then draws as v1 and says so)."""
    made = partition(lines, screened)
    stream = SeededStream(seed, "joint", domain=_STREAM_DOMAIN)
    taken: set[UnitKey] = set()
    principals = sample(made, {line.key: line.count for line in lines}, taken, stream)
    if principals is None:
        return None
    chosen = sample(made, backups, taken, stream)
    if chosen is None:
        return None
    return principals, chosen, made
