"""The command table: every command, who it serves and where it may be used.

``/help`` and the Telegram command menu are built from this table, so they always match what
the handlers accept.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.auth import ADMIN, ANYONE, BOUND, EXPERT, STAFF, SUPERVISOR, admits
from services.platform.roles import Actor, Role


@dataclass(frozen=True)
class Command:
    """A command, its description's message key, its audience, and whether groups may use it."""

    name: str
    audience: frozenset[Role]
    in_groups: bool = False

    @property
    def description_key(self) -> str:
        """The message key of the one-line description."""
        return f"cmd.{self.name}"


COMMANDS: tuple[Command, ...] = (
    Command("start", ANYONE),
    Command("help", ANYONE, in_groups=True),
    Command("whoami", ANYONE),
    Command("language", BOUND),
    Command("profile", EXPERT),
    Command("change", EXPERT),
    Command("leave", EXPERT),
    Command("institutions", BOUND),
    Command("interest", EXPERT),
    Command("interests", EXPERT),
    Command("withdraw", EXPERT),
    Command("quit", EXPERT),
    Command("extend", EXPERT),
    Command("history", EXPERT),
    Command("experts", STAFF),
    Command("expert", STAFF),
    Command("changes", STAFF),
    Command("extensions", STAFF),
    Command("poolshare", ADMIN),
    Command("due", STAFF),
    Command("pool", STAFF),
    Command("suspend", STAFF),
    Command("invite", STAFF),
    Command("unbind", STAFF),
    Command("alerts", STAFF),
    Command("bindgroup", ADMIN, in_groups=True),
    # activities: bot/handlers/activity_new.py
    Command("newactivity", STAFF),
    Command("activities", STAFF),
    Command("activity", STAFF),
    Command("cancel", BOUND),
    # draws: bot/handlers/draws.py
    Command("draw", STAFF),
    Command("topup", STAFF),
    Command("requests", STAFF),
    Command("roster", STAFF),
    Command("recuse", STAFF),
    Command("leader", STAFF),
    Command("drawapproval", ADMIN),
    # invitations and the roster: bot/handlers/invitations.py
    Command("slots", STAFF),
    Command("cancelinvite", STAFF),
    Command("requirerecusal", STAFF),
    Command("nextbackup", STAFF),
    Command("closeroster", STAFF),
    Command("attendance", STAFF),
    Command("answer", STAFF),
    Command("mine", EXPERT),
    Command("ics", BOUND),
    # cancel and reschedule: bot/handlers/activity_changes.py
    Command("cancelactivity", STAFF),
    Command("reschedule", STAFF),
    Command("letter", STAFF),
    # draw records and exports: bot/handlers/draw_export.py
    Command("drawexport", STAFF),
    # inspection targets (double random): bot/handlers/targets.py
    Command("targets", STAFF),
    Command("targetverify", STAFF),
    # supervisors and leads: bot/handlers/leads.py
    Command("report", SUPERVISOR),
    Command("myleads", SUPERVISOR),
    Command("leads", STAFF),
    Command("lead", STAFF),
    Command("reveal", STAFF),
    Command("assign", STAFF),
    Command("reveals", ADMIN),
    Command("retention", STAFF),  # bot/handlers/retention.py
    # the supervisor registry (002 §3–§8): bot/handlers/supervisors_staff.py, supervisor_files.py
    Command("supervisors", STAFF),
    Command("supervisor", STAFF),
    Command("supervisors_import", ADMIN),
    Command("supervisors_export", STAFF),
    # work records and credit: bot/handlers/records.py
    Command("workrecord", STAFF),
    Command("workrecordexport", STAFF),
    Command("record", EXPERT | STAFF),
    Command("credit", STAFF),
    Command("sanctions", STAFF),
    Command("sanctiondismiss", STAFF),
    Command("reprimandletter", STAFF),
    Command("excellence", STAFF),
    Command("excellencepublish", STAFF),
    # staff insight: bot/handlers/insight.py
    Command("stats", STAFF),
    Command("notice", STAFF),
    Command("export", STAFF),
    Command("report_monthly", STAFF),
    Command("report_yearly", STAFF),
)


# /help groups the commands by task (issue 20); a topic is asked for by its key or its name in either language.
TOPICS: dict[str, tuple[str, ...]] = {
    "draws": ("newactivity", "activities", "activity", "draw", "topup", "requests", "drawapproval", "roster",
              "recuse", "leader", "slots", "cancelinvite", "requirerecusal", "nextbackup", "closeroster",
              "attendance", "cancelactivity", "reschedule", "letter", "drawexport", "answer", "ics"),
    "targets": ("targets", "targetverify"),
    "leads": ("report", "myleads", "leads", "lead", "assign", "reveal", "reveals", "retention"),
    "pool": ("experts", "expert", "changes", "due", "pool", "suspend", "extensions", "poolshare", "institutions"),
    "my_record": ("mine", "profile", "history", "change", "leave", "interest", "interests", "withdraw", "quit",
                  "extend"),
    "records": ("workrecord", "workrecordexport", "record", "credit", "sanctions", "sanctiondismiss",
                "reprimandletter", "excellence", "excellencepublish"),
    "supervisors": ("supervisors", "supervisor", "supervisors_import", "supervisors_export"),
    "insight": ("stats", "report_monthly", "report_yearly", "notice", "export"),
    "accounts": ("invite", "unbind", "alerts", "bindgroup"),
    "basics": ("start", "help", "whoami", "language", "cancel"),
}


def topic_of(name: str) -> str:
    """The /help topic of a command (``basics`` for one not listed)."""
    return next((topic for topic, names in TOPICS.items() if name in names), "basics")


def menu_for(actor: Actor) -> list[Command]:
    """The commands of a person's private menu, by topic (the most used tasks first)."""
    order = list(TOPICS)
    return sorted(visible_to(actor), key=lambda command: order.index(topic_of(command.name)))


def visible_to(actor: Actor, *, in_group: bool = False) -> list[Command]:
    """The commands this caller may use here."""
    result = []
    for command in COMMANDS:
        if in_group and not command.in_groups:
            continue
        if not admits(command.audience, actor):
            continue
        result.append(command)
    return result


def public_commands() -> list[Command]:
    """Commands for Telegram's default menu (everyone sees these)."""
    return [command for command in COMMANDS if not command.audience]
