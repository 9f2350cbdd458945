"""End to end through the emulator: a staff group bound with /bindgroup that Telegram upgrades to a supergroup (it
gets a new chat id and the old one refuses every message with ``migrate_to_chat_id``) keeps receiving its unit's
alerts: the binding follows the service message, or, had the bot missed it, the first refused send. A group that
removes the bot loses its binding (from the membership update, or the first send refused with 403), and the unit's
alerts go to its staff privately, who are told."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from bot.emulator import BotApiEmulator
from services.platform import notify
from storage.models import AuditEntry, StaffChat
from tests.builders import build_org
from tests.e2e.talk import Chat, bind
from tests.e2e.test_invitations import running_bot

ADMIN, GROUP = 82, -1001


async def _bound_group(bot, emulator: BotApiEmulator, admin_id: int):  # type: ignore[no-untyped-def]
    await bind(bot, emulator, admin_id, ADMIN, "staff")
    group = emulator.group(GROUP, "医保局工作群")
    await group.add_bot(emulator.user(ADMIN))
    await group.send_command(emulator.user(ADMIN), "/bindgroup", "bureau")
    await emulator.wait_for(lambda: any("工作群" in (m.text or "") for m in emulator.messages(GROUP)))
    return group


async def _alert(bot, bureau_id: int, text: str) -> None:  # type: ignore[no-untyped-def]
    async with bot.uow() as u:
        await notify.to_org_unit(u, org_unit_id=bureau_id, key="group.bound", params={"org_unit": text})
        await u.commit()


async def _bindings(bot) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    async with bot.uow(readonly=True) as u:
        rows = (await u.session.exec(select(StaffChat).order_by(col(StaffChat.id)))).all()
        return [(row.chat_id, row.unbound_at is None) for row in rows]


async def _migrations(bot) -> int:  # type: ignore[no-untyped-def]
    async with bot.uow(readonly=True) as u:
        return len((await u.session.exec(select(AuditEntry).where(AuditEntry.action == "staff_chat.migrated"))).all())


async def test_the_binding_follows_the_group_to_its_supergroup(emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        group = await _bound_group(bot, emulator, org.admin_id)
        # a group admin who is nobody to the bot does it (Telegram's group admins need not be the bureau's)
        supergroup = await group.upgrade_to_supergroup(emulator.user(9090, first_name="群主"))
        for _ in range(200):  # the service message moves the binding before any alert is sent
            if await _bindings(bot) == [(str(supergroup.chat_id), True)]:
                break
            await asyncio.sleep(0.01)
        await _alert(bot, org.bureau_id, "迁移后的提醒")
        await emulator.wait_for(lambda: any("迁移后的提醒" in (m.text or "")
                                            for m in emulator.messages(supergroup.chat_id)))
        assert not any("迁移后的提醒" in (m.text or "") for m in emulator.messages(GROUP))
        assert await _bindings(bot) == [(str(supergroup.chat_id), True)]
        assert await _migrations(bot) == 1  # Telegram says it in both chats; recorded once
        assert not any(chat == GROUP and status == 400 for _, chat, status, _ in emulator.request_log)


async def test_an_alert_refused_by_the_old_group_goes_to_the_supergroup_and_later_ones_go_straight_there(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        group = await _bound_group(bot, emulator, org.admin_id)
        supergroup = await group.upgrade_to_supergroup(emulator.user(ADMIN), announce=False)  # the bot never hears
        await _alert(bot, org.bureau_id, "第一条")
        await emulator.wait_for(lambda: any("第一条" in (m.text or "") for m in emulator.messages(supergroup.chat_id)))
        assert await _bindings(bot) == [(str(supergroup.chat_id), True)]
        refused = sum(1 for name, chat, status, _ in emulator.request_log
                      if name == "sendMessage" and chat == GROUP and status == 400)
        await _alert(bot, org.bureau_id, "第二条")
        await emulator.wait_for(lambda: any("第二条" in (m.text or "") for m in emulator.messages(supergroup.chat_id)))
        assert sum(1 for name, chat, status, _ in emulator.request_log
                   if name == "sendMessage" and chat == GROUP and status == 400) == refused == 1
        assert await _migrations(bot) == 1


async def test_a_group_that_removed_the_bot_loses_its_binding_and_the_admin_gets_the_alerts(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        group = await _bound_group(bot, emulator, org.admin_id)
        admin = Chat(emulator, ADMIN)
        lost = await admin.until(lambda: group.remove_bot(emulator.user(9090, first_name="群主")), "不在工作群")
        assert "/bindgroup bureau" in (lost.text or "")
        assert await _bindings(bot) == [(str(GROUP), False)]
        await admin.until(lambda: _alert(bot, org.bureau_id, "之后的提醒"), "之后的提醒")  # now privately
        assert not any(chat == GROUP and status == 403 for _, chat, status, _ in emulator.request_log)


async def test_a_group_that_refuses_a_message_with_403_loses_its_binding_even_unannounced(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        group = await _bound_group(bot, emulator, org.admin_id)
        await group.remove_bot(emulator.user(9090), announce=False)  # the bot never heard of it
        admin = Chat(emulator, ADMIN)
        lost = await admin.until(lambda: _alert(bot, org.bureau_id, "被拒的提醒"), "不在工作群")
        assert "医保局工作群" in (lost.text or "")
        # the refused alert itself comes privately too: nothing lost
        await emulator.wait_for(lambda: any("被拒的提醒" in (m.text or "") for m in emulator.messages(ADMIN)))
        assert await _bindings(bot) == [(str(GROUP), False)]
        await admin.until(lambda: _alert(bot, org.bureau_id, "下一条提醒"), "下一条提醒")
        assert sum(1 for _, chat, status, _ in emulator.request_log if chat == GROUP and status == 403) == 1
