"""End to end (issue 19; PIPL): an expert's ID number, written by the running bot, is stored encrypted — the SQLite
file and its log hold no plaintext — yet staff find the expert by typing the whole number to /experts; a masked
number finds nothing; the card still shows it masked to staff."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import BotApiEmulator
from services.platform.identifiers import id_check_char, mask_id_number
from tests.builders import add_pool, build_org
from tests.e2e.harness import running_bot
from tests.e2e.talk import Chat, bind, zh

BODY = "65010219720815123"
NUMBER = BODY + id_check_char(BODY)


async def test_staff_find_an_expert_by_the_whole_id_number_stored_encrypted(
        emulator: BotApiEmulator, database_url: str) -> None:
    async with running_bot(emulator, database_url) as bot:
        org = await build_org(bot.uow)
        [expert, _] = await add_pool(bot.uow, org.div1_id, [{"name": "身份证专家", "id_number": NUMBER},
                                                            {"name": "别的专家"}])
        await bind(bot, emulator, org.div1_staff_id, 95, "staff")
        staff = Chat(emulator, 95)
        found = await staff.command("/experts", NUMBER, expect=zh("pool.search_header", count=1, page=1, pages=1))
        assert "身份证专家" in (found.text or "") and "别的专家" not in (found.text or "")
        masked = mask_id_number(NUMBER)
        await staff.command("/experts", masked, expect=zh("pool.search_empty_for", words=masked))
        card = await staff.command("/expert", str(expert), expect="身份证专家")
        assert masked in (card.text or "") and NUMBER not in (card.text or "")  # staff see it masked, as before
    if database_url.startswith("sqlite"):
        database = Path(database_url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert NUMBER.encode() not in raw
