"""Evidence files of leads, kept by the product (issue 8: a Telegram file id alone is not the evidence).

Choice: the bytes live on disk under a configurable directory (``EVIDENCE_DIR``), each file named by its SHA-256
(``ab/cd/abcd…``), and the database row (``lead_evidence``) keeps the hash, size, type and that relative path.
Why not in the database: files reach 20 MB (the Bot API download limit); keeping them out of SQLite/PostgreSQL keeps
backups, WAL and row reads small, and content addressing makes a write idempotent (the same photo sent twice is
stored once) and every read verifiable (:func:`read_verified` recomputes the hash). A file is written (atomically:
temporary name, then rename) before the transaction that references it commits; a rollback leaves at most an
unreferenced file, never a row without its bytes.

Encryption at rest (issue 19; 003 三(四), PIPL): with a master key (``services.platform.crypto``) each file is
written encrypted with its own random data key (AES-256-GCM; the file's SHA-256 bound in as associated data), and
the data key, wrapped by the master key, is kept beside it (``<path>.key``). The name and the recorded SHA-256 stay
the plaintext's, so the captions staff see, :func:`verify_stored`, backups and restores are unchanged; reading
decrypts. A file without the ``FWE1`` header is an older plaintext one and is read as it is until
``python -m bot keys encrypt-existing`` encrypts it (``services.leads.evidence_keys``).

Limits (explained to the reporter when exceeded): a size limit per file and a list of accepted types.

The caption sent with a file is the reporter's own words about it and is kept with it (002 §9(二): captions sent
with evidence are part of the lead), bounded like Telegram's (1,024 characters).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from services.platform import crypto
from storage.leads import MAX_CAPTION
from storage.uow import UnitOfWork

ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "heic", "webp", "gif", "pdf", "doc", "docx", "xls", "xlsx", "txt",
                       "mp3", "m4a", "amr", "mp4", "mov")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # what a bot can download through the Bot API
MAGIC = b"FWE1\n"  # the header of an encrypted evidence file
KEY_SUFFIX = ".key"  # the wrapped data key beside an encrypted file
PURPOSE = "fundwatch evidence file key"
OVERHEAD = len(MAGIC) + crypto.NONCE_BYTES + 16  # header, nonce and GCM tag


def caption_of(text: str | None) -> str | None:
    """The caption to keep with a file: the text sent with it, trimmed and at most ``MAX_CAPTION`` characters;
    None when there is none."""
    return (text or "").strip()[:MAX_CAPTION] or None


class EvidenceRefused(ValueError):
    """A file cannot be taken as evidence; ``reason`` is ``too_large``, ``type`` or ``too_many``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredFile:
    """Where the bytes of a file went and what they hash to."""

    sha256: str
    size: int
    stored_path: str


def extension(file_name: str) -> str:
    """The lower-case extension of ``file_name`` ('' without one)."""
    return file_name.rsplit(".", 1)[1].lower() if "." in file_name else ""


def check_file(*, file_name: str, size: int | None, max_bytes: int, count_so_far: int, max_files: int,
               is_photo: bool = False) -> None:
    """Refuse a file before downloading it: too many files, too large, or a type not accepted."""
    if count_so_far >= max_files:
        raise EvidenceRefused("too_many")
    if size is not None and size > max_bytes:
        raise EvidenceRefused("too_large")
    if not is_photo and extension(file_name) not in ACCEPTED_EXTENSIONS:
        raise EvidenceRefused("type")


def store(root: Path, data: bytes, *, max_bytes: int, keys: crypto.MasterKey | None = None) -> StoredFile:
    """Write ``data`` under ``root`` by its SHA-256 (once) and say where; encrypted when ``keys`` is given."""
    if len(data) > max_bytes:
        raise EvidenceRefused("too_large")
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest[2:4]}/{digest}"
    target = root / relative
    if not _already_stored(target, len(data), encrypted=keys is not None):
        target.parent.mkdir(parents=True, exist_ok=True)
        if keys is None:
            write_atomically(target, data)
        else:
            data_key = crypto.new_data_key()  # the wrapped key first: a body is never left without its key
            write_atomically(key_path(target), crypto.wrapped_record(keys, data_key, purpose=PURPOSE))
            write_atomically(target, seal(data_key, data, digest))
    return StoredFile(sha256=digest, size=len(data), stored_path=relative)


def _already_stored(target: Path, size: int, *, encrypted: bool) -> bool:
    if not target.exists():
        return False
    if encrypted:
        return key_path(target).exists() and target.stat().st_size == size + OVERHEAD
    return target.stat().st_size in (size, size + OVERHEAD)


def key_path(target: Path) -> Path:
    """Where the wrapped data key of the file ``target`` is kept."""
    return target.with_name(target.name + KEY_SUFFIX)


def seal(data_key: bytes, data: bytes, digest: str) -> bytes:
    """The encrypted body of a file whose plaintext hashes to ``digest``."""
    return MAGIC + crypto.seal_bytes(data_key, data, aad=digest.encode())


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``target``, flush it to disk, then rename it into place."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class EvidenceCorrupted(Exception):
    """A stored file is missing or no longer matches its recorded SHA-256."""


class EvidenceLocked(EvidenceCorrupted):
    """A stored file is encrypted and the master key given does not open it (or none was given)."""


def read_verified(root: Path, stored_path: str, sha256: str, *, keys: crypto.MasterKey | None = None) -> bytes:
    """The bytes of a stored file (decrypted), after checking them against the recorded hash."""
    path = (root / stored_path).resolve()
    if root.resolve() not in path.parents:
        raise EvidenceCorrupted(stored_path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EvidenceCorrupted(stored_path) from None
    if data.startswith(MAGIC):
        data = _decrypted(path, data, sha256, keys, stored_path)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise EvidenceCorrupted(stored_path)
    return data


def _decrypted(path: Path, body: bytes, sha256: str, keys: crypto.MasterKey | None, stored_path: str) -> bytes:
    if keys is None:
        raise EvidenceLocked(stored_path)
    try:
        wrapped = crypto.wrapped_of_record(key_path(path).read_bytes())
        data_key = keys.unwrap(wrapped, purpose=PURPOSE)
    except (OSError, crypto.CannotOpen):
        raise EvidenceLocked(stored_path) from None
    try:
        return crypto.open_bytes(data_key, memoryview(body)[len(MAGIC):], aad=sha256.encode())
    except crypto.CannotOpen:
        raise EvidenceCorrupted(stored_path) from None


async def verify_stored(uow: UnitOfWork, root: Path, *,
                        keys: crypto.MasterKey | None = None) -> tuple[int, list[str]]:
    """Every evidence file the database names, read and checked against its recorded SHA-256 (after a restore,
    or any time): how many were checked, and the stored paths that are missing or changed. A file deleted under
    retention (``purged_at``, ``leads/retention.py``) is gone by rule and not checked."""
    from sqlmodel import col, select

    from storage.leads import LeadEvidence

    checked, problems = 0, []
    kept = select(LeadEvidence.stored_path, LeadEvidence.sha256).where(col(LeadEvidence.purged_at).is_(None))
    for stored_path, sha256 in (await uow.session.exec(kept)).all():  # purged under retention: not there by rule
        checked += 1
        try:
            read_verified(root, stored_path, sha256, keys=keys)
        except EvidenceCorrupted:
            problems.append(stored_path)
    return checked, problems
