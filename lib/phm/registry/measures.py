"""Measures and their interval methods: how an indicator's numerator and denominator become a
published value with a confidence interval.

A measure kind (:class:`Measure` subclass) declares its shape: does the numerator count persons
meeting conditions or add up a feature, is the denominator persons, person-time or a summed
feature, is the value a share of the denominator's persons (then a perturbed numerator is kept
at most the denominator, and a standardised value at most 1), which interval methods fit it
(the first is the default) and how a directly standardised value gets its interval. An interval
method (:class:`Interval` subclass) computes the crude interval of a cell from its sums.

Both are defined once here; the spec models, the aggregation, finalisation and ``phm explain``
ask the registry. The statistics are those of :mod:`phm.stats.intervals` (numpy and scipy,
imported when an interval is computed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MEASURES: dict[str, Measure] = {}
INTERVALS: dict[str, Interval] = {}
DENOMINATORS = ("persons", "person_years", "person_days")  # person-time from insured_days

Bounds = tuple["np.ndarray", "np.ndarray"]


# ---------------------------------------------------------------------------------------------
# interval methods of a crude value num / den


class Interval:
    name: ClassVar[str]
    doc: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        INTERVALS[cls.name] = cls()

    def crude(self, num: np.ndarray, den: np.ndarray, sq: np.ndarray, level: float) -> Bounds:
        """Bounds of num / den (``sq``: the sum of squared person values, for means)."""
        raise NotImplementedError


class Wilson(Interval):
    name = "wilson"
    doc = "Wilson score interval of a proportion"

    def crude(self, num: np.ndarray, den: np.ndarray, sq: np.ndarray, level: float) -> Bounds:
        from phm.stats import intervals

        return intervals.wilson(num, den, level)


class Exact(Interval):
    name = "exact"
    doc = "exact (Clopper-Pearson) binomial interval of a proportion"

    def crude(self, num: np.ndarray, den: np.ndarray, sq: np.ndarray, level: float) -> Bounds:
        from phm.stats import intervals

        return intervals.clopper_pearson(num, den, level)


class Poisson(Interval):
    name = "poisson"
    doc = "exact (Garwood) Poisson interval of the numerator, divided by the denominator"

    def crude(self, num: np.ndarray, den: np.ndarray, sq: np.ndarray, level: float) -> Bounds:
        import numpy as np

        from phm.stats import intervals

        lo, hi = intervals.poisson_exact(num, level)
        return np.where(den > 0, lo / den, np.nan), np.where(den > 0, hi / den, np.nan)


class Normal(Interval):
    name = "normal"
    doc = "Student-t interval of a mean, from the sums of the values and of their squares"

    def crude(self, num: np.ndarray, den: np.ndarray, sq: np.ndarray, level: float) -> Bounds:
        from phm.stats import intervals

        _, lo, hi = intervals.mean_normal(num, sq, den, level)
        return lo, hi


class NoInterval(Interval):
    name = "none"
    doc = "no interval"

    def crude(self, num: np.ndarray, den: np.ndarray, sq: np.ndarray, level: float) -> Bounds:
        import numpy as np

        nan = np.full(len(num), np.nan)
        return nan, nan


# ---------------------------------------------------------------------------------------------
# measure kinds


class Measure:
    name: ClassVar[str]
    doc: ClassVar[str]
    intervals: ClassVar[tuple[str, ...]]  # the interval methods that fit; the first is the default
    counts_persons: ClassVar[bool] = False  # numerator: persons meeting conditions (no sum)
    share: ClassVar[bool] = False  # the value is a share of the denominator's persons
    person_time: ClassVar[bool] = False  # the denominator may be person-years or person-days
    summed_denominator: ClassVar[bool] = False  # the denominator is a feature summed
    standardisable: ClassVar[bool] = True  # age-sex standardisation applies

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MEASURES[cls.name] = cls()

    @property
    def default_interval(self) -> str:
        return self.intervals[0]

    def value_text(self, denominator: str, denominator_sum: str | None, per: str) -> str:
        """The value in words, for ``phm explain`` (``per``: '' or ' x 100')."""
        raise NotImplementedError

    def standardised_interval(self, dsr: np.ndarray, cells: pd.DataFrame, level: float) -> Bounds:
        """Bounds of a directly standardised value ``dsr`` from the cells' variance terms
        (columns ``dsr_var_poisson``, ``dsr_var_binomial``, ``dsr_var_mean``, ``dsr_w_max``,
        ``den`` of the CELLS stage table)."""
        from phm.stats import intervals

        return intervals.fay_feuer(
            dsr, cells["dsr_var_poisson"].to_numpy(float), cells["dsr_w_max"].to_numpy(float), level
        )


class Proportion(Measure):
    name = "proportion"
    doc = "persons meeting the numerator's conditions / persons of the population"
    intervals = ("wilson", "exact", "none")
    counts_persons = share = True

    def value_text(self, denominator: str, denominator_sum: str | None, per: str) -> str:
        return f"numerator / population{per}"

    def standardised_interval(self, dsr: np.ndarray, cells: pd.DataFrame, level: float) -> Bounds:
        from phm.stats import intervals

        return intervals.wilson_effective(
            dsr, cells["dsr_var_binomial"].to_numpy(float), cells["den"].to_numpy(float), level
        )


class Rate(Measure):
    name = "rate"
    doc = "a feature summed over the population / its persons or person-time"
    intervals = ("poisson", "none")
    person_time = True

    def value_text(self, denominator: str, denominator_sum: str | None, per: str) -> str:
        return {
            "persons": f"numerator / persons of the population{per}",
            "person_years": f"numerator / person-years insured{per}",
            "person_days": f"numerator / person-days insured{per}",
        }[denominator]


class Mean(Measure):
    name = "mean"
    doc = "a feature summed over the population / its persons (persons with 0 count as 0)"
    intervals = ("normal", "none")

    def value_text(self, denominator: str, denominator_sum: str | None, per: str) -> str:
        return f"numerator / persons of the population{per} (persons with 0 count as 0)"

    def standardised_interval(self, dsr: np.ndarray, cells: pd.DataFrame, level: float) -> Bounds:
        import numpy as np
        from scipy import stats

        z = stats.norm.ppf(0.5 + level / 2)
        sd = np.sqrt(cells["dsr_var_mean"].to_numpy(float))
        return dsr - z * sd, dsr + z * sd


class Ratio(Measure):
    name = "ratio"
    doc = "a feature summed over the population / another feature summed over it"
    intervals = ("none",)
    summed_denominator = True
    standardisable = False

    def value_text(self, denominator: str, denominator_sum: str | None, per: str) -> str:
        return f"numerator / sum of {denominator_sum} over the population{per}"
