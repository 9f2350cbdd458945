"""Charts as PNG (issue 17): the packaged CJK font is found, so Chinese labels render, and a chart is a PNG of the
stated size with something drawn on it."""

from __future__ import annotations

import io

from PIL import Image

from services.documents.charts import BarChart, cjk_font, render


def test_the_packaged_cjk_font_is_found() -> None:
    font = cjk_font()
    assert font is not None and font.suffix in (".otf", ".ttf", ".ttc")


def test_a_stacked_chart_is_a_png_with_bars_and_labels() -> None:
    png = render(BarChart("线索 · 每月", ["2026-01", "2026-02", "2026-03"],
                          [("已收到", [1, 2, 0]), ("已受理", [3, 0, 1])], "件"))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (800, 450)
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 10
