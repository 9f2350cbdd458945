"""The random draw of inspection targets (双随机, 003 三(一)): filters, exclusions, the seeded draw without
replacement, shortfall, the canonical snapshot and verification (services/draws/target_rules.py)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.draws import target_rules
from services.draws.target_rules import (
    FILTER_ORDER,
    Target,
    TargetFilters,
    TargetInputs,
    TargetRequestError,
    canonical_snapshot,
    draw,
    eligible_ids,
    parse_snapshot,
    result_from_json,
    result_json,
    snapshot_hash,
    verify,
)

KINDS = ("hospital", "pharmacy", "clinic", "other")
LEVELS = (None, "三级甲等", "二级甲等", "一级")
SEED = bytes(range(32))


def directory(n: int = 10) -> tuple[Target, ...]:
    return tuple(Target(i, "hospital", "三级甲等", 2, True) for i in range(1, n + 1))


@st.composite
def scenario(draw_: st.DrawFn) -> tuple[TargetInputs, bytes]:
    ids = draw_(st.lists(st.integers(min_value=1, max_value=500), min_size=0, max_size=40, unique=True))
    targets = tuple(Target(i, draw_(st.sampled_from(KINDS)), draw_(st.sampled_from(LEVELS)),
                           draw_(st.sampled_from((None, 1, 2, 3))), draw_(st.booleans())) for i in ids)
    filters = TargetFilters(
        kinds=frozenset(draw_(st.sets(st.sampled_from(KINDS), max_size=2))),
        levels=frozenset(draw_(st.sets(st.sampled_from(LEVELS[1:]), max_size=2))),
        division_ids=frozenset(draw_(st.sets(st.sampled_from((1, 2, 3)), max_size=2))),
        designated_only=draw_(st.booleans()),
        exclude_ids=frozenset(draw_(st.sets(st.sampled_from(ids), max_size=5)) if ids else ()),
    )
    count = draw_(st.integers(min_value=1, max_value=8))
    return (TargetInputs(tuple(sorted(targets, key=lambda t: t.institution_id)), filters, count),
            draw_(st.binary(min_size=1, max_size=32)))


def passes(target: Target, f: TargetFilters) -> bool:
    return ((target.designated or not f.designated_only) and (not f.kinds or target.kind in f.kinds)
            and (not f.levels or target.level in f.levels)
            and (not f.division_ids or target.division_id in f.division_ids)
            and target.institution_id not in f.exclude_ids)


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_a_draw_never_picks_an_excluded_or_non_matching_institution_nor_one_twice(
        case: tuple[TargetInputs, bytes]) -> None:
    inputs, seed = case
    result = draw(inputs, seed)
    by_id = {t.institution_id: t for t in inputs.directory}
    assert len(set(result.picks)) == len(result.picks)
    for picked in result.picks:
        assert passes(by_id[picked], inputs.filters)
        assert picked not in inputs.filters.exclude_ids
    expected = sorted(t.institution_id for t in inputs.directory if passes(t, inputs.filters))
    assert eligible_ids(inputs) == expected
    assert result.eligible == len(expected)
    assert result.ok == (len(expected) >= inputs.count)
    assert len(result.picks) == (inputs.count if result.ok else 0)
    assert [name for name, _ in result.removed] == list(FILTER_ORDER)
    assert sum(n for _, n in result.removed) + result.eligible == len(inputs.directory) == result.directory


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_the_snapshot_round_trips_and_the_draw_verifies(case: tuple[TargetInputs, bytes]) -> None:
    inputs, seed = case
    result = draw(inputs, seed)
    rebuilt = parse_snapshot(canonical_snapshot(inputs))
    assert rebuilt == inputs
    assert snapshot_hash(rebuilt) == snapshot_hash(inputs)
    assert result_from_json(result_json(result)) == result
    assert verify(rebuilt, seed, stored=result)
    assert draw(rebuilt, seed) == result  # deterministic


@settings(max_examples=200, deadline=None)
@given(scenario(), st.data())
def test_verification_detects_a_changed_result(case: tuple[TargetInputs, bytes], data: st.DataObject) -> None:
    inputs, seed = case
    result = draw(inputs, seed)
    tampered = [
        dataclasses.replace(result, eligible=result.eligible + 1),
        dataclasses.replace(result, count=result.count + 1),
        dataclasses.replace(result, removed=tuple((n, c + (i == 0)) for i, (n, c) in enumerate(result.removed))),
    ]
    if result.picks:
        others = [i for i in eligible_ids(inputs) if i not in result.picks] + [10_000]
        i = data.draw(st.integers(min_value=0, max_value=len(result.picks) - 1))
        swapped = list(result.picks)
        swapped[i] = data.draw(st.sampled_from(others))
        tampered.append(dataclasses.replace(result, picks=tuple(swapped)))
        tampered.append(dataclasses.replace(result, picks=tuple(reversed(result.picks))) if len(result.picks) > 1
                        else dataclasses.replace(result, picks=()))
    for bad in tampered:
        assert not verify(inputs, seed, stored=bad)


@settings(max_examples=100, deadline=None)
@given(scenario(), st.data())
def test_any_change_to_the_inputs_changes_the_snapshot_hash(case: tuple[TargetInputs, bytes],
                                                            data: st.DataObject) -> None:
    inputs, _ = case
    changes = [
        dataclasses.replace(inputs, count=inputs.count + 1),
        dataclasses.replace(inputs, filters=dataclasses.replace(
            inputs.filters, designated_only=not inputs.filters.designated_only)),
        dataclasses.replace(inputs, filters=dataclasses.replace(
            inputs.filters, exclude_ids=inputs.filters.exclude_ids ^ {9999})),
        dataclasses.replace(inputs, directory=(*inputs.directory, Target(9999, "hospital"))),
    ]
    if inputs.directory:
        i = data.draw(st.integers(min_value=0, max_value=len(inputs.directory) - 1))
        flipped = list(inputs.directory)
        flipped[i] = dataclasses.replace(flipped[i], designated=not flipped[i].designated)
        changes.append(dataclasses.replace(inputs, directory=tuple(flipped)))
    for changed in changes:
        assert snapshot_hash(changed) != snapshot_hash(inputs)


def test_another_seed_gives_another_draw_and_verification_fails_with_it() -> None:
    inputs = TargetInputs(directory(50), TargetFilters(), 5)
    result = draw(inputs, SEED)
    assert not verify(inputs, b"another seed", stored=result)
    assert draw(inputs, b"another seed").picks != result.picks


def test_each_institution_is_drawn_about_equally_often_over_fixed_seeds() -> None:
    inputs = TargetInputs(directory(10), TargetFilters(), 3)
    runs = 6000
    seen: Counter[int] = Counter()
    first: Counter[int] = Counter()
    for n in range(runs):
        picks = draw(inputs, n.to_bytes(4, "big")).picks
        seen.update(picks)
        first[picks[0]] += 1
    expected = runs * 3 / 10
    chi2 = sum((seen[i] - expected) ** 2 / expected for i in range(1, 11))
    assert chi2 < 27.9  # chi-square, 9 degrees of freedom, p = 0.001
    assert all(abs(first[i] - runs / 10) < 0.2 * runs / 10 for i in range(1, 11))


def test_pairs_are_drawn_uniformly_not_just_single_institutions() -> None:
    inputs = TargetInputs(directory(5), TargetFilters(), 2)
    runs = 5000
    pairs = Counter(frozenset(draw(inputs, n.to_bytes(4, "big")).picks) for n in range(runs))
    assert len(pairs) == 10
    expected = runs / 10
    assert sum((c - expected) ** 2 / expected for c in pairs.values()) < 27.9


def test_a_shortfall_draws_nothing_and_says_what_each_filter_removed() -> None:
    targets = (
        Target(1, "hospital", "三级甲等", 2, True),
        Target(2, "hospital", "二级甲等", 2, True),  # level
        Target(3, "pharmacy", None, 2, True),  # kind
        Target(4, "hospital", "三级甲等", 3, True),  # division
        Target(5, "hospital", "三级甲等", 2, False),  # not designated
        Target(6, "hospital", "三级甲等", 2, True),  # excluded
    )
    filters = TargetFilters(kinds=frozenset({"hospital"}), levels=frozenset({"三级甲等"}),
                            division_ids=frozenset({2}), exclude_ids=frozenset({6}))
    result = draw(TargetInputs(targets, filters, 2), SEED)
    assert not result.ok and result.picks == () and result.short == 1 and result.eligible == 1
    assert dict(result.removed) == {"designated": 1, "kind": 1, "level": 1, "division": 1, "excluded": 1}
    assert draw(TargetInputs(targets, filters, 1), SEED).picks == (1,)


def test_the_order_of_the_directory_does_not_matter() -> None:
    targets = directory(20)
    a = draw(TargetInputs(targets, TargetFilters(), 4), SEED)
    b = draw(TargetInputs(tuple(reversed(targets)), TargetFilters(), 4), SEED)
    assert a == b


@pytest.mark.parametrize("count", [0, -1, target_rules.MAX_COUNT + 1])
def test_a_count_outside_the_limits_is_refused(count: int) -> None:
    with pytest.raises(TargetRequestError) as caught:
        draw(TargetInputs(directory(), TargetFilters(), count), SEED)
    assert caught.value.code == "count"


def test_the_same_institution_twice_in_the_directory_is_refused_and_does_not_verify() -> None:
    inputs = TargetInputs((*directory(3), Target(1, "hospital")), TargetFilters(), 1)
    with pytest.raises(TargetRequestError):
        draw(inputs, SEED)
    good = draw(TargetInputs(directory(3), TargetFilters(), 1), SEED)
    assert not verify(inputs, SEED, stored=good)


def test_an_unknown_version_or_snapshot_format_is_an_error() -> None:
    inputs = TargetInputs(directory(3), TargetFilters(), 1)
    with pytest.raises(ValueError, match="unknown"):
        verify(inputs, SEED, stored=dataclasses.replace(draw(inputs, SEED), algorithm_version="t0"))
    with pytest.raises(ValueError, match="format"):
        parse_snapshot('{"format": "fundwatch-draw-snapshot/1"}')


def test_the_target_stream_is_not_the_expert_draws_stream() -> None:
    from services.activities import sampling

    ids = list(range(1, 30))
    experts = sampling.visit_order(ids, SEED, "targets", 5)
    targets = draw(TargetInputs(tuple(Target(i, "hospital", designated=True) for i in ids), TargetFilters(), 5),
                   SEED)
    assert list(targets.picks) != experts
