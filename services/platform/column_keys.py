"""The column data key and the columns encrypted at rest (issue 19; PIPL: security measures for sensitive personal
information; 002 §11, 003 三(四)).

One random data key encrypts every :class:`storage.types.Encrypted` column; it is kept in the ``data_key`` table
wrapped by the master key (never in clear), so rotating the master key re-wraps one row. The keyed hashes of the
columns derive from the same data key and so survive a rotation.

Encrypted today: the mobiles and ID numbers of experts and of social supervisors (``expert.mobile``,
``supervisor.mobile`` with ``mobile_hmac``; ``expert.id_number``, ``supervisor.id_number`` with ``id_number_hmac``,
which carries their uniqueness), the insured person's ID number on a lead (``lead.insured_id_number`` with
``insured_id_number_hmac``), and who reported a lead (003 三(四)): the lead's reporter link (``lead.reporter_ref``
with ``reporter_ref_hmac``), the supervisors' names (``supervisor.name``; their person row holds a sealed
placeholder) and pseudonyms (``supervisor.pseudonym`` with ``pseudonym_hmac``, which carries their uniqueness).
:func:`encrypt_existing` rewrites rows written before encryption, in batches (resumable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, func, type_coerce, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import select

from services.platform import crypto
from storage.leads import Lead
from storage.models import DataKey, Expert, Supervisor, hashed_columns
from storage.uow import UnitOfWork, UnitOfWorkFactory

COLUMNS_PURPOSE = "columns"
BATCH = 500
# (table, primary key, encrypted column): every column kept encrypted at rest
ENCRYPTED_COLUMNS: tuple[tuple[Any, str, str], ...] = (
    (Expert, "person_id", "mobile"),
    (Supervisor, "person_id", "mobile"),
    (Expert, "person_id", "id_number"),
    (Supervisor, "person_id", "id_number"),
    (Lead, "id", "insured_id_number"),
    (Lead, "id", "reporter_ref"),
    (Supervisor, "person_id", "name"),
    (Supervisor, "person_id", "pseudonym"),
)


@dataclass(frozen=True)
class Unlocked:
    """The column cipher and whether the data key was made just now."""

    cipher: crypto.ColumnCipher
    created: bool


async def has_encrypted_data(uow: UnitOfWork) -> bool:
    """Whether this database holds a wrapped data key (then nothing may run without the master key)."""
    return (await uow.session.get(DataKey, COLUMNS_PURPOSE)) is not None


async def unlock(uow: UnitOfWork, master: crypto.MasterKey) -> Unlocked:
    """The column cipher of this database, its data key made (and wrapped by ``master``, committed) on first use;
    :class:`crypto.KeyProblem` when ``master`` is not the key that wrapped it."""
    row = await uow.session.get(DataKey, COLUMNS_PURPOSE)
    if row is None:
        data_key = crypto.new_data_key()
        uow.session.add(DataKey(purpose=COLUMNS_PURPOSE, wrapped=master.wrap(data_key, purpose=COLUMNS_PURPOSE),
                                created_at=uow.now()))
        await uow.commit()
        return Unlocked(crypto.ColumnCipher(data_key), created=True)
    try:
        data_key = master.unwrap(row.wrapped, purpose=COLUMNS_PURPOSE)
    except crypto.CannotOpen:
        raise crypto.KeyProblem(
            f"EVIDENCE_KEY: the key configured (id {master.key_id}) does not open this database's encrypted data "
            f"(it needs key {crypto.wrapped_key_id(row.wrapped)})") from None
    return Unlocked(crypto.ColumnCipher(data_key), created=False)


async def rewrap(uow: UnitOfWork, old: crypto.MasterKey, new: crypto.MasterKey) -> bool:
    """Wrap the column data key under ``new`` (it stays the same key: no row changes); False when it already was."""
    row = await uow.session.get(DataKey, COLUMNS_PURPOSE)
    if row is None or crypto.wrapped_key_id(row.wrapped) == new.key_id:
        return False
    try:
        data_key = old.unwrap(row.wrapped, purpose=COLUMNS_PURPOSE)
    except crypto.CannotOpen:
        raise crypto.KeyProblem(f"the current key (id {old.key_id}) does not open the column data key "
                                f"(wrapped by {crypto.wrapped_key_id(row.wrapped)})") from None
    row.wrapped, row.rotated_at = new.wrap(data_key, purpose=COLUMNS_PURPOSE), uow.now()
    uow.session.add(row)
    await uow.commit()
    return True


def _plaintext(column: Any) -> ColumnElement[bool]:
    raw = type_coerce(column, String)  # the stored text, not decrypted
    condition: ColumnElement[bool] = column.is_not(None) & ~raw.startswith(crypto.COLUMN_PREFIX)
    return condition


async def count_plaintext(uow: UnitOfWork) -> int:
    """How many column values are still stored in clear."""
    total = 0
    for model, _, name in ENCRYPTED_COLUMNS:
        column = getattr(model, name)
        total += int((await uow.session.exec(select(func.count()).where(_plaintext(column)))).one())
    return total


async def encrypt_existing(uow_factory: UnitOfWorkFactory, *,
                           progress: Callable[[int, int], None] | None = None) -> int:
    """Encrypt every value still stored in clear, ``BATCH`` rows per transaction (an interrupted run leaves the rest
    for the next); the keyed hash is written with it. Returns how many values were encrypted. The engine must have
    the cipher bound (``storage.types.bind_cipher``)."""
    async with uow_factory(readonly=True) as uow:
        total = await count_plaintext(uow)
    done = 0
    for model, key, name in ENCRYPTED_COLUMNS:
        table, column = model.__table__, getattr(model, name)
        hashes: dict[str, list[str]] = {}
        for hashed, source in hashed_columns(table):
            hashes.setdefault(source, []).append(hashed)
        while True:
            async with uow_factory() as uow:
                rows = (await uow.session.exec(select(getattr(model, key), type_coerce(column, String))
                                               .where(_plaintext(column)).limit(BATCH))).all()
                for pk, value in rows:
                    await uow.session.exec(update(table).where(table.c[key] == pk)
                                           .values({name: value, **{h: value for h in hashes.get(name, ())}}))
                await uow.commit()
            done += len(rows)
            if progress is not None and rows:
                progress(done, total)
            if len(rows) < BATCH:
                break
    return done
