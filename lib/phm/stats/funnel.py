"""Funnel-plot control limits for a hospital's O/E ratio (observed / expected events).

Under the null hypothesis that a hospital performs as the risk model expects, its observed
count ``O`` of a binary outcome is a sum of independent Bernoulli(p_i) over its stays: mean
``E = Σ p_i`` and variance ``V = Σ p_i (1 - p_i)``. With the normal approximation the
two-sided ``level`` limits of ``O / E`` are ``1 ± z sqrt(V) / E``; plotted against ``E`` they
draw the funnel, and a hospital outside it is flagged (Spiegelhalter 2005, Stat Med 24:1185,
"Funnel plots for comparing institutional performance", §3 and Table I).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from phm.stats.intervals import ArrayLike, _alpha, _arr, _out

__all__ = ["oe_limits", "outlier_flags"]


def oe_limits(
    expected: ArrayLike, variance: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ``level`` limits of O/E for hospitals expected to perform as predicted.

    ``1 ± z sqrt(variance) / expected`` with ``z = Φ⁻¹(0.5 + level/2)`` (1.96 at 0.95, 3.09 at
    0.998). The lower limit is floored at 0, as O/E cannot go below it. NaN where
    ``expected <= 0`` or ``variance < 0`` (or either is missing).

    >>> lo, hi = oe_limits(100, 90); print(f"{lo:.4f} {hi:.4f}")
    0.8141 1.1859
    """
    z = stats.norm.ppf(1.0 - _alpha(level) / 2.0)
    e, v = np.broadcast_arrays(_arr(expected), _arr(variance))
    ok = (e > 0) & (v >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(ok, z * np.sqrt(np.where(ok, v, 0.0)) / e, np.nan)
    return _out(np.maximum(1.0 - half, 0.0)), _out(1.0 + half)


def outlier_flags(oe: ArrayLike, limits: dict[float, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Flag each O/E against the limits of several levels (e.g. ``{0.95: ..., 0.998: ...}``).

    ``'above_<pct>'`` names the widest (highest-level) upper limit strictly exceeded,
    ``'below_<pct>'`` likewise for the lower limits, and ``'within'`` otherwise; ``<pct>`` is
    ``f"{level*100:g}"`` ('95', '99.8'). None where ``oe`` is missing, or where one of the limits
    is (no expected count: the hospital cannot be judged, which is not the same as 'within').
    Returns an object array (a single value for a scalar ``oe``).

    >>> lims = {0.95: oe_limits(100, 90, 0.95), 0.998: oe_limits(100, 90, 0.998)}
    >>> outlier_flags([1.0, 1.2, 1.4, 0.7, float("nan")], lims).tolist()
    ['within', 'above_95', 'above_99.8', 'below_99.8', None]
    """
    if not limits:
        raise ValueError("no limits given")
    levels = sorted(limits)
    arrays = [np.broadcast_arrays(_arr(limits[lv][0]), _arr(limits[lv][1])) for lv in levels]
    x = np.broadcast_arrays(_arr(oe), *[a for pair in arrays for a in pair])[0]
    flags = np.full(x.shape, "within", dtype=object)
    unknown = np.isnan(x)
    # Narrowest level first, so a wider limit exceeded overwrites a narrower one.
    for lv, (lo, hi) in zip(levels, arrays):
        lo, hi = np.broadcast_to(lo, x.shape), np.broadcast_to(hi, x.shape)
        unknown |= np.isnan(lo) | np.isnan(hi)
        pct = f"{lv * 100:g}"
        with np.errstate(invalid="ignore"):
            flags[x > hi] = f"above_{pct}"
            flags[x < lo] = f"below_{pct}"
    flags[unknown] = None
    return _out(flags)
