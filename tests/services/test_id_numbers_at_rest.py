"""ID numbers encrypted at rest (issue 19; PIPL: ID numbers are sensitive personal information; 002 §11 and
003 三(四) for the insured person a lead names): experts', supervisors' and leads' ID numbers stored encrypted with a
keyed hash beside them; duplicates still refused and experts still found by ID number — through the hash once
encrypted, on the stored text for rows written before encryption — and no plaintext left in the database file after
``keys encrypt-existing``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from services.leads import leads
from services.platform import column_keys, crypto
from services.platform.roles import SYSTEM_CLI
from services.pool.experts import search_experts
from services.supervisors import supervisors
from services.supervisors.supervisors import SupervisorInput
from storage.compact import compact_sqlite
from storage.leads import Lead
from storage.models import Expert, Person, Supervisor
from storage.repositories import insert_rows
from storage.types import hashed_match
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, add_institutions, build_org, staff_actor
from tests.conftest import T0
from tests.services.test_encryption_at_rest import _keyed_factory
from tests.services.test_expert_io import FULL_HEADERS, LI, WANG, ZHAO, full_row, run_import, write_xlsx
from tests.services.test_leads import supervisor

SUPERVISOR_ID = "11010519491231002X"


async def _raw_id_numbers(uow_factory: UnitOfWorkFactory) -> list[tuple[str | None, str | None]]:
    """The stored text of every expert's ID number and its hash, read by an engine without the key."""
    async with uow_factory(readonly=True) as uow:
        rows = (await uow.session.exec(text(  # type: ignore[call-overload]
            "SELECT id_number, id_number_hmac FROM expert WHERE id_number IS NOT NULL"))).all()
    return [(row[0], row[1]) for row in rows]


async def _by_id_number(uow_factory: UnitOfWorkFactory, number: str) -> list[Expert]:
    async with uow_factory(readonly=True) as uow:
        return list((await uow.session.exec(
            select(Expert).where(hashed_match(Expert.id_number_hmac, Expert.id_number, [number])))).all())


def _sqlite_bytes(database_url: str) -> bytes:
    path = Path(database_url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def test_imported_id_numbers_are_encrypted_and_a_second_import_finds_them_instead_of_duplicating(
        database_url: str, uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path) -> None:
    keyed, engine = await _keyed_factory(database_url, crypto.MasterKey(crypto.new_data_key()))
    try:
        path = write_xlsx(tmp_path / "experts.xlsx", FULL_HEADERS, [full_row(1, "李四", LI), full_row(2, "王五", WANG)])
        first = await run_import(keyed, path)
        assert (first.created, first.rejected) == (2, [])
        second = await run_import(keyed, path)  # the same ID numbers: found through the hash, nothing created
        assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
        twice = write_xlsx(tmp_path / "twice.xlsx", FULL_HEADERS,
                           [full_row(1, "赵六", ZHAO), full_row(2, "赵六", ZHAO)])
        refused = await run_import(keyed, twice)
        assert [r.code for r in refused.rejected for r in r.reasons] == ["duplicate_in_file"]
        raw = await _raw_id_numbers(uow_factory)
        assert len(raw) == 3 and all(v and v.startswith(crypto.COLUMN_PREFIX) and h for v, h in raw)
        assert not any(n in v or n in (h or "") for v, h in raw for n in (LI, WANG, ZHAO))  # type: ignore[operator]
        [li] = await _by_id_number(keyed, LI)
        assert li.id_number == LI and li.birth_date == date(1975, 3, 4)  # derived from the number, decrypted
        async with keyed() as uow:  # the database itself refuses a second expert with the number (unique hash)
            [person_id] = await insert_rows(uow.session, Person, [{"name": "冒名", "created_at": T0}],
                                            return_ids=True)
            with pytest.raises(IntegrityError):
                await insert_rows(uow.session, Expert, [{"person_id": person_id, "org_unit_id": org.div1_id,
                                                         "created_at": T0, "id_number": LI}])
        async with keyed(readonly=True) as uow:  # staff of the pool find the expert by the whole number
            found = await search_experts(uow, actor=staff_actor(org.div1_staff_id, org.div1_id), text=LI)
            masked = await search_experts(uow, actor=staff_actor(org.div1_staff_id, org.div1_id),
                                          text=LI[:6] + "********" + LI[-4:])
        assert [e.name for e in found] == ["李四"] and masked == []
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_numbers_stored_before_encryption_are_still_matched_then_encrypted_in_place(
        database_url: str, uow_factory: UnitOfWorkFactory, org: Org, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "experts.xlsx", FULL_HEADERS, [full_row(1, "李四", LI), full_row(2, "王五", WANG)])
    assert (await run_import(uow_factory, path)).created == 2  # no key bound: in clear, no hash
    assert {(v, h) for v, h in await _raw_id_numbers(uow_factory)} == {(LI, None), (WANG, None)}
    async with uow_factory() as uow:
        await supervisors.save_supervisor(uow, actor=SYSTEM_CLI, data=SupervisorInput("刘代表", SUPERVISOR_ID, "div1"))
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    async with uow_factory() as uow:
        filed = await leads.submit(uow, actor=supervisor(org.supervisor_id), draft=leads.LeadDraft(
            category="over_charging", what="重复收费", institution_id=hospital, insured_name="张三",
            insured_id_number=ZHAO))
    keyed, engine = await _keyed_factory(database_url, crypto.MasterKey(crypto.new_data_key()))
    try:
        again = await run_import(keyed, path)  # the key bound now: rows still in clear are found on their text
        assert (again.created, again.unchanged) == (0, 2)
        async with keyed() as uow:
            _, created = await supervisors.save_supervisor(
                uow, actor=SYSTEM_CLI, data=SupervisorInput("刘代表", SUPERVISOR_ID, "div1", mobile="13800138000"))
        assert not created
        async with keyed(readonly=True) as uow:
            # 2 experts: ID, mobile; 1 supervisor ID; 1 lead; 2 supervisors' names, a pseudonym, a reporter link
            assert await column_keys.count_plaintext(uow) == 10
        assert await column_keys.encrypt_existing(keyed) == 10
        async with keyed(readonly=True) as uow:
            assert await column_keys.count_plaintext(uow) == 0
            lead = await uow.session.get(Lead, filed.id)
            assert lead is not None and lead.insured_id_number == ZHAO
            assert (await uow.session.exec(select(Lead.id).where(Lead.insured_id_number_hmac == ZHAO))).all() \
                == [filed.id]
            row = (await uow.session.exec(select(Supervisor).where(Supervisor.id_number_hmac == SUPERVISOR_ID))).one()
            assert row.id_number == SUPERVISOR_ID
        [li] = await _by_id_number(keyed, LI)  # through the hash now
        assert li.id_number == LI
        assert all(v.startswith(crypto.COLUMN_PREFIX) and h for v, h in await _raw_id_numbers(uow_factory))  # type: ignore[union-attr]
        assert (await run_import(keyed, path)).created == 0
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    if database_url.startswith("sqlite"):
        assert compact_sqlite(database_url)  # the replaced plaintext gone from free pages and the log
        raw = _sqlite_bytes(database_url)
        assert all(n.encode() not in raw for n in (LI, WANG, ZHAO, SUPERVISOR_ID, "刘代表", "陈监督"))
