"""The rest of the sandbox's year of history (issue 17; the activities are :mod:`services.demo.demo_history`):

- leads of the social supervisors, each division every month, moving through their states as staff would move
  them (002 §12(二): accepted or not within 15 working days, handled within 30), a few left open past their
  deadline (the overdue figure), rewards offered for substantiated ones, claimed or lapsed (002 §12(四));
- pool changes: experts removed (000 §23, barred five years, 001 §22) and leaving at the end of their term, and
  terms ending within the next two months (000 §10(七), §21);
- last year's excellent experts of each division, published (000 §20), chosen from the activities attended.

Rows are inserted in batches with their audit entries dated when each thing happened (the reporter's pseudonym
as actor, never their identity: 003 三(四)). Deadlines of the leads still open are the production rules'; those
already past are marked as reminded and escalated, so the sandbox does not start with a burst of old alerts.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, update
from sqlmodel import col, select

from services.demo.demo_history import History, Row, Window, entry, insert, moment, windows
from services.leads.lead_rules import (
    PSEUDONYM_ALPHABET,
    LeadCategory,
    deadline,
    reminder_time,
    tracking_number,
)
from services.leads.leads import reporter_label
from services.platform.policy import LeadRules
from services.platform.roles import SCHEDULER
from services.platform.workdays import WorkingCalendar, default_calendar
from storage.leads import Lead
from storage.models import Expert, Person, Supervisor
from storage.records import ExcellenceList
from storage.uow import UnitOfWork

RULES = LeadRules()
WHAT = ("{target}疑似{category}，涉及多名参保人，住院期间人不在床。",
        "{target}存在{category}情况，收费明细与实际不符。", "举报{target}{category}，药品进销存账目对不上。",
        "{target}门诊{category}，同一患者一周内多次开具同类药品。")
CATEGORY_WORDS = {"fake_hospitalisation": "虚假住院", "swapping": "串换药品", "fictitious_services": "虚构医疗服务",
                  "over_treatment": "过度诊疗", "over_charging": "重复收费", "split_admissions": "分解住院",
                  "forged_documents": "伪造医疗文书", "reselling_drugs": "倒卖医保药品", "card_misuse": "冒用医保卡",
                  "other": "违规使用医保基金"}
FIXED = frozenset({"id", "org_unit_id", "reporter_ref", "reporter_pseudonym", "institution_id", "category",
                   "what", "happened", "place", "interest_declared", "duplicate_candidates", "extensions",
                   "created_at"})  # what the lead was filed with; the rest is updated once its history is decided
REWARDS = (200, 500, 800, 1000, 2000, 5000)
REMOVALS = 3
EXITS = 4
TERMS_ENDING = 6


async def add_leads(uow: UnitOfWork, rng: random.Random, history: History, *, units: dict[str, int],
                    staff_id: int) -> None:
    """Three to six leads a month in each division from its supervisors, in every state."""
    reporters = await _reporters(uow, rng, set(units.values()))
    targets = await _targets(uow)
    calendar = default_calendar()
    leads: list[Row] = []
    for window in windows(uow.now(), uow.zone):
        for unit_id in units.values():
            for _ in range(rng.randrange(3, 7) if reporters.get(unit_id) else 0):
                leads.append(_lead(uow, rng, window, unit_id=unit_id, reporter=rng.choice(reporters[unit_id]),
                                   target=rng.choice(targets)))
    await insert(uow, Lead, leads)
    for lead in leads:
        lead.number = tracking_number(lead.id, lead.created_at.astimezone(uow.zone).date())
        history.entries.append(entry(lead.created_at, reporter_label(lead.reporter_pseudonym), "lead.submitted",
                                      "lead", lead.id, {"number": lead.number, "org_unit_id": lead.org_unit_id,
                                                        "category": lead.category}))
        _progress(uow, rng, lead, history, calendar=calendar, staff=f"person:{staff_id}")
    history.leads += len(leads)
    table = Lead.__table__  # type: ignore[attr-defined]
    changed = [name for name in vars(leads[0]) if name not in FIXED] if leads else []
    await (await uow.session.connection()).execute(update(table).where(table.c.id == bindparam("key")).values(
        {name: bindparam(name) for name in changed}), [{"key": lead.id, **{n: getattr(lead, n) for n in changed}}
                                                       for lead in leads])


async def _reporters(uow: UnitOfWork, rng: random.Random, units: set[int]) -> dict[int, list[tuple[int, str]]]:
    """Each division's supervisors (person id, pseudonym), pseudonyms given now where missing (seeded)."""
    found: dict[int, list[tuple[int, str]]] = {}
    rows = (await uow.session.exec(select(Supervisor).where(col(Supervisor.org_unit_id).in_(units))
                                   .order_by(col(Supervisor.person_id)))).all()
    taken = {s.pseudonym for s in rows if s.pseudonym}
    for supervisor in rows:
        while not supervisor.pseudonym:
            candidate = "S-" + "".join(rng.choice(PSEUDONYM_ALPHABET) for _ in range(4))
            if candidate not in taken:
                supervisor.pseudonym = candidate
                taken.add(candidate)
                uow.session.add(supervisor)
        found.setdefault(supervisor.org_unit_id, []).append((supervisor.person_id, supervisor.pseudonym))
    return found


