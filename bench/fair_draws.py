"""How fair the expert draw is (issue 18): over many seeded draws on skewed pools, each expert's observed
frequency of being drawn as a principal, against the chance the draw v3 computes (``joint_draw``; in the
common case v2's LEXIMIN marginal, ``fair_draw``) and against the equal share (places / eligible experts), for v3,
v2 and v1 in the same run.

Cases (pure: ``expert_draw.draw`` over a ``ListPool``, no database):

- ``30-of-100``: 3 principals from 100 supervision experts, 30 of them at one employer (the others each at their
  own). 000 §18(三) lets at most one of the 30 in; an equal 3% for everyone is still possible.
- ``60-of-100``: the same with 60 at one employer: equal shares are impossible (1/60 < 3%); the maximin is 1/60
  for them and (3 - 1) / 40 = 5% for the others.
- ``two-categories``: 3 supervision principals from 60 experts (20 at employer 1) and 2 clinical principals from
  40 other experts (15 at employer 1, allowed beside a supervision expert of employer 1: another field).
- ``shared`` (the general case, v3): supervision as in ``two-categories``, clinical medicine 1 and pharmacy 1 from
  30 clinical experts (10 at employer 1; every third fits both sub-categories), and 10 of the supervision
  experts also fit clinical medicine: two lines of one field and experts fitting two lines (v2 drew it as v1).

The marginal column is v3's computed chance of each expert over all lines (``joint_draw.marginals``; in the
first three cases the same as v2's).

The chi-square test is Pearson's over every expert (``bench.stats``); p > 0.01 means the observed frequencies
are consistent with the expected ones. Run from the repository root::

    .venv/bin/python -m bench.fair_draws                 # 10,000 draws per case and version
    .venv/bin/python -m bench.fair_draws --draws 2000

Results: ``bench/results/fair_draws.json`` and the markdown printed (bench/README.md, section ``fair draws``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.stats import chi_square
from services.activities import joint_draw
from services.activities.draw_rules import ActivityKind, ActivitySpec, Candidate, DrawSettings, Requirement, matches
from services.activities.expert_draw import ListPool, draw
from services.activities.fair_draw import Screened, groups_of
from services.pool.eligibility import Category, ClinicalSubcategory

RESULTS = Path(__file__).parent / "results"
SPEC = ActivitySpec(kind=ActivityKind.ROUTINE_INSPECTION, start=date(2026, 6, 1), end=date(2026, 6, 2))


@dataclass(frozen=True)
class Case:
    """A pool and a request: per requirement (key, category, principals, experts, experts at employer 1,
    sub-category); ``shared``: the general case's pool instead (module docstring)."""

    name: str
    lines: tuple[tuple[str, Category, int, int, int, ClinicalSubcategory | None], ...]
    shared: bool = False

    def pool(self) -> tuple[list[Candidate], list[Requirement], dict[int, tuple[str, bool]]]:
        """The candidates, the requirements and, per expert, (the first requirement key, at the big employer)."""
        candidates, requirements, where = [], [], {}
        next_id = 1
        for key, category, count, experts, big, sub in self.lines:
            requirements.append(Requirement(key, category, count, subcategory=sub))
            for n in range(experts):
                subs = {sub} if sub is not None else set()
                categories = {category}
                if self.shared and sub is not None and n % 3 == 0:
                    subs = {ClinicalSubcategory.MEDICINE, ClinicalSubcategory.PHARMACY}
                if self.shared and category == Category.SUPERVISION and n % 6 == 0:
                    categories, subs = {category, Category.CLINICAL}, {ClinicalSubcategory.MEDICINE}
                candidates.append(Candidate(person_id=next_id, categories=frozenset(categories),
                                            clinical_subcategories=frozenset(subs), birth_date=date(1975, 1, 1),
                                            employer_id=1 if n < big else 10_000 + next_id))
                where[next_id] = (key, n < big)
                next_id += 1
        return candidates, requirements, where


def computed(candidates: list[Candidate], requirements: list[Requirement]) -> dict[int, float]:
    """v3's chance of each expert to be drawn as a principal, over all lines."""
    screened = {}
    for r in requirements:
        found = [(c.person_id, c.employer_id) for c in candidates if matches(c, r)]
        screened[r.key] = Screened(tuple(groups_of(found)), len(found))
    plan = joint_draw.partition([joint_draw.Line(r.key, r.category.value, r.count, r.backups)
                                 for r in requirements], screened)
    out = {c.person_id: 0.0 for c in candidates}
    for (_, person_id), chance in (joint_draw.marginals(plan) or {}).items():
        out[person_id] += float(chance)
    return out


