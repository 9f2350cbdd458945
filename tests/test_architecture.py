"""The claims of docs/ARCHITECTURE.md that a machine can check, read from the source with ``ast``:
layers import one way, service packages form no import cycle (imports inside functions included)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, at any depth (inside functions too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _top(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def test_services_never_import_the_front_end_or_telegram() -> None:
    offenders = {(str(f.relative_to(ROOT)), m) for f in _files("services") for m in _imports(f)
                 if _top(m) in {"bot", "telegram", "messages"}}
    assert not offenders


def test_storage_never_imports_services_or_the_front_end() -> None:
    offenders = {(str(f.relative_to(ROOT)), m) for f in _files("storage") for m in _imports(f)
                 if _top(m) in {"bot", "services", "telegram", "messages"}}
    assert not offenders


def _package_of(module: str) -> str | None:
    """``services.draws.draws`` → ``draws``; top-level modules (``services.scheduler``) are their own node."""
    parts = module.split(".")
    if parts[0] != "services" or len(parts) < 2:
        return None
    return parts[1]


def _service_graph() -> dict[str, set[str]]:
    packages = {p.name for p in (ROOT / "services").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _files("services"):
        relative = path.relative_to(ROOT / "services")
        source = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for module in _imports(path):
            target = _package_of(module)
            if target is not None and target != source and (target in packages or module.count(".") == 1):
                graph[source].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_service_packages_form_no_import_cycle() -> None:
    assert _cycle(_service_graph()) is None


def test_the_platform_package_imports_no_topic_package() -> None:
    assert _service_graph().get("platform", set()) == set()


def test_services_are_topic_packages_not_a_flat_folder() -> None:
    flat = {p.stem for p in (ROOT / "services").glob("*.py")} - {"__init__", "scheduler", "buttons"}
    assert not flat


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50


def test_no_service_module_is_over_400_lines() -> None:
    long = {str(f.relative_to(ROOT)): n for f in _files("services")
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long


def _function_lengths(path: Path) -> Iterator[tuple[str, int]]:
    """Every function of ``path`` (methods and nested ones too) with its length, ``def`` to last line."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            yield f"{node.name}:{node.lineno}", node.end_lineno - node.lineno + 1


def test_no_service_function_is_over_50_lines() -> None:
    long = {(str(f.relative_to(ROOT)), name): n for f in _files("services")
            for name, n in _function_lengths(f) if n > MAX_FUNCTION_LINES}
    assert not long


def _functions(folder: str) -> Iterator[tuple[str, str, int]]:
    for path in _files(folder):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                yield str(path.relative_to(ROOT)), node.name, node.end_lineno - node.lineno + 1


def test_no_handler_or_dialog_function_is_over_40_lines() -> None:
    """bot/ decides nothing: a handler parses, calls one service function and renders the result."""
    long = [f for folder in ("bot/handlers", "bot/dialogs") for f in _functions(folder) if f[2] > 40]
    assert not long


def test_handlers_and_dialogs_never_import_storage() -> None:
    """The front end reaches the database only through services (storage is wired at start-up)."""
    offenders = {(str(f.relative_to(ROOT)), m) for folder in ("bot/handlers", "bot/dialogs") for f in _files(folder)
                 for m in _imports(f) if _top(m) == "storage"}
    offenders |= {(name, m) for name in ("bot/buttons.py", "bot/keyboards.py") for m in _imports(ROOT / name)
                  if _top(m) == "storage"}
    assert not offenders


# What the front end may take from storage: the wiring (engine and its cipher, unit of work, migrations, the backup,
# copy and compaction tools).
STORAGE_WIRING = {"storage.db", "storage.uow", "storage.migrate", "storage.backup", "storage.copy", "storage.compact",
                  "storage.types"}


def test_the_front_end_takes_only_the_wiring_from_storage() -> None:
    """bot/ never reads a table itself: it names no storage module but the wiring (issue 16), so every query a
    front end needs is a service function another messenger's front end can call too."""
    offenders = {(str(path.relative_to(ROOT)), module) for path in _files("bot") for module in _imports(path)
                 if _top(module) == "storage" and module != "storage"
                 and ".".join(module.split(".")[:2]) not in STORAGE_WIRING}
    assert not offenders


def test_callback_data_is_written_only_by_the_codec() -> None:
    """No callback-data string is built or split outside services/platform/actions.py: the only
    ``callback_data=`` in the front end renders an action's encoding (bot/keyboards.py)."""
    writers = {str(f.relative_to(ROOT)) for folder in ("bot", "services") for f in _files(folder)
               if "callback_data=" in f.read_text(encoding="utf-8")
               and not str(f.relative_to(ROOT)).startswith(("bot/emulator", "bot/sandbox"))}
    assert writers == {"bot/keyboards.py"}
    readers = {str(f.relative_to(ROOT)) for folder in ("bot", "services") for f in _files(folder)
               if re.search(r"query\.data\b|\.data\.split|data\.removeprefix\(", f.read_text(encoding="utf-8"))
               and not str(f.relative_to(ROOT)).startswith(("bot/emulator", "bot/sandbox"))}
    assert readers == {"bot/buttons.py"}


def _table_classes() -> set[str]:
    """The names of every SQLModel table class in storage/."""
    return {node.name for path in _files("storage") for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ClassDef) and any(k.arg == "table" for k in node.keywords)}


def _service_functions_returning_rows() -> set[str]:
    """``services.pkg.module.function`` for every top-level service function whose return annotation names a table."""
    tables, found = _table_classes(), set()
    for path in _files("services"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None
                    and set(re.findall(r"\w+", ast.unparse(node.returns))) & tables):
                found.add(f"{module}.{node.name}")
    return found


def _service_calls_from_the_front_end() -> set[str]:
    """Every ``services.…`` function the front end calls (``module.f(...)`` or an imported ``f(...)``)."""
    called: set[str] = set()
    for path in _files("bot"):
        if {"emulator", "sandbox"} & set(path.relative_to(ROOT).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and _top(node.module) == "services":
                names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id in names:
                called.add(names[node.func.id])
            elif (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                  and node.func.value.id in names):
                called.add(f"{names[node.func.value.id]}.{node.func.attr}")
    return called


def test_services_hand_the_front_end_plain_values_not_table_rows() -> None:
    """Issue 16: no service function the front end calls returns a table row (it returns a dataclass), so a front
    end never reads or changes a row behind the services' back."""
    assert _service_functions_returning_rows() & _service_calls_from_the_front_end() == set()


def test_the_plain_values_check_sees_a_row() -> None:
    assert "services.platform.dialogs.start" in _service_functions_returning_rows()
