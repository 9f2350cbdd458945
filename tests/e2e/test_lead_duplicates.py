"""End to end through the emulator: the staff card of a lead offers one "duplicate of" button per earlier possible
duplicate the staff member may see (at most five, each labelled with the earlier lead's number); pressing one links the
lead through the service; a crafted button (a lead outside the caller's line, the lead itself) or one left on an older
card after linking gets the standard stale answer and changes nothing."""

from __future__ import annotations

from bot.emulator import BotApiEmulator, buttons
from services.leads import leads
from services.people import orgs
from services.platform.roles import SYSTEM_CLI, Actor, Role
from storage.leads import Lead
from tests.builders import add_institutions, build_org, lead_row
from tests.e2e.harness import BotHarness, running_bot
from tests.e2e.talk import (
    FAST,
    Chat,
    bind,
    emulator_without_limits,  # noqa: F401 - this module's emulator fixture
    zh,
)

DIV1_STAFF, BUREAU_ADMIN = 73301, 73302


async def _report(bot: BotHarness, person_id: int, hospital: int) -> Lead:
    reporter = Actor(label=f"person:{person_id}", person_id=person_id, roles=frozenset({Role.SUPERVISOR}))
    async with bot.uow() as u:
        filed = await leads.submit(u, actor=reporter, draft=leads.LeadDraft(
            category="over_charging", what="重复收取护理费", institution_id=hospital))
    return await lead_row(bot.uow, filed.id)


def _links(card_buttons: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    return [(text, data) for row in card_buttons for text, data in row if data.startswith("ld:link:")]


async def test_each_possible_duplicate_in_scope_gets_its_own_link_button_and_stale_ones_change_nothing(
    emulator: BotApiEmulator, database_url: str
) -> None:
    async with running_bot(emulator, database_url, **FAST) as bot:
        org = await build_org(bot.uow)
        [hospital] = await add_institutions(bot.uow, ["石河子市人民医院"])
        async with bot.uow() as u:
            div2_supervisor = await orgs.add_member(u, actor=SYSTEM_CLI, kind="supervisor", name="吴监督", org="div2")
        assert div2_supervisor.id is not None
        elsewhere = await _report(bot, div2_supervisor.id, hospital)  # another division's line
        earlier = [await _report(bot, org.supervisor_id, hospital) for _ in range(5)]
        latest = await _report(bot, org.supervisor_id, hospital)
        assert latest.duplicate_candidates == [elsewhere.id, *(e.id for e in earlier)]
        await bind(bot, emulator, org.div1_staff_id, DIV1_STAFF, "staff")
        await bind(bot, emulator, org.admin_id, BUREAU_ADMIN, "staff")
        staff, admin = Chat(emulator, DIV1_STAFF), Chat(emulator, BUREAU_ADMIN)

        # the division's staff: one button per earlier lead of their line, labelled with its number
        card = await staff.command("/lead", latest.number, expect="状态：已收到")
        offered = _links(buttons(card))
        assert offered == [(zh("leadstaff.act.link", number=e.number), f"ld:link:{latest.id}:{e.id}")
                           for e in earlier]
        assert all(elsewhere.number not in text for row in buttons(card) for text, _ in row)
        # the bureau's admin sees both divisions' leads: at most five buttons
        admin_card = await admin.command("/lead", latest.number, expect="状态：已收到")
        assert [data for _, data in _links(buttons(admin_card))] == [
            f"ld:link:{latest.id}:{other}" for other in [elsewhere.id, *(e.id for e in earlier)][:5]]

        # crafted buttons: a lead outside the caller's line, the lead itself, not a number
        for crafted in (f"ld:link:{latest.id}:{elsewhere.id}", f"ld:link:{latest.id}:{latest.id}",
                        f"ld:link:{latest.id}:x"):
            assert await staff.alert(card.message_id, crafted) == zh("button.stale"), crafted
        async with bot.uow() as u:
            assert (await u.session.get(Lead, latest.id)).linked_to_id is None  # type: ignore[union-attr]

        # the third button links to the third earlier lead; the new card offers no more links
        chosen = earlier[2]
        done = await staff.press(card, f"ld:link:{latest.id}:{chosen.id}",
                                 zh("leadstaff.done", number=latest.number, what_key="leadstaff.did.link"))
        assert done.text == zh("leadstaff.done", number=latest.number, what_key="leadstaff.did.link")
        relinked = await staff.received(f"已关联 #{chosen.id}")
        assert _links(buttons(relinked)) == []
        # a button left on the old card is stale now
        assert await staff.alert(card.message_id, f"ld:link:{latest.id}:{earlier[0].id}") == zh("button.stale")
        async with bot.uow() as u:
            stored = await u.session.get(Lead, latest.id)
        assert stored is not None and stored.linked_to_id == chosen.id
