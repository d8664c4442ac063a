"""The publication gate: a run's results are compared with what is published before they
replace it, and a run that changes too much is held for a person to look at.

Per indicator, over the (indicator, period) slices the run replaces that already have published
rows (a first publication has nothing to compare with and passes):

- **moved**: cells published (not suppressed, with a value) both before and after whose value
  moved by more than ``k`` standard errors *and* by more than ``tolerance`` (relative) of the
  old value. Both must hold: with only the first, every national cell of 11 million persons
  (a tiny standard error) would move "significantly" each night as late claims arrive; with
  only the second, every small municipality's noise would. The standard error is read from the
  published 95% interval, (ci_high - ci_low) / (2 x 1.96), the larger of old and new. Cells
  published without an interval (ratios of two sums) cannot be tested and are counted apart
  (``untested``): they still count for lost, gained and suppressed cells.
- **lost / gained**: cell keys published before and not now, or now and not before.
- **suppressed share**: the share of suppressed rows before and after.

The run is **held** when, for any indicator, the moved cells exceed ``max_moved`` of the cells
compared, the lost or gained cells exceed ``max_lost`` of the cells before, or the suppressed
share changes by more than ``max_suppressed_jump`` (absolute). Every figure goes into the run
ledger's ``gate`` column (JSON), and ``phm status`` shows it. One Spark aggregation; only the
per-indicator counts reach the driver.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Spark is imported by compare(): the CLI reads the defaults without it
    from pyspark.sql import Column, DataFrame

Z95 = 1.959963984540054


@dataclass(frozen=True)
class GateRules:
    k: float = 3.0  # standard errors
    tolerance: float = 0.05  # relative change of the value
    max_moved: float = 0.05  # share of compared cells
    max_lost: float = 0.05  # share of the cells before
    max_suppressed_jump: float = 0.10  # absolute change of the suppressed share
    enabled: bool = True


@dataclass
class IndicatorCheck:
    indicator_id: str
    cells_before: int
    cells_after: int
    compared: int
    moved: int
    lost: int
    gained: int
    suppressed_before: float
    suppressed_after: float
    reasons: list[str] = field(default_factory=list)
    untested: int = 0  # published before and after, but without an interval: not compared


@dataclass
class GateReport:
    rules: GateRules
    indicators: list[IndicatorCheck]

    @property
    def held(self) -> bool:
        return self.rules.enabled and any(c.reasons for c in self.indicators)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.indicator_id}: {r}" for c in self.indicators for r in c.reasons]

    def to_json(self) -> str:
        return json.dumps(
            {
                "rules": asdict(self.rules),
                "held": self.held,
                "reasons": self.reasons,
                "indicators": [asdict(c) for c in self.indicators],
            },
            sort_keys=True,
        )


KEY = ["indicator_id", "period", "geo_level", "geo_code", "breakdown_key"]


def _se(prefix: str) -> Column:
    from pyspark.sql import functions as F

    return (F.col(f"{prefix}ci_high") - F.col(f"{prefix}ci_low")) / (2 * Z95)


def compare(before: DataFrame, after: DataFrame, rules: GateRules) -> GateReport:
    """Compare the rows a run would publish (``after``) with the published rows of the same
    slices (``before``; only slices with published rows are compared)."""
    from pyspark.sql import functions as F

    cols = [*KEY, "value", "ci_low", "ci_high", "suppressed"]
    old = before.select(*cols).select(*KEY, *[F.col(c).alias(f"o_{c}") for c in cols[5:]])
    slices = old.select("indicator_id", "period").distinct()
    new = (
        after.select(*cols)
        .join(F.broadcast(slices), ["indicator_id", "period"], "left_semi")
        .select(*KEY, *[F.col(c).alias(f"n_{c}") for c in cols[5:]])
    )
    both = old.join(new, KEY, "full_outer")
    published = (
        F.col("o_value").isNotNull()
        & F.col("n_value").isNotNull()
        & ~F.col("o_suppressed")
        & ~F.col("n_suppressed")
    )
    delta = F.abs(F.col("n_value") - F.col("o_value"))
    # a cell without a published interval (a ratio of two sums) has no standard error to test
    # against: with the tolerance alone every small cell's noise would count as moved
    tested = published & (_se("o_").isNotNull() | _se("n_").isNotNull())
    se = F.greatest(F.coalesce(_se("o_"), F.lit(0.0)), F.coalesce(_se("n_"), F.lit(0.0)))
    moved = tested & (delta > rules.k * se) & (delta > rules.tolerance * F.abs("o_value"))
    rows = (
        both.groupBy("indicator_id")
        .agg(
            F.count("o_suppressed").alias("before"),
            F.count("n_suppressed").alias("after"),
            F.sum(tested.cast("long")).alias("compared"),
            F.sum((published & ~tested).cast("long")).alias("untested"),
            F.sum(moved.cast("long")).alias("moved"),
            F.sum((F.col("n_suppressed").isNull()).cast("long")).alias("lost"),
            F.sum((F.col("o_suppressed").isNull()).cast("long")).alias("gained"),
            F.avg(F.col("o_suppressed").cast("double")).alias("s_before"),
            F.avg(F.col("n_suppressed").cast("double")).alias("s_after"),
        )
        .orderBy("indicator_id")
        .collect()
    )
    checks = []
    for r in rows:
        check = IndicatorCheck(
            r.indicator_id,
            int(r.before),
            int(r.after),
            int(r.compared or 0),
            int(r.moved or 0),
            int(r.lost or 0),
            int(r.gained or 0),
            round(float(r.s_before or 0.0), 4),
            round(float(r.s_after or 0.0), 4),
            untested=int(r.untested or 0),
        )
        if check.compared and check.moved > rules.max_moved * check.compared:
            check.reasons.append(
                f"{check.moved} of {check.compared} published cells moved by more than "
                f"{rules.k:g} standard errors and {rules.tolerance:.0%}"
            )
        if check.lost > rules.max_lost * check.cells_before:
            check.reasons.append(f"{check.lost} of {check.cells_before} cells disappeared")
        if check.gained > rules.max_lost * check.cells_before:
            check.reasons.append(f"{check.gained} new cells (there were {check.cells_before})")
        if abs(check.suppressed_after - check.suppressed_before) > rules.max_suppressed_jump:
            check.reasons.append(
                f"suppressed share went from {check.suppressed_before:.1%} to "
                f"{check.suppressed_after:.1%}"
            )
        checks.append(check)
    return GateReport(rules, checks)
