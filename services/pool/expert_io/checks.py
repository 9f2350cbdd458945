"""Checking the rows of an expert table: pure, against a :class:`Directory` loaded once for the file. A row
collects every reason to reject it, or becomes a :class:`Plan` to apply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.people.orgs import TERM_YEARS, add_years
from services.platform.identifiers import (
    InvalidIdentifier,
    validate_id_number,
    validate_mobile,
)
from services.platform.tables import Cell, Issue
from services.platform.tables import text_of as _text_of
from services.pool.eligibility import MAX_CATEGORIES, Category
from services.pool.expert_io.columns import (
    EMAIL_IN_TEXT,
    FOOTER_WORDS,
    GENDER_LABELS,
    HEADER_OF,
    IMPORTABLE_STATES,
    PHONE_IN_TEXT,
    STATE_LABELS,
    TITLE_WORDS,
    CellError,
    ColumnSpec,
)
from services.pool.lifecycle import ExpertState
from storage.models import Expert, OrgUnit, Person
from storage.pool import Institution

# --- checking rows (pure, against a directory loaded once) ------------------------------------------------


@dataclass
class Row:
    number: int
    cells: tuple[Cell, ...]
    columns: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    issues: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)

    def _issue(self, field_name: str, code: str, message: str) -> Issue:
        return Issue(self.number, self.columns.get(field_name, HEADER_OF.get(field_name, field_name)), code, message)

    def reject(self, field_name: str, code: str, message: str) -> None:
        self.failed.add(field_name)
        self.issues.append(self._issue(field_name, code, message))

    def note(self, field_name: str, code: str, message: str) -> None:
        self.notes.append(self._issue(field_name, code, message))


@dataclass(frozen=True)
class InstitutionRef:
    """An institution a row names: an existing one (``institution_id``), or one to create or to give a code."""

    name: str
    code: str | None
    institution_id: int | None = None
    add_code: bool = False


@dataclass
class Directory:
    """What the checks need from the database, loaded once for the whole file."""

    today: date
    default_unit: OrgUnit
    scope: set[int] | None
    units: dict[str, OrgUnit]
    experts: dict[str, tuple[Expert, Person]]
    by_code: dict[str, Institution]
    by_name: dict[str, list[Institution]]
    unnumbered: dict[tuple[str, int], int]
    default_recommending: str | None
    admit_ineligible: str | None = None
    """The reason given for the audited override that keeps ineligible rows as they say (see ``.admission``)."""


@dataclass
class Plan:
    row: Row
    id_number: str
    name: str
    birth_date: date
    existing: tuple[Expert, Person] | None
    org_unit_id: int
    employer: InstitutionRef | None
    recommending: InstitutionRef | None
    state: ExpertState = ExpertState.ACTIVE
    term: tuple[date, date] | None = None
    ineligible: tuple[Issue, ...] = ()
    """The eligibility reasons that fail (000 §8–§9), each with its article (see ``.admission``)."""
    admitted_by_override: bool = False


def _state_label(code: str) -> str:
    return STATE_LABELS.get(ExpertState(code), code) if code in set(ExpertState) else code


def _split_employment(text: str) -> tuple[str | None, str | None, str | None]:
    """Employer, post and title from annex 2's combined cell "单位 职务 职称"."""
    words = [w for w in re.split(r"[\s、，,/；;]+", text) if w]
    if not words:
        return None, None, None
    titles = [w for w in words[1:] if any(marker in w for marker in TITLE_WORDS)]
    posts = [w for w in words[1:] if w not in titles]
    return words[0][:200], (" ".join(posts)[:100] or None), (" ".join(titles)[:64] or None)


def _split_contact(row: Row, text: str) -> None:
    """A mobile number and an e-mail address from annex 2's combined cell, unless given in their own columns."""
    explicit = {"mobile", "email"} & (set(row.values) | row.failed)
    if len(explicit) == 2:
        return
    emails = EMAIL_IN_TEXT.findall(text)
    phones = [p.strip() for p in PHONE_IN_TEXT.findall(EMAIL_IN_TEXT.sub(" ", text))
              if sum(ch.isdigit() for ch in p) >= 7]
    if not emails and not phones:
        if not explicit:
            row.reject("contact", "invalid_contact", f"no mobile number or e-mail address in {text!r}")
        return
    if emails and "email" not in explicit:
        row.values["email"] = emails[0]
    if "mobile" in explicit:
        return
    for phone in phones:
        try:
            row.values["mobile"] = validate_mobile(phone)
            return
        except InvalidIdentifier:
            continue
    if phones:
        row.reject("contact", "invalid_mobile", f"{phones[0]!r} is not a mainland mobile number")


