"""Backup and restore of an embedded installation (issue 19; 000 §25 "records kept and traceable"): one archive
holding a consistent copy of the SQLite database, taken with SQLite's online backup API while the bot runs, the
evidence folder, and a manifest of every member's SHA-256. Restoring writes them into an empty database file and an
empty folder after checking each hash; the caller then verifies the audit chain and the evidence hashes recorded in
the database (``python -m bot restore``).

Consistency: the database is copied first, in one snapshot; evidence files are content-addressed and never change
(services/leads/evidence.py), and each is written before the row naming it commits, so every file the copied rows
name is on disk by the time the folder is read. Files disappear only under retention (services/leads/retention.py),
after the transaction marking their rows purged commits: a snapshot taken after that does not name them; the one
case left is a sweep destroying a file between the snapshot and the folder read (restore then names it missing:
take the backup again). PostgreSQL is backed up with its own tools (README:
``pg_dump`` of the database plus this archive's evidence part, ``--evidence-only``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

MANIFEST = "manifest.json"
DATABASE = "database/fundwatch.db"
EVIDENCE = "evidence"
FORMAT = 1
BUSY_SECONDS = 60


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class Manifest:
    """What an archive holds: when it was taken, and each member's SHA-256 (the database and every file)."""

    created_at: str
    files: dict[str, str]

    @property
    def evidence_count(self) -> int:
        """How many evidence files the archive holds."""
        return sum(1 for name in self.files if name.startswith(EVIDENCE + "/"))


def sqlite_file(database_url: str) -> Path | None:
    """The SQLite file of ``database_url`` (None for another database)."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _evidence_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".part-"))


def backup(database_url: str | None, evidence_dir: Path, out: Path, *, now: datetime) -> Manifest:
    """Write the archive ``out`` (``.tar.gz``): the database (unless ``database_url`` is None: evidence only), the
    evidence folder and the manifest. Written beside ``out`` and renamed, so a crash never leaves half an archive."""
    files: dict[str, str] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fundwatch-backup-") as work:
        partial = out.with_name(f".{out.name}.part")
        with tarfile.open(partial, "w:gz") as archive:
            if database_url is not None:
                source = sqlite_file(database_url)
                if source is None or not source.exists():
                    raise BackupError(f"no SQLite database at {database_url} (PostgreSQL: use pg_dump, see README)")
                copy = Path(work) / "fundwatch.db"
                with closing(sqlite3.connect(source, timeout=BUSY_SECONDS)) as live, \
                        closing(sqlite3.connect(copy)) as target:
                    live.backup(target)  # one consistent snapshot, while the bot keeps writing
                files[DATABASE] = _sha256(copy)
                archive.add(copy, DATABASE)
            for path in _evidence_files(evidence_dir):
                name = str(PurePosixPath(EVIDENCE, *path.relative_to(evidence_dir).parts))
                files[name] = _sha256(path)
                archive.add(path, name)
            manifest = {"format": FORMAT, "created_at": now.isoformat(), "files": files}
            data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, out)
    return Manifest(now.isoformat(), files)


def read_manifest(archive_path: Path) -> Manifest:
    """The manifest of an archive."""
    with tarfile.open(archive_path, "r:gz") as archive:
        member = archive.extractfile(MANIFEST)
        if member is None:
            raise BackupError(f"{archive_path} has no {MANIFEST}: not a backup of this bot")
        loaded = json.loads(member.read())
    if loaded.get("format") != FORMAT:
        raise BackupError(f"{archive_path}: backup format {loaded.get('format')!r}, this version reads {FORMAT}")
    return Manifest(str(loaded["created_at"]), dict(loaded["files"]))


def _empty_target(database: Path | None, evidence_dir: Path) -> None:
    if database is not None and database.exists() and database.stat().st_size > 0:
        raise BackupError(f"{database} already exists: restore into a new database file")
    if evidence_dir.exists() and any(evidence_dir.iterdir()):
        raise BackupError(f"{evidence_dir} is not empty: restore into an empty evidence folder")


def restore(archive_path: Path, database_url: str | None, evidence_dir: Path) -> Manifest:
    """Write the archive's database into the (new) SQLite file of ``database_url`` and its evidence into the (empty)
    folder, each member checked against the manifest first. Nothing is written if a hash does not match."""
    manifest = read_manifest(archive_path)
    database = sqlite_file(database_url) if database_url is not None else None
    if database_url is not None and database is None:
        raise BackupError("restore writes a SQLite database (PostgreSQL: pg_restore, see README)")
    _empty_target(database, evidence_dir)
    with tempfile.TemporaryDirectory(prefix="fundwatch-restore-") as work, \
            tarfile.open(archive_path, "r:gz") as archive:
        for name, expected in manifest.files.items():
            member = archive.extractfile(name)
            if member is None or ".." in PurePosixPath(name).parts or PurePosixPath(name).is_absolute():
                raise BackupError(f"{archive_path}: member {name} is missing or unsafe")
            staged = Path(work, *PurePosixPath(name).parts)
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(member.read())
            if _sha256(staged) != expected:
                raise BackupError(f"{archive_path}: {name} does not match its SHA-256 in the manifest")
        if database is not None and DATABASE in manifest.files:
            database.parent.mkdir(parents=True, exist_ok=True)
            os.replace(Path(work, *PurePosixPath(DATABASE).parts), database)
        for name in manifest.files:
            if name.startswith(EVIDENCE + "/"):
                target = evidence_dir.joinpath(*PurePosixPath(name).parts[1:])
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(Path(work, *PurePosixPath(name).parts), target)
    return manifest


def prune(folder: Path, *, keep: int, pattern: str = "fundwatch-*.tar.gz") -> list[Path]:
    """Delete all but the ``keep`` newest archives of ``folder``; the deleted paths."""
    archives = sorted(folder.glob(pattern), key=lambda p: p.name, reverse=True)
    removed = archives[keep:]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
