"""When an invited slot is next due: reminders at offsets after the invitation, never in quiet hours unless the
deadline falls inside them (:class:`services.platform.policy.ChaseSettings`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.platform.policy import ChaseSettings
from storage.activities import ActivityMember


def in_quiet_hours(moment: datetime, zone: ZoneInfo, settings: ChaseSettings) -> bool:
    """Whether ``moment`` falls in the quiet window (which wraps past midnight)."""
    local = moment.astimezone(zone).time()
    if settings.quiet_start <= settings.quiet_end:
        return settings.quiet_start <= local < settings.quiet_end
    return local >= settings.quiet_start or local < settings.quiet_end


def quiet_end_after(moment: datetime, zone: ZoneInfo, settings: ChaseSettings) -> datetime:
    """The end of the quiet window that contains ``moment``."""
    local = moment.astimezone(zone)
    end = local.replace(hour=settings.quiet_end.hour, minute=settings.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(moment.tzinfo)


def next_due(member: ActivityMember, zone: ZoneInfo, settings: ChaseSettings) -> datetime | None:
    """When the sweep must next look at an invited slot: its next reminder (out of quiet hours, unless the
    deadline falls inside the same quiet window) or its deadline, whichever comes first."""
    if member.status != "invited" or member.invited_at is None or member.respond_by is None:
        return None
    if member.contact == "phone":  # staff call: no chat reminders, only the deadline (issue 13)
        return member.respond_by
    due = member.respond_by
    if member.reminders_sent < len(settings.reminder_offsets):
        remind = member.invited_at + settings.reminder_offsets[member.reminders_sent]
        if in_quiet_hours(remind, zone, settings):
            quiet_end = quiet_end_after(remind, zone, settings)
            if member.respond_by >= quiet_end:  # the deadline is not inside this quiet window: wait
                remind = quiet_end
        due = min(due, remind)
    return due
