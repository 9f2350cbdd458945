"""Admission at import: every row is judged by the same eligibility rules as an application (000 §8–§9,
:func:`services.pool.eligibility.check_eligibility`), on the record as it will be after the row is applied.

Interpretations
---------------
1. **What blocks.** A ``fail`` reason that the data given decides (age, degree, title or post, a §9 exclusion...)
   means the row is not made active: a new expert whose row says 在库 or 公示中 (or says nothing) is imported as
   审核中 (``under_review``: an application in review, 000 §10(三)) without a term, and the report lists the row
   with each reason and its article. ``missing_data`` and ``invalid_data`` do not block: annex 2 (the recommended
   roster, nine columns) carries no title level, post level or work start, so a roster in that layout could never be
   imported otherwise; the card's 入库条件 still shows what is missing, for staff to complete. Likewise a reason
   decided only by columns the file does not give (:data:`_DECIDED_BY`; a yes/no column left out reads as "no").
2. **Strict** (``strict=True``): an ineligible row not admitted by the override is a rejected row, so nothing is
   imported.
3. **The override** (``admit_ineligible``, admin or the system only, with a reason): rosters of experts appointed
   before these rules are kept as the row says; each such expert gets an ``expert.admitted_ineligible`` audit entry
   naming the reasons and the override's reason, and the report still lists the row.
4. **Over 65 at import** (000 §22: reaching 65 without an extension request means exit) is never given a term, even
   with the override: the sweep would exit the expert the next day. It is reported; the way to stay is ``/extend``.
5. **An existing expert** keeps their state (the life cycle changes states, not import); the report lists a
   failing row all the same, so staff can review the record.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any, cast

from services.platform.tables import Issue
from services.pool.eligibility import Reason, Severity, check_eligibility
from services.pool.expert_io.checks import Directory, Plan
from services.pool.expert_io.columns import DIRECT, HEADER_OF
from services.pool.experts import profile_of
from services.pool.lifecycle import ExpertState
from storage.models import Expert

NOT_BLOCKING = frozenset({"missing_data", "invalid_data"})
NEVER_OVERRIDDEN = frozenset({"age_limit"})
"""Reasons the override does not lift (interpretation 4)."""

_DECIDED_BY: dict[str, tuple[str, ...]] = {
    "categories_count": ("categories",), "clinical_subcategory_missing": ("clinical_subcategories",),
    "degree": ("highest_degree",), "work_years": ("work_start_date",), "title_or_post": ("title_level", "post_level"),
    "age_limit": (), "informatics_title": ("title_level", "title_is_informatics"), "informatics_age": (),
    "management_qualification": ("major_is_finance_audit", "title_is_finance_audit", "has_cpa", "is_insurance_staff"),
    "civil_capacity": (), "criminal_or_penalty": (), "insurance_violation": (), "barred": (),
}
"""The fields whose values decide each failing reason; () = always decided (the birth date comes from the ID
number; a §9 flag or a bar fails only when set). A reason none of whose fields the row gives, or the record
holds, is undecided, like ``missing_data`` (interpretation 1): a yes/no column left out reads as "no"."""

_COLUMN_OF_REASON = {"age_limit": "id_number", "informatics_age": "id_number", "civil_capacity": "full_civil_capacity",
                     "criminal_or_penalty": "criminal_record", "insurance_violation": "insurance_violation",
                     "barred": "state"}


def _decided(plan: Plan, code: str) -> bool:
    fields = _DECIDED_BY.get(code, ())
    if not fields:
        return code not in NOT_BLOCKING
    stored = plan.existing[0] if plan.existing is not None else None
    return any(name in plan.row.values or (stored is not None and getattr(stored, name, None) not in (None, [], "")
                                           and not isinstance(getattr(stored, name), bool)) for name in fields)


def _issue(plan: Plan, reason: Reason) -> Issue:
    field = _COLUMN_OF_REASON.get(reason.code) or next(iter(_DECIDED_BY.get(reason.code, ())), "id_number")
    column = plan.row.columns.get(field, HEADER_OF.get(field, field))
    params = ", ".join(f"{key}={value}" for key, value in sorted(reason.params.items()))
    message = f"not eligible ({reason.article}): {reason.code}" + (f" ({params})" if params else "")
    return Issue(plan.row.number, column, f"ineligible_{reason.code}", message, reason.article)


@functools.cache
def _new_record() -> dict[str, Any]:
    """Every field of a new expert record at its default (built once: a table model costs ~1 ms to make)."""
    return Expert(person_id=0, org_unit_id=0).model_dump()


def _record_after(plan: Plan) -> Expert:
    """The record as it will be once the row is applied: a plain namespace with the record's fields, read like
    an :class:`Expert` by ``profile_of`` (never added to the session)."""
    data: dict[str, Any] = dict(plan.existing[0].model_dump() if plan.existing is not None else _new_record())
    data.update({key: value for key, value in plan.row.values.items() if key in DIRECT})
    data["birth_date"] = plan.birth_date
    return cast(Expert, SimpleNamespace(**data))


def judge(plan: Plan, directory: Directory) -> None:
    """Judge the row's record on the import day and record the outcome on ``plan`` (see the module docstring):
    ``plan.ineligible`` lists the blocking reasons; a new expert who is not admitted gets ``under_review`` and no
    term; one kept as the row says under the override gets ``admitted_by_override``."""
    eligibility = check_eligibility(profile_of(_record_after(plan)), directory.today)
    blocking = [r for r in eligibility.reasons if r.severity == Severity.FAIL and _decided(plan, r.code)]
    if not blocking:
        return
    plan.ineligible = tuple(_issue(plan, reason) for reason in blocking)
    if directory.admit_ineligible and not any(reason.code in NEVER_OVERRIDDEN for reason in blocking):
        plan.admitted_by_override = True
    elif plan.existing is None and plan.state in (ExpertState.ACTIVE, ExpertState.PUBLIC_NOTICE):
        plan.state, plan.term = ExpertState.UNDER_REVIEW, None
