"""The command line: ``python -m bot <command>`` (also installed as ``fundwatch``).

Every command has ``--help``, prints what it created (with its id) and exits non-zero with one
clear line on error: 2 for a usage or configuration problem or when what the settings point at cannot
be used (the database, the Bot API, the listening port), 1 when the request is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from telegram import Bot
from telegram.error import TelegramError
from telegram.helpers import create_deep_linked_url

from bot import cli_copy, keys, loop
from bot.logs import configure_logging
from bot.settings import DEFAULT_SANDBOX_DB, Settings, SettingsError, StartupError, load_settings
from services.people import accounts, orgs
from services.platform import audit
from services.platform.clock import Clock, SystemClock
from services.platform.errors import DomainError
from services.platform.roles import SYSTEM_CLI
from storage.db import create_engine, create_session_factory
from storage.uow import UnitOfWorkFactory

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


class CliError(Exception):
    """A refusal to report on one line (exit status 1)."""


def _add_setup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """run, db, org, staff and person: running the bot and the records it starts from."""
    run = commands.add_parser("run", help="run the bot (polling or webhook, from BOT_MODE)")
    run.set_defaults(handler=_run)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(handler=_db_current)
    cli_copy.register(db)

    org = commands.add_parser("org", help="org units").add_subparsers(dest="org_command", required=True)
    org_add = org.add_parser("add", help="create an org unit and print its id")
    org_add.add_argument("--code", required=True, help="short handle, e.g. div1 (a-z 0-9 _ -)")
    org_add.add_argument("--name", required=True, help="full name, e.g. 第一师医疗保障局")
    org_add.add_argument("--kind", choices=orgs.ORG_KINDS, default="division")
    org_add.add_argument("--parent", help="code of the parent unit (omit for the bureau)")
    org_add.set_defaults(handler=_org_add)
    org.add_parser("list", help="list org units").set_defaults(handler=_org_list)

    staff = commands.add_parser("staff", help="bureau staff").add_subparsers(dest="staff_command", required=True)
    staff_add = staff.add_parser("add", help="create a staff member and print the person id")
    staff_add.add_argument("--name", required=True)
    staff_add.add_argument("--org", required=True, help="org unit code")
    staff_add.add_argument("--role", choices=orgs.STAFF_ROLES, default="staff")
    staff_add.set_defaults(handler=_staff_add)

    person = commands.add_parser("person", help="experts and supervisors (minimal records)")
    person_commands = person.add_subparsers(dest="person_command", required=True)
    person_add = person_commands.add_parser("add", help="create an expert or a supervisor and print the id")
    person_add.add_argument("--kind", choices=("expert", "supervisor"), required=True)
    person_add.add_argument("--name", required=True)
    person_add.add_argument("--org", required=True, help="org unit code")
    person_add.set_defaults(handler=_person_add)


def _add_account_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """invite and unbind: binding people's chat accounts."""
    invite = commands.add_parser("invite", help="issue a one-time invite code and deep link")
    invite.add_argument("role", choices=("expert", "supervisor", "staff"))
    invite.add_argument("person_id", type=int)
    invite.add_argument("--days", type=float, help="validity in days (default INVITE_TTL_DAYS)")
    invite.set_defaults(handler=_invite)

    unbind = commands.add_parser("unbind", help="unbind a person's account (lost phone)")
    unbind.add_argument("person_id", type=int)
    unbind.add_argument("--reason", default="unbound from the command line")
    unbind.set_defaults(handler=_unbind)


def _add_tool_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """demo-data, sandbox and audit."""
    demo_data = commands.add_parser(
        "demo-data", help="fill an empty database with demo data (does nothing if it is already there)"
    )
    demo_data.set_defaults(handler=_demo_data)

    sandbox = commands.add_parser(
        "sandbox", help="try the bot in a browser: Bot API emulator, bot and web page on 127.0.0.1 (no token)"
    )
    sandbox.add_argument("--port", type=int, default=8080, help="port of the web page (default 8080)")
    sandbox.add_argument("--db", default=DEFAULT_SANDBOX_DB, help=f"its SQLite file (default {DEFAULT_SANDBOX_DB})")
    sandbox.add_argument("--reset", action="store_true", help="start again from fresh demo data")
    sandbox.set_defaults(handler=_sandbox)

    audit_parser = commands.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command",
                                                                                   required=True)
    audit_parser.add_parser("verify", help="check the hash chain").set_defaults(handler=_audit_verify)


