"""Statistics for indicators: confidence intervals and age-sex standardisation.

Pure numpy/scipy/pandas (no Spark): :mod:`phm.stats.intervals` holds the intervals (Wilson,
Clopper-Pearson, exact Poisson, rates, means, Fay-Feuer, standardised ratios) and
:mod:`phm.stats.standardise` the reference weights and direct/indirect standardisation.
"""

from __future__ import annotations

from phm.stats.intervals import (
    clopper_pearson,
    fay_feuer,
    mean_normal,
    poisson_exact,
    rate,
    ratio_poisson,
    wilson,
)
from phm.stats.standardise import (
    AGE5,
    age5_of,
    direct,
    expected_indirect,
    indirect,
    reference_weights,
)

__all__ = [
    "AGE5",
    "age5_of",
    "clopper_pearson",
    "direct",
    "expected_indirect",
    "fay_feuer",
    "indirect",
    "mean_normal",
    "poisson_exact",
    "rate",
    "ratio_poisson",
    "reference_weights",
    "wilson",
]
