"""Small statistics for the draw benchmarks and their tests, without SciPy: Pearson's chi-square statistic of
observed counts against expected counts, and its upper tail (the p-value) through the regularised upper incomplete
gamma function Q(df/2, x/2) (series below a+1, continued fraction above; Numerical Recipes §6.2)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["chi_square", "chi_square_sf"]


def _lower_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    n = a
    for _ in range(10_000):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_fraction(a: float, x: float) -> float:
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi_square_sf(statistic: float, df: int) -> float:
    """P(X ≥ statistic) for X chi-square with ``df`` degrees of freedom."""
    if statistic <= 0:
        return 1.0
    a, x = df / 2, statistic / 2
    return 1 - _lower_series(a, x) if x < a + 1 else _upper_fraction(a, x)


def chi_square(observed: Sequence[float], expected: Sequence[float]) -> tuple[float, int, float]:
    """Pearson's statistic over the cells with a positive expectation, its degrees of freedom (cells - 1) and
    p-value."""
    cells = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0]
    statistic = sum((o - e) ** 2 / e for o, e in cells)
    df = max(1, len(cells) - 1)
    return statistic, df, chi_square_sf(statistic, df)