async def _targets(uow: UnitOfWork) -> list[tuple[int, str]]:
    from storage.pool import Institution

    rows = (await uow.session.exec(select(Institution.id, Institution.name).where(
        col(Institution.designated).is_(True)).order_by(col(Institution.id)))).all()
    return [(int(i), n) for i, n in rows if i is not None]


def _lead(uow: UnitOfWork, rng: random.Random, window: Window, *, unit_id: int, reporter: tuple[int, str],
          target: tuple[int, str]) -> Row:
    created = moment(rng, window, uow.zone, hours=(8, 21))
    category = rng.choice(list(LeadCategory))
    text = rng.choice(WHAT).format(target=target[1], category=CATEGORY_WORDS[category.value])
    return Row(number=f"demo-{rng.randrange(10**12)}", org_unit_id=unit_id, reporter_ref=str(reporter[0]),
               reporter_pseudonym=reporter[1], institution_id=target[0], category=category.value, what=text,
               happened=f"{created.astimezone(uow.zone):%Y年%m月}", place="", interest_declared=False,
               duplicate_candidates=[], extensions=[], state="received", created_at=created, updated_at=created,
               reason=None, due_at=None, due_kind=None, remind_at=None, reminded_for=None, escalated_for=None,
               closed_at=None, reward_amount=None, reward_claim_until=None, reward_state=None,
               reward_reminders_sent=0)


def _progress(uow: UnitOfWork, rng: random.Random, lead: Row, history: History, *, calendar: WorkingCalendar,
              staff: str) -> None:
    """Move the lead as staff would have, up to now; what is still open keeps the production deadline."""
    now, zone = uow.now(), uow.zone
    stalls = rng.random() < 0.2 and now - lead.created_at < timedelta(days=75)  # left open past its deadline
    decided = lead.created_at + timedelta(days=rng.uniform(1, 12))
    if stalls or decided >= now:
        _open(lead, lead.created_at, RULES.accept_working_days, "accept", calendar=calendar, zone=zone, now=now)
        return
    if rng.random() < 0.12:
        _move(lead, history, "not_accepted", decided, staff, reason="不属于医保基金监管范围")
        if decided + timedelta(days=5) < now and rng.random() < 0.5:
            _move(lead, history, "closed", decided + timedelta(days=rng.uniform(2, 5)), staff)
        return
    _move(lead, history, "accepted", decided, staff)
    investigating = decided + timedelta(days=rng.uniform(1, 6))
    concluded = investigating + timedelta(days=rng.uniform(8, 35))
    if investigating < now:
        _move(lead, history, "investigating", investigating, staff)
    if stalls or rng.random() < 0.05 or concluded >= now:
        _open(lead, decided, RULES.handle_working_days, "handle", calendar=calendar, zone=zone, now=now)
        return
    substantiated = rng.random() < 0.6
    _move(lead, history, "substantiated" if substantiated else "unsubstantiated", concluded, staff,
          reason="经现场核查，情况属实，已移交处理。" if substantiated else "经核查，未发现违规情况。")
    if substantiated and rng.random() < 0.7:
        _reward(rng, lead, history, concluded, staff=staff, now=now)
    closed = concluded + timedelta(days=rng.uniform(3, 20))
    if closed < now and lead.reward_state != "offered":
        _move(lead, history, "closed", closed, staff)


def _open(lead: Row, since: datetime, working_days: int, kind: str, *, calendar: WorkingCalendar, zone: ZoneInfo,
          now: datetime) -> None:
    due = deadline(calendar, since, working_days, zone)
    lead.due_at, lead.due_kind = due, kind
    lead.remind_at = reminder_time(calendar, since, due, RULES.remind_working_days_before, zone)
    if due < now:  # already reminded and escalated when it fell due
        lead.reminded_for = lead.escalated_for = due


def _move(lead: Row, history: History, state: str, at: datetime, staff: str, *, reason: str | None = None) -> None:
    lead.state, lead.updated_at = state, at
    if reason is not None:
        lead.reason = reason
    if state in ("closed", "not_accepted", "substantiated", "unsubstantiated"):
        lead.due_at = lead.due_kind = lead.remind_at = None
    if state == "closed":
        lead.closed_at = at
    history.entries.append(entry(at, staff, f"lead.{state}", "lead", lead.id,
                                  {"number": lead.number, **({"reason": reason} if reason else {})}))


