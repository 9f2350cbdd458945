"""The expert's answers: accept, decline, recuse, sign or refuse the commitment (000 §14, §15; 001 §17, §19).
Each is checked against the presser and the slot's state, in a transaction that locks the row."""

from __future__ import annotations

from datetime import datetime

from services.activities.activities import ActivityView
from services.invitations import commitment, keyboards
from services.invitations.replacement import _close
from services.invitations.roster import roster_drafts
from services.invitations.slots import (
    DECLINE_REASONS,
    INTEREST_KIND,
    RECUSAL_GROUNDS,
    Standing,
    _activity,
    _audit,
    _facts,
    _invitation_drafts,
    _local,
    _may_serve,
    _name,
    _own,
    _refused,
    _slot,
    _slot_and_view,
    _staff,
    expiry_reason,
)
from services.platform import notify, policy
from services.platform.roles import Actor
from storage.activities import ActivityMember
from storage.pool import ExpertInterest
from storage.uow import UnitOfWork


def _still_open(info: ActivityView, now: datetime) -> None:
    """The slot's states are final once the activity has started or its roster is closed: no answer and no
    commitment is taken after that (issue 13)."""
    activity = info.activity
    if activity.roster_closed_at is not None or now >= activity.starts_at:
        raise _refused("closed")


async def _open_slot(uow: UnitOfWork, actor: Actor, member_id: int) -> tuple[ActivityMember, ActivityView]:
    """The actor's own slot, locked, and its activity, refused once the activity is closed."""
    member = await _slot(uow, member_id)
    _own(member, actor)
    info = await _activity(uow, member.activity_id)
    _still_open(info, uow.now())
    return member, info


async def _serving_slot(uow: UnitOfWork, actor: Actor, member_id: int) -> tuple[ActivityMember, ActivityView, Standing]:
    """The actor's own slot, locked, refused once the activity is closed or when the expert may no longer serve
    (pool state checked at every step, issue 13); its activity as an answer shows it
    (:func:`~services.invitations.slots._slot_and_view`: no requirements, no recusals), and the expert's name and
    language. Two statements (issue 21)."""
    member, info = await _slot_and_view(uow, member_id)
    _own(member, actor)
    _still_open(info, uow.now())
    return member, info, await _may_serve(uow, member, info.activity)


async def _expire_if_late(uow: UnitOfWork, member: ActivityMember) -> None:
    if member.status == "invited" and member.respond_by is not None and uow.now() >= member.respond_by:
        await _close(uow, member, "expired", expiry_reason(member), actor="system:deadline")
        await uow.commit()
        raise _refused("expired")


def _invited(member: ActivityMember) -> None:
    """Refuse an answer to a slot that is no longer invited, saying why (issue 13): the deadline passed, it was
    already answered, it was cancelled; anything else (a backup not invited, a stray button) is stale."""
    if member.status == "invited":
        return
    if member.status == "expired":
        raise _refused("expired")
    if member.status == "cancelled":
        raise _refused("cancelled")
    raise _refused("answered" if member.status in ANSWERED else "stale")


ANSWERED = ("accepted", "signed", "declined", "recused", "refused", "withdrawn")


async def accept(uow: UnitOfWork, *, actor: Actor, member_id: int) -> ActivityMember:
    """Accept the invitation; the commitment follows (000 §14). Everything is read before the slot changes, so
    the slot is written once, at commit, and the answer's messages (the invitation's edit, the commitment, the
    roster's edits) in one INSERT (issue 21: seven statements in all, from twelve)."""
    member, info, standing = await _serving_slot(uow, actor, member_id)
    await _expire_if_late(uow, member)
    _invited(member)
    now, zone, start = uow.now(), uow.zone, info.activity.starts_at
    drafts = await _invitation_drafts(uow, member, "invite.answered",
                                      {**_facts(info, zone), "answer_key": "invite.answer.accepted"},
                                      buttons=keyboards.assignment(member_id))
    text = commitment.render(name=standing.name, title=info.activity.title, start=_local(start, zone),
                             end=_local(info.activity.ends_at, zone), place=info.activity.place)
    drafts.append(notify.person_draft(person_id=member.person_id, key="invite.commitment", params={"text": text},
                                      buttons=keyboards.commitment(member_id), language=standing.language))
    member.status = "accepted"
    member.answered_at = now
    member.due_at = max(now, start - policy.current().chase.sign_reminder_before)
    with uow.session.no_autoflush:  # the slot is written once, with the commitment's id (the roster, if it is
        drafts.extend(await roster_drafts(uow, [info]))  # sent now, shows the slot as it stands in memory)
        written = await notify.queue_many_ids(uow, drafts)
    member.commitment_message_id = written["invite.commitment"][0]
    uow.session.add(member)
    await _audit(uow, actor.label, "accepted", member)
    await uow.commit()
    return member


