"""Who a stored draw picked, with names, for the verification printout (001 §11: the record is kept and checked)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from services.platform.errors import DrawNotFound
from storage.activities import DrawRecord
from storage.models import Person
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Pick:
    """One pick of a stored draw: the requirement line, the expert, principal or backup, and the order."""

    requirement_key: str
    person_id: int
    name: str
    role: str
    order: int


async def stored_picks(uow: UnitOfWork, draw_id: int) -> list[Pick]:
    """The picks as the record stores them (``[key, person, role, order]``), each with the person's name."""
    record = await uow.session.get(DrawRecord, draw_id)
    if record is None:
        raise DrawNotFound(str(draw_id), draw_id=draw_id)
    picks = [p for p in record.result.get("picks", []) if isinstance(p, list) and len(p) == 4]
    ids = [p[1] for p in picks if isinstance(p[1], int)]
    names = dict((await uow.session.exec(select(Person.id, Person.name).where(col(Person.id).in_(ids)))).all())
    return [Pick(requirement_key=str(key), person_id=pid, name=names.get(pid, "?"), role=str(role), order=order)
            for key, pid, role, order in picks]
