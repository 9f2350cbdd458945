"""The draw v2 screens the whole pool in set queries (``candidates.screen_pool``): the expert table's columns
give flags computed by the database (``column_codes``), the facts outside it their own codes (``side_codes``);
together they must be exactly what the rules (``draw_rules.exclusions``) give (000 §8(四), §9, §15, §25; 001
§14)."""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta

from services.activities.candidates import BARRED, DISQUALIFIED, OLD, age_cutoff, column_codes, side_codes
from services.activities.draw_rules import ActivityKind, ActivitySpec, Candidate, DrawSettings, exclusions


def _day(rng: random.Random, start: date, spread: int) -> date:
    return start + timedelta(days=rng.randint(-spread, spread))


def test_column_and_side_codes_together_are_the_rules() -> None:
    rng = random.Random(3)
    settings = DrawSettings()
    for _ in range(5000):
        start = date(2024, 2, 29) if rng.random() < 0.2 else date(2025, 1, 1) + timedelta(days=rng.randint(0, 800))
        spec = ActivitySpec(kind=rng.choice(list(ActivityKind)), start=start, end=start + timedelta(days=2),
                            inspected=frozenset({1, 2}), double_blind=rng.random() < 0.3,
                            required_recusals=frozenset({1}) if rng.random() < 0.1 else frozenset())
        birth = start - timedelta(days=rng.choice([rng.randint(0, 80 * 366), 65 * 365 + rng.randint(-3, 20)]))
        if rng.random() < 0.05:
            birth = date(start.year - 65, 2, 29 if calendar.isleap(start.year - 65) else 28)
        barred, disqualified = rng.random() < 0.1, rng.random() < 0.1
        employer = rng.choice([None, 1, 2, 3])
        candidate = Candidate(
            person_id=1, categories=frozenset(), birth_date=birth, employer_id=employer, barred=barred,
            disqualified=disqualified,
            past_employers=tuple((rng.choice([1, 3]), _day(rng, start, 1000)) for _ in range(rng.randint(0, 2))),
            declared_interests=frozenset(rng.sample([1, 2, 3], rng.randint(0, 2))),
            unavailable=tuple((d, d + timedelta(days=5)) for d in [_day(rng, start, 20)] if rng.random() < 0.2),
            busy=tuple((d, d + timedelta(days=2)) for d in [_day(rng, start, 10)] if rng.random() < 0.2),
            review_draws=tuple(sorted(_day(rng, start - timedelta(days=200), 200) for _ in range(rng.randint(0, 4)))))
        old = birth <= age_cutoff(start, settings.age_limit)  # as the database computes it
        flags = OLD * old + BARRED * barred + DISQUALIFIED * disqualified
        expected = sorted(e.code.value for e in exclusions(candidate, spec, settings))
        assert sorted([*column_codes(flags, employer, spec), *side_codes(candidate, spec, settings)]) == expected
