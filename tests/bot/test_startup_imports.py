"""Start-up loads only what the hot path needs (issue 21): importing the bot's runtime and command line loads no
table, document, PDF or image library, nor Alembic (the schema's revision is read with one query and the head
from the migration files); those load when a file is read or written, or a migration runs. Nor does it load the
handler modules or the topics' services (the runtime loads them once it is starting, off the event loop, holding
updates meanwhile), the scheduler's sweeps (each imports its topic when it first runs) or the other modules'
commands of the command line (``run`` parses without them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from storage import migrate

HEAVY = ("openpyxl", "docx", "pypdf", "PIL", "lxml", "numpy", "alembic", "mako", "matplotlib", "mplfonts")
LATER = ("bot.handlers", "bot.cli_pool", "bot.cli_draws", "bot.cli_insight", "bot.cli_backup", "bot.cli_keys",
         "bot.dialogs.lead_more",
         "services.activities", "services.draws", "services.invitations", "services.leads", "services.pool",
         "services.records", "services.supervisors", "services.insight", "services.documents",
         "services.institutions", "services.buttons")
"""Modules (and packages: none of their modules either) loaded on first use, not at start-up (issue 21)."""
ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    probe = (f"import json, sys; {code}; "
             f"print(json.dumps(sorted(n for n in sys.modules if any(n == m or n.startswith(m + '.') "
             f"for m in {list(names)!r}))))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_importing_the_runtime_loads_no_file_library_nor_alembic() -> None:
    probe = ("import json, sys; import bot.runtime, bot.cli, bot.app; "
             f"print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}} & set({list(HEAVY)!r}))))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_importing_the_runtime_loads_no_handler_nor_topic_service() -> None:
    assert _loaded_after("import bot.runtime, bot.cli, bot.app", LATER) == []


def test_the_run_command_parses_without_the_other_modules_commands() -> None:
    assert _loaded_after("from bot.cli import build_parser; build_parser('run').parse_args(['run'])", LATER) == []
    assert _loaded_after("from bot.cli import build_parser; build_parser('draw')", ("bot.cli_draws",)) == [
        "bot.cli_draws"]


def test_the_deferred_load_registers_every_button_flow_and_action() -> None:
    """What the runtime loads after start-up registers as much as importing every handler and dialog module."""
    count = ("from bot import buttons, dialogs; from services.platform.actions import registered; "
             "print(len(buttons.routes()), len(dialogs.flows()), len(registered()))")
    everything = ("import importlib, pkgutil, bot.handlers, bot.dialogs, services.buttons; "
                  "[importlib.import_module(m.name) for p in (bot.handlers, bot.dialogs) "
                  "for m in pkgutil.iter_modules(p.__path__, p.__name__ + '.')]")
    counts = []
    for load in ("from bot import app; app.import_handler_modules()", everything):
        done = subprocess.run([sys.executable, "-c", f"{load}; {count}"], cwd=ROOT, capture_output=True, text=True,
                              check=True)
        counts.append(tuple(int(word) for word in done.stdout.split()))
    assert counts[0] == counts[1]
    assert min(counts[0]) > 0


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert migrate.head_revision() == ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def test_the_revision_is_read_without_alembic_and_a_current_schema_is_not_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
