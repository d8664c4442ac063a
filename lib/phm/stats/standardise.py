"""Age-sex standardisation: reference weights, direct and indirect standardisation.

Strata are the 5-year age band ``age5`` (its lower bound: 0, 5, ..., 95, where 95 means 95+)
crossed with ``sex`` ('M'/'F'), the bands of the European Standard Population 2013 and of the
Statbel population tables.

:func:`direct` and :func:`indirect` are reference implementations on the strata of one cell
(numpy arrays); the compiler does the same arithmetic in Spark and its tests compare to these.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from phm.stats.intervals import ArrayLike, _arr, _out, ratio_poisson

__all__ = [
    "AGE5",
    "age5_of",
    "direct",
    "expected_indirect",
    "indirect",
    "reference_weights",
]

AGE5: tuple[int, ...] = tuple(range(0, 100, 5))  # lower bounds of the 20 bands, 95 = 95+
SEXES: tuple[str, ...] = ("M", "F")

_BELGIUM = re.compile(r"belgium_(\d{4})")


def age5_of(age: ArrayLike) -> np.ndarray:
    """Lower bound of the 5-year band of ``age`` in whole years: ``min(age // 5 * 5, 95)``.

    Fractional ages are floored first. Negative or missing ages give NaN (not an error: the
    data contract's checks report them; here they simply fall in no stratum), which is why the
    result is a float array; cast with ``.astype(int)`` once NaNs are dealt with.

    >>> age5_of([0, 4, 5, 67, 94, 95, 103, -1]).tolist()
    [0.0, 0.0, 5.0, 65.0, 90.0, 95.0, 95.0, nan]
    """
    a = _arr(age)
    with np.errstate(invalid="ignore"):
        band = np.minimum(np.floor(a / 5.0) * 5.0, 95.0)
    return _out(np.where(a >= 0, band, np.nan))


def reference_weights(
    reference: str, *, min_age: int | None = None, max_age: int | None = None
) -> pd.DataFrame:
    """Age-sex weights of a reference population, one row per (age5, sex), summing to 1.

    ``reference``:

    * ``"esp2013"``: European Standard Population 2013 (Eurostat 2013, KS-RA-13-028). The ESP
      has no sex split, so each sex gets half of its band's weight.
    * ``"belgium_<year>"`` (e.g. ``"belgium_2020"``): Belgian legal population on 1 January by
      sex and band (Statbel), summed over the regions. Statbel figures are shipped for
      2019-2021 only; other years use the nearest of those (see
      :func:`phm.data.reference_data.population_age_sex_region`).

    ``min_age`` / ``max_age`` (inclusive, None = open) give the age range of the indicator's
    population: bands that overlap ``[min_age, max_age]`` are kept and the weights are
    renormalised to 1 (a partly covered band is kept whole).

    Returns columns ``age5`` (int), ``sex`` (str), ``weight`` (float), sorted by sex (M, F) then
    age5.

    >>> w = reference_weights("esp2013", min_age=65)
    >>> w.age5.unique().tolist(), round(float(w.weight.sum()), 12)
    ([65, 70, 75, 80, 85, 90, 95], 1.0)
    """
    # Imported here so that `phm.stats` itself needs neither pyspark nor the package data.
    from phm.data import reference_data as ref

    if reference == "esp2013":
        esp = ref.esp2013()
        bands = pd.DataFrame(
            {
                "age5": esp["age_from"].astype(int).to_numpy(),
                "esp": esp["esp2013"].astype(float).to_numpy(),
            }
        )
        frame = pd.concat(
            [bands.assign(sex=s, weight=bands["esp"] / 2.0) for s in SEXES], ignore_index=True
        )
    elif (m := _BELGIUM.fullmatch(reference)) is not None:
        pop = ref.population_age_sex_region(int(m.group(1)))
        frame = (
            pop.assign(age5=pop["age_from"].astype(int), weight=pop["population"].astype(float))
            .groupby(["sex", "age5"], as_index=False)["weight"]
            .sum()
        )
    else:
        raise ValueError(
            f"unknown reference population {reference!r}; expected 'esp2013' or "
            "'belgium_<year>' such as 'belgium_2020'"
        )

    lo = -np.inf if min_age is None else min_age
    hi = np.inf if max_age is None else max_age
    if lo > hi:
        raise ValueError(f"min_age {min_age} is above max_age {max_age}")
    # Band [age5, age5 + 4] overlaps [lo, hi]; the 95+ band is open above.
    band_top = np.where(frame["age5"] == 95, np.inf, frame["age5"] + 4)
    frame = frame[(frame["age5"] <= hi) & (band_top >= lo)]

    frame = frame.assign(sex=pd.Categorical(frame["sex"], categories=list(SEXES)))
    frame = frame.sort_values(["sex", "age5"]).reset_index(drop=True)
    return pd.DataFrame(
        {
            "age5": frame["age5"].astype(int),
            "sex": frame["sex"].astype(str),
            "weight": frame["weight"] / frame["weight"].sum(),
        }
    )


def direct(
    num_s: ArrayLike, den_s: ArrayLike, w_s: ArrayLike
) -> tuple[np.float64, np.float64, np.float64]:
    """Directly standardised rate of one cell from its strata: ``(dsr, var, w_max)``.

    With ``w`` renormalised to ``Σ w = 1`` and ``r_s = num_s / den_s``::

        dsr   = Σ w_s r_s
        var   = Σ w_s² num_s / den_s²      (Poisson variance of the dsr)
        w_max = max_s w_s / den_s          (over strata with den_s > 0)

    the inputs of :func:`phm.stats.intervals.fay_feuer`. Source: Breslow & Day (1987) §2.2;
    Fay & Feuer (1997) Stat Med 16:791.

    The weights are renormalised over the strata present in the cell (``den_s > 0``). A cell
    broken down by sex, or restricted to ages 65-74, is then standardised within its own strata
    instead of reading half or a tenth of its rate, and a cell shaped like the reference gives
    dsr = crude exactly. The price: a small area with an empty stratum is standardised on a
    slightly different standard (the missing weight is spread over the others). The Spark
    compiler (:func:`phm.execute.aggregate.indicator_cells`) does exactly this. A cell with no
    stratum present gives NaN for all three.

    >>> dsr, var, wm = direct([2, 6], [100, 200], [0.5, 0.5]); print(f"{dsr:.3f}")
    0.025
    >>> dsr, var, wm = direct([2, 0, 6], [100, 0, 200], [0.25, 0.5, 0.25]); print(f"{dsr:.3f}")
    0.025
    """
    num, den, w = np.broadcast_arrays(_arr(num_s), _arr(den_s), _arr(w_s))
    present = den > 0
    w = w / np.where(present, w, 0.0).sum() if present.any() else w
    with np.errstate(divide="ignore", invalid="ignore"):
        dsr = np.where(present, w * num / den, 0.0).sum()
        var = np.where(present, w * w * num / (den * den), 0.0).sum()
        w_max = np.where(present, w / den, -np.inf).max(initial=-np.inf)
    if not present.any():
        return np.float64(np.nan), np.float64(np.nan), np.float64(np.nan)
    return np.float64(dsr), np.float64(var), np.float64(w_max)


def expected_indirect(den_s: ArrayLike, ref_rate_s: ArrayLike) -> np.float64:
    """Expected count of one cell under the reference rates: ``E = Σ den_s × ref_rate_s``.

    A stratum with ``den_s == 0`` contributes 0 even when its reference rate is missing (NaN);
    a missing rate in a populated stratum makes E NaN.

    >>> float(expected_indirect([1000, 200], [0.01, 0.05]))
    20.0
    """
    den, rr = np.broadcast_arrays(_arr(den_s), _arr(ref_rate_s))
    return np.float64(np.where(den == 0, 0.0, den * rr).sum())


def indirect(
    o: float, den_s: ArrayLike, ref_rate_s: ArrayLike, ref_crude: float, level: float = 0.95
) -> dict[str, Any]:
    """Indirect standardisation of one cell with ``o`` observed events.

    ``E = Σ den_s × ref_rate_s``; ``ratio = O / E`` (SMR) with exact Poisson bounds
    ``poisson_exact(O) / E``; the indirectly standardised rate is ``ratio × ref_crude``
    (the reference population's crude rate), bounds scaled the same way. Source: Breslow & Day
    (1987) §2.3. NaN ratio and rate when ``E == 0``.

    Returns a dict with keys ``expected, ratio, ratio_lo, ratio_hi, rate, rate_lo, rate_hi``.

    >>> r = indirect(25, [1000, 200], [0.01, 0.05], 0.02); r["expected"], r["ratio"]
    (20.0, 1.25)
    """
    e = expected_indirect(den_s, ref_rate_s)
    ratio, ratio_lo, ratio_hi = ratio_poisson(float(o), e, level)
    crude = float(ref_crude)
    return {
        "expected": float(e),
        "ratio": float(ratio),
        "ratio_lo": float(ratio_lo),
        "ratio_hi": float(ratio_hi),
        "rate": float(ratio) * crude,
        "rate_lo": float(ratio_lo) * crude,
        "rate_hi": float(ratio_hi) * crude,
    }
