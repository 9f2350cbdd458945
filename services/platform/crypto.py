"""Encryption at rest (issue 19; 002 §11 and 003 三(四): reporters' information kept confidential; PIPL: security
measures for sensitive personal information). Anchor: GlobaLeaks' per-file encryption.

Key hierarchy:

* the **master key** (32 random bytes) comes from ``EVIDENCE_KEY`` (base64) or a key file (``EVIDENCE_KEY_FILE``);
  it is never written to the database or a backup. Its ``key_id`` (a keyed digest, not the key) names which master
  key wrapped a data key, so rotation can resume.
* **data keys** (32 random bytes each) encrypt the data with AES-256-GCM (authenticated: a changed byte fails to
  open). Each evidence file has its own, wrapped by the master key and stored beside the file
  (``services.leads.evidence``); the columns share one, wrapped and kept in the ``data_key`` table
  (``services.platform.column_keys``). Rotating the master key re-wraps data keys only: no file or row is rewritten.
* the **keyed hash** of a column (HMAC-SHA256, its key derived with HKDF from the column data key, so it survives a
  rotation) allows exact lookups and duplicate checks without decrypting.

Why ``cryptography``: the maintained binding to OpenSSL's AES-GCM and HKDF; nothing here invents a primitive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
COLUMN_PREFIX = "fw1:"  # an encrypted column value; anything else is an old plaintext value


class KeyProblem(Exception):
    """The master key is missing, malformed or does not open the data; the message is one line naming the setting."""


class CannotOpen(Exception):
    """Ciphertext that does not open with the key given (wrong key, or changed bytes)."""


@dataclass(frozen=True, repr=False)
class MasterKey:
    """The master key (never printed: ``repr`` shows its id only)."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != KEY_BYTES:
            raise KeyProblem(f"a master key is {KEY_BYTES} bytes, got {len(self.raw)}")

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id})"

    @property
    def key_id(self) -> str:
        """16 hex characters naming this key (a keyed digest: it reveals nothing of the key)."""
        return hmac.new(self.raw, b"fundwatch master key id", hashlib.sha256).hexdigest()[:16]

    def wrap(self, data_key: bytes, *, purpose: str) -> str:
        """``data_key`` encrypted under this key, bound to ``purpose``: ``v1:<key id>:<base64>``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.raw).encrypt(nonce, data_key, purpose.encode())
        return f"v1:{self.key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def unwrap(self, wrapped: str, *, purpose: str) -> bytes:
        """The data key of :meth:`wrap`'s output; :class:`CannotOpen` if another key (or purpose) wrapped it."""
        version, key_id, body = _wrapped_parts(wrapped)
        if version != "v1" or key_id != self.key_id:
            raise CannotOpen(f"wrapped by key {key_id}, not {self.key_id}")
        raw = base64.b64decode(body)
        return open_bytes(self.raw, raw, aad=purpose.encode())


def wrapped_key_id(wrapped: str) -> str:
    """The id of the master key that wrapped ``wrapped``."""
    return _wrapped_parts(wrapped)[1]


def _wrapped_parts(wrapped: str) -> tuple[str, str, str]:
    parts = wrapped.strip().split(":")
    if len(parts) != 3:
        raise CannotOpen("not a wrapped key")
    return parts[0], parts[1], parts[2]


def new_data_key() -> bytes:
    """32 random bytes."""
    return secrets.token_bytes(KEY_BYTES)


def seal_bytes(key: bytes, data: bytes, *, aad: bytes = b"") -> bytes:
    """``nonce || AES-GCM(data)``."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def open_bytes(key: bytes, sealed: bytes | memoryview, *, aad: bytes = b"") -> bytes:
    """The plaintext of :func:`seal_bytes`; :class:`CannotOpen` when the key or the bytes are wrong."""
    view = memoryview(sealed)  # no copy of a 20 MB body
    try:
        return AESGCM(key).decrypt(bytes(view[:NONCE_BYTES]), view[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise CannotOpen("authentication failed") from None


def derive(key: bytes, purpose: str) -> bytes:
    """A 32-byte subkey of ``key`` for ``purpose`` (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(key)


class ColumnCipher:
    """Encrypts column values (AES-GCM, random nonce: equal values give different ciphertexts) and computes their
    keyed hashes (HMAC-SHA256), from the one column data key."""

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(derive(data_key, "fundwatch column encryption v1"))  # its key schedule made once
        self._hashing = hmac.new(derive(data_key, "fundwatch column keyed hash v1"), digestmod=hashlib.sha256)

    def encrypt(self, value: str) -> str:
        """``fw1:<base64(nonce || ciphertext)>``."""
        nonce = os.urandom(NONCE_BYTES)
        return COLUMN_PREFIX + base64.b64encode(nonce + self._aead.encrypt(nonce, value.encode(), b"")).decode()

    def decrypt(self, stored: str) -> str:
        """The value of :meth:`encrypt`; a value without the prefix is an old plaintext one and is returned as is."""
        if not stored.startswith(COLUMN_PREFIX):
            return stored
        try:
            sealed = base64.b64decode(stored[len(COLUMN_PREFIX):], validate=True)
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], b"").decode()
        except (binascii.Error, InvalidTag, ValueError):
            raise CannotOpen("not a value this key encrypted") from None

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value``, hex: equal values, equal hashes; unreadable without the key."""
        mac = self._hashing.copy()  # the keyed state made once
        mac.update(value.encode())
        return mac.hexdigest()


def is_encrypted_value(stored: str | None) -> bool:
    """Whether a stored column value is encrypted."""
    return stored is not None and stored.startswith(COLUMN_PREFIX)


def parse_key(text: str, *, source: str) -> MasterKey:
    """A master key from its base64 text; :class:`KeyProblem` naming ``source`` otherwise."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise KeyProblem(f"{source}: not base64 (make one with: python -m bot keys new)") from None
    if len(raw) != KEY_BYTES:
        raise KeyProblem(f"{source}: a key is {KEY_BYTES} bytes in base64, got {len(raw)} bytes")
    return MasterKey(raw)


def read_key_file(path: Path, *, source: str) -> MasterKey:
    """The master key in ``path`` (base64 text)."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise KeyProblem(f"{source}: cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    return parse_key(text, source=f"{source} ({path})")


def new_key_text() -> str:
    """A new master key, base64 (``python -m bot keys new``)."""
    return base64.b64encode(new_data_key()).decode()


def create_key_file(path: Path) -> MasterKey:
    """Write a new master key to ``path`` (owner-only, never over an existing file) and return it; if another
    process made it first, that one is read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = new_key_text()
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key_file(path, source="EVIDENCE_KEY_FILE")
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(text + "\n")
        out.flush()
        os.fsync(out.fileno())
    return parse_key(text, source="EVIDENCE_KEY_FILE")


def wrapped_record(master: MasterKey, data_key: bytes, *, purpose: str) -> bytes:
    """The wrapped-key file kept beside an evidence file (JSON: version, key id, wrapped key)."""
    return json.dumps({"v": 1, "wrapped": master.wrap(data_key, purpose=purpose)}).encode()


def wrapped_of_record(record: bytes) -> str:
    """The wrapped key in a wrapped-key file."""
    try:
        loaded = json.loads(record)
        return str(loaded["wrapped"])
    except (ValueError, KeyError, TypeError):
        raise CannotOpen("not a wrapped-key file") from None
