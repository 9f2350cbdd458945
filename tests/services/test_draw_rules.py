"""Drawing experts (000 §15–§18, §25; 001 §11, §14–§17): exclusions, matching, group rules, the draw, verification."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.activities.draw_rules import (
    ARTICLES,
    ActivityKind,
    ActivitySpec,
    Candidate,
    DrawRequestError,
    DrawSettings,
    ExclusionCode,
    Member,
    Requirement,
    Role,
    exclusions,
    matches,
)
from services.activities.draw_snapshot import canonical_snapshot, parse_snapshot, snapshot_hash
from services.activities.expert_draw import (
    ALGORITHM_VERSION,
    DrawResult,
    ListPool,
    MissingCandidate,
    draw,
    draw_recorded,
    verify,
)
from services.activities.sampling import visit_order
from services.pool.eligibility import Category, ClinicalSubcategory

START = date(2025, 6, 10)
END = date(2025, 6, 14)
SETTINGS = DrawSettings()
SEED = b"seed-1"
INSPECTED = 900


def candidate(person_id: int = 1, *, category: Category = Category.SUPERVISION, **overrides: Any) -> Candidate:
    """An active 45-year-old expert with no conflict, employed at a distinct institution (1000 + id)."""
    base = Candidate(
        person_id=person_id,
        categories=frozenset({category}),
        birth_date=date(1980, 1, 15),
        employer_id=1000 + person_id,
    )
    return replace(base, **overrides)


def activity(kind: ActivityKind = ActivityKind.ROUTINE_INSPECTION, **overrides: Any) -> ActivitySpec:
    base = ActivitySpec(kind=kind, start=START, end=END, inspected=frozenset({INSPECTED}))
    return replace(base, **overrides)


def requirement(key: str = "sup", category: Category = Category.SUPERVISION, count: int = 3, backups: int = 0,
                **overrides: Any) -> Requirement:
    return Requirement(key=key, category=category, count=count, backups=backups, **overrides)


def codes(c: Candidate, act: ActivitySpec | None = None, s: DrawSettings = SETTINGS) -> list[ExclusionCode]:
    return [e.code for e in exclusions(c, act or activity(), s)]


def pool(n: int, **overrides: Any) -> list[Candidate]:
    return [candidate(i, **overrides) for i in range(1, n + 1)]


# --- exclusions -----------------------------------------------------------------------------------


def test_a_candidate_without_conflicts_has_no_exclusion() -> None:
    assert exclusions(candidate(), activity(), SETTINGS) == []


def test_a_candidate_not_active_is_excluded_citing_000_article_11() -> None:
    (found,) = exclusions(candidate(state="suspended"), activity(), SETTINGS)
    assert (found.code, found.article, found.params) == (ExclusionCode.NOT_ACTIVE, "000 §11", {"state": "suspended"})


@pytest.mark.parametrize(
    ("period", "excluded"),
    [
        ((date(2025, 6, 1), date(2025, 6, 9)), False),
        ((date(2025, 6, 1), START), True),
        ((END, date(2025, 7, 1)), True),
        ((date(2025, 6, 11), date(2025, 6, 12)), True),
        ((date(2025, 6, 15), date(2025, 6, 20)), False),
    ],
)
def test_leave_overlapping_the_activity_by_one_day_or_more_excludes(period: tuple[date, date],
                                                                     excluded: bool) -> None:
    assert (ExclusionCode.UNAVAILABLE in codes(candidate(unavailable=(period,)))) is excluded
    assert (ExclusionCode.BUSY in codes(candidate(busy=(period,)))) is excluded


def test_unavailable_and_busy_cite_their_rules() -> None:
    period = (START, END)
    found = exclusions(candidate(unavailable=(period,), busy=(period,)), activity(), SETTINGS)
    assert [(e.code, e.article) for e in found] == [
        (ExclusionCode.UNAVAILABLE, "RULES.md Expert pool 6"),
        (ExclusionCode.BUSY, "RULES.md Draws 5"),
    ]


def test_an_expert_is_excluded_from_the_65th_birthday_at_the_activity_start_citing_000_article_8() -> None:
    assert codes(candidate(birth_date=date(1960, 6, 11))) == []  # 64 on the start day
    (found,) = exclusions(candidate(birth_date=date(1960, 6, 10)), activity(), SETTINGS)
    assert (found.code, found.article, found.params["age"]) == (ExclusionCode.AGE_LIMIT, "000 §8(四)", 65)


def test_a_blacklisted_expert_is_excluded_citing_000_article_25() -> None:
    (found,) = exclusions(candidate(barred=True), activity(), SETTINGS)
    assert (found.code, found.article) == (ExclusionCode.BARRED, "000 §25")


def test_an_expert_employed_by_the_inspected_institution_recuses_under_000_article_15() -> None:
    (found,) = exclusions(candidate(employer_id=INSPECTED), activity(), SETTINGS)
    assert (found.code, found.article) == (ExclusionCode.RECUSAL_EMPLOYER, "000 §15(一)")


def test_an_expert_who_left_the_inspected_institution_within_two_years_recuses() -> None:
    two_years_before = date(2023, 6, 10)
    (found,) = exclusions(candidate(past_employers=((INSPECTED, two_years_before),)), activity(), SETTINGS)
    assert (found.code, found.article) == (ExclusionCode.RECUSAL_PAST_EMPLOYER, "000 §15(一)")
    assert codes(candidate(past_employers=((INSPECTED, two_years_before - timedelta(days=1)),))) == []
    assert codes(candidate(past_employers=((777, START),))) == []


def test_a_declared_interest_in_the_inspected_institution_recuses_under_000_15_and_001_17() -> None:
    (found,) = exclusions(candidate(declared_interests=frozenset({INSPECTED, 5})), activity(), SETTINGS)
    assert (found.code, found.article, found.params) == (
        ExclusionCode.RECUSAL_INTEREST, "000 §15(二), 001 §17(二)", {"institution_ids": [INSPECTED]})


def test_a_recusal_required_by_staff_excludes_citing_000_15_and_001_17() -> None:
    (found,) = exclusions(candidate(7), activity(required_recusals=frozenset({7})), SETTINGS)
    assert (found.code, found.article) == (ExclusionCode.RECUSAL_REQUIRED, "000 §15, 001 §17")


def test_every_exclusion_code_names_an_article() -> None:
    assert set(ARTICLES) == set(ExclusionCode)
    assert all(ARTICLES.values())


# --- rotation -------------------------------------------------------------------------------------


def test_a_review_drawn_recently_excludes_for_a_non_double_blind_review_citing_001_article_14() -> None:
    recent = candidate(review_draws=(START - timedelta(days=10),))
    (found,) = exclusions(recent, activity(ActivityKind.PROJECT_REVIEW), SETTINGS)
    assert (found.code, found.article) == (ExclusionCode.ROTATION_CONSECUTIVE, "001 §14")


def test_rotation_max_draws_in_the_window_excludes_from_a_non_double_blind_review() -> None:
    frequent = candidate(review_draws=(START - timedelta(days=100), START - timedelta(days=60)))
    assert codes(frequent, activity(ActivityKind.PROJECT_REVIEW)) == [ExclusionCode.ROTATION_FREQUENT]
    once = candidate(review_draws=(START - timedelta(days=100),))
    assert codes(once, activity(ActivityKind.PROJECT_REVIEW)) == []
    outside = candidate(review_draws=(START - timedelta(days=400), START - timedelta(days=300)))
    assert codes(outside, activity(ActivityKind.PROJECT_REVIEW)) == []


@pytest.mark.parametrize("kind", [k for k in ActivityKind if k != ActivityKind.PROJECT_REVIEW])
def test_rotation_does_not_apply_to_inspections_and_consultations_under_001_article_15(kind: ActivityKind) -> None:
    busy_reviewer = candidate(review_draws=(START - timedelta(days=1), START - timedelta(days=2)))
    assert codes(busy_reviewer, activity(kind)) == []


def test_rotation_does_not_apply_to_double_blind_reviews() -> None:
    busy_reviewer = candidate(review_draws=(START - timedelta(days=1), START - timedelta(days=2)))
    assert codes(busy_reviewer, activity(ActivityKind.PROJECT_REVIEW, double_blind=True)) == []


# --- matching -------------------------------------------------------------------------------------


def test_a_candidate_matches_on_category_subcategory_and_all_tags() -> None:
    c = candidate(category=Category.CLINICAL, clinical_subcategories=frozenset({ClinicalSubcategory.PHARMACY}),
                  specialty_tags=frozenset({"oncology", "drg"}))
    assert matches(c, requirement(category=Category.CLINICAL))
    assert matches(c, requirement(category=Category.CLINICAL, subcategory=ClinicalSubcategory.PHARMACY,
                                  tags=frozenset({"drg"})))
    assert not matches(c, requirement(category=Category.SUPERVISION))
    assert not matches(c, requirement(category=Category.CLINICAL, subcategory=ClinicalSubcategory.MEDICINE))
    assert not matches(c, requirement(category=Category.CLINICAL, tags=frozenset({"drg", "icu"})))


# --- group rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 4])
def test_a_group_must_have_an_odd_number_of_at_least_three_principals_under_000_18(count: int) -> None:
    with pytest.raises(DrawRequestError) as error:
        draw(pool(10), [requirement(count=count)], activity(), SETTINGS, SEED)
    assert (error.value.code, error.value.article) == ("group_size", "000 §18(一)")


def test_an_even_group_is_drawn_when_the_organizer_allows_it() -> None:
    result = draw(pool(10), [requirement(count=2)], activity(allow_even_group=True), SETTINGS, SEED)
    assert result.ok and len(result.principals) == 2


def test_at_most_one_expert_of_the_same_category_from_the_same_employer_under_000_18() -> None:
    same_employer = [candidate(i, employer_id=1) for i in range(1, 6)]
    others = [candidate(i) for i in range(6, 8)]
    result = draw([*same_employer, *others], [requirement(count=3)], activity(), SETTINGS, SEED)
    assert result.ok
    assert sorted(result.principals)[1:] == [6, 7]
    assert len({p for p in result.principals if p <= 5}) == 1


def test_backups_also_respect_the_employer_rule_so_any_substitution_keeps_the_group_valid() -> None:
    same_employer = [candidate(i, employer_id=1) for i in range(1, 6)]
    candidates = [*same_employer, candidate(6), candidate(7)]
    result = draw(candidates, [requirement(count=3, backups=1)], activity(), SETTINGS, SEED)
    assert not result.ok  # only 3 employers: 3 principals but no backup from a fourth employer
    assert result.shortfalls[0].short == 1
    assert result.shortfalls[0].removed["same_employer_field"] == 4


def test_experts_of_different_categories_from_the_same_employer_may_sit_together() -> None:
    sup = [candidate(i, employer_id=1) for i in (1, 2)]
    cli = [candidate(i, category=Category.CLINICAL, employer_id=1) for i in (3, 4)]
    reqs = [requirement("sup", count=1), requirement("cli", Category.CLINICAL, count=1),
            requirement("inf", Category.INFORMATICS, count=1)]
    inf = [candidate(5, category=Category.INFORMATICS, employer_id=1)]
    result = draw([*sup, *cli, *inf], reqs, activity(), SETTINGS, SEED)
    assert result.ok and len(result.principals) == 3


def test_the_only_chief_expert_among_principals_leads_the_group() -> None:
    candidates = [candidate(1, is_chief=True), *pool(3)[1:]]
    result = draw(candidates, [requirement(count=3)], activity(), SETTINGS, SEED)
    assert (result.leader, result.needs_leader_choice) == (1, False)


def test_with_several_chief_experts_the_organizer_names_the_leader() -> None:
    candidates = [candidate(1, is_chief=True), candidate(2, is_chief=True), candidate(3)]
    result = draw(candidates, [requirement(count=3)], activity(), SETTINGS, SEED)
    assert (result.leader, result.needs_leader_choice) == (None, True)


def test_without_a_chief_expert_no_leader_is_implied() -> None:
    result = draw(pool(3), [requirement(count=3)], activity(), SETTINGS, SEED)
    assert (result.leader, result.needs_leader_choice) == (None, False)


def test_a_person_is_drawn_for_at_most_one_requirement() -> None:
    both = [candidate(i, categories=frozenset({Category.SUPERVISION, Category.CLINICAL})) for i in range(1, 4)]
    reqs = [requirement("sup", count=2), requirement("cli", Category.CLINICAL, count=1)]
    result = draw(both, reqs, activity(), SETTINGS, SEED)
    assert result.ok and sorted(result.principals) == [1, 2, 3]


# --- shortfall ------------------------------------------------------------------------------------


def test_a_shortfall_explains_per_rule_how_many_matching_candidates_were_removed_and_draws_nothing() -> None:
    candidates = [
        *pool(2),
        candidate(3, barred=True),
        candidate(4, employer_id=INSPECTED, barred=True),
        candidate(5, state="left"),
        candidate(6, employer_id=1001),  # same employer as 1
        candidate(7, category=Category.CLINICAL),  # does not match
    ]
    result = draw(candidates, [requirement(count=3, backups=1)], activity(), SETTINGS, SEED)
    assert not result.ok
    assert result.picks == () and result.principals == () and result.leader is None
    (short,) = result.shortfalls
    assert (short.requirement_key, short.needed, short.short, short.matched) == ("sup", 4, 2, 6)
    assert short.removed == Counter({"barred": 2, "recusal_employer": 1, "not_active": 1, "same_employer_field": 1})


def test_every_short_requirement_is_reported() -> None:
    reqs = [requirement("sup", count=1), requirement("cli", Category.CLINICAL, count=1),
            requirement("inf", Category.INFORMATICS, count=1)]
    result = draw(pool(3), reqs, activity(), SETTINGS, SEED)
    assert [s.requirement_key for s in result.shortfalls] == ["cli", "inf"]


# --- determinism, verification, snapshot ----------------------------------------------------------


def test_the_same_seed_gives_the_same_ordered_result_whatever_the_input_order() -> None:
    candidates = pool(20)
    reqs = [requirement(count=3, backups=2)]
    first = draw(candidates, reqs, activity(), SETTINGS, SEED)
    again = draw(list(reversed(candidates)), reqs, activity(), SETTINGS, SEED)
    assert first == again
    assert first.algorithm_version == ALGORITHM_VERSION == "v3"
    assert [(p.role, p.order) for p in first.picks] == [
        (Role.PRINCIPAL, 1), (Role.PRINCIPAL, 2), (Role.PRINCIPAL, 3), (Role.BACKUP, 1), (Role.BACKUP, 2)]


def test_different_seeds_usually_give_different_results() -> None:
    candidates = pool(20)
    reqs = [requirement(count=3, backups=2)]
    results = {draw(candidates, reqs, activity(), SETTINGS, f"s{i}".encode()).picks for i in range(20)}
    assert len(results) >= 18


def test_verify_accepts_the_stored_result_and_rejects_tampering() -> None:
    candidates = pool(10)
    reqs = [requirement(count=3, backups=1)]
    stored, inputs = draw_recorded(candidates, reqs, activity(), SETTINGS, SEED)
    assert verify(inputs, SEED, stored=stored)
    swapped = replace(stored, picks=(stored.picks[1], stored.picks[0], *stored.picks[2:]))
    assert not verify(inputs, SEED, stored=swapped)
    assert not verify(inputs, b"other", stored=stored)
    first = stored.picks[0].person_id
    without_first = replace(inputs, candidates=tuple(c for c in inputs.candidates if c.person_id != first))
    assert not verify(without_first, SEED, stored=stored)
    barred_first = replace(inputs, candidates=tuple(replace(c, barred=True) if c.person_id == first else c
                                                    for c in inputs.candidates))
    assert not verify(barred_first, SEED, stored=stored)
    assert not verify(inputs, SEED, stored=replace(stored, leader=stored.principals[0]))
    with pytest.raises(ValueError, match="unknown draw algorithm"):
        verify(inputs, SEED, stored=replace(stored, algorithm_version="v0"))


def test_the_inputs_survive_the_canonical_snapshot_and_the_draw_recomputes_from_it() -> None:
    candidates = [*pool(12), candidate(13, employer_id=INSPECTED, is_chief=True,
                                       past_employers=((7, date(2024, 1, 1)),), unavailable=((START, END),))]
    reqs = [requirement(count=3, backups=2, tags=frozenset({"审计"}))]
    candidates = [replace(c, specialty_tags=frozenset({"审计"})) for c in candidates]
    existing = (Member(99, 1001, Category.SUPERVISION),)
    stored, inputs = draw_recorded(candidates, reqs, activity(), SETTINGS, SEED, existing=existing)
    text = canonical_snapshot(inputs)
    again = parse_snapshot(text)
    assert canonical_snapshot(again) == text
    assert verify(again, SEED, stored=stored)
    assert 1 not in {p.person_id for p in stored.picks}  # employer 1001 is taken by the existing member
    with pytest.raises(ValueError, match="unknown snapshot format"):
        parse_snapshot(text.replace("snapshot/1", "snapshot/0"))


def test_only_the_candidates_visited_by_v1_are_recorded_and_needed() -> None:
    candidates = pool(1000)
    stored, inputs = draw_recorded(candidates, [requirement(count=3)], activity(), SETTINGS, SEED, version="v1")
    assert inputs.matching["sup"] == tuple(range(1, 1001))
    assert len(inputs.candidates) == 3
    assert [c.person_id for c in inputs.candidates] == sorted(stored.principals)
    first_three = visit_order(inputs.matching["sup"], SEED, "sup", 3)
    assert first_three == list(stored.principals)


def test_a_pool_that_has_not_loaded_a_visited_candidate_says_which() -> None:
    class Partial(ListPool):
        def matching(self, requirement: Requirement) -> list[int]:
            return list(range(1, 11))

    with pytest.raises(MissingCandidate) as caught:
        draw(Partial(pool(1)), [requirement(count=3)], activity(), SETTINGS, SEED)
    assert caught.value.person_id in set(range(2, 11))  # 1 is loaded; the first one missing is named


def test_a_top_up_does_not_redraw_the_roster_nor_check_the_group_size() -> None:
    existing = tuple(Member(i, 1000 + i, Category.SUPERVISION) for i in range(1, 4))
    result = draw(pool(6), [requirement(count=1, backups=0)], activity(), SETTINGS, SEED, existing=existing)
    assert result.ok and result.principals[0] in {4, 5, 6}


def test_snapshot_hash_is_stable_and_sensitive_to_the_inputs() -> None:
    candidates = pool(5)
    reqs = [requirement()]

    def h(cands: list[Candidate], rs: list[Requirement], act: ActivitySpec, st_: DrawSettings = SETTINGS) -> str:
        return snapshot_hash(draw_recorded(cands, rs, act, st_, SEED)[1])

    base = h(candidates, reqs, activity())
    assert len(base) == 64
    assert base == h(list(reversed(candidates)), reqs, activity())
    assert base != h(candidates, [requirement(count=5)], activity())
    assert base != h([*candidates[:-1], replace(candidates[-1], barred=True)], reqs, activity())
    assert base != h(candidates, reqs, activity(double_blind=True))
    assert base != h(candidates, reqs, activity(), DrawSettings(rotation_max=3))


def test_snapshot_hash_is_pinned_so_old_records_stay_provable() -> None:
    inputs = draw_recorded([candidate(1)], [requirement(count=1)], activity(allow_even_group=True), SETTINGS,
                           SEED, version="v1")[1]
    assert snapshot_hash(inputs) == PINNED_SNAPSHOT
    v2 = draw_recorded([candidate(1)], [requirement(count=1)], activity(allow_even_group=True), SETTINGS, SEED)[1]
    assert snapshot_hash(v2) == PINNED_SNAPSHOT_V2  # the same plus the screening


def test_a_v2_record_keeps_verifying_only_while_its_recorded_facts_fit_its_screening() -> None:
    stored, inputs = draw_recorded(pool(10), [requirement(count=3)], activity(), SETTINGS, SEED)
    again = parse_snapshot(canonical_snapshot(inputs))
    assert again.screened == inputs.screened and verify(again, SEED, stored=stored)
    first = stored.principals[0]
    moved = replace(again, candidates=tuple(replace(c, employer_id=INSPECTED) if c.person_id == first else c
                                            for c in again.candidates))
    assert not verify(moved, SEED, stored=stored)  # an inspected employer's expert cannot be in a group


def test_the_draw_v1_is_pinned_so_old_records_stay_verifiable() -> None:
    result = draw(pool(10), [requirement(count=3, backups=2)], activity(), SETTINGS, b"pinned", version="v1")
    assert [p.person_id for p in result.picks] == PINNED_DRAW
    assert result.algorithm_version == "v1" and not result.chances


def test_the_draw_v2_is_pinned_so_its_records_stay_verifiable() -> None:
    result = draw(pool(10), [requirement(count=3, backups=2)], activity(), SETTINGS, b"pinned", version="v2")
    assert [p.person_id for p in result.picks] == PINNED_DRAW_V2
    assert result.algorithm_version == "v2" and not result.fallback


def test_the_draw_v3_is_pinned_so_its_records_stay_verifiable() -> None:
    result = draw(pool(10), [requirement(count=3, backups=2)], activity(), SETTINGS, b"pinned")
    assert [p.person_id for p in result.picks] == PINNED_DRAW_V3
    assert result.algorithm_version == "v3" and not result.fallback


def test_the_draw_v2_reads_and_records_every_matching_candidate() -> None:
    candidates = pool(50)
    stored, inputs = draw_recorded(candidates, [requirement(count=3)], activity(), SETTINGS, SEED)
    assert len(inputs.candidates) == 50
    assert verify(inputs, SEED, stored=stored)


PINNED_SNAPSHOT = "869f4c39d101726b718798981bd01bc42952554d873750a7d17841f9fc8c9f54"
PINNED_SNAPSHOT_V2 = "75c11b6e33bf358984f0a74ebe8e393908b672b3a10aab6461c856b2238f50f3"
PINNED_DRAW = [9, 3, 4, 10, 1]
PINNED_DRAW_V2 = [9, 5, 8, 2, 6]
PINNED_DRAW_V3 = [1, 7, 6, 2, 9]


# --- statistics -----------------------------------------------------------------------------------


def test_each_candidate_is_selected_about_equally_often_over_fixed_seeds() -> None:
    candidates = pool(10)
    reqs = [requirement(count=2)]
    act = activity(allow_even_group=True)
    tally: Counter[int] = Counter()
    draws = 2000
    for i in range(draws):
        tally.update(draw(candidates, reqs, act, SETTINGS, i.to_bytes(4, "big")).principals)
    # expected share 2/10 = 20%; sd ≈ 0.9 percentage points, so 10%–30% is > 10 sd away
    assert all(0.10 * draws <= tally[c.person_id] <= 0.30 * draws for c in candidates)


# --- properties -----------------------------------------------------------------------------------

_DAY = st.integers(min_value=-40, max_value=40).map(lambda d: START + timedelta(days=d))


def _rarely(strategy: st.SearchStrategy[Any], default: Any) -> st.SearchStrategy[Any]:
    """``default`` four times in five, otherwise a value from ``strategy``, so that many draws succeed."""
    return st.sampled_from([True, True, True, True, False]).flatmap(lambda clean: st.just(default) if clean
                                                                    else strategy)


_PERIOD = st.tuples(_DAY, _DAY).map(lambda p: (min(p), max(p)))


@st.composite
def random_candidate(draw_: st.DrawFn, person_id: int) -> Candidate:
    cats = draw_(st.sets(st.sampled_from(list(Category)), min_size=1, max_size=2))
    return Candidate(
        person_id=person_id,
        categories=frozenset(cats),
        clinical_subcategories=frozenset(draw_(st.sets(st.sampled_from(list(ClinicalSubcategory)), max_size=2))),
        specialty_tags=frozenset(draw_(st.sets(st.sampled_from(["a", "b"]), max_size=2))),
        employer_id=draw_(st.one_of(st.none(), st.integers(min_value=1, max_value=15), st.just(INSPECTED))),
        past_employers=draw_(_rarely(st.tuples(st.tuples(st.sampled_from([INSPECTED, 2]), _DAY)), ())),
        declared_interests=draw_(_rarely(st.just(frozenset({INSPECTED})), frozenset())),
        is_chief=draw_(st.booleans()),
        birth_date=draw_(st.sampled_from([date(1960, 6, 10), date(1960, 6, 11), date(1985, 1, 1), date(1975, 3, 1)])),
        state=draw_(_rarely(st.sampled_from(["suspended", "left"]), "active")),
        unavailable=draw_(_rarely(st.tuples(_PERIOD), ())),
        busy=draw_(_rarely(st.tuples(_PERIOD), ())),
        barred=draw_(_rarely(st.just(True), False)),
        review_draws=draw_(_rarely(st.lists(st.integers(min_value=1, max_value=200)
                                            .map(lambda d: START - timedelta(days=d)), max_size=2).map(tuple), ())),
    )


@st.composite
def scenario(draw_: st.DrawFn) -> tuple[list[Candidate], list[Requirement], ActivitySpec, bytes]:
    n = draw_(st.integers(min_value=0, max_value=40))
    candidates = [draw_(random_candidate(i)) for i in range(1, n + 1)]
    reqs = []
    for i in range(draw_(st.integers(min_value=1, max_value=2))):
        category = draw_(st.sampled_from(list(Category)))
        sub = draw_(st.sampled_from([None, *ClinicalSubcategory])) if category == Category.CLINICAL else None
        reqs.append(Requirement(key=f"r{i}", category=category, subcategory=sub,
                                tags=draw_(_rarely(st.just(frozenset({"a"})), frozenset())),
                                count=draw_(st.integers(min_value=1, max_value=2)),
                                backups=draw_(st.integers(min_value=0, max_value=1))))
    total = sum(r.count for r in reqs)
    if total < 3 or total % 2 == 0:
        reqs[0] = replace(reqs[0], count=reqs[0].count + (1 if total % 2 == 0 else 3 - total))
    act = ActivitySpec(kind=draw_(st.sampled_from(list(ActivityKind))), start=START, end=END,
                       inspected=frozenset({INSPECTED}), double_blind=draw_(st.booleans()),
                       required_recusals=frozenset(draw_(st.sets(st.integers(min_value=1, max_value=25), max_size=3))))
    return candidates, reqs, act, draw_(st.binary(max_size=8))


@settings(max_examples=150, deadline=None)
@given(scenario())
def test_a_draw_never_breaks_a_rule(case: tuple[list[Candidate], list[Requirement], ActivitySpec, bytes]) -> None:
    candidates, reqs, act, seed = case
    result = draw(candidates, reqs, act, SETTINGS, seed)
    by_id = {c.person_id: c for c in candidates}
    by_key = {r.key: r for r in reqs}
    people = [p.person_id for p in result.picks]
    assert len(people) == len(set(people))
    slots = [(by_id[p.person_id].employer_id, by_key[p.requirement_key].category) for p in result.picks
             if by_id[p.person_id].employer_id is not None]
    assert len(slots) == len(set(slots))
    for pick in result.picks:
        c = by_id[pick.person_id]
        assert exclusions(c, act, SETTINGS) == []
        assert matches(c, by_key[pick.requirement_key])
    if result.ok:
        assert len(result.principals) >= 3 and len(result.principals) % 2 == 1
        for r in reqs:
            mine = [p for p in result.picks if p.requirement_key == r.key]
            assert sum(p.role == Role.PRINCIPAL for p in mine) == r.count
            assert sum(p.role == Role.BACKUP for p in mine) == r.backups
    else:
        assert result.picks == ()
        assert all(s.short > 0 for s in result.shortfalls)
    stored, inputs = draw_recorded(candidates, reqs, act, SETTINGS, seed)
    assert stored == result
    assert verify(parse_snapshot(canonical_snapshot(inputs)), seed, stored=result)


def test_a_result_is_a_plain_value() -> None:
    assert DrawResult(ALGORITHM_VERSION).ok


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=3), st.binary(max_size=8))
def test_a_pool_of_enough_clean_candidates_from_distinct_employers_is_always_drawn(extra: int, backups: int,
                                                                                    seed: bytes) -> None:
    candidates = pool(3 + backups + extra)
    result = draw(candidates, [requirement(count=3, backups=backups)], activity(), SETTINGS, seed)
    assert result.ok
    assert len(result.principals) == 3 and len(result.backups) == backups
    assert len(set(result.principals + result.backups)) == 3 + backups


def test_an_expert_whose_record_carries_a_000_9_ground_is_excluded_citing_000_article_9() -> None:
    (found,) = exclusions(candidate(disqualified=True), activity(), SETTINGS)
    assert (found.code, found.article) == (ExclusionCode.DISQUALIFIED, "000 §9")
