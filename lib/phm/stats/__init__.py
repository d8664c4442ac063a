"""Statistics for indicators: confidence intervals, age-sex standardisation, risk adjustment.

Pure numpy/scipy/pandas (no Spark): :mod:`phm.stats.intervals` holds the intervals (Wilson,
Clopper-Pearson, exact Poisson, rates, means, Fay-Feuer, standardised ratios),
:mod:`phm.stats.standardise` the reference weights and direct/indirect standardisation,
:mod:`phm.stats.risk_model` the logistic model behind hospital comparisons and
:mod:`phm.stats.funnel` the funnel-plot limits of O/E ratios.
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
