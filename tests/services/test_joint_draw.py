"""The draw v3 (issue 18, the general case; ``services.activities.joint_draw``): requirements that share experts
or a field are drawn jointly with stated chances; the chances are achievable by the rules (checked against
every valid group by linear programming), the seeded sampling draws exactly them (chi-square), every group keeps
000 §18(三), and v1/v2 records still verify."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date
from fractions import Fraction

import highspy
import pytest

from bench.stats import chi_square
from services.activities import joint_draw
from services.activities.draw_rules import (
    ActivityKind,
    ActivitySpec,
    Candidate,
    DrawSettings,
    Requirement,
    Role,
)
from services.activities.expert_draw import draw, draw_recorded, verify
from services.activities.fair_draw import Screened, groups_of, marginals
from services.activities.sampling import SeededStream
from services.pool.eligibility import Category, ClinicalSubcategory

SETTINGS = DrawSettings()
ACTIVITY = ActivitySpec(kind=ActivityKind.ROUTINE_INSPECTION, start=date(2025, 6, 10), end=date(2025, 6, 14))
S, C = Category.SUPERVISION, Category.CLINICAL
MED, PH = ClinicalSubcategory.MEDICINE, ClinicalSubcategory.PHARMACY


def expert(person_id: int, categories: set[Category], employer: int | None,
           subcategories: set[ClinicalSubcategory] | None = None) -> Candidate:
    return Candidate(person_id=person_id, categories=frozenset(categories), birth_date=date(1980, 1, 15),
                     employer_id=employer, clinical_subcategories=frozenset(subcategories or ()))


def mixed_pool() -> tuple[list[Candidate], list[Requirement]]:
    """Supervision-only experts (5 at employer 1), experts in supervision and clinical medicine (3 at employer 1),
    clinical experts in pharmacy or in both sub-categories (4 at employer 1): two lines of one field, shared
    experts across fields and within the field."""
    pool = [expert(i, {S}, 1 if i < 5 else 100 + i) for i in range(12)]
    pool += [expert(50 + i, {S, C}, 1 if i < 3 else 200 + i, {MED}) for i in range(6)]
    pool += [expert(80 + i, {C}, 1 if i < 4 else 300 + i, {MED, PH} if i % 2 else {PH}) for i in range(10)]
    return pool, [Requirement("sup", S, 2, backups=1), Requirement("med", C, 1, backups=1, subcategory=MED),
                  Requirement("ph", C, 2, backups=1, subcategory=PH)]


def field_of(key: str) -> str:
    return "supervision" if key == "sup" else "clinical"


def test_the_general_case_is_drawn_with_stated_chances_and_verifies() -> None:
    pool, requirements = mixed_pool()
    result, inputs = draw_recorded(pool, requirements, ACTIVITY, SETTINGS, b"seed")
    assert result.algorithm_version == "v3" and result.ok and not result.fallback
    by_key = {c.requirement_key: c for c in result.chances}
    # employer 1 has 7 experts counted in the clinical lines: one place among them, 1/7 each (000 §18(三))
    assert by_key["med"].of(1) == Fraction(1, 7) and by_key["ph"].of(1) == Fraction(1, 7)
    assert by_key["med"].listed() == [(1, 3, Fraction(1, 7))]
    assert verify(inputs, b"seed", stored=result)
    assert not verify(inputs, b"seed", stored=result.__class__(**{**result.__dict__, "chances": ()}))


def test_v2_records_that_fell_back_still_verify_as_v2() -> None:
    pool, requirements = mixed_pool()
    result, inputs = draw_recorded(pool, requirements, ACTIVITY, SETTINGS, b"seed", version="v2")
    assert result.algorithm_version == "v2" and result.fallback
    assert verify(inputs, b"seed", stored=result)


@pytest.mark.parametrize("big", [30, 60])
def test_one_line_gets_v2s_leximin_chances(big: int) -> None:
    pool = [expert(i, {S}, 1 if i < big else 10_000 + i) for i in range(100)]
    (chances,) = draw(pool, [Requirement("sup", S, 3)], ACTIVITY, SETTINGS, b"s").chances
    expected = marginals(groups_of((c.person_id, c.employer_id) for c in pool), 3)
    assert all(chances.of(c.employer_id) == expected[c.person_id] for c in pool)


def test_10000_seeded_draws_match_the_stated_chances_and_keep_the_rules() -> None:
    pool, requirements = mixed_pool()
    employer = {c.person_id: c.employer_id for c in pool}
    stated = draw(pool, requirements, ACTIVITY, SETTINGS, b"chances")
    chance = {(c.requirement_key, p.person_id): c.of(employer[p.person_id])
              for c in stated.chances for p in pool}
    draws = 10_000
    tally: Counter[tuple[str, int]] = Counter()
    for n in range(draws):
        result = draw(pool, requirements, ACTIVITY, SETTINGS, n.to_bytes(4, "big"))
        assert result.ok and not result.fallback and result.chances == stated.chances
        people = [p.person_id for p in result.picks]
        assert len(set(people)) == len(people)
        seats = [(employer[p.person_id], field_of(p.requirement_key)) for p in result.picks]
        assert len(set(seats)) == len(seats)  # one per employer and field, principals and backups (000 §18(三))
        tally.update((p.requirement_key, p.person_id) for p in result.picks if p.role == Role.PRINCIPAL)
    plan = joint_draw.partition([joint_draw.Line(r.key, r.category.value, r.count, r.backups)
                                 for r in requirements], _screened(pool, requirements))
    cells = sorted(key for key, value in (joint_draw.marginals(plan) or {}).items() if value)
    assert set(tally) <= set(cells)
    _, _, p_value = chi_square([tally[c] for c in cells], [float(chance[c]) * draws for c in cells])
    assert p_value > 0.01


def _screened(pool: list[Candidate], requirements: list[Requirement]) -> dict[str, Screened]:
    from services.activities.draw_rules import matches

    out = {}
    for r in requirements:
        found = [(c.person_id, c.employer_id) for c in pool if matches(c, r)]
        out[r.key] = Screened(tuple(groups_of(found)), len(found))
    return out


def test_dependent_rounding_keeps_each_line_whole_and_each_unit_at_most_one() -> None:
    rng = random.Random(3)
    for n in range(200):
        units, lines = rng.randint(2, 6), rng.randint(1, 3)
        weights = {(("u", u), ("l", line)): Fraction(rng.randint(1, 9), 10 * lines)
                   for u in range(units) for line in range(lines) if rng.random() < 0.7}
        totals = Counter[object]()
        for (_, line), w in weights.items():
            totals[line] += w  # type: ignore[assignment]
        for line, total in list(totals.items()):  # make each line's total whole with a one-line edge
            rest = (1 - (total - int(total))) % 1  # type: ignore[operator]
            if rest:
                weights[(("one", line), line)] = Fraction(rest)
        ones = joint_draw.round_edges(weights, SeededStream(n.to_bytes(4, "big"), "t", domain=b"test"))
        for line in {line for _, line in weights}:
            whole = sum(weights[e] for e in weights if e[1] == line)
            assert sum(1 for e in ones if e[1] == line) == whole
        assert all(sum(1 for e in ones if e[0] == unit) <= 1 for unit in {u for u, _ in weights}
                   if unit[0] == "u")


# --- brute force over small pools --------------------------------------------------------------------------


def _valid(lines: list[joint_draw.Line], eligible: dict[str, list[int]], employer: dict[int, int | None]
           ) -> list[tuple[tuple[str, int], ...]]:
    """Every valid set of principals: the counts, each expert once, one per employer and field."""
    out: list[tuple[tuple[str, int], ...]] = []

    def extend(i: int, used: frozenset[int], taken: frozenset[tuple[int, str]], acc: list[tuple[str, int]]) -> None:
        if i == len(lines):
            out.append(tuple(acc))
            return
        line = lines[i]
        for combo in itertools.combinations([p for p in eligible[line.key] if p not in used], line.count):
            seats = [(e, line.field) for p in combo if (e := employer[p]) is not None]
            if len(set(seats)) == len(seats) and not taken & set(seats):
                extend(i + 1, used | set(combo), taken | set(seats), [*acc, *((line.key, p) for p in combo)])

    extend(0, frozenset(), frozenset(), [])
    return out


def _achievable(valid: list[tuple[tuple[str, int], ...]], target: dict[tuple[str, int], Fraction]) -> bool:
    """Whether some lottery over the valid groups gives exactly ``target`` (HiGHS feasibility)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    weights = [h.addVariable(lb=0, ub=1) for _ in valid]
    h.addConstr(sum(weights) == 1)
    for cell, value in target.items():
        members = [w for w, group in zip(weights, valid, strict=True) if cell in group]
        if members:
            h.addConstr(sum(members) == float(value))
        elif value:
            return False
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _leximin_floor(people: list[int], valid: list[tuple[tuple[str, int], ...]]) -> float:
    """The highest chance every expert can have at once (LEXIMIN's first level), by LP over the valid groups."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    weights = [h.addVariable(lb=0, ub=1) for _ in valid]
    level = h.addVariable(lb=0, ub=1)
    h.addConstr(sum(weights) == 1)
    for person in people:
        members = [w for w, group in zip(weights, valid, strict=True) if any(p == person for _, p in group)]
        if not members:
            return 0.0
        h.addConstr(sum(members) >= level)
    h.maximize(level)
    return float(h.getObjectiveValue())


def _small_case(seed: int) -> tuple[list[joint_draw.Line], dict[int, int | None], dict[str, list[int]]]:
    rng = random.Random(seed)
    fields = rng.choice([["s", "c"], ["c", "c"], ["s", "c", "c"], ["s", "s"]])
    lines = [joint_draw.Line(f"r{i}", f, rng.randint(1, 2)) for i, f in enumerate(fields)]
    employer = {i: rng.choice([None, 1, 1, 2, 2, 3]) for i in range(rng.randint(4, 8))}
    eligible: dict[str, list[int]] = {line.key: [] for line in lines}
    for i in employer:
        for key in [line.key for line in lines if rng.random() < 0.55] or [rng.choice(lines).key]:
            eligible[key].append(i)
    return lines, employer, eligible


@pytest.mark.parametrize("case", range(40))
def test_the_stated_chances_are_achievable_by_valid_groups_and_near_the_leximin_floor(case: int) -> None:
    lines, employer, eligible = _small_case(case)
    valid = _valid(lines, eligible, employer)
    screened = {line.key: Screened(tuple(groups_of((i, employer[i]) for i in eligible[line.key])),
                                   len(eligible[line.key])) for line in lines}
    plan = joint_draw.partition(lines, screened)
    chances = joint_draw.marginals(plan)
    if chances is None:  # the plan's shares cannot fill a line: the draw goes as v1 and says so
        return
    assert valid and _achievable(valid, chances)
    for line in lines:
        assert sum(v for (key, _), v in chances.items() if key == line.key) == line.count
    people = sorted({i for ids in eligible.values() for i in ids})
    total = Counter[int]()
    for (_, person), value in chances.items():
        total[person] += value  # type: ignore[assignment]
    floor = _leximin_floor(people, valid)
    assert min(float(total[p]) for p in people) >= 0.75 * floor - 1e-9
    if all(len(set(line.field for line in lines)) == len(lines) for _ in [0]) and \
            all(sum(i in ids for ids in eligible.values()) == 1 for i in people):
        assert min(float(total[p]) for p in people) == pytest.approx(floor)  # v2's exact case
