"""The figures of ``/stats`` read by index, not by scanning the tables (issue 17: "the queries use indexes (no full
scan per figure)"): every statement ``unit_stats`` and the lists run is captured and explained on SQLite, and no
large table is scanned without an index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from services.insight import lists, period, stats
from storage.db import create_engine, create_session_factory
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org, staff_actor

LARGE = ("activity", "activity_member", "lead", "expert", "draw_record", "audit_entry")


@contextmanager
def _captured(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)


async def test_every_figure_and_list_reads_its_tables_by_index(database_url: str, clock: Any) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan is checked on SQLite (PostgreSQL plans small test tables with sequential scans)")
    engine = create_engine(database_url)
    try:
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), clock=clock)
        org = await build_org(uow_factory)
        actor = staff_actor(org.staff_id, org.bureau_id)
        with _captured(engine) as seen:
            async with uow_factory() as uow:
                month = period.parse(None, today=uow.today())
                await stats.unit_stats(uow, actor=actor, period=month)
                for figure in lists.Figure:
                    await lists.figure_list(uow, actor=actor, figure=figure.value, unit_id=org.bureau_id,
                                            period=month)
        scans = []
        control = ("SELECT count(*) FROM lead WHERE what = ?", ("x",))  # a scan the check must catch
        async with engine.connect() as connection:
            for statement, parameters in [control, *seen]:
                plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
                for row in plan:
                    detail = str(row[-1])
                    found = re.match(r"SCAN (\w+)", detail)
                    if found and found[1] in LARGE and "INDEX" not in detail:
                        scans.append((detail, statement[:200]))
        assert len(seen) >= 10
        assert scans[0][1].startswith("SELECT count(*) FROM lead WHERE what"), "the check sees a full scan"
        assert not scans[1:], scans[1:]
    finally:
        await engine.dispose()
