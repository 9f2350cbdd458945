"""Charts as PNG images (issue 17): bars (stacked per month, or one series) drawn with matplotlib's object API on
an Agg canvas, so a chart can be drawn in a worker thread (``asyncio.to_thread``) without touching pyplot's global
state and never delays a button press. Labels arrive already in the reader's language.

Chinese labels need a CJK font: the Noto Sans CJK SC face shipped by the ``mplfonts`` package (installed with the
project, see README "Libraries"), else any CJK font matplotlib finds on the system, else its default (the labels
then show as boxes, and a warning is logged once). matplotlib is imported on first use: the bot starts without it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PACKAGED_FONT = "NotoSansCJKsc-Regular.otf"
SIZE = (8.0, 4.5)  # inches at 100 dpi: 800 x 450 px, readable on a phone
COLOURS = ("#3b6fb6", "#e0a030", "#5aa469", "#c8553d", "#8c6bb1", "#7f7f7f", "#2bb3c0", "#d17fb0")


@dataclass(frozen=True)
class BarChart:
    """``series``: (label, one value per x label); stacked when there are several."""

    title: str
    x_labels: list[str]
    series: list[tuple[str, list[float]]]
    y_label: str = ""


@cache
def cjk_font() -> Path | None:
    """A font file with Chinese glyphs: the packaged Noto face, else a system one, else None."""
    try:
        packaged = resources.files("mplfonts").joinpath("fonts", PACKAGED_FONT)
        if packaged.is_file():
            return Path(str(packaged))
    except ModuleNotFoundError:
        pass
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if any(word in entry.name for word in ("CJK", "WenQuanYi", "Hei", "Song", "Han Sans")):
            return Path(entry.fname)
    logger.warning("no CJK font found: Chinese chart labels will not render (install the mplfonts package)")
    return None


def _font() -> Any:
    from matplotlib import font_manager

    path = cjk_font()
    if path is None:
        return font_manager.FontProperties()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path))


def render(chart: BarChart) -> bytes:
    """The chart as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    font = _font()
    figure = Figure(figsize=SIZE, dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(chart.x_labels)))
    bottoms = [0.0] * len(positions)
    for index, (label, values) in enumerate(chart.series):
        axes.bar(positions, values, bottom=bottoms, label=label, color=COLOURS[index % len(COLOURS)])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_xticks(positions, chart.x_labels, fontproperties=font, rotation=45 if len(positions) > 6 else 0,
                    ha="right" if len(positions) > 6 else "center")
    axes.set_title(chart.title, fontproperties=font, fontsize=14)
    axes.set_ylabel(chart.y_label, fontproperties=font)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(chart.series) > 1:
        axes.legend(prop=font, fontsize="small")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
