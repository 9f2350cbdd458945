"""End to end through the emulator: experts the bot cannot reach and answers given by phone (issue 13; 000 §19
"可采取电话、短信等方式通知"). An unbound principal is listed to staff once with name, mobile and deadline; staff
record "accept by phone" with /answer and its buttons; the roster shows it; the audit names the staff member and
the phone; an invitation that never reached anyone expires without a credit event; a blocked chat goes to the
same list; binding later delivers the open invitation at once; the CLI records an answer the same way."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.emulator import BotApiEmulator, SentMessage, buttons
from services.activities import activities
from services.activities.activities import ActivityInput, RequirementInput
from services.draws import draws
from services.invitations import invitations
from services.records import credit
from storage.models import AuditEntry, Expert
from storage.records import CreditEvent
from tests.builders import add_pool, build_org, staff_actor
from tests.e2e.talk import bind, emulator_without_limits, zh  # noqa: F401 - emulator_without_limits: this module's emulator
from tests.e2e.test_cli_draws import _cli
from tests.e2e.test_invitations import ADMIN, World, running_bot


async def _world(bot: object, emulator: BotApiEmulator, *, unbound: int, blocked: int = 0, pool: int = 3,
                 backups: int = 0) -> World:
    """An activity of 3 principals drawn from a pool of ``pool``; the first ``unbound`` experts have no account,
    the next ``blocked`` have blocked the bot."""
    from tests.e2e.harness import BotHarness

    assert isinstance(bot, BotHarness)
    bot.running.scheduler.pause()
    now = bot.clock.now()
    bot.clock.advance(datetime(now.year, now.month, now.day, 1, 0, tzinfo=UTC) + timedelta(days=1) - now)
    org = await build_org(bot.uow)
    people = await add_pool(bot.uow, org.bureau_id, [{"name": f"专家{i}"} for i in range(pool)])
    async with bot.uow() as u:
        for n, person_id in enumerate(people):
            expert = await u.session.get(Expert, person_id)
            assert expert is not None
            expert.mobile = f"1380000000{n}"
            u.session.add(expert)
        await u.commit()
    users = {}
    for n, person_id in enumerate([org.admin_id, *people[unbound:]]):
        user = ADMIN if person_id == org.admin_id else 600 + n
        await bind(bot, emulator, person_id, user, "staff" if person_id == org.admin_id else "expert")
        users[person_id] = user
    for person_id in people[unbound:unbound + blocked]:
        await emulator.user(users[person_id]).block()
    admin = staff_actor(org.admin_id, org.bureau_id, admin=True)
    async with bot.uow() as u:
        await draws.set_approval(u, actor=admin, org="bureau", enabled=False)
    async with bot.uow() as u:
        start = u.now() + timedelta(days=10)
        activity = await activities.create_activity(u, actor=admin, data=ActivityInput(
            org="bureau", kind="routine_inspection", title="定点医院日常检查", starts_at=start,
            ends_at=start + timedelta(days=1), response_deadline=start - timedelta(days=2),
            requirements=(RequirementInput("supervision", 3, backups),)))
    assert activity.id is not None
    async with bot.uow() as u:
        await draws.file_request(u, actor=admin, activity_id=activity.id)
    world = World(bot, emulator, org, users, activity.id)
    world.unbound = people[:unbound]  # type: ignore[attr-defined]
    world.blocked = people[unbound:unbound + blocked]  # type: ignore[attr-defined]
    return world


async def _staff_message(world: World, expect: str) -> SentMessage:
    await world.emulator.wait_for(lambda: any(expect in (m.text or "") for m in world.emulator.messages(ADMIN)))
    return [m for m in world.emulator.messages(ADMIN) if expect in (m.text or "")][-1]


async def _staff_press(world: World, message: SentMessage, data: str) -> str:
    update = await world.emulator.user(ADMIN).press(message.message_id, data)
    query_id = update["callback_query"]["id"]
    await world.emulator.wait_for(lambda: query_id in world.emulator.callback_answers)
    return str(world.emulator.callback_answers[query_id].get("text") or "")


async def test_an_unbound_principal_is_listed_to_staff_who_record_accept_by_phone_and_no_credit_event_follows(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, unbound=2)
        unbound = world.unbound  # type: ignore[attr-defined]
        slots = {m.person_id: m for m in await world.slots()}
        assert all(slots[p].status == "invited" and slots[p].contact == "phone" for p in unbound)
        alert = await _staff_message(world, "请电话通知")
        text = alert.text or ""
        assert "专家0" in text and "13800000000" in text and "专家1" in text
        assert f"/answer {slots[unbound[0]].id}" in text
        assert sum("请电话通知" in (m.text or "") for m in emulator.messages(ADMIN)) == 1  # one alert for both

        # staff call 专家0: accepts and has signed the commitment on paper
        slot = slots[unbound[0]].id
        await emulator.user(ADMIN).send_command("/answer", str(slot))
        card = await _staff_message(world, f"席位 #{slot}：")
        assert "13800000000" in (card.text or "")
        paper = next(d for row in buttons(card) for _, d in row if d == f"inv:ph:{slot}:ap")
        assert await _staff_press(world, card, paper) == zh("invite.phone.recorded")
        assert await world.status(unbound[0]) == "signed"
        # 专家1 declines by phone: busy
        slot1 = slots[unbound[1]].id
        await emulator.user(ADMIN).send_command("/answer", str(slot1))
        card1 = await _staff_message(world, f"席位 #{slot1}：")
        await _staff_press(world, card1, f"inv:ph:{slot1}:d")
        assert await _staff_press(world, card1, f"inv:phd:{slot1}:busy") == zh("invite.phone.recorded")
        assert await world.status(unbound[1]) == "declined"
        # a second answer on the same slot is refused with the reason, nothing changes
        assert await _staff_press(world, card, f"inv:ph:{slot}:a") == zh("invite.refused_reason.answered")

        async with bot.uow() as u:
            entries = (await u.session.exec(select(AuditEntry).where(
                AuditEntry.object_type == "activity_member", AuditEntry.object_id == str(slot))
                .order_by(col(AuditEntry.id)))).all()
        accepted = next(e for e in entries if e.action == "invitation.accepted")
        assert accepted.actor == f"person:{world.org.admin_id}" and accepted.details["channel"] == "phone"
        await emulator.user(ADMIN).send_command("/slots", str(world.activity_id))
        await emulator.wait_for(lambda: f"席位#{slot} " in world.staff_texts()[-1])
        line = next(ln for ln in world.staff_texts()[-1].splitlines() if f"席位#{slot} " in ln)
        assert "已签署" in line
        await credit.sweep_slots(bot.uow)
        async with bot.uow() as u:
            assert (await u.session.exec(select(CreditEvent))).all() == []


async def test_an_invitation_that_never_reached_the_expert_expires_without_a_no_response(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, unbound=1)
        unbound = world.unbound[0]  # type: ignore[attr-defined]
        bound = [p for p in world.users if p != world.org.admin_id]
        bot.clock.advance(timedelta(days=9))  # past the deadline: nobody answered
        await invitations.sweep(bot.uow)
        slots = {m.person_id: m for m in await world.slots()}
        assert (slots[unbound].status, slots[unbound].reason) == ("expired", "unreachable")
        assert {slots[p].reason for p in bound} == {"no_response"}
        await credit.sweep_slots(bot.uow)
        async with bot.uow() as u:
            events = (await u.session.exec(select(CreditEvent))).all()
        assert sorted(e.person_id for e in events) == sorted(bound)  # the reached ones only


async def test_a_blocked_chat_goes_to_the_call_list_and_binding_later_delivers_the_invitation(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, unbound=1, blocked=1)
        unbound, blocked = world.unbound[0], world.blocked[0]  # type: ignore[attr-defined]
        # the invitation to the expert who blocked the bot gets a 403: the sweep puts the slot on the call list
        await emulator.wait_for(lambda: any("通知发送失败" in t for t in world.staff_texts()))
        report = await invitations.sweep(bot.uow)
        assert report.to_call == 1 and (await world.slot_of(blocked)).contact == "phone"
        def call_lists() -> list[str]:
            return [m.text or "" for m in emulator.messages(ADMIN) if "请电话通知" in (m.text or "")]

        await emulator.wait_for(lambda: len(call_lists()) >= 2)  # the sweep's alert goes out through the outbox
        alerts = call_lists()
        assert len(alerts) == 2 and f"/answer {(await world.slot_of(blocked)).id}" in alerts[-1]
        assert (await invitations.sweep(bot.uow)).to_call == 0  # once
        # the unbound expert binds now: the open invitation arrives at once, with its buttons and deadline
        await bind(bot, emulator, unbound, 699, "expert")
        await emulator.wait_for(lambda: any("专家邀请" in (m.text or "") for m in emulator.messages(699)))
        invitation = next(m for m in emulator.messages(699) if "专家邀请" in (m.text or ""))
        slot = await world.slot_of(unbound)
        assert buttons(invitation) and slot.contact is None and slot.status == "invited"
        world.users[unbound] = 699
        assert await world.press(unbound, invitation, f"inv:a:{slot.id}") == zh("invite.done_accept")


async def test_the_cli_records_an_answer_given_by_phone(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        world = await _world(bot, emulator, unbound=1)
        unbound = world.unbound[0]  # type: ignore[attr-defined]
        slot = (await world.slot_of(unbound)).id
        # in a thread: the bot in this process keeps running (and releasing its locks) while the CLI waits
        done = await asyncio.to_thread(_cli, database_url, "slot", "answer", str(slot), "--as",
                                       str(world.org.admin_id), "--answer", "recuse", "--reason", "dispute")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"slot {slot}: recused (recorded by phone)"
        member = await world.slot_of(unbound)
        assert (member.status, member.reason) == ("recused", "dispute")
        again = await asyncio.to_thread(_cli, database_url, "slot", "answer", str(slot), "--as",
                                        str(world.org.admin_id), "--answer", "accept")
        assert again.returncode == 1 and "AnswerRefused" in again.stderr
