"""End to end through the emulator, with the clock advanced by the test: invitations, answers, the commitment,
replacement by backups in order, chasing (reminders, expiry), shortfall and top-up, removal proposal, required
recusal, foreign and stale presses, the live roster, and an API outage (issue: invitations and chasing;
000 §14, §15, §19; 001 §17, §19)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from bot.emulator import BotApiEmulator, SentMessage, buttons
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.invitations import invitations
from services.people import accounts
from services.platform import audit
from services.platform.errors import AnswerRefused
from services.platform.roles import SYSTEM_CLI
from storage.activities import Activity, ActivityMember
from storage.models import AuditEntry, Expert, OutboxMessage, Person
from storage.pool import ExpertInterest
from tests.builders import Org, add_institutions, add_pool, build_org, staff_actor
from tests.e2e.harness import BotHarness
from tests.e2e.harness import running_bot as _running_bot
from tests.e2e.talk import FAST, emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator

ADMIN = 500


@dataclass
class World:
    bot: BotHarness
    emulator: BotApiEmulator
    org: Org
    users: dict[int, int]  # person id -> user id
    activity_id: int
    seen: dict[int, int] = field(default_factory=dict)  # person id -> invitation message id

    def user_of(self, person_id: int) -> int:
        return self.users[person_id]

    async def slots(self) -> list[ActivityMember]:
        async with self.bot.uow() as u:
            return list((await u.session.exec(select(ActivityMember).where(
                ActivityMember.activity_id == self.activity_id).order_by(col(ActivityMember.id)))).all())

    async def slot_of(self, person_id: int) -> ActivityMember:
        return next(m for m in await self.slots() if m.person_id == person_id)

    async def invitation(self, person_id: int) -> SentMessage:
        """The invitation message (the first one: later it is edited to show the answer)."""
        user = self.user_of(person_id)
        if person_id not in self.seen:
            await self.emulator.wait_for(lambda: any("专家邀请" in (m.text or "")
                                                     for m in self.emulator.messages(user)))
            self.seen[person_id] = next(m.message_id for m in self.emulator.messages(user)
                                        if "专家邀请" in (m.text or ""))
        return self._fresh(user, self.seen[person_id])

    async def press(self, person_id: int, message: SentMessage, data: str) -> str:
        update = await self.emulator.user(self.user_of(person_id)).press(message.message_id, data)
        query_id = update["callback_query"]["id"]
        await self.emulator.wait_for(lambda: query_id in self.emulator.callback_answers)
        return str(self.emulator.callback_answers[query_id].get("text") or "")

    async def button(self, person_id: int, message: SentMessage, prefix: str) -> str:
        fresh = next(m for m in self.emulator.messages(self.user_of(person_id)) if m.message_id == message.message_id)
        data = next(d for row in buttons(fresh) for _, d in row if d.startswith(prefix))
        return await self.press(person_id, fresh, data)

    async def accept_and_sign(self, person_id: int) -> None:
        invitation = await self.invitation(person_id)
        slot = (await self.slot_of(person_id)).id
        await self.press(person_id, invitation, f"inv:a:{slot}")
        user = self.user_of(person_id)
        await self.emulator.wait_for(lambda: any("承诺书" in (m.text or "") for m in self.emulator.messages(user)))
        paper = next(m for m in self.emulator.messages(user) if "承诺书" in (m.text or ""))
        await self.press(person_id, paper, f"inv:s:{slot}")
        await self.emulator.wait_for(lambda: "已于" in (self._fresh(user, paper.message_id).text or ""))

    def _fresh(self, user: int, message_id: int) -> SentMessage:
        return next(m for m in self.emulator.messages(user) if m.message_id == message_id)

    async def status(self, person_id: int) -> str:
        return (await self.slot_of(person_id)).status

    def staff_texts(self) -> list[str]:
        return [m.text or "" for m in self.emulator.messages(ADMIN)]


async def _daytime(bot: BotHarness) -> None:
    """Move the clock to 09:00 Shanghai (01:00 UTC) of a coming day, so reminders are not in quiet hours."""
    now = bot.clock.now()
    target = datetime(now.year, now.month, now.day, 1, 0, tzinfo=UTC) + timedelta(days=1)
    bot.clock.advance(target - now)


async def _world(bot: BotHarness, emulator: BotApiEmulator, *, principals: int = 3, backups: int = 3,
                 pool: int = 6, inspected: bool = True) -> World:
    bot.running.scheduler.pause()  # the test runs the sweep itself, after moving the clock
    await _daytime(bot)
    org = await build_org(bot.uow)
    institutions = await add_institutions(bot.uow, ["被检查医院"]) if inspected else []
    people = await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}"} for i in range(pool)])
    users: dict[int, int] = {}
    for n, person_id in enumerate([org.admin_id, *people]):
        user = ADMIN if person_id == org.admin_id else 600 + n
        role = "staff" if person_id == org.admin_id else "expert"
        async with bot.uow() as u:
            issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
        await emulator.user(user, language_code="zh").send_command("/start", issued.code)
        await emulator.wait_for_messages(user, 1)
        users[person_id] = user
    admin = staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with bot.uow() as u:
        await draws.set_approval(u, actor=admin, org="bureau", enabled=False)
    async with bot.uow() as u:
        start = u.now() + timedelta(days=10)
        activity = await activities.create_activity(u, actor=admin, data=ActivityInput(
            org="bureau", kind="routine_inspection", title="定点医院日常检查", starts_at=start,
            ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
            requirements=(RequirementInput("supervision", principals, backups),),
            institution_ids=tuple(institutions), allow_even_group=principals % 2 == 0,
            even_group_reason="测试" if principals % 2 == 0 else None))
    assert activity.id is not None
    async with bot.uow() as u:
        await draws.file_request(u, actor=admin, activity_id=activity.id)
    return World(bot, emulator, org, users, activity.id)


def running_bot(emulator: BotApiEmulator, database_url: str) -> Any:
    return _running_bot(emulator, database_url, **FAST)


async def _principals(world: World) -> list[int]:
    return [m.person_id for m in await world.slots() if m.role == "principal"]


async def _backups(world: World) -> list[int]:
    return [m.person_id for m in sorted(await world.slots(), key=lambda m: m.position) if m.role == "backup"]


async def test_a_full_group_confirms_and_signs_declines_and_recusals_go_to_the_next_backups_in_order(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator)
        p1, p2, p3 = await _principals(world)
        b1, b2, b3 = await _backups(world)
        for person in (p1, p2, p3):
            invitation = await world.invitation(person)
            assert "定点医院日常检查" in (invitation.text or "") and "被检查医院" in (invitation.text or "")
        assert not any("专家邀请" in (m.text or "") for m in emulator.messages(world.user_of(b1)))  # not yet told

        await world.accept_and_sign(p1)
        signed = await world.slot_of(p1)
        assert signed.signed_at is not None and len(signed.commitment_hash or "") == 64

        # decline (busy) → backup 1; recusal (worked there) → backup 2, recorded as a declared interest
        slot2 = (await world.slot_of(p2)).id
        invitation2 = await world.invitation(p2)
        await world.press(p2, invitation2, f"inv:d:{slot2}")
        await world.press(p2, invitation2, f"inv:dr:{slot2}:busy")
        await world.invitation(b1)
        slot3 = (await world.slot_of(p3)).id
        invitation3 = await world.invitation(p3)
        await world.press(p3, invitation3, f"inv:r:{slot3}")
        await world.press(p3, invitation3, f"inv:rg:{slot3}:worked")
        await world.invitation(b2)
        assert not any("专家邀请" in (m.text or "") for m in emulator.messages(world.user_of(b3)))
        async with bot.uow() as u:
            declared = (await u.session.exec(select(ExpertInterest).where(ExpertInterest.expert_id == p3))).all()
        assert [d.kind for d in declared] == ["worked"]

        # a foreign press (someone else's slot) and a press on a slot already answered change nothing
        slot_b1 = (await world.slot_of(b1)).id
        foreign = await world.press(p1, await world.invitation(p1), f"inv:a:{slot_b1}")
        assert foreign == zh("invite.refused_reason.foreign")
        answered = await world.press(p2, invitation2, f"inv:a:{slot2}")
        assert answered == zh("invite.refused_reason.answered")  # says why (issue 13)
        assert await world.status(b1) == "invited" and await world.status(p2) == "declined"

        await world.accept_and_sign(b1)
        await world.accept_and_sign(b2)
        assert [await world.status(p) for p in (p1, b1, b2)] == ["signed"] * 3

        # the invitation messages were edited in place, buttons gone
        closed2 = world._fresh(world.user_of(p2), invitation2.message_id)
        assert closed2.reply_markup is None and "已拒绝" in (closed2.text or "")
        # staff were told, and the one roster message shows every slot's state
        await emulator.wait_for(lambda: any("时间冲突" in t for t in world.staff_texts())
                                and any("两年内在被检查机构任职" in t for t in world.staff_texts()))
        rosters = [m for m in emulator.messages(ADMIN) if "名单" in (m.text or "") and "席位#" in (m.text or "")]
        assert len(rosters) == 1

        def roster_done() -> bool:
            text = world._fresh(ADMIN, rosters[0].message_id).text or ""
            return text.count("已签署") == 3 and "已拒绝" in text and "已回避" in text

        await emulator.wait_for(roster_done)

        await emulator.user(ADMIN).send_command("/activity", str(world.activity_id))
        await emulator.wait_for(lambda: "名单：" in (world.staff_texts()[-1]))
        assert world.staff_texts()[-1].count("已签署") == 3


async def test_silence_is_reminded_then_expires_the_backup_is_invited_and_when_backups_run_out_staff_top_up(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=2, backups=1, pool=3, inspected=False)
        p1, p2 = await _principals(world)
        (b1,) = await _backups(world)
        await world.invitation(p1)
        bot.clock.advance(timedelta(hours=2, minutes=1))
        report = await invitations.sweep(bot.uow)
        assert report.reminded == 2
        user1 = world.user_of(p1)
        await emulator.wait_for(lambda: any("提醒" in (m.text or "") for m in emulator.messages(user1)))
        bot.clock.advance(timedelta(hours=4))
        assert (await invitations.sweep(bot.uow)).reminded == 2
        assert (await invitations.sweep(bot.uow)).reminded == 0  # nothing due twice
        await world.accept_and_sign(p2)

        await add_pool(bot.uow, world.org.bureau_id, [{"name": "新入库专家"}])  # for the top-up
        bot.clock.advance(timedelta(days=8))  # past the response deadline (start - 2 days), before the start
        report = await invitations.sweep(bot.uow)
        assert report.expired == 1
        assert await world.status(p1) == "expired" and await world.status(b1) == "invited"
        await emulator.wait_for(lambda: any("未在期限内答复" in t for t in world.staff_texts()))

        # the backup stays silent too: expired, no backup left → shortfall alert with a top-up button
        bot.clock.advance(timedelta(days=1, hours=1))
        assert (await invitations.sweep(bot.uow)).expired == 1
        await emulator.wait_for(lambda: any("备选已用完" in t for t in world.staff_texts()))
        alert = next(m for m in emulator.messages(ADMIN) if "备选已用完" in (m.text or ""))
        (top_up,), = buttons(alert)
        await world.press(world.org.admin_id, alert, top_up[1])
        slots = await world.slots()
        new = [m for m in slots if m.person_id not in (p1, p2, b1)]
        assert len(new) == 1 and new[0].status == "invited" and new[0].role == "principal"


async def test_one_sweep_reminds_every_due_slot_and_edits_the_activity_roster_once(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4, inspected=False)
        principals = await _principals(world)
        for person in principals:
            await world.invitation(person)
        async with bot.uow() as u:
            before = (await u.session.exec(select(func.max(OutboxMessage.id)))).one() or 0
            activity = await u.session.get(Activity, world.activity_id)
            assert activity is not None and activity.roster_messages
            roster_messages = len(activity.roster_messages)
        bot.clock.advance(timedelta(hours=2, minutes=1))
        report = await invitations.sweep(bot.uow)
        assert report.reminded == 3 and report.expired == 0
        async with bot.uow() as u:
            written = Counter((key, kind) for key, kind in (await u.session.exec(
                select(OutboxMessage.message_key, OutboxMessage.kind).where(OutboxMessage.id > before))).all())
            reminded = (await u.session.exec(select(AuditEntry).where(
                AuditEntry.action == "invitation.reminded"))).all()
            assert (await audit.verify_chain(u)).ok
        assert written == {("invite.reminder", "send"): 3, ("invite.roster.message", "edit"): roster_messages}
        slots = {m.id: m for m in await world.slots() if m.person_id in principals}
        assert sorted(int(e.object_id) for e in reminded) == sorted(slots)
        assert all(m.reminders_sent == 1 and m.due_at is not None and m.due_at > bot.clock.now()
                   for m in slots.values())
        assert (await invitations.sweep(bot.uow)).reminded == 0  # nothing is due twice
        for person in principals:
            user = world.user_of(person)
            await emulator.wait_for(lambda u=user: any("提醒" in (m.text or "") for m in emulator.messages(u)))


async def test_refusing_the_commitment_proposes_removal_and_staff_confirm_it(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4)
        p1 = (await _principals(world))[0]
        slot = (await world.slot_of(p1)).id
        await world.press(p1, await world.invitation(p1), f"inv:a:{slot}")
        user = world.user_of(p1)
        await emulator.wait_for(lambda: any("承诺书" in (m.text or "") for m in emulator.messages(user)))
        paper = next(m for m in emulator.messages(user) if "承诺书" in (m.text or ""))
        warning = await world.press(p1, paper, f"inv:x:{slot}")
        assert warning == zh("invite.confirm_refusal")
        assert await world.status(p1) == "accepted"  # nothing happens before the confirmation
        await world.press(p1, paper, f"inv:xx:{slot}")
        assert await world.status(p1) == "refused"
        await emulator.wait_for(lambda: any("建议解聘出库" in t for t in world.staff_texts()))
        proposal = next(m for m in emulator.messages(ADMIN) if "建议解聘出库" in (m.text or ""))
        (remove,), = buttons(proposal)
        # irreversible: the first press shows the name and the consequence and asks again (issue 13)
        await world.press(world.org.admin_id, proposal, remove[1])
        await emulator.wait_for(lambda: "五年内不得再聘任" in (world._fresh(ADMIN, proposal.message_id).text or ""))
        asked = world._fresh(ADMIN, proposal.message_id)
        (really,), _ = buttons(asked)
        async with bot.uow() as u:
            expert = await u.session.get(Expert, p1)
            person = await u.session.get(Person, p1)
        assert expert is not None and expert.state == "active" and person is not None  # not yet
        assert person.name in really[0] and person.name in (asked.text or "")
        assert await world.press(world.org.admin_id, asked, really[1]) == zh(
            "invite.removal_done", person_id=p1, name=person.name)
        async with bot.uow() as u:
            expert = await u.session.get(Expert, p1)
        assert expert is not None and expert.state == "removed"
        await emulator.wait_for(lambda: "已由 王管理" in (world._fresh(ADMIN, proposal.message_id).text or ""))
        assert world._fresh(ADMIN, proposal.message_id).reply_markup is None


async def test_staff_require_a_recusal_the_expert_is_told_and_the_backup_invited(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=1, pool=4)
        p1 = (await _principals(world))[0]
        (b1,) = await _backups(world)
        slot = (await world.slot_of(p1)).id
        await world.invitation(p1)
        await emulator.user(ADMIN).send_command("/requirerecusal", f"{slot} 与被检查医院存在诉讼")
        await world.invitation(b1)
        assert await world.status(p1) == "cancelled"
        user = world.user_of(p1)
        await emulator.wait_for(lambda: any("已由工作人员取消" in (m.text or "") for m in emulator.messages(user)))
        async with bot.uow() as u:
            info = await activities.view(u, actor=staff_actor(world.org.admin_id, world.org.bureau_id),
                                         activity_id=world.activity_id)
        assert [r.expert_id for r in info.recusals] == [p1]


async def test_invitations_and_reminders_sent_during_an_outage_arrive_afterwards(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        await _daytime(bot)
        emulator.fail_for(1.5, "5xx")
        world = await _world(bot, emulator, principals=3, backups=0, pool=3, inspected=False)
        for person in await _principals(world):
            await emulator.wait_for_messages(world.user_of(person), 2, timeout=20)  # welcome, invitation
        bot.clock.advance(timedelta(hours=2, minutes=1))
        emulator.fail_for(1.5, "5xx")
        assert (await invitations.sweep(bot.uow)).reminded == 3
        for person in await _principals(world):
            user = world.user_of(person)
            await emulator.wait_for(lambda u=user: any("提醒" in (m.text or "") for m in emulator.messages(u)),
                                    timeout=20)


async def test_a_press_racing_the_expiry_has_exactly_one_outcome(emulator: BotApiEmulator,
                                                                  database_url: str) -> None:
    import asyncio

    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=2, pool=5, inspected=False)
        p1 = (await _principals(world))[0]
        slot = await world.slot_of(p1)
        assert slot.respond_by is not None and slot.id is not None
        bot.clock.advance(slot.respond_by - bot.clock.now())  # exactly at the deadline
        actor = await _expert_actor(bot, p1)

        async def press() -> str:
            try:
                async with bot.uow() as u:
                    await invitations.accept(u, actor=actor, member_id=slot.id or 0)
                return "accepted"
            except AnswerRefused as refused:
                return refused.detail

        outcome, _ = await asyncio.gather(press(), invitations.sweep(bot.uow))
        assert outcome in ("expired", "stale")
        async with bot.uow() as u:
            expired = (await u.session.exec(select(AuditEntry).where(
                AuditEntry.action == "invitation.expired", AuditEntry.object_id == str(slot.id)))).all()
        assert len(expired) == 1
        invited_backups = [m for m in await world.slots() if m.role == "backup" and m.status == "invited"]
        assert len(invited_backups) >= 1


async def _expert_actor(bot: BotHarness, person_id: int) -> Any:
    from services.platform.roles import Actor, Role

    return Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.EXPERT}))


async def test_other_reasons_are_typed_and_cancel_drops_the_question(emulator: BotApiEmulator,
                                                                       database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, principals=3, backups=2, pool=5, inspected=False)
        p1, p2, _ = await _principals(world)
        slot1 = (await world.slot_of(p1)).id
        invitation = await world.invitation(p1)
        await world.press(p1, invitation, f"inv:d:{slot1}")
        await world.press(p1, invitation, f"inv:dr:{slot1}:other")
        user1 = world.user_of(p1)
        await emulator.wait_for(lambda: emulator.messages(user1)[-1].text == zh("invite.ask_text"))
        await emulator.user(user1).send_command("/cancel")
        await emulator.wait_for(lambda: emulator.messages(user1)[-1].text == zh("invite.reason_cancelled"))
        assert await world.status(p1) == "invited"  # the question was dropped, the invitation stays open

        slot2 = (await world.slot_of(p2)).id
        invitation2 = await world.invitation(p2)
        await world.press(p2, invitation2, f"inv:r:{slot2}")
        await world.press(p2, invitation2, f"inv:rg:{slot2}:other")
        user2 = world.user_of(p2)
        await emulator.wait_for(lambda: emulator.messages(user2)[-1].text == zh("invite.ask_text"))
        await emulator.user(user2).send_text("我爱人在该机构担任院长")
        await emulator.wait_for(lambda: emulator.messages(user2)[-1].text == zh("invite.done_recusal"))
        closed = await world.slot_of(p2)
        assert (closed.status, closed.reason, closed.reason_text) == ("recused", "other", "我爱人在该机构担任院长")
