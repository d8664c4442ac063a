"""Confidence intervals for proportions, counts, rates, means and standardised measures.

Every function is vectorised: arguments are scalars, numpy arrays or pandas Series (broadcast
together) and results are numpy floats (a scalar in, a ``numpy.float64`` out; an array in, an
array out). Where a value is undefined (``n == 0``, a negative count, a missing input...) the
result is NaN rather than an exception, so one empty cell never stops a whole table.

``level`` is the two-sided confidence level (default 0.95) and ``alpha = 1 - level``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

ArrayLike = Any  # scalar, sequence, numpy array or pandas Series

__all__ = [
    "clopper_pearson",
    "fay_feuer",
    "mean_normal",
    "poisson_exact",
    "rate",
    "ratio_poisson",
    "wilson",
    "wilson_effective",
]


def _arr(x: ArrayLike) -> np.ndarray:
    """Float array; pandas nullable values (pd.NA) become NaN."""
    if hasattr(x, "to_numpy"):  # pandas Series / Index / ExtensionArray
        return x.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(x, dtype=float)


def _out(x: np.ndarray) -> np.ndarray:
    # A 0-d array back to a numpy scalar, so scalar in -> scalar out.
    return x[()]


def _alpha(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return 1.0 - level


def wilson(k: ArrayLike, n: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``k / n``.

    With ``p = k/n`` and ``z`` the ``1 - alpha/2`` normal quantile::

        centre = (k + z²/2) / (n + z²)
        half   = z / (n + z²) * sqrt(k (n - k) / n + z²/4)

    Bounds are ``centre ± half``, exactly 0 when ``k == 0`` and 1 when ``k == n``.
    Source: Wilson (1927) JASA 22:209; Newcombe (1998) Stat Med 17:857, method 3.
    NaN when ``n <= 0`` or ``k`` is outside ``[0, n]``.

    >>> lo, hi = wilson(81, 263); print(f"{lo:.4f} {hi:.4f}")
    0.2553 0.3662
    """
    z = stats.norm.ppf(1.0 - _alpha(level) / 2.0)
    k, n = np.broadcast_arrays(_arr(k), _arr(n))
    ok = (n > 0) & (k >= 0) & (k <= n)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (k + z * z / 2.0) / (n + z * z)
        half = z / (n + z * z) * np.sqrt(np.clip(k * (n - k) / n, 0.0, None) + z * z / 4.0)
    # Rounding can leave -1e-17 at k == 0; the exact limits are 0 and 1 there.
    lo = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    hi = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return _out(np.where(ok, lo, np.nan)), _out(np.where(ok, hi, np.nan))


