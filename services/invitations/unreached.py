"""Experts the bot cannot reach (issue 13; 000 §19: notice "by phone, text message or other means"): an
invitation that cannot be delivered (no bound account, the bot blocked, the chat gone) is never dropped. The slot
stays ``invited`` with ``contact = "phone"`` and the same deadline; staff of the organizing unit get one alert per
activity listing whom to call (name, mobile, deadline, slot) and record the answer with ``/answer``
(:mod:`services.invitations.by_phone`). Such a slot gets no chat reminders and, if it expires, its reason is
``unreachable``, which is not a ``no_response`` in the credit file (:func:`services.records.credit.sweep_slots`).
When the expert binds an account later, their open invitations are delivered at once (:func:`deliver_on_bind`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from services.activities.activities import ActivityView
from services.invitations import keyboards
from services.invitations.slots import _activity, _audit, _facts, _local, _staff
from services.people.accounts import Binding, redeem_invite
from services.platform import notify
from storage.activities import Activity, ActivityMember
from storage.models import Expert, OutboxMessage, Person
from storage.uow import UnitOfWork, UnitOfWorkFactory

PHONE = "phone"


async def reachable(uow: UnitOfWork, person_id: int) -> bool:
    """Whether the person has a bound account the bot can write to."""
    chats = await uow.accounts.active_chats_of_people([person_id])
    return any(channel == notify.TELEGRAM for (_, channel) in chats)


async def unbound_in_pool(uow: UnitOfWork) -> int:
    """How many active experts have no bound account (shown to the approver of a draw: drawn, they are called)."""
    from sqlalchemy import func

    from storage.models import Account

    bound = select(Account.person_id).where(col(Account.unbound_at).is_(None), Account.channel == notify.TELEGRAM)
    count = (await uow.session.exec(select(func.count()).select_from(Expert).where(
        Expert.state == "active", col(Expert.person_id).not_in(bound)))).one()
    return int(count)


async def mark_unreached(uow: UnitOfWork, member: ActivityMember, why: str) -> None:
    """The slot is to be answered by phone: no chat reminders, the deadline unchanged (no commit)."""
    member.contact = PHONE
    member.due_at = member.respond_by if member.status == "invited" else member.due_at
    uow.session.add(member)
    await _audit(uow, "system:invite", "unreachable", member, why=why)


async def alert_to_call(uow: UnitOfWork, info: ActivityView, members: Sequence[ActivityMember]) -> None:
    """One alert to the organizing unit's staff listing whom to call: name, mobile, deadline, slot (no commit)."""
    if not members:
        return
    lines = []
    for member in members:
        person = await uow.session.get(Person, member.person_id)
        expert = await uow.session.get(Expert, member.person_id)
        deadline = _local(member.respond_by, uow.zone) if member.respond_by is not None else "—"
        lines.append(f"· {person.name if person else member.person_id}（#{member.person_id}）"
                     f"☎ {(expert.mobile if expert else None) or '—'} · {deadline} · /answer {member.id}")
    await _staff(uow, info, "invite.staff.to_call",
                 {**_facts(info, uow.zone), "count": len(members), "lines": "\n".join(lines)})


async def mark_undelivered(uow_factory: UnitOfWorkFactory) -> int:
    """Invited slots whose invitation the Bot API refused (blocked, chat gone) or the outbox skipped (the account
    was unbound meanwhile) go to "contact by phone", one staff alert per activity. Run by the chasing sweep."""
    marked = 0
    async with uow_factory() as uow:
        rows = (await uow.session.exec(
            select(ActivityMember, OutboxMessage.last_error)
            .join(OutboxMessage, col(OutboxMessage.id) == ActivityMember.invitation_message_id)
            .join(Activity, col(Activity.id) == ActivityMember.activity_id)
            .where(ActivityMember.status == "invited", col(ActivityMember.contact).is_(None),
                   col(OutboxMessage.status).in_(("failed", "skipped")), col(Activity.starts_at) > uow.now())
            .order_by(col(ActivityMember.id)).limit(200))).all()
        by_activity: dict[int, list[ActivityMember]] = {}
        for member, error in rows:
            await mark_unreached(uow, member, (error or "undelivered")[:200])
            by_activity.setdefault(member.activity_id, []).append(member)
            marked += 1
        for activity_id, members in by_activity.items():
            await alert_to_call(uow, await _activity(uow, activity_id), members)
        await uow.commit()
    return marked


async def deliver_on_bind(uow: UnitOfWork, person_id: int) -> int:
    """The expert has just bound an account: send their open invitations that could not be delivered, with the
    same deadline (no commit). Returns how many."""
    rows = (await uow.session.exec(
        select(ActivityMember).join(Activity, col(Activity.id) == ActivityMember.activity_id)
        .where(ActivityMember.person_id == person_id, ActivityMember.status == "invited",
               ActivityMember.contact == PHONE, col(Activity.starts_at) > uow.now())
        .order_by(col(ActivityMember.id)))).all()
    for member in rows:
        info = await _activity(uow, member.activity_id)
        respond_by = member.respond_by or info.activity.starts_at
        params = {**_facts(info, uow.zone), "respond_by": _local(respond_by, uow.zone),
                  "role_key": f"invite.role.{member.role}"}
        sent = await notify.to_person(uow, person_id=person_id, key="invite.invitation", params=params,
                                      buttons=keyboards.answers(member.id or 0))
        member.invitation_message_id = sent.id
        member.contact = None
        uow.session.add(member)
        await _audit(uow, "system:invite", "delivered_on_bind", member)
    return len(rows)


async def bind_account(uow: UnitOfWork, *, channel: str, external_user_id: str, chat_id: str, code: str,
                       language: str | None = None) -> Binding:
    """Redeem an invite code (:func:`services.people.accounts.redeem_invite`), then deliver at once the open
    invitations that were waiting for the account (issue 13). Commits."""
    binding = await redeem_invite(uow, channel=channel, external_user_id=external_user_id, chat_id=chat_id,
                                  code=code, language=language)
    if await deliver_on_bind(uow, binding.person_id):
        await uow.commit()
    return binding
