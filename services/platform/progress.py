"""Progress of a long job (an import of tens of thousands of rows) shown to a person: how often to show it and a
text bar. The time comes from the caller's clock (injected: tests move it), so nothing depends on the machine's
speed; the bot edits one message in place with it, the CLI redraws one line (issue 21)."""

from __future__ import annotations

from collections.abc import Callable

BAR_WIDTH = 20


class ProgressGate:
    """Says when progress is worth showing: at most once per ``every`` seconds of ``clock`` (seconds, any
    origin) and only once ``min_rows`` more rows are done; never for the last row (the report follows)."""

    def __init__(self, clock: Callable[[], float], *, every: float, min_rows: int = 1) -> None:
        self.clock, self.every, self.min_rows = clock, every, min_rows
        self.shown_at: float | None = None
        self.shown_rows = 0

    def due(self, done: int, total: int) -> bool:
        """Whether to show ``done`` of ``total`` now (and, if so, note that it was shown)."""
        if done >= total or done - self.shown_rows < self.min_rows:
            return False
        now = self.clock()
        if self.shown_at is not None and now - self.shown_at < self.every:
            return False
        self.shown_at, self.shown_rows = now, done
        return True


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``▓▓▓▓▓░░░░░ 50%``: how much of ``total`` is done."""
    share = min(1.0, done / total) if total > 0 else 1.0
    filled = int(share * width)
    return "▓" * filled + "░" * (width - filled) + f" {int(share * 100)}%"
