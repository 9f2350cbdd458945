"""Start-up loads only what the hot path needs (issue 21): importing the bot's runtime and command line loads no
table, document, PDF or image library, nor Alembic (the schema's revision is read with one query and the head
from the migration files); those load when a file is read or written, or a migration runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from storage import migrate

HEAVY = ("openpyxl", "docx", "pypdf", "PIL", "lxml", "numpy", "alembic", "mako", "matplotlib", "mplfonts")
ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_runtime_loads_no_file_library_nor_alembic() -> None:
    probe = ("import json, sys; import bot.runtime, bot.cli, bot.app; "
             f"print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}} & set({list(HEAVY)!r}))))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert migrate.head_revision() == ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def test_the_revision_is_read_without_alembic_and_a_current_schema_is_not_migrated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
