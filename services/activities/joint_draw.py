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

import hashlib
import struct
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain, filterfalse
from typing import NamedTuple, TypeVar

from services.activities.fair_draw import Chances, Group, Screened
from services.activities.rounding import round_edges
from services.activities.sampling import SeededStream

__all__ = ["ALGORITHM_V3", "Line", "Plan", "chances", "draw_lines", "level", "marginals", "partition", "round_edges",
           "sample"]

ALGORITHM_V3 = "v3"
_STREAM_DOMAIN = b"fundwatch/draw/v3\x00"
_T = TypeVar("_T")

UnitKey = tuple[str, int]  # (field, employer id) or ("", person id) for an expert without an employer


@dataclass(frozen=True)
class Line:
    """One requirement as the joint draw sees it: its key, field and places."""

    key: str
    field: str
    count: int
    backups: int = 0


class Entry(NamedTuple):
    """A group of a line with its unit and ``m`` (an expert of the group can have at most ``1/m``). A named tuple:
    a draw makes one per employer group and line (thousands at province scale)."""

    group: Group
    unit: UnitKey
    cap: int


@dataclass(frozen=True)
class Plan:
    """The lines' groups after :func:`partition`, each with its unit and the unit's size (experts over the
    lines of its field)."""

    lines: tuple[Line, ...]
    entries: dict[str, tuple[Entry, ...]]


def _unit(line: Line, person_id: int, employer_id: int | None) -> UnitKey:
    return ("", person_id) if employer_id is None else (line.field, employer_id)


def partition(lines: Sequence[Line], screened: dict[str, Screened]) -> Plan:
    """Every eligible expert counted in one line (module docstring), and the units. Set operations find the
    shared experts; only their employers' groups are rebuilt (the rest is the screening as it is)."""
    groups = [list(screened[line.key].groups) for line in lines]
    ids = [set(chain.from_iterable(g.ids for g in line_groups)) for line_groups in groups]
    shared = set().union(*(a & b for i, a in enumerate(ids) for b in ids[i + 1:]))
    if shared:
        _assign(lines, groups, shared)
    units = [[("", g.ids[0]) if g.employer_id is None else (line.field, g.employer_id) for g in line_groups]
             for line, line_groups in zip(lines, groups, strict=True)]
    if _distinct_fields(lines):  # a unit is in one line only: its size is its group's
        return Plan(tuple(lines), {line.key: tuple([Entry(g, unit, len(g.ids)) for g, unit in zip(
            line_groups, line_units, strict=True)]) for line, line_groups, line_units in zip(lines, groups, units,
                                                                                             strict=True)})
    size: dict[UnitKey, int] = defaultdict(int)
    for line_groups, line_units in zip(groups, units, strict=True):
        for g, unit in zip(line_groups, line_units, strict=True):
            size[unit] += len(g.ids)
    return Plan(tuple(lines), {line.key: tuple([Entry(g, unit, size[unit]) for g, unit in zip(
        line_groups, line_units, strict=True)]) for line, line_groups, line_units in zip(lines, groups, units,
                                                                                         strict=True)})


def _distinct_fields(lines: Sequence[Line]) -> bool:
    """No two lines of one field: after :func:`partition` no unit is in two lines (an employer's unit is of its
    field, an expert without an employer is counted in one line)."""
    return len({line.field for line in lines}) == len(lines)


def _assign(lines: Sequence[Line], groups: list[list[Group]], shared: set[int]) -> None:
    """Count each shared expert in one line (:func:`_preference`, experts by id) and rebuild the groups that
    held shared experts, in place and in their canonical order."""
    employer: dict[int, int | None] = {}
    fits: dict[int, list[int]] = defaultdict(list)
    units: list[set[UnitKey]] = [set() for _ in lines]
    counted = [0] * len(lines)
    for index, (line, line_groups) in enumerate(zip(lines, groups, strict=True)):
        line_units, field, whole = units[index], line.field, 0
        for g in line_groups:
            if shared.isdisjoint(g.ids):  # most groups: the unit, every expert counted (_unit inline)
                line_units.add(("", g.ids[0]) if g.employer_id is None else (field, g.employer_id))
                whole += len(g.ids)
                continue
            common = shared.intersection(g.ids)
            for person_id in common:
                employer[person_id] = g.employer_id
                fits[person_id].append(index)
            if len(common) < len(g.ids):
                line_units.add(_unit(line, g.ids[0], g.employer_id))
                counted[index] += len(g.ids) - len(common)
        counted[index] += whole
    home: dict[int, int] = {}
    places = [line.count for line in lines]
    short = any(line.count + line.backups > len(units[i]) for i, line in enumerate(lines))
    for person_id in sorted(shared):
        if short:  # a line still lacks employers for its places (small pools)
            home[person_id] = best = max(fits[person_id], key=lambda i: _preference(
                lines[i], i, counted[i], units[i], _unit(lines[i], person_id, employer[person_id])))
            units[best].add(_unit(lines[best], person_id, employer[person_id]))
            short = any(line.count + line.backups > len(units[i]) for i, line in enumerate(lines))
        else:  # the same order as _preference once no line is short (units only grow)
            home[person_id] = best = _most_places(fits[person_id], places, counted)
        counted[best] += 1
    for index, line_groups in enumerate(groups):
        away = {person_id for person_id, line in home.items() if line != index and index in fits[person_id]}
        kept = []
        for g in line_groups:
            kept_group = g if away.isdisjoint(g.ids) else Group(g.employer_id, tuple(filterfalse(away.__contains__,
                                                                                                 g.ids)))
            if kept_group.ids:
                kept.append(kept_group)
        groups[index] = kept


