"""Column types shared by the tables."""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as a timezone-aware UTC datetime.

    PostgreSQL keeps the zone (``timestamptz``); SQLite keeps naive text, so the zone is
    stripped on the way in and re-attached on the way out. Naive values are refused: every
    time in this product is aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ColumnCipher(Protocol):
    """What encrypts column values (``services.platform.crypto.ColumnCipher``; storage imports no service)."""

    def encrypt(self, value: str) -> str: ...

    def decrypt(self, stored: str) -> str: ...

    def keyed_hash(self, value: str) -> str: ...


_CIPHERS: weakref.WeakKeyDictionary[Dialect, ColumnCipher] = weakref.WeakKeyDictionary()


def bind_cipher(engine: AsyncEngine, cipher: ColumnCipher) -> None:
    """Encrypt and decrypt the :class:`Encrypted` columns of every statement run through ``engine`` with ``cipher``
    (per engine, not per process: a test process runs bots with different keys)."""
    _CIPHERS[engine.sync_engine.dialect] = cipher


def cipher_of(dialect: Dialect) -> ColumnCipher | None:
    """The cipher bound to the engine of ``dialect`` (None: values are written as they are)."""
    return _CIPHERS.get(dialect)


class Encrypted(TypeDecorator[str]):
    """A text column kept encrypted at rest (issue 19: mobiles; PIPL). Written encrypted with the cipher bound to the
    engine (:func:`bind_cipher`); read back decrypted. A value written before encryption (no ``fw1:`` prefix) reads
    as it is until ``python -m bot keys encrypt-existing`` rewrites it. Equal values give different ciphertexts:
    look a value up through its :class:`KeyedHash` column."""

    impl = String(160)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cipher = cipher_of(dialect)
        if value is None or cipher is None or value.startswith("fw1:"):
            return value
        return cipher.encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        cipher = cipher_of(dialect)
        if value is None or cipher is None:
            return None if value is None else str(value)
        return cipher.decrypt(str(value))


class KeyedHash(TypeDecorator[str]):
    """The keyed hash (HMAC-SHA256, hex) of another column's plaintext: give it the plaintext, it stores the hash,
    and a comparison (``Expert.mobile_hmac == "13800138000"``) hashes its parameter the same way. Without a bound
    cipher it stores nothing (NULL)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cipher = cipher_of(dialect)
        if value is None or cipher is None:
            return None
        return cipher.keyed_hash(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


# Name every constraint, so migrations can alter them (SQLite's batch mode needs names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