async def decline(uow: UnitOfWork, *, actor: Actor, member_id: int, reason: str, text: str = "") -> ActivityMember:
    """Decline with a reason: busy, outside my field (001 §19(四)), health, other (free text)."""
    if reason not in DECLINE_REASONS:
        raise _refused("stale")
    member, _ = await _open_slot(uow, actor, member_id)
    await _expire_if_late(uow, member)
    _invited(member)
    await _close(uow, member, "declined", reason, actor=actor.label, text=text)
    await uow.commit()
    return member


async def recuse(uow: UnitOfWork, *, actor: Actor, member_id: int, ground: str, text: str = "") -> ActivityMember:
    """Declare a recusal ground (000 §15, 001 §17). It is also recorded as a declared interest in the activity's
    institutions, so future draws concerning them exclude the expert."""
    if ground not in RECUSAL_GROUNDS:
        raise _refused("stale")
    member, info = await _open_slot(uow, actor, member_id)
    if member.status not in ("invited", "accepted", "signed"):
        _invited(member)
    today = uow.today()
    for institution in info.institutions:
        assert institution.id is not None
        note = (text or f"回避：活动 {info.activity.id}")[:500]
        uow.session.add(ExpertInterest(expert_id=member.person_id, institution_id=institution.id,
                                       kind=INTEREST_KIND[ground], note=note, declared_on=today,
                                       declared_at=uow.now()))
    await _close(uow, member, "recused", ground, actor=actor.label, text=text)
    await uow.commit()
    return member


async def sign(uow: UnitOfWork, *, actor: Actor, member_id: int) -> ActivityMember:
    """Sign the commitment (000 §14): time, the exact text's SHA-256 and the message, once per activity."""
    member, info, standing = await _serving_slot(uow, actor, member_id)
    if member.status != "accepted":
        if member.status == "signed":
            raise _refused("signed")
        _invited(member)
        raise _refused("stale")
    zone = uow.zone
    text = commitment.render(name=standing.name, title=info.activity.title,
                             start=_local(info.activity.starts_at, zone), end=_local(info.activity.ends_at, zone),
                             place=info.activity.place)
    member.status = "signed"
    member.signed_at = uow.now()
    member.commitment_hash = commitment.text_hash(text)
    member.due_at = info.activity.starts_at  # the sweep takes Withdraw / Declare a conflict away at the start
    uow.session.add(member)
    drafts: list[notify.Draft] = []
    if member.commitment_message_id is not None:  # outbox rows are never deleted: no need to read it
        drafts.append(notify.edit_draft(original_id=member.commitment_message_id, key="invite.signed",
                                        params={"text": text, "at": _local(member.signed_at, zone)}))
    drafts.extend(await roster_drafts(uow, [info]))  # the commitment's edit and the roster's in one INSERT
    await notify.queue_many(uow, drafts)
    await _audit(uow, actor.label, "signed", member, commitment_hash=member.commitment_hash,
                 version=commitment.VERSION, message_id=member.commitment_message_id)
    await uow.commit()
    return member


async def refuse_commitment(uow: UnitOfWork, *, actor: Actor, member_id: int) -> ActivityMember:
    """Refuse to sign (confirmed by the expert): the slot closes and staff are asked to confirm removal from the
    pool (000 §14: "拒绝签署的，予以解聘出库")."""
    member, info = await _open_slot(uow, actor, member_id)
    if member.status != "accepted":
        raise _refused("stale")
    await _close(uow, member, "refused", "commitment_refused", actor=actor.label)
    member.removal_message_ids = await _staff(
        uow, info, "invite.staff.removal_proposed",
        {**_facts(info, uow.zone), "name": await _name(uow, member.person_id), "person_id": member.person_id},
        buttons=keyboards.removal(member_id))
    uow.session.add(member)
    await uow.commit()
    return member
