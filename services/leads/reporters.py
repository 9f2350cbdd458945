"""Who reported a lead, kept so that the database file alone does not say it (issue 19; 003 三(四): the reporter's
identity kept strictly confidential; 002 §11).

``lead.reporter_ref`` holds the reporter's person id as an encrypted column value (no foreign key, no plain id next
to the lead); ``lead.reporter_ref_hmac`` is its keyed hash, through which the reporter's own leads are found
(``/myleads``, their additions); feedback and reward reminders read the decrypted value. A row written before
encryption (migration 0020 copies the old plain link, ``keys encrypt-existing`` encrypts it) is matched on its stored
text (``storage.types.hashed_match``). Retention purges the link by setting both to None.
"""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from storage.leads import Lead
from storage.types import hashed_match


def set_reporter(lead: Lead, person_id: int | None) -> None:
    """Link the lead to its reporter (None: the link purged); the keyed hash follows on flush."""
    lead.reporter_ref = None if person_id is None else str(person_id)


def reporter_id(lead: Lead) -> int | None:
    """The reporter's person id (decrypted), or None once purged under retention."""
    return int(lead.reporter_ref) if lead.reporter_ref else None


def reported_by(person_id: int) -> ColumnElement[bool]:
    """The leads reported by ``person_id``: an index lookup on the keyed hash."""
    return hashed_match(Lead.reporter_ref_hmac, Lead.reporter_ref, [str(person_id)])
