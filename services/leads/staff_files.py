"""The copies of a lead's evidence files that staff receive (003 三(四): protect the reporter).

Each stored original is read back and checked against its SHA-256 (``services.leads.evidence``), then copied
without its embedded metadata (``services.leads.evidence_scrub``) and renamed ``<lead number>-<n>.<ext>``: the
original name and the metadata may both identify the reporter. The caption parameters keep the original's SHA-256
(the evidence), say what was removed and carry the reporter's caption sent with the file (002 §9(二)): their own
words about the evidence, shown as the lead's facts are shown (by pseudonym, never by name).
The front end only sends what :func:`staff_copies` returns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from services.leads import evidence, evidence_scrub, leads
from services.platform import crypto
from services.platform.roles import Actor
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class StaffCopy:
    """The ``n``-th of ``total`` files of lead ``number``: ``data`` to send as ``file_name`` (None when the stored
    file is missing or no longer matches its hash); ``status`` and ``removed`` as in ``evidence_scrub.Scrubbed``;
    ``caption`` the reporter's words sent with the file (None when there were none)."""

    number: str
    n: int
    total: int
    sha256: str
    file_name: str
    data: bytes | None
    status: str = "clean"
    removed: tuple[str, ...] = ()
    caption: str | None = None

    @property
    def note_key(self) -> str:
        """The message key of the caption's note on the metadata."""
        return f"evidence.scrub.{self.status}"


def staff_file_name(number: str, n: int, original: str) -> str:
    """The name staff see: the lead's number, the file's position and its extension (``bin`` without one)."""
    return f"{number}-{n}.{evidence.extension(original) or 'bin'}"


async def staff_copies(uow: UnitOfWork, *, actor: Actor, lead_id: int, root: Path,
                       keys: crypto.MasterKey | None = None) -> list[StaffCopy]:
    """The scrubbed, renamed copies of a lead of the caller's line (LeadNotFound otherwise), in the order received;
    encrypted originals are decrypted with ``keys`` (issue 19)."""
    lead = await leads.staff_lead(uow, actor, lead_id)
    files = await leads.evidence_of(uow, lead_id)
    copies: list[StaffCopy] = []
    for n, item in enumerate(files, start=1):
        name = staff_file_name(lead.number, n, item.file_name)
        try:
            data = evidence.read_verified(root, item.stored_path, item.sha256, keys=keys)
        except evidence.EvidenceCorrupted:
            copies.append(StaffCopy(lead.number, n, len(files), item.sha256, name, None, caption=item.caption))
            continue
        copy = await asyncio.to_thread(evidence_scrub.scrub, item.file_name, data)
        copies.append(StaffCopy(lead.number, n, len(files), item.sha256, name, copy.data, copy.status, copy.removed,
                                item.caption))
    return copies
