"""The draw v2 screens the whole pool in set queries (``candidates.screen_pool``): for experts without facts
outside the expert table, the exclusion codes come from ``candidates.column_codes``; they must be exactly what the
rules (``draw_rules.exclusions``) give (000 §8(四), §9, §15(一), §25)."""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta

from services.activities.candidates import column_codes
from services.activities.draw_rules import ActivityKind, ActivitySpec, Candidate, DrawSettings, exclusions


def test_column_codes_agree_with_the_rules_for_experts_without_side_facts() -> None:
    rng = random.Random(3)
    settings = DrawSettings()
    for _ in range(5000):
        start = date(2024, 2, 29) if rng.random() < 0.2 else date(2025, 1, 1) + timedelta(days=rng.randint(0, 800))
        spec = ActivitySpec(kind=rng.choice(list(ActivityKind)), start=start, end=start + timedelta(days=2),
                            inspected=frozenset({1, 2}), double_blind=rng.random() < 0.3)
        birth = start - timedelta(days=rng.choice([rng.randint(0, 80 * 366), 65 * 365 + rng.randint(-3, 20)]))
        if rng.random() < 0.05:
            birth = date(start.year - 65, 2, 29 if calendar.isleap(start.year - 65) else 28)  # 29 February
        barred_until = rng.choice([None, start - timedelta(days=1), start, start + timedelta(days=1)])
        disqualified = rng.random() < 0.1
        employer = rng.choice([None, 1, 2, 3])
        candidate = Candidate(person_id=1, categories=frozenset(), birth_date=birth, employer_id=employer,
                              barred=barred_until is not None and barred_until > start, disqualified=disqualified)
        expected = [e.code.value for e in exclusions(candidate, spec, settings)]
        assert column_codes(birth, barred_until, disqualified, employer, spec=spec, settings=settings) == expected