def _most_places(fit: list[int], places: list[int], counted: list[int]) -> int:
    """The line of ``fit`` with the highest places / (experts counted + 1), the earlier on a tie: ``max`` with
    :func:`_preference`'s last two keys, without a call per line."""
    best = fit[0]
    top = (places[best] / (counted[best] + 1), -best)
    for i in fit[1:]:
        if (key := (places[i] / (counted[i] + 1), -i)) > top:
            best, top = i, key
    return best


def _preference(line: Line, index: int, counted: int, units: set[UnitKey], unit: UnitKey
                ) -> tuple[int, int, float, int]:
    """Where a shared expert is counted: first a line short of employers for its places that the expert's
    employer would join (the shortest first), then the highest places / (experts + 1), then the earlier line.
    (The ratio as a float: correctly rounded, so equal ratios compare equal; the rule is recomputed by the same
    code when a draw is verified.)"""
    short = line.count + line.backups - len(units)
    joins = short > 0 and unit not in units
    return (int(joins), short if joins else 0, line.count / (counted + 1), -index)


def level(sizes: Sequence[tuple[int, int]], places: int) -> Fraction | None:
    """The water level ``p`` with ``Σ n·min(p, 1/m) = places`` over groups of ``n`` experts in units of ``m``
    (``n ≤ m``); None when even every unit's share (``Σ n/m``) is below the places."""
    if places == 0:
        return Fraction(0)
    rest = sum(n for n, _ in sizes)
    if rest and places * max(m for _, m in sizes) <= rest:  # nobody capped (the usual case): no sort
        return Fraction(places, rest)
    full = Fraction(0)
    for n, m in sorted(sizes, key=lambda nm: -nm[1]):  # the lowest ceiling 1/m first
        p = (places - full) / rest
        if p * m <= 1:
            return p
        full += Fraction(n, m)
        rest -= n
        if rest == 0:
            return Fraction(1, m) if full == places else None
    return None


def _level_of(entries: Sequence[Entry], places: int) -> Fraction | None:
    return level([(len(e.group.ids), e.cap) for e in entries], places)


def marginals(plan: Plan) -> dict[tuple[str, int], Fraction] | None:
    """Each (line key, person id)'s chance to be drawn as a principal; None when a line cannot be filled."""
    out: dict[tuple[str, int], Fraction] = {}
    for line in plan.lines:
        p = _level_of(plan.entries[line.key], line.count)
        if p is None:
            return None
        for e in plan.entries[line.key]:
            chance = min(p, Fraction(1, e.cap))
            out.update({(line.key, i): chance for i in e.group.ids})
    return out


def chances(plan: Plan, line: Line, p: Fraction) -> Chances:
    """The stored form of a line's principals' chances at the level ``p`` (v2's :class:`Chances`; ``units``
    where a capped employer's experts in the field are more than those in this line)."""
    entries = plan.entries[line.key]
    capped = [(e.group.employer_id, len(e.group.ids), e.cap) for e in entries
              if e.group.employer_id is not None and p.numerator * e.cap > p.denominator]
    big = max((e.group for e in entries if e.group.employer_id is not None and len(e.group.ids) > 1),
              key=lambda g: (len(g.ids), -(g.employer_id or 0)), default=None)
    largest = None if big is None or big.employer_id is None or any(big.employer_id == c for c, _, _ in capped) \
        else (big.employer_id, len(big.ids))
    return Chances(line.key, sum(len(e.group.ids) for e in entries), p, tuple((e, n) for e, n, _ in capped),
                   largest, tuple((e, m) for e, n, m in capped if m != n))


# --- sampling ------------------------------------------------------------------------------------------------


class _Stream(SeededStream):
    """The v3 stream, with Fisher–Yates over many items from one SHAKE-256 output (64-bit words, rejection
    sampling: exact) instead of one SHA-256 per item."""

    def shuffle(self, items: list[_T], label: str) -> None:
        n = len(items)
        words = _words(self.prefix + label.encode(), n + 8)
        at = 0
        for i in range(n - 1, 0, -1):
            limit = _TOP - _TOP % (i + 1)
            while True:
                if at == len(words):
                    words = _words(self.prefix + label.encode(), 2 * len(words))
                value, at = words[at], at + 1
                if value < limit:
                    break
            j = value % (i + 1)
            items[i], items[j] = items[j], items[i]


_TOP = 1 << 64


def _words(key: bytes, count: int) -> tuple[int, ...]:
    """``count`` 64-bit words of SHAKE-256(key) (a longer output starts with the shorter one)."""
    return struct.unpack(f">{count}Q", hashlib.shake_256(key).digest(8 * count))


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


