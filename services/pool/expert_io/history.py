"""The work-history column of an expert table (000 annex 1 "工作经历及专业特长"), applied after the row's record:
each period read and matched to the directory as :mod:`services.pool.work_history` says, merged into the stored
history (so a re-import dates a job change as the row says), and every period that could not be read or matched
listed in ``ImportReport.history_unmatched``. Lookups are cached for the file."""

from __future__ import annotations

from datetime import date

from services.pool.expert_io.checks import Row
from services.pool.expert_io.sheet import HistoryProblem, ImportReport
from services.pool.work_history import find_institution, merge_period, parse_history
from storage.pool import Institution
from storage.uow import UnitOfWork

FIELD = "work_history"


class HistoryWriter:
    """Applies the work-history cells of one file inside the import's transaction."""

    def __init__(self, uow: UnitOfWork, report: ImportReport, today: date) -> None:
        self.uow, self.report, self.today = uow, report, today
        self.found: dict[str, Institution | None] = {}

    async def _institution(self, text: str) -> Institution | None:
        if text not in self.found:
            self.found[text] = await find_institution(self.uow, text)
        return self.found[text]

    async def apply(self, row: Row, expert_id: int) -> None:
        """Merge the row's periods into the expert's history; list what could not be read or matched."""
        text: str | None = row.values.get(FIELD)
        if not text:
            return
        periods, unreadable = parse_history(text, today=self.today)
        for bad in unreadable:
            self.report.history_unmatched.append(HistoryProblem(row.number, bad.line, bad.code))
        for period in periods:
            institution = await self._institution(period.institution)
            if institution is None:  # kept, but recuses nobody until corrected
                self.report.history_unmatched.append(HistoryProblem(row.number, period.institution,
                                                                    "history_unmatched"))
            await merge_period(self.uow, expert_id, period, institution)
