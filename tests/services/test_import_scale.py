"""Imports at the scale of a province (issue 21): the XLSX reader gives what openpyxl gives, the row limit is
configurable and checked while the file is read, new experts are written in batches whose audit entries keep
row order (the chain verifies), no work history is read for a new expert, and progress is shown at most every
few seconds of an injected clock."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from sqlalchemy import event
from sqlmodel import col, func, select

from bot.cli_pool import ProgressLine
from bot.settings import Settings
from services.platform import audit, policy, tables
from services.platform.errors import InvalidInput
from services.platform.progress import ProgressGate, bar
from services.platform.roles import SYSTEM_CLI
from services.platform.tables import read_cells
from services.pool import expert_io
from services.pool.expert_io import writer as expert_writer
from storage.models import AuditEntry
from storage.pool import ExpertEmployment
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org
from tests.services.test_expert_io import FULL_HEADERS, credit_code, full_row, id_number, write_csv, write_xlsx


def _openpyxl_rows(data: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    """What the import read before issue 21: openpyxl's read-only mode, cached values."""
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()
    rows = [(n, tuple(row)) for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    workbook.close()
    return rows


def _trimmed(rows: list[tuple[int, tuple[Any, ...]]]) -> list[tuple[int, tuple[Any, ...]]]:
    out = []
    for number, row in rows:
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        out.append((number, tuple(cells)))
    return out


def test_the_xlsx_reader_gives_what_openpyxl_gives(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "数", "小数", "是否", "日期", "公式", "空", "时刻"])
    sheet.append(["李四", 7, 2.5, True, date(2026, 3, 2), "=1+1", None, datetime(2026, 3, 2, 9, 30)])
    sheet["F2"].value = "=B2*2"
    sheet.append(["  空格  ", -3, 1e20, False, datetime(1999, 12, 31), None, None, None])
    sheet["A5"] = CellRichText(["富", TextBlock(InlineFont(b=True), "文本")])
    sheet["D7"] = "跳行"
    sheet["A8"] = "a&b<c>"
    sheet["B8"] = time(9, 30)
    path = tmp_path / "mixed.xlsx"
    workbook.save(path)
    data = path.read_bytes()
    ours, theirs = _trimmed(read_cells(data, "mixed.xlsx")), _trimmed(_openpyxl_rows(data))
    assert ours[:4] == theirs[:4]  # the formula has no cached value in a file openpyxl wrote: both give None
    assert ours[4] == (5, ("富文本",)) and ours[6] == (7, (None, None, None, "跳行"))
    assert ours[7][1][0] == "a&b<c>" and len(ours) == len(theirs)