def wilson_effective(
    p: ArrayLike, var: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a weighted (e.g. directly standardised) proportion ``p``.

    The proportion's sampling variance ``var`` replaces the binomial ``p(1-p)/n`` through the
    effective sample size ``n_eff = p(1-p) / var``, and the interval is the Wilson interval of
    ``n_eff * p`` successes out of ``n_eff`` (Korn & Graubard 1998, Survey Methodology 24:193,
    who apply the effective sample size to the exact binomial interval; with the Wilson
    interval as in Dean & Pagano 2015, J Surv Stat Methodol 3:484). For a directly
    standardised proportion ``p = Σ w_s k_s/n_s`` (weights normalised to Σ w_s = 1) the
    variance is the binomial one, ``var = Σ w_s² p_s (1 - p_s) / n_s``. With one stratum
    ``n_eff = n`` and the interval is the crude :func:`wilson` interval.

    Where ``n_eff`` is undefined (``p`` is 0 or 1, or ``var`` is 0) the crude number ``n`` is
    used instead: at ``p == 0`` the interval is ``[0, z²/(n + z²)]``, as for ``0`` out of
    ``n``. The bounds lie in ``[0, 1]`` by construction (no clipping beyond the rounding
    guard of :func:`wilson`). NaN when ``p`` is missing or outside ``[0, 1]``, ``var < 0``, or
    ``n_eff`` is undefined and ``n <= 0``.

    >>> lo, hi = wilson_effective(0.5, 0.025, 20); print(f"{lo:.6f} {hi:.6f}")
    0.236593 0.763407
    """
    p, v, n = np.broadcast_arrays(_arr(p), _arr(var), _arr(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        defined = (p > 0) & (p < 1) & (v > 0)
        n_eff = np.where(defined, p * (1.0 - p) / np.where(defined, v, 1.0), n)
    n_eff = np.where(v >= 0, n_eff, np.nan)  # a negative variance is an error, not a fallback
    return wilson(p * n_eff, n_eff, level)


def clopper_pearson(
    k: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) binomial interval for a proportion ``k / n``.

    ``lo = Beta⁻¹(alpha/2; k, n-k+1)`` (0 when ``k == 0``),
    ``hi = Beta⁻¹(1-alpha/2; k+1, n-k)`` (1 when ``k == n``).
    Source: Clopper & Pearson (1934) Biometrika 26:404; Newcombe (1998) method 5.
    NaN when ``n <= 0`` or ``k`` is outside ``[0, n]``.

    >>> lo, hi = clopper_pearson(0, 10); print(f"{lo:.4f} {hi:.4f}")
    0.0000 0.3085
    """
    a = _alpha(level)
    k, n = np.broadcast_arrays(_arr(k), _arr(n))
    ok = (n > 0) & (k >= 0) & (k <= n)
    # The beta shape parameters must be > 0: feed dummy 1s where the bound is fixed at 0 or 1.
    with np.errstate(invalid="ignore"):
        lo = stats.beta.ppf(a / 2.0, np.where(k > 0, k, 1.0), np.where(ok, n - k + 1.0, 1.0))
        hi = stats.beta.ppf(1.0 - a / 2.0, np.where(ok, k + 1.0, 1.0), np.where(k < n, n - k, 1.0))
    lo = np.where(k == 0, 0.0, lo)
    hi = np.where(k == n, 1.0, hi)
    return _out(np.where(ok, lo, np.nan)), _out(np.where(ok, hi, np.nan))


def poisson_exact(o: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count ``o``.

    ``lo = χ²⁻¹(alpha/2; 2o) / 2`` (0 when ``o == 0``), ``hi = χ²⁻¹(1-alpha/2; 2(o+1)) / 2``.
    The bounds are on the count: divide by person-years for a rate or by the expected count for
    a standardised ratio. Source: Garwood (1936) Biometrika 28:437; Ulm (1990) Am J Epidemiol
    131:373. NaN when ``o < 0``.

    >>> lo, hi = poisson_exact(10); print(f"{lo:.3f} {hi:.3f}")
    4.795 18.390
    """
    a = _alpha(level)
    o = _arr(o)
    ok = o >= 0
    with np.errstate(invalid="ignore"):
        lo = stats.chi2.ppf(a / 2.0, 2.0 * np.where(o > 0, o, 1.0)) / 2.0
        hi = stats.chi2.ppf(1.0 - a / 2.0, 2.0 * (np.where(ok, o, 0.0) + 1.0)) / 2.0
    lo = np.where(o == 0, 0.0, lo)
    return _out(np.where(ok, lo, np.nan)), _out(np.where(ok, hi, np.nan))


def rate(
    o: ArrayLike, person_years: ArrayLike, per: float = 1.0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crude rate ``o / person_years * per`` with exact Poisson bounds scaled the same way.

    NaN when ``person_years <= 0``.

    >>> v, lo, hi = rate(10, 2000, per=1000); print(f"{v:.2f} {lo:.3f} {hi:.3f}")
    5.00 2.398 9.195
    """
    o, py = np.broadcast_arrays(_arr(o), _arr(person_years))
    lo, hi = poisson_exact(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(py > 0, per / py, np.nan)
    return _out(o * scale), _out(lo * scale), _out(hi * scale)


def mean_normal(
    total: ArrayLike, total_sq: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``n`` values from their sum and sum of squares, with a Student-t interval.

    ``mean = Σx / n``, ``s² = (Σx² - (Σx)²/n) / (n - 1)``, bounds
    ``mean ± t(1-alpha/2; n-1) * s / sqrt(n)``. The one-pass variance loses precision when the
    mean is huge relative to the spread (not the case for costs or contact counts); a tiny
    negative ``s²`` from rounding is clipped to 0. NaN mean when ``n <= 0``; NaN bounds when
    ``n < 2``.

    >>> m, lo, hi = mean_normal(10.0, 30.0, 4); print(f"{m:.2f} {lo:.4f} {hi:.4f}")
    2.50 0.4457 4.5543
    """
    a = _alpha(level)
    total, total_sq, n = np.broadcast_arrays(_arr(total), _arr(total_sq), _arr(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.clip((total_sq - total * total / n) / (n - 1.0), 0.0, None)
        t = stats.t.ppf(1.0 - a / 2.0, np.where(n >= 2, n - 1.0, 1.0))
        half = np.where(n >= 2, t * np.sqrt(var / n), np.nan)
    return _out(mean), _out(mean - half), _out(mean + half)


def fay_feuer(
    dsr: ArrayLike, var: ArrayLike, w_max: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Gamma interval for a directly standardised rate (Fay & Feuer 1997, Stat Med 16:791).

    With ``y = dsr = Σ w_s r_s`` (weights normalised to Σ w_s = 1, ``r_s = num_s / den_s``),
    ``v = var = Σ w_s² num_s / den_s²`` and ``wm = w_max = max_s w_s / den_s``::

        lo = v / (2y) * χ²⁻¹(alpha/2; 2y²/v)                            (0 when y == 0)
        hi = (v + wm²) / (2(y + wm)) * χ²⁻¹(1-alpha/2; 2(y + wm)²/(v + wm²))

    computed in the equivalent form ``Γ⁻¹(p; shape = y²/v, scale = v/y)``. With one stratum it
    reduces to the exact Poisson interval divided by the denominator. This is the method of
    the US NCI SEER*Stat and CDC WONDER. NaN when an input is NaN, ``y < 0``, ``v < 0``,
    ``wm <= 0``, or ``y > 0`` with ``v == 0`` (inconsistent inputs).

    >>> lo, hi = fay_feuer(0.01, 0.01 / 1000, 0.001); print(f"{lo:.6f} {hi:.6f}")
    0.004795 0.018390
    """
    a = _alpha(level)
    y, v, wm = np.broadcast_arrays(_arr(dsr), _arr(var), _arr(w_max))
    ok = (y >= 0) & (v >= 0) & (wm > 0) & ~((y > 0) & (v == 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = ok & (y > 0)
        y1, v1 = np.where(pos, y, 1.0), np.where(pos, v, 1.0)  # placeholders keep scipy quiet
        lo = stats.gamma.ppf(a / 2.0, y1 * y1 / v1, scale=v1 / y1)
        yu, vu = np.where(ok, y + wm, 1.0), np.where(ok, v + wm * wm, 1.0)
        hi = stats.gamma.ppf(1.0 - a / 2.0, yu * yu / vu, scale=vu / yu)
    lo = np.where(y == 0, 0.0, lo)
    return _out(np.where(ok, lo, np.nan)), _out(np.where(ok, hi, np.nan))


def ratio_poisson(
    o: ArrayLike, e: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised ratio ``O / E`` (e.g. the SMR) with exact Poisson bounds on ``O`` over ``E``.

    ``E`` is treated as fixed (it comes from a large reference population). Source: Breslow &
    Day (1987) Statistical Methods in Cancer Research II, IARC Sci Publ 82, §2.3. NaN when
    ``e <= 0``.

    >>> v, lo, hi = ratio_poisson(25, 20); print(f"{v:.2f} {lo:.4f} {hi:.4f}")
    1.25 0.8089 1.8452
    """
    o, e = np.broadcast_arrays(_arr(o), _arr(e))
    lo, hi = poisson_exact(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(e > 0, 1.0 / e, np.nan)
    return _out(o * inv), _out(lo * inv), _out(hi * inv)
