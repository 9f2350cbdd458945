"""Encryption at rest (issue 19; 002 §11, 003 三(四), PIPL): the key hierarchy, evidence files encrypted one data
key each, rotation without rewriting bodies, the encrypted mobile columns and their keyed hashes — checked on the raw
bytes of the evidence folder and the database file."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from services.leads import evidence, evidence_keys
from services.platform import column_keys, crypto
from services.platform.clock import FixedClock
from storage.compact import compact_sqlite
from storage.db import create_engine, create_session_factory
from storage.models import Expert, Person, Supervisor
from storage.repositories import insert_rows
from storage.types import bind_cipher
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org
from tests.conftest import T0

PHOTO = b"\xff\xd8\xff\xe0 a photo of the ward's bill " + bytes(range(256)) * 40
MOBILE = "13912345678"


def test_a_wrapped_data_key_opens_only_with_its_master_key() -> None:
    master, other = crypto.MasterKey(crypto.new_data_key()), crypto.MasterKey(crypto.new_data_key())
    data_key = crypto.new_data_key()
    wrapped = master.wrap(data_key, purpose="files")
    assert data_key not in base64.b64decode(wrapped.split(":")[2]) and crypto.wrapped_key_id(wrapped) == master.key_id
    assert master.unwrap(wrapped, purpose="files") == data_key
    with pytest.raises(crypto.CannotOpen):
        other.unwrap(wrapped, purpose="files")
    with pytest.raises(crypto.CannotOpen):
        master.unwrap(wrapped, purpose="columns")  # bound to its purpose
    assert base64.b64encode(master.raw).decode() not in repr(master)


def test_a_master_key_must_be_32_bytes_of_base64() -> None:
    with pytest.raises(crypto.KeyProblem, match="EVIDENCE_KEY: not base64"):
        crypto.parse_key("not a key!", source="EVIDENCE_KEY")
    with pytest.raises(crypto.KeyProblem, match="32 bytes"):
        crypto.parse_key(base64.b64encode(b"short").decode(), source="EVIDENCE_KEY")
    assert crypto.parse_key(crypto.new_key_text(), source="EVIDENCE_KEY").key_id


def test_column_values_are_encrypted_differently_each_time_and_hashed_the_same() -> None:
    cipher = crypto.ColumnCipher(crypto.new_data_key())
    first, second = cipher.encrypt(MOBILE), cipher.encrypt(MOBILE)
    assert first != second and MOBILE not in first and first.startswith(crypto.COLUMN_PREFIX)
    assert cipher.decrypt(first) == cipher.decrypt(second) == MOBILE
    assert cipher.decrypt(MOBILE) == MOBILE  # a value written before encryption reads as it is
    assert cipher.keyed_hash(MOBILE) == cipher.keyed_hash(MOBILE) != hashlib.sha256(MOBILE.encode()).hexdigest()
    assert crypto.ColumnCipher(crypto.new_data_key()).keyed_hash(MOBILE) != cipher.keyed_hash(MOBILE)
    with pytest.raises(crypto.CannotOpen):
        crypto.ColumnCipher(crypto.new_data_key()).decrypt(first)


def _raw_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_evidence_is_stored_encrypted_and_read_back_verified(tmp_path: Path) -> None:
    master = crypto.MasterKey(crypto.new_data_key())
    stored = evidence.store(tmp_path, PHOTO, max_bytes=1 << 20, keys=master)
    assert stored.sha256 == hashlib.sha256(PHOTO).hexdigest()  # the plaintext's, as staff see it in the caption
    assert PHOTO[:64] not in _raw_bytes(tmp_path) and PHOTO[-64:] not in _raw_bytes(tmp_path)
    assert evidence.key_path(tmp_path / stored.stored_path).exists()
    assert evidence.store(tmp_path, PHOTO, max_bytes=1 << 20, keys=master) == stored  # stored once
    assert evidence.read_verified(tmp_path, stored.stored_path, stored.sha256, keys=master) == PHOTO
    with pytest.raises(evidence.EvidenceLocked):
        evidence.read_verified(tmp_path, stored.stored_path, stored.sha256)  # no key
    with pytest.raises(evidence.EvidenceLocked):
        evidence.read_verified(tmp_path, stored.stored_path, stored.sha256,
                               keys=crypto.MasterKey(crypto.new_data_key()))
    body = tmp_path / stored.stored_path
    changed = bytearray(body.read_bytes())
    changed[-1] ^= 1
    body.write_bytes(bytes(changed))
    with pytest.raises(evidence.EvidenceCorrupted):
        evidence.read_verified(tmp_path, stored.stored_path, stored.sha256, keys=master)


def test_plaintext_files_stay_readable_until_encrypted_in_place_resumably(tmp_path: Path) -> None:
    master = crypto.MasterKey(crypto.new_data_key())
    old = [evidence.store(tmp_path, PHOTO + bytes([n]), max_bytes=1 << 20) for n in range(3)]
    for n, item in enumerate(old):
        assert evidence.read_verified(tmp_path, item.stored_path, item.sha256, keys=master) == PHOTO + bytes([n])
    # an interrupted run: the first file's wrapped key was written, its body not yet
    first = tmp_path / old[0].stored_path
    evidence.write_atomically(evidence.key_path(first), crypto.wrapped_record(master, crypto.new_data_key(),
                                                                              purpose=evidence.PURPOSE))
    assert evidence.read_verified(tmp_path, old[0].stored_path, old[0].sha256, keys=master)  # still readable
    shown: list[tuple[int, int]] = []
    tally = evidence_keys.encrypt_existing(tmp_path, master, progress=lambda done, total: shown.append((done, total)))
    assert (tally.changed, tally.skipped, tally.failed) == (3, 0, []) and shown[-1] == (3, 3)
    assert PHOTO[:64] not in _raw_bytes(tmp_path)
    for n, item in enumerate(old):
        assert evidence.read_verified(tmp_path, item.stored_path, item.sha256, keys=master) == PHOTO + bytes([n])
    again = evidence_keys.encrypt_existing(tmp_path, master)
    assert (again.changed, again.skipped) == (0, 3)


def test_rotation_rewraps_every_data_key_without_rewriting_a_body_and_resumes(tmp_path: Path) -> None:
    old_key, new_key = crypto.MasterKey(crypto.new_data_key()), crypto.MasterKey(crypto.new_data_key())
    stored = [evidence.store(tmp_path, PHOTO + bytes([n]), max_bytes=1 << 20, keys=old_key) for n in range(4)]
    bodies = {s.stored_path: (tmp_path / s.stored_path).read_bytes() for s in stored}
    interrupted = [0]

    def stop_after_two(done: int, _total: int) -> None:
        interrupted[0] = done
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evidence_keys.rotate(tmp_path, old_key, new_key, progress=stop_after_two)
    tally = evidence_keys.rotate(tmp_path, old_key, new_key)
    assert (tally.changed, tally.skipped, tally.failed) == (2, 2, [])
    for n, item in enumerate(stored):
        assert (tmp_path / item.stored_path).read_bytes() == bodies[item.stored_path]  # the body untouched
        assert evidence.read_verified(tmp_path, item.stored_path, item.sha256, keys=new_key) == PHOTO + bytes([n])
        with pytest.raises(evidence.EvidenceLocked):
            evidence.read_verified(tmp_path, item.stored_path, item.sha256, keys=old_key)
    stranger = evidence_keys.rotate(tmp_path, crypto.MasterKey(crypto.new_data_key()),
                                    crypto.MasterKey(crypto.new_data_key()))
    assert len(stranger.failed) == 4  # neither key: nothing changed
    assert evidence.read_verified(tmp_path, stored[0].stored_path, stored[0].sha256, keys=new_key)


async def _keyed_factory(database_url: str, master: crypto.MasterKey) -> tuple[UnitOfWorkFactory, object]:
    engine = create_engine(database_url)
    factory = UnitOfWorkFactory(create_session_factory(engine), clock=FixedClock(T0))
    async with factory() as uow:
        unlocked = await column_keys.unlock(uow, master)
    bind_cipher(engine, unlocked.cipher)
    return factory, engine


async def test_mobiles_are_stored_encrypted_with_a_keyed_hash_and_read_back(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    master = crypto.MasterKey(crypto.new_data_key())
    keyed, engine = await _keyed_factory(database_url, master)
    try:
        async with keyed() as uow:
            supervisor = await uow.session.get(Supervisor, org.supervisor_id)
            assert supervisor is not None
            supervisor.mobile = MOBILE
            uow.session.add(supervisor)
            [person_id] = await insert_rows(uow.session, Person, [{"name": "李专家", "created_at": T0}],
                                            return_ids=True)
            await insert_rows(uow.session, Expert, [{"person_id": person_id, "org_unit_id": org.div1_id,
                                                     "created_at": T0, "mobile": "13800001111",
                                                     "birth_date": date(1970, 1, 1)}])
            await uow.commit()
        async with keyed(readonly=True) as uow:
            assert (await uow.session.get(Supervisor, org.supervisor_id)).mobile == MOBILE  # type: ignore[union-attr]
            expert = (await uow.session.exec(select(Expert).where(Expert.mobile_hmac == "13800001111"))).one()
            assert expert.mobile == "13800001111" and expert.person_id == person_id
            found = (await uow.session.exec(select(Supervisor.person_id).where(Supervisor.mobile_hmac == MOBILE))).all()
            assert found == [org.supervisor_id]
            assert await column_keys.count_plaintext(uow) == 1  # the name build_org wrote before a key was bound
        async with keyed() as uow:  # another field changed: the hash stays; the mobile changed: the hash follows
            supervisor = await uow.session.get(Supervisor, org.supervisor_id)
            assert supervisor is not None
            supervisor.end_note = "note"
            uow.session.add(supervisor)
            await uow.commit()
        async with keyed(readonly=True) as uow:
            found = (await uow.session.exec(select(Supervisor.person_id).where(Supervisor.mobile_hmac == MOBILE))).all()
            assert found == [org.supervisor_id]
        async with keyed() as uow:
            supervisor = await uow.session.get(Supervisor, org.supervisor_id)
            assert supervisor is not None
            supervisor.mobile = "13600000000"
            uow.session.add(supervisor)
            await uow.commit()
        async with keyed(readonly=True) as uow:
            assert (await uow.session.exec(select(Supervisor).where(Supervisor.mobile_hmac == MOBILE))).all() == []
            moved = (await uow.session.exec(select(Supervisor).where(Supervisor.mobile_hmac == "13600000000"))).one()
            assert moved.mobile == "13600000000"
        async with uow_factory(readonly=True) as uow:  # an engine without the key sees ciphertext and hashes only
            raw = (await uow.session.exec(text("SELECT mobile, mobile_hmac FROM supervisor "  # type: ignore[call-overload]
                                               "WHERE mobile IS NOT NULL"))).all()
        assert len(raw) == 1 and MOBILE not in raw[0][0] and MOBILE not in raw[0][1]
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_existing_mobiles_are_encrypted_in_place_in_batches_and_the_database_file_holds_none(
        database_url: str, uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    org = await build_org(uow_factory)
    mobiles = [f"1370000{n:04d}" for n in range(7)]
    async with uow_factory() as uow:  # written before encryption (no key bound): plaintext
        ids = await insert_rows(uow.session, Person, [{"name": f"专家{n}", "created_at": T0} for n in range(7)],
                                return_ids=True)
        await insert_rows(uow.session, Expert, [{"person_id": pid, "org_unit_id": org.div1_id, "created_at": T0,
                                                 "mobile": m} for pid, m in zip(ids, mobiles, strict=True)])
        await uow.commit()
    master = crypto.MasterKey(crypto.new_data_key())
    keyed, engine = await _keyed_factory(database_url, master)
    try:
        async with keyed(readonly=True) as uow:
            assert await column_keys.count_plaintext(uow) == 8  # and the supervisor's name build_org wrote
            assert (await uow.session.get(Expert, ids[3])).mobile == mobiles[3]  # type: ignore[union-attr]
        monkeypatch.setattr(column_keys, "BATCH", 3)
        shown: list[tuple[int, int]] = []
        done = await column_keys.encrypt_existing(keyed, progress=lambda d, t: shown.append((d, t)))
        assert done == 8 and shown == [(3, 8), (6, 8), (7, 8), (8, 8)]
        assert await column_keys.encrypt_existing(keyed) == 0  # resumable: nothing left
        async with keyed(readonly=True) as uow:
            read = {e.person_id: e.mobile for e in (await uow.session.exec(select(Expert))).all()}
            assert [read[i] for i in ids] == mobiles
            hit = (await uow.session.exec(select(Expert.person_id).where(Expert.mobile_hmac == mobiles[5]))).all()
            assert hit == [ids[5]]
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        assert compact_sqlite(database_url)  # the old bytes of the rewritten rows gone from free pages and the log
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert all(m.encode() not in raw for m in mobiles)


async def test_rotation_rewraps_the_column_key_and_the_old_key_no_longer_opens(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    old_key, new_key = crypto.MasterKey(crypto.new_data_key()), crypto.MasterKey(crypto.new_data_key())
    async with uow_factory() as uow:
        before = (await column_keys.unlock(uow, old_key)).cipher.keyed_hash(MOBILE)
    async with uow_factory() as uow:
        assert await column_keys.rewrap(uow, old_key, new_key)
    async with uow_factory() as uow:
        assert not await column_keys.rewrap(uow, old_key, new_key)  # already done
        assert (await column_keys.unlock(uow, new_key)).cipher.keyed_hash(MOBILE) == before  # hashes survive
        with pytest.raises(crypto.KeyProblem, match="does not open"):
            await column_keys.unlock(uow, old_key)