def parse_row(number: int, cells: tuple[Cell, ...], mapping: list[tuple[int, ColumnSpec]],
               columns: dict[str, str]) -> Row:
    row = Row(number, cells, columns)
    for index, spec in mapping:
        value = cells[index]
        if spec.parse is None or value is None or (value.isspace() or not value if type(value) is str
                                                   else _text_of(value) == ""):
            continue
        try:
            row.values[spec.field] = spec.parse(value)
        except CellError as error:
            row.reject(spec.field, error.code, error.message)
    if combined := row.values.pop("employment", None):
        employer, post, title = _split_employment(combined)
        for name, value in (("employer_name", employer), ("post", post), ("title", title)):
            if value and name not in row.values and name not in row.failed:
                row.values[name] = value
    if combined := row.values.pop("contact", None):
        _split_contact(row, combined)
    return row


def _institution(row: Row, directory: Directory, which: str, current_id: int | None) -> InstitutionRef | None:
    """The employer or recommending unit a row names, by credit code, else by exact name (see the docstring)."""
    name_field, code_field = f"{which}_name", f"{which}_code"
    name: str | None = row.values.get(name_field)
    code: str | None = row.values.get(code_field)
    if which == "recommending" and name is None and code is None and code_field not in row.failed:
        name = directory.default_recommending
    if code is not None:
        known = directory.by_code.get(code)
        if known is not None:
            if name and name != known.name:
                row.note(name_field, "institution_name_differs",
                         f"credit code {code} is {known.name!r} in the directory; that institution is used")
            return InstitutionRef(known.name, code, known.id)
        if not name:
            row.reject(code_field, "institution_code_unknown",
                       f"credit code {code} is not in the directory; give the name as well to add it")
            return None
        unnumbered = [i for i in directory.by_name.get(name, []) if i.credit_code is None]
        if len(unnumbered) == 1:
            return InstitutionRef(name, code, unnumbered[0].id, add_code=True)
        return InstitutionRef(name, code)
    if not name or code_field in row.failed:
        return None
    matches = directory.by_name.get(name, [])
    if len(matches) > 1:
        matches = [m for m in matches if m.id == current_id]
        if not matches:
            row.reject(name_field, "institution_ambiguous",
                       f"several institutions are named {name!r}; give the credit code")
            return None
    if matches:
        return InstitutionRef(name, matches[0].credit_code, matches[0].id)
    return InstitutionRef(name, None)


def _check_identity(row: Row, today: date, seen: dict[str, int]) -> date | None:
    """Validate the ID number and derive gender and birth date from it; the birth date, or None."""
    number: str | None = row.values.get("id_number")
    if number is None:
        if "id_number" not in row.failed:
            row.reject("id_number", "required", "required")
        return None
    try:
        identity = validate_id_number(number, today=today)
    except InvalidIdentifier as error:
        row.reject("id_number", f"id_number_{error.reason}", str(error))
        return None
    if number in seen:
        row.reject("id_number", "duplicate_in_file", f"same ID number as row {seen[number]}")
    seen.setdefault(number, row.number)
    given = row.values.get("gender")
    if given is not None and given != identity.gender:
        row.reject("gender", "gender_mismatch",
                   f"{GENDER_LABELS[given]} contradicts the ID number ({GENDER_LABELS[identity.gender]})")
    row.values["gender"] = identity.gender
    birth: tuple[date, bool] | None = row.values.pop("birth_date", None)
    if birth is not None:
        day, exact = birth
        born = identity.birth_date
        if (day != born) if exact else ((day.year, day.month) != (born.year, born.month)):
            row.reject("birth_date", "birth_date_mismatch",
                       f"{day.isoformat()[:10 if exact else 7]} contradicts the ID number ({born.isoformat()})")
    start: date | None = row.values.get("work_start_date")
    if start is not None and start <= identity.birth_date:
        row.reject("work_start_date", "before_birth", f"{start.isoformat()} is not after the birth date")
    return identity.birth_date


