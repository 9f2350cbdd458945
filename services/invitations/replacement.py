"""Closing a slot and replacing it by the next backup that still qualifies (000 §19, §15, §18(三)); staff get a
shortfall alert with a one-tap top-up when none is left (001 §11(二))."""

from __future__ import annotations

from sqlmodel import col, select

from services.activities.activities import ActivityView
from services.activities.candidates import load_candidates, spec_of
from services.activities.draw_rules import exclusions
from services.invitations import keyboards
from services.invitations.invite import invite
from services.invitations.roster import update_roster
from services.invitations.slots import (
    OPEN,
    _activity,
    _audit,
    _edit_commitment,
    _edit_invitation,
    _facts,
    _name,
    _staff,
)
from services.invitations.unreached import alert_to_call
from services.platform import notify, policy
from storage.activities import ActivityMember, ActivityRequirement
from storage.models import Expert
from storage.uow import UnitOfWork


def _detail(reason: str, text: str | None) -> dict[str, str]:
    """What follows the reason in the staff alert: the expert's own words, or, for a slot closed by a reschedule,
    the rule the new dates break (stored as its exclusion code, shown in words)."""
    if not text:
        return {"detail_key": "invite.staff.no_detail"}
    if reason == "reschedule_conflict":
        return {"detail_key": "invite.staff.reason_rule", "rule_key": f"draw.reason.{text}"}
    return {"detail_key": "invite.staff.reason_detail", "text": text}


async def _close(uow: UnitOfWork, member: ActivityMember, status: str, reason: str, *, actor: str,
                 text: str = "", channel: str | None = None) -> None:
    """Close an open slot, tell who needs to know, and invite the next backup (no commit). ``channel``: how the
    answer came when not by the expert's own press ("phone": recorded by staff, issue 13)."""
    info = await _activity(uow, member.activity_id)
    zone = uow.zone
    was = member.status
    member.status = status
    member.answered_at = uow.now()
    member.reason = reason
    member.reason_text = " ".join(text.split())[:500] or None
    member.due_at = None
    uow.session.add(member)
    await _audit(uow, actor, status, member, reason=reason, text=member.reason_text, was=was,
                 **({"channel": channel} if channel else {}))
    if status in ("declined", "recused", "expired", "withdrawn"):
        await _edit_invitation(uow, member, "invite.answered",
                               {**_facts(info, zone), "answer_key": f"invite.answer.{status}"})
    if was == "accepted":  # the commitment's Sign / Refuse go too (issue 13)
        await _edit_commitment(uow, member, {**_facts(info, zone), "answer_key": f"invite.answer.{status}"})
    if status == "cancelled":
        await _edit_invitation(uow, member, "invite.answered",
                               {**_facts(info, zone), "answer_key": "invite.answer.cancelled"})
        await notify.to_person(uow, person_id=member.person_id, key="invite.cancelled_to_expert",
                               params=_facts(info, zone))
    name = await _name(uow, member.person_id)
    await _staff(uow, info, "invite.staff.slot_closed",
                 {**_facts(info, zone), "name": name, "person_id": member.person_id,
                  "status_key": f"invite.status.{status}", "reason_key": f"invite.reason.{reason}",
                  **_detail(reason, member.reason_text)})
    if was in OPEN:
        await replace(uow, member, info)
    await update_roster(uow, info)


async def _holders(uow: UnitOfWork, activity_id: int) -> list[tuple[ActivityMember, int | None, str]]:
    rows = await uow.session.exec(
        select(ActivityMember, Expert.employer_id, ActivityRequirement.category)
        .join(Expert, col(Expert.person_id) == ActivityMember.person_id)
        .join(ActivityRequirement, col(ActivityRequirement.id) == ActivityMember.requirement_id)
        .where(ActivityMember.activity_id == activity_id, col(ActivityMember.status).in_(OPEN)))
    return [(m, employer, category) for m, employer, category in rows.all()]


async def replace(uow: UnitOfWork, closed: ActivityMember, info: ActivityView) -> ActivityMember | None:
    """Invite the next backup of the closed slot's requirement that still qualifies now (000 §19, §15, §18(三));
    pass over the others with the reason; alert staff with a top-up button when none is left. No commit."""
    activity = info.activity
    if activity.roster_closed_at is not None or activity.starts_at <= uow.now():
        return None
    requirement = next(r for r in info.requirements if r.id == closed.requirement_id)
    backups = (await uow.session.exec(select(ActivityMember).where(
        ActivityMember.activity_id == activity.id, ActivityMember.requirement_id == requirement.id,
        ActivityMember.role == "backup", ActivityMember.status == "drawn")
        .order_by(col(ActivityMember.position)))).all()
    spec = spec_of(info, uow.zone)
    settings = policy.current().draw
    holders = await _holders(uow, activity.id or 0)
    taken = {(employer, category) for m, employer, category in holders if employer is not None}
    for backup in backups:
        facts = (await load_candidates(uow, [backup.person_id], spec, settings, activity.id)).get(backup.person_id)
        problems = [e.code.value for e in exclusions(facts, spec, settings)] if facts is not None else ["not_active"]
        if facts is not None and facts.employer_id is not None and (facts.employer_id, requirement.category) in taken:
            problems.append("same_employer_field")
        if problems:
            backup.status = "passed_over"
            backup.reason = problems[0]
            uow.session.add(backup)
            await _audit(uow, "system:replace", "passed_over", backup, reasons=problems)
            continue
        if not await invite(uow, backup, info):
            await alert_to_call(uow, info, [backup])
        await _staff(uow, info, "invite.staff.backup_invited",
                     {**_facts(info, uow.zone), "name": await _name(uow, backup.person_id),
                      "person_id": backup.person_id, "position": backup.position,
                      "replaced": await _name(uow, closed.person_id)})
        return backup
    await _staff(uow, info, "invite.staff.backups_exhausted",
                 {**_facts(info, uow.zone), "position": requirement.position,
                  "category_key": f"category.{requirement.category}"},
                 buttons=keyboards.top_up(activity.id or 0, requirement.id or 0))
    return None