def _reward(rng: random.Random, lead: Row, history: History, at: datetime, *, staff: str, now: datetime) -> None:
    """A reward offered on the conclusion (002 §12(四)); claimed within two months, or lapsed."""
    lead.reward_amount = rng.choice(REWARDS)
    lead.reward_claim_until = (at + timedelta(days=61)).date()
    lead.reward_state = "offered"
    history.entries.append(entry(at, staff, "lead.rewarded", "lead", lead.id,
                                  {"amount": lead.reward_amount, "claim_until": lead.reward_claim_until.isoformat()}))
    claimed = at + timedelta(days=rng.uniform(3, 50))
    if claimed < now and rng.random() < 0.8:
        lead.reward_state = "claimed"
        history.entries.append(entry(claimed, staff, "lead.reward_claimed", "lead", lead.id, {}))
    elif lead.reward_claim_until < now.date():
        lead.reward_state = "lapsed"
        history.entries.append(entry(datetime.combine(lead.reward_claim_until + timedelta(days=1),
                                                       datetime.min.time(), now.tzinfo),
                                      SCHEDULER.label, "lead.reward_lapsed", "lead", lead.id, {}))
    else:  # the reminders already due are done
        left = (lead.reward_claim_until - now.date()).days
        lead.reward_reminders_sent = sum(1 for days in RULES.reward_reminder_days_before if left <= days)


async def change_pool(uow: UnitOfWork, rng: random.Random, history: History, *, expert_ids: list[int],
                      keep: set[int], admin: str) -> None:
    """A few experts removed (000 §23) or gone at their term's end, and a few terms ending in the next 60 days."""
    today = uow.today()
    chosen = rng.sample([i for i in expert_ids if i not in keep], REMOVALS + EXITS + TERMS_ENDING)
    experts = {e.person_id: e for e in (await uow.session.exec(select(Expert).where(
        col(Expert.person_id).in_(chosen)))).all()}
    for index, person_id in enumerate(chosen):
        expert = experts[person_id]
        ended = today - timedelta(days=rng.randrange(20, 330))
        at = datetime.combine(ended, datetime.min.time(), uow.zone) + timedelta(hours=10)
        if index < REMOVALS:
            expert.state, expert.ended_on, expert.barred_until = "removed", ended, ended.replace(year=ended.year + 5)
            expert.end_reason = "无正当理由多次拒不参加活动（000 §23）"
        elif index < REMOVALS + EXITS:
            expert.state, expert.ended_on, expert.end_reason = "exited", ended, "term_end"
            expert.term_start, expert.term_end = ended.replace(year=ended.year - 3), ended
        else:
            expert.term_end = today + timedelta(days=rng.randrange(5, 58))
            expert.term_start = expert.term_end.replace(year=expert.term_end.year - 3)
            continue
        expert.updated_at = at
        uow.session.add(expert)
        history.entries.append(entry(at, admin, f"expert.{expert.state}", "person", person_id,
                                      {"state": expert.state, "reason": expert.end_reason}))


async def publish_excellence(uow: UnitOfWork, history: History, *, units: dict[str, int], admin: str) -> None:
    """Last year's excellent experts of each division (000 §20): the three who attended most, published."""
    year = uow.today().year - 1
    published = datetime.combine(date(year + 1, 1, 15), datetime.min.time(), uow.zone) + timedelta(hours=10)
    pools = dict((await uow.session.exec(select(Expert.person_id, Expert.org_unit_id).where(
        col(Expert.person_id).in_(list(history.attended))))).all())
    names = dict((await uow.session.exec(select(Person.id, Person.name).where(
        col(Person.id).in_(list(history.attended))))).all())
    for unit_id in units.values():
        ranked = sorted((p for p in history.attended if pools.get(p) == unit_id),
                        key=lambda p: (-history.attended[p], p))[:3]
        if not ranked or published >= uow.now():
            continue
        entries: list[dict[str, object]] = [
            {"person_id": p, "points": 2 * history.attended[p], "excellent": 0, "attended": history.attended[p],
             "name": names.get(p, str(p))} for p in ranked]
        found = ExcellenceList(org_unit_id=unit_id, year=year, status="published", entries=entries,
                               created_at=published - timedelta(days=5), published_by=admin, published_at=published)
        uow.session.add(found)
        history.entries.append(entry(published, admin, "excellence.published", "org_unit", unit_id,
                                      {"year": year, "entries": ranked}))


__all__ = ["add_leads", "change_pool", "publish_excellence"]