def _weights(entries: Sequence[Entry], p: Fraction) -> list[int]:
    """The one-line units' chances ``min(1, n·p)`` in units of ``1/denominator(p)`` (integers: no Fraction per
    unit on the hot path)."""
    a, b = p.numerator, p.denominator
    return [min(len(e.group.ids) * a, b) for e in entries]


def _singles(entries: list[Entry], weights: list[int], p: Fraction, ceil: bool | None,
             stream: SeededStream) -> list[Entry]:
    """The one-line units of a line picked by systematic sampling: with ``ceil`` None the whole count, else
    the rounded count, the start drawn below (or above) the fractional part."""
    rest = sum(weights) % p.denominator
    if ceil is None or rest == 0:
        start = stream.below(p.denominator)
    elif ceil:
        start = stream.below(rest)
    else:
        start = rest + stream.below(p.denominator - rest)
    return [entries[i] for i in _systematic(weights, start, p.denominator)]


@dataclass
class _Layout:
    """A line's part of one sampling: its level, its one-line units in random order with their weights."""

    p: Fraction
    alone: list[Entry]
    weights: list[int]


def _layouts(plan: Plan, counts: dict[str, int], taken: set[UnitKey], stream: _Stream, stage: str
             ) -> tuple[dict[str, _Layout], dict[tuple[object, object], Fraction], dict[tuple[UnitKey, str], Entry]]:
    """Per line its layout, the graph's edges (units in several lines, and each line's one-line remainder)."""
    free = {line.key: [e for e in plan.entries[line.key] if e.unit not in taken] if taken
            else list(plan.entries[line.key]) for line in plan.lines}
    lines_of: dict[UnitKey, int] = defaultdict(int)
    several = len(plan.lines) > 1 and not _distinct_fields(plan.lines)  # else every unit is in one line
    if several:
        for entries in free.values():
            for e in entries:
                lines_of[e.unit] += 1
    layouts: dict[str, _Layout] = {}
    edges: dict[tuple[object, object], Fraction] = {}
    shared: dict[tuple[UnitKey, str], Entry] = {}
    for line in plan.lines:
        p = _level_of(free[line.key], counts[line.key])
        if p is None:
            raise _Short
        alone = [e for e in free[line.key] if lines_of.get(e.unit, 1) == 1] if several else free[line.key]
        stream.shuffle(alone, f"{stage}/{line.key}")
        weights = _weights(alone, p)
        layouts[line.key] = _Layout(p, alone, weights)
        edges[(("one-line", line.key), line.key)] = Fraction(sum(weights) % p.denominator, p.denominator)
        for e in free[line.key] if several else ():
            if lines_of.get(e.unit, 1) > 1:
                shared[(e.unit, line.key)] = e
                edges[(e.unit, line.key)] = len(e.group.ids) * min(p, Fraction(1, e.cap))
    return layouts, edges, shared


class _Short(Exception):
    """A line's water level cannot be reached with the units left."""


def sample(plan: Plan, counts: dict[str, int], taken: set[UnitKey], stream: _Stream, stage: str
           ) -> tuple[dict[str, list[int]], dict[str, Fraction]] | None:
    """``counts[key]`` experts per line from the units not ``taken`` (which then holds the picked ones), in a
    random order, and each line's level; None when a line's water level cannot be reached."""
    try:
        layouts, edges, shared = _layouts(plan, counts, taken, stream, stage)
    except _Short:
        return None
    rounded = round_edges(edges, stream)
    out: dict[str, list[int]] = {}
    for line in plan.lines:
        layout = layouts[line.key]
        remainder = (("one-line", line.key), line.key)
        ceil = remainder in rounded if edges[remainder] else None
        picked = (_singles(layout.alone, layout.weights, layout.p, ceil, stream) if layout.p else []) + \
            [e for (unit, key), e in sorted(shared.items(), key=lambda item: repr(item[0]))
             if key == line.key and (unit, key) in rounded]
        taken.update(e.unit for e in picked)
        people = [e.group.ids[stream.below(len(e.group.ids))] for e in picked]
        for i in range(len(people) - 1, 0, -1):
            j = stream.below(i + 1)
            people[i], people[j] = people[j], people[i]
        out[line.key] = people
    return out, {key: layout.p for key, layout in layouts.items()}


def draw_lines(lines: Sequence[Line], screened: dict[str, Screened], seed: bytes
               ) -> tuple[dict[str, list[int]], dict[str, list[int]], tuple[Chances, ...]] | None:
    """Principals then backups per line (module docstring), and the principals' chances; None when the shares
    the plan gives a line cannot fill it (the caller then draws as v1 and says so)."""
    made = partition(lines, screened)
    stream = _Stream(seed, "joint", domain=_STREAM_DOMAIN)
    taken: set[UnitKey] = set()
    principals = sample(made, {line.key: line.count for line in lines}, taken, stream, "principals")
    if principals is None:
        return None
    backups = sample(made, {line.key: line.backups for line in lines}, taken, stream, "backups")
    if backups is None:
        return None
    return principals[0], backups[0], tuple(chances(made, line, principals[1][line.key]) for line in lines)