def check_row(row: Row, directory: Directory, seen: dict[str, int]) -> Plan | None:
    """Every reason to reject the row, or the plan to apply it."""
    values = row.values
    if "name" not in values and "name" not in row.failed:
        row.reject("name", "required", "required")
    birth_date = _check_identity(row, directory.today, seen)
    start: date | None = values.get("work_start_date")
    if start is not None and start > directory.today:
        row.reject("work_start_date", "date_in_future", f"{start.isoformat()} is after today")
    number: str = values.get("id_number", "")
    existing = directory.experts.get(number)
    expert = existing[0] if existing else None
    categories = values.get("categories", expert.categories if expert else [])
    if not 1 <= len(categories) <= MAX_CATEGORIES and "categories" not in row.failed:
        row.reject("categories", "categories_count", "give 1 or 2 of 医保监管/医药临床/医保信息/管理")
    if values.get("clinical_subcategories") and Category.CLINICAL.value not in categories:
        row.reject("clinical_subcategories", "subcategory_without_clinical", "only for 医药临床 experts")
    unit_id = _org_unit(row, directory, expert)
    employer = _institution(row, directory, "employer", expert.employer_id if expert else None)
    recommending = _institution(row, directory, "recommending", expert.recommending_unit_id if expert else None)
    if row.issues or birth_date is None or unit_id is None:
        return None
    plan = Plan(row, number, values["name"], birth_date, existing, unit_id, employer, recommending)
    if existing is None:
        _check_new_state(row, directory, plan)
        same_name = directory.unnumbered.get((plan.name, unit_id), 0)
        if same_name:
            row.note("name", "same_name_without_id", f"the pool already has {same_name} expert(s) named {plan.name} "
                     "without an ID number; a new record was made: remove any duplicate")
    else:
        _note_kept_state(row, existing[0])
    return None if row.issues else plan


def _org_unit(row: Row, directory: Directory, expert: Expert | None) -> int | None:
    """The explicit (所属单位) org unit, else the expert's own, else (new expert) the default; None on rejection."""
    named: str | None = row.values.get("org")
    if expert is not None and directory.scope is not None and expert.org_unit_id not in directory.scope:
        row.reject("id_number", "expert_out_of_scope", "this expert belongs to a pool outside your org unit")
        return None
    if named is None:
        if "org" in row.failed:
            return None
        if expert is not None:
            if expert.org_unit_id != directory.default_unit.id:
                row.note("org", "not_moved", "the expert stays in their own pool; name 所属单位 to move them")
            return expert.org_unit_id
        return directory.default_unit.id
    unit = directory.units.get(named.lower()) or directory.units.get(named)
    if unit is None:
        row.reject("org", "org_unknown", f"no org unit {named!r}")
        return None
    if directory.scope is not None and unit.id not in directory.scope:
        row.reject("org", "org_out_of_scope", f"{unit.code} is outside your org unit")
        return None
    return unit.id


def _note_kept_state(row: Row, expert: Expert) -> None:
    given: str | None = row.values.get("state")
    start: date | None = row.values.get("term_start")
    end: date | None = row.values.get("term_end")
    if given is not None and given != expert.state:
        row.note("state", "state_kept", f"the expert is {_state_label(expert.state)}; states change through the "
                 "life cycle, not by import")
    elif given is None and expert.state in (ExpertState.EXITED, ExpertState.REMOVED):
        row.note("state", "inactive_updated", f"the expert is {_state_label(expert.state)}; the record was updated, "
                 "the state was not")
    if (start and start != expert.term_start) or (end and end != expert.term_end):
        row.note("term_start" if start else "term_end", "term_kept",
                 "the term changes through the life cycle, not by import")


def _check_new_state(row: Row, directory: Directory, plan: Plan) -> None:
    given: str | None = row.values.get("state")
    start: date | None = row.values.get("term_start")
    end: date | None = row.values.get("term_end")
    state = ExpertState(given) if given else ExpertState.ACTIVE
    if state not in IMPORTABLE_STATES:
        row.reject("state", "state_not_importable",
                   f"a new expert is {'/'.join(STATE_LABELS[s] for s in IMPORTABLE_STATES)}")
        return
    plan.state = state
    if state is not ExpertState.ACTIVE:
        if start or end:
            row.reject("term_start" if start else "term_end", "term_without_active", "only 在库 experts have a term")
        return
    first = start or (add_years(end, -TERM_YEARS) if end else directory.today)
    last = end or add_years(first, TERM_YEARS)
    if last <= first:
        row.reject("term_end", "term_invalid", "the term ends before it starts")
    elif last < directory.today:
        row.reject("term_end", "term_over", f"the term ended on {last.isoformat()}")
    plan.term = (first, last)


def is_blank(cells: tuple[Cell, ...], mapping: list[tuple[int, ColumnSpec]]) -> bool:
    """An empty row, a "..." row, a row with only defaults filled down, or a footer (审核人/填表人...)."""
    texts = [_text_of(cells[i]) for i, spec in mapping if spec.field not in _NOT_DATA]
    if not any(t.strip(".…") for t in texts):
        return True
    first = next(t for t in (_text_of(c) for c in cells) if t)
    has_id = any(_text_of(cells[i]) for i, spec in mapping if spec.field == "id_number")
    return first.startswith(FOOTER_WORDS) and not has_id


_NOT_DATA = frozenset({"seq", "org", "state", "reason", "source_row"})
