"""The evidence folder's keys (issue 19): encrypting older plaintext files in place, and re-wrapping every file's
data key under a new master key (rotation) without rewriting any file body.

Both walk the folder and are resumable: a file already in the wanted state is skipped, each change is one atomic
rename, and the wrapped key is written before the body it opens (``services.leads.evidence``), so an interrupted run
leaves every file readable and the next run finishes the rest. ``progress`` is called after each file with (done,
total).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from services.leads import evidence
from services.platform import crypto

Progress = Callable[[int, int], None]


@dataclass
class Tally:
    """What a pass over the folder did: ``changed`` files, ``skipped`` (already done) and ``failed`` paths."""

    changed: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def bodies(root: Path) -> list[Path]:
    """Every evidence file under ``root`` (not the wrapped keys, not a half-written temporary)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".part-")
                  and not p.name.endswith(evidence.KEY_SUFFIX))


def _each(paths: list[Path], progress: Progress | None) -> Iterator[Path]:
    for done, path in enumerate(paths, start=1):
        yield path
        if progress is not None:
            progress(done, len(paths))


def encrypt_existing(root: Path, keys: crypto.MasterKey, *, progress: Progress | None = None) -> Tally:
    """Encrypt in place every plaintext file under ``root`` (named by its SHA-256, which is checked first)."""
    tally = Tally()
    for path in _each(bodies(root), progress):
        data = path.read_bytes()
        if data.startswith(evidence.MAGIC):
            tally.skipped += 1
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != path.name:
            tally.failed.append(str(path.relative_to(root)))  # not ours, or changed: left as it is for a person
            continue
        data_key = crypto.new_data_key()
        evidence.write_atomically(evidence.key_path(path), crypto.wrapped_record(keys, data_key,
                                                                                 purpose=evidence.PURPOSE))
        evidence.write_atomically(path, evidence.seal(data_key, data, digest))
        tally.changed += 1
    return tally


def rotate(root: Path, old: crypto.MasterKey, new: crypto.MasterKey, *, progress: Progress | None = None) -> Tally:
    """Re-wrap every file's data key from ``old`` to ``new`` (bodies untouched); keys already under ``new`` are
    skipped, so a second run finishes an interrupted one."""
    tally = Tally()
    for path in _each([p for p in bodies(root) if evidence.key_path(p).exists()], progress):
        record = evidence.key_path(path)
        try:
            wrapped = crypto.wrapped_of_record(record.read_bytes())
            if crypto.wrapped_key_id(wrapped) == new.key_id:
                tally.skipped += 1
                continue
            data_key = old.unwrap(wrapped, purpose=evidence.PURPOSE)
        except crypto.CannotOpen:
            tally.failed.append(str(path.relative_to(root)))
            continue
        evidence.write_atomically(record, crypto.wrapped_record(new, data_key, purpose=evidence.PURPOSE))
        tally.changed += 1
    return tally


def encrypted_files_exist(root: Path) -> bool:
    """Whether any wrapped key lies in the folder (then start-up needs the master key)."""
    return root.is_dir() and any(p.name.endswith(evidence.KEY_SUFFIX) for p in root.rglob("*"))
