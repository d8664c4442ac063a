"""The rounding rule of every published figure: half away from zero.

Statistical publications (Statbel, the IMA Atlas) round a 5 in the first dropped decimal
away from zero (2.5 -> 3, -2.5 -> -3), whereas numpy and pandas ``round`` round half to even
(2.5 -> 2). Python's ``round`` also rounds half to even, and on the exact binary value.
"""

from __future__ import annotations

import numpy as np

from phm.stats.intervals import ArrayLike, _arr, _out

__all__ = ["SIGNIFICANT", "round_half_away", "snap"]

SIGNIFICANT = 12  # digits kept before rounding: below the noise of adding doubles in any order


def snap(x: ArrayLike) -> np.ndarray:
    """``x`` to :data:`SIGNIFICANT` significant digits: the same figure added up by Spark in
    another order (another plan, other partitions) differs in its last bits, 86.25 one time
    and 86.24999999999999 the next, which would round to 86.3 and 86.2. Snapped, both are the
    double nearest 86.25. Zero, NaN and ±inf are left alone."""
    x = _arr(x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = 10.0 ** (SIGNIFICANT - 1 - np.floor(np.log10(np.abs(x))))
        snapped = np.round(x * scale) / scale
    return np.where(np.isfinite(snapped) & (x != 0), snapped, x)


def round_half_away(x: ArrayLike, decimals: int) -> np.ndarray:
    """``sign(x) * floor(|x| * 10**decimals + 0.5) / 10**decimals`` in double precision, on
    ``x`` first :func:`snap`-ped to 12 significant digits.

    Vectorised; NaN stays NaN and ±inf stays ±inf. The scaling ``|x| * 10**decimals`` is the
    double product, so a value whose binary double lies just below a half (1.005 is
    1.00499999999999989...; times 100 gives 100.49999999999999) rounds down, exactly as the
    formula says. A result of -0.0 is returned as 0.0 (equal as numbers, printed without sign).

    >>> round_half_away([2.5, -2.5, 0.125, 1.25, float("nan")], 1).tolist()
    [2.5, -2.5, 0.1, 1.3, nan]
    >>> round_half_away([2.5, -2.5, 0.5, -0.4], 0).tolist()
    [3.0, -3.0, 1.0, 0.0]
    >>> float(round_half_away(0.125, 2))
    0.13
    """
    if int(decimals) != decimals:
        raise ValueError(f"decimals must be an integer, got {decimals!r}")
    x = snap(x)
    scale = 10.0 ** int(decimals)
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale
    return _out(out + 0.0)  # -0.0 + 0.0 == +0.0