CASES = (
    Case("30-of-100", (("supervision", Category.SUPERVISION, 3, 100, 30, None),)),
    Case("60-of-100", (("supervision", Category.SUPERVISION, 3, 100, 60, None),)),
    Case("two-categories", (("supervision", Category.SUPERVISION, 3, 60, 20, None),
                            ("clinical", Category.CLINICAL, 2, 40, 15, None))),
    Case("shared", (("supervision", Category.SUPERVISION, 3, 60, 20, None),
                    ("medicine", Category.CLINICAL, 1, 15, 5, ClinicalSubcategory.MEDICINE),
                    ("pharmacy", Category.CLINICAL, 1, 15, 5, ClinicalSubcategory.PHARMACY)), shared=True),
)


def seed_of(index: int) -> bytes:
    return hashlib.sha256(f"bench/fair_draws/{index}".encode()).digest()


def measure(case: Case, version: str, draws: int) -> dict[str, Any]:
    """``draws`` seeded draws of ``case`` with ``version``: frequencies per group against v2's chances."""
    candidates, requirements, where = case.pool()
    pool = ListPool(candidates)
    settings = DrawSettings()
    marginal = computed(candidates, requirements)
    equal = {p: next(r.count for r in requirements if r.key == key) / sum(1 for k, _ in where.values() if k == key)
             for p, (key, _) in where.items()}
    fallbacks = 0
    hits: Counter[int] = Counter()
    started = time.perf_counter()
    for index in range(draws):
        result = draw(pool, requirements, SPEC, settings, seed_of(index), version=version)
        fallbacks += result.fallback
        hits.update(result.principals)
    seconds = time.perf_counter() - started
    people = sorted(where)
    observed = [hits[p] for p in people]
    _, df, p_marginal = chi_square(observed, [marginal[p] * draws for p in people])
    _, _, p_equal = chi_square(observed, [equal[p] * draws for p in people])
    groups = []
    for key, _category, count, experts, _big, _sub in case.lines:
        for at_big in (True, False):
            members = [p for p in people if where[p] == (key, at_big)]
            if not members:
                continue
            freq = [hits[p] / draws for p in members]
            groups.append({"requirement": key, "at_big_employer": at_big, "experts": len(members),
                           "marginal": round(statistics.fmean(marginal[p] for p in members), 5),
                           "equal_share": round(count / experts, 5),
                           "mean": round(statistics.fmean(freq), 5), "min": round(min(freq), 5),
                           "max": round(max(freq), 5)})
    everyone = [hits[p] / draws for p in people]
    return {"case": case.name, "version": version, "draws": draws, "seconds": round(seconds, 2),
            "drew_as_v1": fallbacks,
            "chi2_df": df, "p_vs_marginal": round(p_marginal, 4), "p_vs_equal_share": round(p_equal, 4),
            "min_over_max": round(min(everyone) / max(everyone), 3), "groups": groups}


def render(report: dict[str, Any]) -> str:
    lines = [f"## Fair draws: observed frequency over {report['draws']:,} seeded draws per case and version",
             "",
             "| case | version | experts | marginal (v3) | equal share | observed mean | min | max | "
             "chi² p vs marginal | chi² p vs equal share |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in report["results"]:
        for n, g in enumerate(row["groups"]):
            who = f"{g['requirement']}: {g['experts']} at " + ("employer 1" if g["at_big_employer"] else "others")
            tail = (f"| {row['p_vs_marginal']} | {row['p_vs_equal_share']} |" if n == 0 else "| | |")
            lines.append(f"| {row['case'] if n == 0 else ''} | {row['version'] if n == 0 else ''} | {who} "
                         f"| {g['marginal']:.4f} | {g['equal_share']:.4f} | {g['mean']:.4f} | {g['min']:.4f} "
                         f"| {g['max']:.4f} {tail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fair_draws", description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=RESULTS / "fair_draws.json")
    args = parser.parse_args(argv)
    results = []
    for case in CASES:
        for version in ("v3", "v2", "v1"):
            print(f"{case.name} {version}: {args.draws} draws ...", flush=True)
            results.append(measure(case, version, args.draws))
    report = {"benchmark": "fair_draws", "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "draws": args.draws, "results": results}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
