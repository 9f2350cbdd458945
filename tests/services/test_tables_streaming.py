"""Tables are written as a stream (issue 21): the XLSX writer keeps the formats openpyxl gave them (text as text,
never a formula; dates as dates; bold headers, a merged title, frozen panes), takes rows from a generator, and the
expert export reads the pool a batch at a time in the same order as before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from services.platform.roles import SYSTEM_CLI
from services.platform.tables import TableWriter, read_cells, text_of, write_table
from services.platform.xlsx import column_letter
from services.pool import expert_io
from services.pool.expert_io import export as expert_export
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org


def test_xlsx_cells_keep_their_kinds_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    rows = [["=1+1", 7, 2.5, True, date(2026, 3, 2), datetime(2026, 3, 2, 9, 30, tzinfo=UTC), None, "a&b<c>\r\n"],
            ["bad\x01char", -3, 0.0, False, None, None, "  spaced  ", "张三"]]
    write_table(path, ["姓名", "数", "小数", "是否", "日期", "时间", "空", "备注"], rows, title="名册")
    sheet = load_workbook(path).worksheets[0]
    assert sheet.title == "Sheet"
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:H1"]
    assert sheet.freeze_panes == "A3"
    title = sheet.cell(1, 1)
    assert (title.value, title.font.b, title.font.sz, title.alignment.horizontal) == ("名册", True, 14, "center")
    assert all(sheet.cell(2, c).font.b and sheet.cell(2, c).data_type == "s" for c in range(1, 9))
    formula = sheet.cell(3, 1)
    assert (formula.value, formula.data_type, formula.number_format) == ("=1+1", "s", "@")
    assert [sheet.cell(3, c).value for c in range(2, 5)] == [7, 2.5, True]
    assert sheet.cell(3, 5).value == datetime(2026, 3, 2) and sheet.cell(3, 5).number_format == "yyyy-mm-dd"
    assert sheet.cell(3, 6).value == datetime(2026, 3, 2, 9, 30)  # the wall time, as openpyxl wrote it
    assert sheet.cell(3, 7).value is None
    assert sheet.cell(3, 8).value == "a&b<c>\r\n"
    assert sheet.cell(4, 1).value == "badchar"  # XML cannot carry U+0001: dropped rather than refusing the file
    assert sheet.cell(4, 7).value == "  spaced  " and sheet.cell(4, 4).value is False
    assert sheet.column_dimensions["A"].width == 8 and sheet.column_dimensions["H"].width == 8


def test_a_table_written_as_xlsx_reads_back_like_its_csv(tmp_path: Path) -> None:
    rows = [[n, f"专家{n}", date(2026, 1, 1 + n), "650102198001011234"] for n in range(1, 6)]
    for suffix in ("xlsx", "csv"):
        write_table(tmp_path / f"t.{suffix}", ["序号", "姓名", "日期", "身份证号码"], rows)
    xlsx = read_cells((tmp_path / "t.xlsx").read_bytes(), "t.xlsx")
    csv = read_cells((tmp_path / "t.csv").read_bytes(), "t.csv")
    assert len(xlsx) == len(csv) == 6
    assert [[text_of(c) for c in row] for _, row in xlsx] == [[text_of(c) for c in row] for _, row in csv]


def test_rows_come_from_a_generator_and_reach_the_file_as_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    handed: list[int] = []

    def rows() -> Iterator[list[object]]:
        for n in range(3000):
            handed.append(n)
            yield [n, f"row {n}"]

    with TableWriter(path, ["n", "text"]) as writer:
        writer.extend(rows())  # type: ignore[arg-type]
        assert writer.count == 3000 and len(handed) == 3000
    workbook = load_workbook(path, read_only=True)  # a read-only workbook keeps its file open until closed
    try:
        assert sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) == 3001
    finally:
        workbook.close()


def test_column_letters_go_past_z() -> None:
    assert [column_letter(n) for n in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


def test_only_xlsx_and_csv_are_written(tmp_path: Path) -> None:
    from services.platform.errors import InvalidInput

    with pytest.raises(InvalidInput):
        TableWriter(tmp_path / "t.xls", ["a"])


async def test_the_expert_export_reads_the_pool_in_batches_in_the_same_order(
    uow_factory: UnitOfWorkFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.people import orgs

    await build_org(uow_factory)
    for n in range(7):
        async with uow_factory() as uow:
            await orgs.add_member(uow, actor=SYSTEM_CLI, kind="expert", name=f"专家{n}", org=("div1", "div2")[n % 2])
    paths = []
    for batch in (1000, 2):
        monkeypatch.setattr(expert_export, "BATCH", batch)
        path = tmp_path / f"batch{batch}.xlsx"
        async with uow_factory() as uow:
            result = await expert_io.export_experts(uow, actor=SYSTEM_CLI, path=path, states=["applicant",
                                                                                               "active"])
        paths.append(path)
        assert result.count == 9  # the seven, and the two experts build_org makes
    first, second = ([row for _, row in read_cells(p.read_bytes(), p.name)] for p in paths)
    assert first == second
    assert [row[0] for row in first[2:]] == list(range(1, 10))