MODULE_COMMANDS = (
    ("bot.cli_pool", "register"), ("bot.cli_lifecycle", "register"), ("bot.cli_pools", "register"),
    ("bot.cli_draws", "register"), ("bot.cli_targets", "register"), ("bot.cli_supervisors", "register"),
    ("bot.cli_records", "register"), ("bot.cli_insight", "register_reports"), ("bot.cli_insight", "register_notices"),
    ("bot.cli_backup", "register"), ("bot.cli_keys", "register"), ("bot.cli_slots", "register"),
    ("bot.cli_retention", "register"),
)
"""The commands other modules define (and the services they use): imported only when one of them may be asked for
(issue 21: ``run`` and the other commands of this module do not load them)."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every command; for ``command``, one of this module's own, only those."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="Fund supervision bureau bot.")
    parser.add_argument("--sandbox", action="store_true",
                        help=f"run the command on the sandbox's database and clock ({DEFAULT_SANDBOX_DB})")
    parser.add_argument("--sandbox-db", metavar="FILE", help="the same, for a sandbox started with --db FILE")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    _add_setup_commands(commands)
    _add_account_commands(commands)
    _add_tool_commands(commands)
    if command not in commands.choices:
        for module, function in MODULE_COMMANDS:
            getattr(importlib.import_module(module), function)(commands)
    return parser


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The command word of ``argv`` (after the global options), or None."""
    words = list(sys.argv[1:] if argv is None else argv)
    while words and words[0].startswith("-"):
        if words.pop(0) == "--sandbox-db" and words:
            words.pop(0)
    return words[0] if words else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser(_command_in(argv)).parse_args(argv)
    try:
        settings = load_settings()
        if args.sandbox or args.sandbox_db:
            settings = _on_sandbox(settings, Path(args.sandbox_db or DEFAULT_SANDBOX_DB))
        configure_logging(settings.log_level if args.command == "run" else "WARNING", secrets=settings.secrets())
        handler: Handler = args.handler
        return loop.run(handler(args, settings), choice=settings.event_loop.value)
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except StartupError as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 2
    except (CliError, DomainError) as error:
        print(f"error: {_describe(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


_CLOCK: Clock = SystemClock()  # the sandbox's clock with --sandbox


def _on_sandbox(settings: Settings, database: Path) -> Settings:
    """Settings aimed at a sandbox's database, and the CLI on the sandbox's clock (bot/sandbox/clock_store.py)."""
    global _CLOCK  # noqa: PLW0603 - one CLI run, one clock
    if not database.exists():
        raise CliError(f"no sandbox database at {database}: start one with python -m bot sandbox")
    from bot.sandbox.clock_store import SavedOffsetClock

    _CLOCK = SavedOffsetClock(database)
    return settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{database.resolve()}"})


def _describe(error: Exception) -> str:
    if isinstance(error, DomainError):
        params = ", ".join(f"{k}={v}" for k, v in error.params.items())
        return f"{type(error).__name__}: {error.detail}" + (f" ({params})" if params else "")
    return str(error)


async def _with_uow(settings: Settings, work: Callable[[UnitOfWorkFactory], Awaitable[Any]]) -> Any:
    from bot.runtime import prepare_database

    await prepare_database(settings)
    engine = create_engine(settings.database_url)
    try:
        factory = UnitOfWorkFactory(create_session_factory(engine), clock=_CLOCK, zone=settings.zone)
        await keys.unlock(settings, engine, factory)  # issue 19: encrypted columns read and written with the key
        return await work(factory)
    finally:
        await engine.dispose()


async def _run(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import serve

    await serve(settings)
    return 0


async def _db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import check_database
    from storage import migrate

    await check_database(settings)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    print(f"database at revision {migrate.head_revision()}")
    return 0


async def _db_current(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.runtime import check_database
    from storage import migrate

    await check_database(settings)
    current = await asyncio.to_thread(migrate.current_revision, settings.database_url)
    print(f"current: {current or '(empty)'}; head: {migrate.head_revision()}")
    return 0


async def _org_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            unit = await orgs.add_org_unit(
                uow, actor=SYSTEM_CLI, code=args.code, name=args.name, kind=args.kind, parent_code=args.parent
            )
        print(f"org unit {unit.id} created: {unit.code} {unit.name}")
        return 0

    result: int = await _with_uow(settings, work)
    return result


async def _org_list(_args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            for unit in await orgs.list_units(uow):
                print(f"{unit.id}\t{unit.code}\t{unit.kind}\tparent={unit.parent_id or '-'}\t{unit.name}")
        return 0

    result: int = await _with_uow(settings, work)
    return result


async def _staff_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            person = await orgs.add_staff(uow, actor=SYSTEM_CLI, name=args.name, org=args.org, role=args.role)
        print(f"staff {person.id} created: {person.name} ({args.role}, {args.org})")
        return 0

    result: int = await _with_uow(settings, work)
    return result


async def _person_add(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            person = await orgs.add_member(uow, actor=SYSTEM_CLI, kind=args.kind, name=args.name, org=args.org)
        print(f"{args.kind} {person.id} created: {person.name} ({args.org})")
        return 0

    result: int = await _with_uow(settings, work)
    return result


async def _invite(args: argparse.Namespace, settings: Settings) -> int:
    days = args.days if args.days is not None else settings.invite_ttl_days
    if days <= 0:
        raise CliError("--days must be positive")

    async def work(uow_factory: UnitOfWorkFactory) -> accounts.IssuedInvite:
        async with uow_factory() as uow:
            return await accounts.create_invite(
                uow, actor=SYSTEM_CLI, role=args.role, person_id=args.person_id, ttl=timedelta(days=days)
            )

    issued: accounts.IssuedInvite = await _with_uow(settings, work)
    username = await _bot_username(settings)
    until = issued.expires_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    print(f"invite for person {issued.person_id} as {issued.role.value}, valid until {until} ({settings.time_zone})")
    print(f"code: {issued.code}")
    if username:
        print(f"link: {create_deep_linked_url(username, issued.code)}")
    else:
        print("link: (set BOT_USERNAME or BOT_TOKEN to print the deep link; the code alone also works)")
    return 0


async def _bot_username(settings: Settings) -> str | None:
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if settings.bot_token is None:
        return None
    try:
        async with Bot(settings.token(), base_url=settings.telegram_api_base_url) as bot:
            return bot.username
    except TelegramError as error:
        print(f"warning: could not ask Telegram for the bot's username: {error}", file=sys.stderr)
        return None


async def _unbind(args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> int:
        async with uow_factory() as uow:
            return await accounts.unbind_person(uow, actor=SYSTEM_CLI, person_id=args.person_id, reason=args.reason)

    count: int = await _with_uow(settings, work)
    print(f"unbound {count} account(s) of person {args.person_id}; issue a new invite to bind a new one")
    return 0


async def _demo_data(_args: argparse.Namespace, settings: Settings) -> int:
    from services.demo import demo

    async def work(uow_factory: UnitOfWorkFactory) -> demo.DemoData:
        return await demo.generate(uow_factory)

    data: demo.DemoData = await _with_uow(settings, work)
    if not data.created:
        print("demo data is already there; nothing done")
        return 0
    print(f"demo data created: {len(data.org_unit_ids)} org units, {len(data.staff_ids)} staff, "
          f"{len(data.expert_ids)} experts, {len(data.supervisor_ids)} supervisors, "
          f"{len(data.staff_chat_ids)} staff group chats; {len(data.accounts)} people bound to demo "
          f"Telegram accounts ({demo.DEMO_USER_BASE} + person id); person {data.unbound_person_id} is left "
          f"unbound for the invite flow")
    return 0


async def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox import SandboxError, run_sandbox

    if not 0 <= args.port <= 65535:
        raise CliError("--port must be between 0 and 65535")
    try:
        await run_sandbox(settings, port=args.port, database=Path(args.db), reset=args.reset)
    except SandboxError as error:
        raise CliError(str(error)) from None
    return 0


async def _audit_verify(_args: argparse.Namespace, settings: Settings) -> int:
    async def work(uow_factory: UnitOfWorkFactory) -> audit.ChainReport:
        await audit.chain_all(uow_factory)  # entries committed and not linked yet (issue 21) are linked first
        async with uow_factory(readonly=True) as uow:
            return await audit.verify_chain(uow)

    report: audit.ChainReport = await _with_uow(settings, work)
    if report.ok:
        print(f"audit chain intact: {report.checked} entries")
        return 0
    print(f"audit chain broken at entry {report.first_bad_id}: {report.reason} "
          f"({report.checked} entries before it are intact)")
    return 1