def test_dates_count_from_1904_when_the_workbook_says_so(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.epoch = datetime(1904, 1, 1)  # openpyxl's CALENDAR_MAC_1904
    sheet = workbook.active
    assert sheet is not None
    sheet.append([date(2026, 3, 2)])
    path = tmp_path / "mac.xlsx"
    workbook.save(path)
    assert read_cells(path.read_bytes(), "mac.xlsx") == _openpyxl_rows(path.read_bytes())


def test_a_workbook_with_a_document_type_is_refused(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ok.xlsx", ["姓名"], [["李四"]], title=False)
    import zipfile

    hostile = tmp_path / "dtd.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                content = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + content.split(b"?>", 1)[-1]
            target.writestr(item, content)
    with pytest.raises(InvalidInput):
        read_cells(hostile.read_bytes(), "dtd.xlsx")


def test_the_row_limit_is_a_setting_of_50000_by_default() -> None:
    assert policy.Policy().imports.max_rows == 50_000
    assert Settings(_env_file=None).policy().imports.max_rows == 50_000  # type: ignore[call-arg]
    assert Settings(_env_file=None, import_max_rows=3).policy().imports.max_rows == 3  # type: ignore[call-arg]


def test_a_file_past_the_limit_is_refused_while_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_csv(tmp_path / "many.csv", ["姓名", "身份证号码", "专业类型"],
                     [[f"专家{n}", id_number(sequence=f"{n:03d}"), "管理"] for n in range(100)])
    read: list[int] = []
    real = tables.iter_cells

    def counting(data: bytes, filename: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
        for number, cells in real(data, filename):
            read.append(number)
            yield number, cells

    monkeypatch.setattr(tables, "iter_cells", counting)
    with pytest.raises(InvalidInput, match="at most 10 rows"):
        expert_io.read_sheet(path.read_bytes(), "many.csv", max_rows=10)
    assert read == list(range(1, 13))  # the header, ten rows, and the one past the limit: no more
    policy.configure(policy.Policy(imports=policy.ImportSettings(max_rows=5)))
    try:
        with pytest.raises(InvalidInput, match="at most 5 rows"):
            expert_io.read_sheet(path.read_bytes(), "many.csv")
    finally:
        policy.configure(policy.Policy())
    assert len(expert_io.read_sheet(path.read_bytes(), "many.csv").rows) == 100


async def test_new_experts_are_written_in_batches_and_the_audit_chain_keeps_row_order(
    uow_factory: UnitOfWorkFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await build_org(uow_factory)
    monkeypatch.setattr(expert_writer, "BATCH", 2)
    rows = [full_row(n + 1, f"专家{n}", id_number(sequence=f"{n:02d}1"), employer=f"医院{n % 3}",
                     code=credit_code(n % 3 + 1)) for n in range(7)]
    statements: Counter[str] = Counter()
    engine = uow_factory.session_factory.kw["bind"]

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        table = "expert_employment" if "expert_employment" in statement else ""
        statements[statement.split(maxsplit=1)[0] + " " + table] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with uow_factory() as uow:
            report = await expert_io.import_experts(
                uow, actor=SYSTEM_CLI, source=write_xlsx(tmp_path / "in.xlsx", FULL_HEADERS, rows), org="div1")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert (report.created, report.institutions_created, report.rejected) == (7, 3, [])
    assert statements["SELECT expert_employment"] == 0  # a new expert has no work history to read
    async with uow_factory() as uow:
        entries = (await uow.session.exec(select(AuditEntry).where(col(AuditEntry.details).is_not(None))
                                          .order_by(col(AuditEntry.id)))).all()
        chain = await audit.verify_chain(uow)
        periods = (await uow.session.exec(select(func.count()).select_from(ExpertEmployment))).one()
    assert chain.ok
    imported = [e for e in entries if e.details.get("source") in ("in.xlsx", "expert_import")]
    assert [e.action for e in imported] == [
        "institution.created", "expert.created", "institution.created", "expert.created", "institution.created",
        *["expert.created"] * 5]
    created = [e for e in imported if e.action == "expert.created"]
    assert [int(e.object_id) for e in created] == report.created_ids
    assert [e.details["row"] for e in created] == list(range(4, 11))
    assert periods == 7


def test_progress_is_due_at_most_every_few_seconds_of_the_injected_clock() -> None:
    now = [100.0]
    gate = ProgressGate(lambda: now[0], every=3.0, min_rows=10)
    assert gate.due(5, 100) is False  # fewer rows than min_rows
    assert gate.due(10, 100) is True
    assert gate.due(50, 100) is False  # no time has passed
    now[0] += 2.9
    assert gate.due(60, 100) is False
    now[0] += 0.1
    assert gate.due(65, 100) is True
    now[0] += 10
    assert gate.due(100, 100) is False  # the last row: the report follows
    assert bar(1, 4, width=8) == "▓▓░░░░░░ 25%" and bar(0, 0, width=4) == "▓▓▓▓ 100%"


def test_the_command_line_draws_its_bar_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    now = [0.0]
    screen = Terminal()
    line = ProgressLine(screen, clock=lambda: now[0])
    line.update(1, 4)
    line.update(2, 4)  # too soon: not drawn
    now[0] += 1
    line.update(3, 4)
    line.close()
    assert screen.getvalue().count("\r") == 4  # two redraws, and the line cleared (\r...\r)
    assert "importing ▓▓▓▓▓░░░░░░░░░░░░░░░ 25% 1/4 rows" in screen.getvalue()
    assert "75% 3/4 rows" in screen.getvalue()
    piped = io.StringIO()
    quiet = ProgressLine(piped, clock=lambda: now[0])
    quiet.update(1, 4)
    quiet.close()
    assert piped.getvalue() == ""
