"""An activity as an iCalendar file (RFC 5545) for ``/ics <activity>`` (issue 13): one VEVENT with the start and
end in UTC, the title, the place, the group leader and the staff contact, and an alarm the day before.

Written by hand rather than with a library: one event of a handful of properties needs only the text escaping
(§3.3.11) and the line folding at 75 octets (§3.1), both below, and the project then depends on nothing more.

Who may have it: an expert with an open slot on the activity (invited, accepted or signed), or staff of the
organizer's line (:func:`services.activities.activities.view`); anyone else is told the activity does not exist.
"""

from __future__ import annotations

from datetime import datetime

from services.activities.activities import view
from services.invitations.slots import OPEN, _activity, _name
from services.platform.errors import ActivityNotFound
from services.platform.roles import Actor
from storage.activities import ActivityMember
from storage.uow import UnitOfWork

PRODID = "-//fundwatch//activity calendar//ZH"


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, newline."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > (75 if not out else 74):  # continuation lines start with one space
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _utc(moment: datetime) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


async def activity_ics(uow: UnitOfWork, *, actor: Actor, activity_id: int) -> bytes:
    """The activity as a ``text/calendar`` file, for one of its experts or staff of the organizer's line."""
    from sqlmodel import col, select

    mine = None
    if actor.person_id is not None:
        mine = (await uow.session.exec(select(ActivityMember).where(
            ActivityMember.activity_id == activity_id, ActivityMember.person_id == actor.person_id,
            col(ActivityMember.status).in_(OPEN)))).first()
    if mine is not None:
        info = await _activity(uow, activity_id)
    elif actor.staff_org_unit_id is not None:
        info = await view(uow, actor=actor, activity_id=activity_id)
    else:
        raise ActivityNotFound(str(activity_id), activity_id=activity_id)
    activity = info.activity
    if activity.status == "cancelled":
        raise ActivityNotFound(str(activity_id), activity_id=activity_id)
    leader = await _name(uow, activity.leader_id) if activity.leader_id else "—"
    contact = await _name(uow, activity.created_by)
    institutions = "、".join(i.name for i in info.institutions) or "—"
    description = f"活动 #{activity.id}\n组长：{leader}\n联系人：{contact}\n被检查（评审）机构：{institutions}"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             "BEGIN:VEVENT", f"UID:activity-{activity.id}@fundwatch", f"DTSTAMP:{_utc(uow.now())}",
             f"DTSTART:{_utc(activity.starts_at)}", f"DTEND:{_utc(activity.ends_at)}",
             f"SUMMARY:{escape(activity.title)}", f"LOCATION:{escape(activity.place or '')}",
             f"DESCRIPTION:{escape(description)}", f"SEQUENCE:{int(activity.updated_at.timestamp())}",
             "BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape(activity.title)}", "TRIGGER:-P1D",
             "END:VALARM", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")
