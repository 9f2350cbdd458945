"""The record of an expert draw (``draw_rules`` point 14): the canonical JSON of its :class:`DrawInputs`, the
SHA-256 that fingerprints it (000 §25 "可查询、可回溯、可追究", 001 §11 "做好记录"), and the way back from the JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from services.activities.draw_rules import (
    ActivityKind,
    ActivitySpec,
    Candidate,
    DrawSettings,
    Member,
    Requirement,
)
from services.activities.expert_draw import DrawInputs
from services.activities.fair_draw import Group, Screened
from services.pool.eligibility import Category, ClinicalSubcategory

__all__ = ["SNAPSHOT_FORMAT", "canonical_snapshot", "parse_snapshot", "snapshot_hash"]

SNAPSHOT_FORMAT = "fundwatch-draw-snapshot/1"


def _iso(days: Iterable[date]) -> list[str]:
    return sorted(d.isoformat() for d in days)


def _periods(periods: Iterable[tuple[date, date]]) -> list[list[str]]:
    return sorted([s.isoformat(), e.isoformat()] for s, e in periods)


def _candidate_json(c: Candidate) -> dict[str, object]:
    return {
        "person_id": c.person_id,
        "categories": sorted(c.categories),
        "clinical_subcategories": sorted(c.clinical_subcategories),
        "specialty_tags": sorted(c.specialty_tags),
        "employer_id": c.employer_id,
        "past_employers": sorted([inst, left.isoformat()] for inst, left in c.past_employers),
        "declared_interests": sorted(c.declared_interests),
        "is_chief": c.is_chief,
        "birth_date": c.birth_date.isoformat(),
        "state": c.state,
        "unavailable": _periods(c.unavailable),
        "busy": _periods(c.busy),
        "barred": c.barred,
        "review_draws": _iso(c.review_draws),
        **({"disqualified": True} if c.disqualified else {}),  # only when set: older snapshots stay as hashed
        **({"extended_until": c.extended_until.isoformat()} if c.extended_until else {}),  # likewise (000 §22)
    }


def _screened_json(s: Screened) -> dict[str, object]:
    return {"groups": [(g.employer_id, g.ids) for g in s.groups],  # canonical: fair_draw.groups_of (JSON arrays)
            "matched": s.matched, "removed": {code: sorted(ids) for code, ids in s.removed.items()}}


def _screened_of(s: dict[str, Any]) -> Screened:
    return Screened(tuple(Group(employer, tuple(ids)) for employer, ids in s["groups"]), s["matched"],
                    {code: tuple(ids) for code, ids in s["removed"].items()})


def canonical_snapshot(inputs: DrawInputs) -> str:
    """Canonical JSON of the inputs: candidates by ``person_id``, sets sorted, requirements in the given order
    (it matters to the draw), dates in ISO form, compact separators, sorted keys."""
    activity, settings = inputs.activity, inputs.settings
    data = {
        "format": SNAPSHOT_FORMAT,
        "matching": {key: sorted(ids) for key, ids in inputs.matching.items()},
        "candidates": [_candidate_json(c) for c in sorted(inputs.candidates, key=lambda c: c.person_id)],
        "requirements": [
            {
                "key": r.key,
                "category": str(r.category),
                "subcategory": None if r.subcategory is None else str(r.subcategory),
                "tags": sorted(r.tags),
                "count": r.count,
                "backups": r.backups,
            }
            for r in inputs.requirements
        ],
        "activity": {
            "kind": str(activity.kind),
            "start": activity.start.isoformat(),
            "end": activity.end.isoformat(),
            "inspected": sorted(activity.inspected),
            "double_blind": activity.double_blind,
            "required_recusals": sorted(activity.required_recusals),
            "allow_even_group": activity.allow_even_group,
        },
        "settings": {
            "rotation_window_days": settings.rotation_window_days,
            "rotation_max": settings.rotation_max,
            "rotation_gap_days": settings.rotation_gap_days,
            "age_limit": settings.age_limit,
            "recusal_years": settings.recusal_years,
        },
        "existing": sorted([m.person_id, m.employer_id, str(m.field)] for m in inputs.existing),
        # the draw v2's screening (only then, so that older snapshots keep their hash)
        **({"screened": {key: _screened_json(s) for key, s in inputs.screened.items()}} if inputs.screened else {}),
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def snapshot_hash(inputs: DrawInputs) -> str:
    """Hex SHA-256 of :func:`canonical_snapshot` (UTF-8)."""
    return hashlib.sha256(canonical_snapshot(inputs).encode("utf-8")).hexdigest()


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _span(pair: list[str]) -> tuple[date, date]:
    return (_day(pair[0]), _day(pair[1]))


def _candidate_of(c: dict[str, Any]) -> Candidate:
    return Candidate(
        person_id=c["person_id"],
        categories=frozenset(Category(x) for x in c["categories"]),
        birth_date=_day(c["birth_date"]),
        clinical_subcategories=frozenset(ClinicalSubcategory(x) for x in c["clinical_subcategories"]),
        specialty_tags=frozenset(c["specialty_tags"]),
        employer_id=c["employer_id"],
        past_employers=tuple((inst, _day(left)) for inst, left in c["past_employers"]),
        declared_interests=frozenset(c["declared_interests"]),
        is_chief=c["is_chief"],
        state=c["state"],
        unavailable=tuple(_span(p) for p in c["unavailable"]),
        busy=tuple(_span(p) for p in c["busy"]),
        barred=c["barred"],
        review_draws=tuple(_day(d) for d in c["review_draws"]),
        disqualified=c.get("disqualified", False),
        extended_until=_day(c["extended_until"]) if c.get("extended_until") else None,
    )


def _requirement_of(r: dict[str, Any]) -> Requirement:
    return Requirement(
        key=r["key"],
        category=Category(r["category"]),
        count=r["count"],
        backups=r["backups"],
        subcategory=None if r["subcategory"] is None else ClinicalSubcategory(r["subcategory"]),
        tags=frozenset(r["tags"]),
    )


def _activity_of(a: dict[str, Any]) -> ActivitySpec:
    return ActivitySpec(
        kind=ActivityKind(a["kind"]),
        start=_day(a["start"]),
        end=_day(a["end"]),
        inspected=frozenset(a["inspected"]),
        double_blind=a["double_blind"],
        required_recusals=frozenset(a["required_recusals"]),
        allow_even_group=a["allow_even_group"],
    )


def parse_snapshot(text: str) -> DrawInputs:
    """Rebuild :class:`DrawInputs` from :func:`canonical_snapshot` (``ValueError`` for another format)."""
    data = json.loads(text)
    if data.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")
    return DrawInputs(
        matching={key: tuple(ids) for key, ids in data["matching"].items()},
        candidates=tuple(_candidate_of(c) for c in data["candidates"]),
        requirements=tuple(_requirement_of(r) for r in data["requirements"]),
        activity=_activity_of(data["activity"]),
        settings=DrawSettings(**data["settings"]),
        existing=tuple(Member(pid, emp, Category(f)) for pid, emp, f in data["existing"]),
        screened={key: _screened_of(s) for key, s in data.get("screened", {}).items()},
    )
