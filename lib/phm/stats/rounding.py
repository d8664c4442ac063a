"""The rounding rule of every published figure: half away from zero.

Statistical publications (Statbel, the IMA Atlas) round a 5 in the first dropped decimal
away from zero (2.5 -> 3, -2.5 -> -3), whereas numpy and pandas ``round`` round half to even
(2.5 -> 2). Python's ``round`` also rounds half to even, and on the exact binary value.
"""

from __future__ import annotations

import numpy as np

from phm.stats.intervals import ArrayLike, _arr, _out

__all__ = ["round_half_away"]


def round_half_away(x: ArrayLike, decimals: int) -> np.ndarray:
    """``sign(x) * floor(|x| * 10**decimals + 0.5) / 10**decimals`` in double precision.

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
    x = _arr(x)
    scale = 10.0 ** int(decimals)
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale
    return _out(out + 0.0)  # -0.0 + 0.0 == +0.0
