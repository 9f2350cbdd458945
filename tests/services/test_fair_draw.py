"""The fair draw v2 (issue 18; ``draw_rules`` point 15): every expert who may be drawn gets the highest equal
chance 000 §18(三) allows (the LEXIMIN marginals), the seeded sampling draws exactly those chances, and every
group it draws keeps the rules."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date
from fractions import Fraction

import highspy
import pytest

from bench.stats import chi_square
from services.activities.draw_rules import (
    ActivityKind,
    ActivitySpec,
    Candidate,
    DrawSettings,
    Member,
    Requirement,
)
from services.activities.expert_draw import draw, draw_recorded, verify
from services.activities.fair_draw import Group, groups_of, marginals, select, water_level
from services.pool.eligibility import Category

SETTINGS = DrawSettings()
ACTIVITY = ActivitySpec(kind=ActivityKind.ROUTINE_INSPECTION, start=date(2025, 6, 10), end=date(2025, 6, 14))


def skewed(big: int, total: int, *, category: Category = Category.SUPERVISION, first_id: int = 0) -> list[Candidate]:
    """``total`` experts, ``big`` of them at employer 1, the others each at an employer of their own."""
    return [Candidate(person_id=first_id + i, categories=frozenset({category}), birth_date=date(1980, 1, 15),
                      employer_id=1 if i < big else 10_000 + first_id + i) for i in range(total)]


def groups(candidates: list[Candidate]) -> list[Group]:
    return groups_of((c.person_id, c.employer_id) for c in candidates)


def test_30_of_100_at_one_employer_every_expert_gets_3_percent() -> None:
    chances = marginals(groups(skewed(30, 100)), 3)
    assert set(chances.values()) == {Fraction(3, 100)} and len(chances) == 100


def test_60_of_100_at_one_employer_gets_one_sixtieth_each_and_the_others_the_maximin_5_percent() -> None:
    chances = marginals(groups(skewed(60, 100)), 3)
    assert {chances[i] for i in range(60)} == {Fraction(1, 60)}
    assert {chances[i] for i in range(60, 100)} == {Fraction(1, 20)}  # (3 - 1) / 40


def test_the_chances_sum_to_the_places_and_none_exceeds_one_per_employer() -> None:
    rng = random.Random(7)
    for _ in range(200):
        pairs = [(i, rng.choice([None, 1, 2, 3, 4, 5])) for i in range(rng.randint(1, 30))]
        found = groups_of(pairs)
        places = rng.randint(0, len(found))
        chances = marginals(found, places)
        assert sum(chances.values(), Fraction(0)) == places
        assert all(sum((chances[i] for i in g.ids), Fraction(0)) <= 1 for g in found)


def test_too_few_employers_for_the_places_is_a_shortfall() -> None:
    assert water_level([5, 5], 3) is None
    assert select("r", groups(skewed(5, 6)), 2, 1, b"s") is None


def _leximin_by_lp(found: list[Group], places: int) -> dict[int, float]:
    """The LEXIMIN marginals by brute force: a distribution over every valid group (000 §18(三)) found by
    successive linear programmes (HiGHS), raising the lowest chance, then the next, as far as possible."""
    people = [i for g in found for i in g.ids]
    employer = {i: n for n, g in enumerate(found) for i in g.ids}
    valid = [s for s in itertools.combinations(people, places) if len({employer[i] for i in s}) == places]
    fixed: dict[int, float] = {}

    def solve(objective: int | None, floor: float) -> float:
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        weights = [h.addVariable(lb=0, ub=1) for _ in valid]
        level = h.addVariable(lb=0, ub=1)
        h.addConstr(sum(weights) == 1)
        share = {i: sum(w for w, s in zip(weights, valid, strict=True) if i in s) for i in people}
        for i in people:
            h.addConstr(share[i] >= (fixed[i] - 1e-9 if i in fixed else (level if objective is None else floor)))
        h.maximize(level if objective is None else share[objective])
        return float(h.getObjectiveValue())

    while len(fixed) < len(people):
        floor = solve(None, 0.0)
        for i in [p for p in people if p not in fixed]:
            if solve(i, floor - 1e-9) <= floor + 1e-7:
                fixed[i] = floor
    return fixed


@pytest.mark.parametrize("case", range(12))
def test_the_chances_match_a_brute_force_leximin_over_every_valid_group_on_small_pools(case: int) -> None:
    rng = random.Random(case)
    pairs = [(i, rng.choice([None, 1, 1, 2, 2, 3])) for i in range(rng.randint(4, 8))]
    found = groups_of(pairs)
    places = rng.randint(1, min(3, len(found)))
    expected = _leximin_by_lp(found, places)
    computed = marginals(found, places)
    assert all(abs(float(computed[i]) - expected[i]) < 1e-6 for i in expected), (pairs, places)


@pytest.mark.parametrize(("big", "seed"), [(30, b"thirty"), (60, b"sixty")])
def test_10000_seeded_draws_match_the_chances_chi_square(big: int, seed: bytes) -> None:
    found = groups(skewed(big, 100))
    chances = marginals(found, 3)
    draws = 10_000
    tally: Counter[int] = Counter()
    for n in range(draws):
        selection = select("sup", found, 3, 0, seed + n.to_bytes(4, "big"))
        assert selection is not None
        assert sum(1 for i in selection.principals if i < big) <= 1  # 000 §18(三), every time
        tally.update(selection.principals)
    people = sorted(chances)
    _, _, p_value = chi_square([tally[i] for i in people], [float(chances[i]) * draws for i in people])
    assert p_value > 0.01


def test_backups_come_from_other_employers_in_random_order_and_everyone_is_reached() -> None:
    found = groups(skewed(30, 40))
    firsts: Counter[int] = Counter()
    for n in range(400):
        selection = select("sup", found, 3, 2, n.to_bytes(4, "big"))
        assert selection is not None
        everyone = [*selection.principals, *selection.backups]
        assert len(set(everyone)) == 5 and sum(1 for i in everyone if i < 30) <= 1
        firsts[selection.backups[0]] += 1
    # the big employer is always among the principals' employers (capped at 1), so the backups are the others,
    # and every one of them comes first sometimes
    assert set(firsts) == set(range(30, 40))


def test_the_draw_states_the_chances_and_verify_recomputes_them() -> None:
    candidates = skewed(60, 100)
    result, inputs = draw_recorded(candidates, [Requirement("sup", Category.SUPERVISION, 3)], ACTIVITY, SETTINGS,
                                   b"seed", version="v2")
    assert result.algorithm_version == "v2" and not result.fallback
    (chances,) = result.chances
    assert chances.eligible == 100 and chances.level == Fraction(1, 20) and chances.capped == ((1, 60),)
    assert chances.of(1) == Fraction(1, 60) and chances.of(10_099) == Fraction(1, 20)
    assert verify(inputs, b"seed", stored=result)
    assert not verify(inputs, b"seed", stored=result.__class__(**{**result.__dict__, "chances": ()}))


def test_requirements_of_different_fields_and_different_experts_are_drawn_fairly_each() -> None:
    candidates = [*skewed(30, 100), *skewed(10, 20, category=Category.CLINICAL, first_id=1000)]
    result = draw(candidates, [Requirement("sup", Category.SUPERVISION, 2), Requirement("ph", Category.CLINICAL, 1)],
                  ACTIVITY, SETTINGS, b"seed")
    assert not result.fallback and [c.level for c in result.chances] == [Fraction(2, 100), Fraction(1, 20)]


def test_an_expert_eligible_for_two_requirements_falls_back_to_v1_and_the_record_says_so() -> None:
    both = Candidate(person_id=5000, categories=frozenset({Category.SUPERVISION, Category.CLINICAL}),
                     birth_date=date(1980, 1, 15), employer_id=5000)
    candidates = [*skewed(0, 10), *skewed(0, 10, category=Category.CLINICAL, first_id=1000), both]
    requirements = [Requirement("sup", Category.SUPERVISION, 2), Requirement("ph", Category.CLINICAL, 1)]
    result, inputs = draw_recorded(candidates, requirements, ACTIVITY, SETTINGS, b"seed", version="v2")
    assert result.ok and result.fallback and result.algorithm_version == "v2" and not result.chances
    assert verify(inputs, b"seed", stored=result)
    # the record proves the fallback with the shared expert's facts, without screening the whole pool
    assert not inputs.screened and 5000 in {c.person_id for c in inputs.candidates}


def test_an_expert_matching_two_requirements_but_excluded_keeps_the_draw_exact() -> None:
    both = Candidate(person_id=5000, categories=frozenset({Category.SUPERVISION, Category.CLINICAL}),
                     birth_date=date(1980, 1, 15), employer_id=5000, barred=True)
    candidates = [*skewed(3, 10), *skewed(0, 10, category=Category.CLINICAL, first_id=1000), both]
    requirements = [Requirement("sup", Category.SUPERVISION, 2), Requirement("ph", Category.CLINICAL, 1)]
    result, inputs = draw_recorded(candidates, requirements, ACTIVITY, SETTINGS, b"seed")
    assert not result.fallback and [c.eligible for c in result.chances] == [10, 10]
    assert verify(inputs, b"seed", stored=result)


def test_a_top_up_leaves_out_the_roster_and_its_employers() -> None:
    existing = [Member(0, 1, Category.SUPERVISION)]  # someone of the big employer is on the roster already
    result = draw(skewed(30, 100), [Requirement("sup", Category.SUPERVISION, 1)], ACTIVITY, SETTINGS, b"s",
                  existing=existing)
    (chances,) = result.chances
    assert chances.eligible == 70 and chances.level == Fraction(1, 70)
    assert result.principals[0] >= 30


def test_a_shortfall_explains_the_same_way_as_before() -> None:
    result = draw(skewed(8, 10), [Requirement("sup", Category.SUPERVISION, 3, backups=1)], ACTIVITY, SETTINGS, b"s")
    (short,) = result.shortfalls
    assert (short.needed, short.short, short.matched) == (4, 1, 10)
    assert short.removed == Counter({"same_employer_field": 7})
