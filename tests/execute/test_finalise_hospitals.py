"""Hospital rows in statistics and disclosure, on hand-made cells (pure pandas, no Spark)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from phm.disclosure import EXACT, PTable, cell_key
from phm.execute.finalise import Settings, finalise_group
from phm.spec.models import Disclosure


def half_away(x: float, d: int) -> float:
    """Publication rounding, written out (docs/specs.md, Presentation rules):
    sign(x) floor(|x| 10^d + 0.5) / 10^d in double precision."""
    return math.copysign(math.floor(abs(x) * 10**d + 0.5), x) / 10**d


SETTINGS = Settings(
    version=1,
    spec_hash="h",
    kind="proportion",
    per=100,
    decimals=1,
    ci="wilson",
    level=0.95,
    method="none",
    disclosure=Disclosure(),
    dims=("sex",),
    funnel=(0.95, 0.998),
)


def cells(rows: list[tuple]) -> pd.DataFrame:
    """(geo_level, geo_code, key, num, den, npers, dpers, expected_risk, var_risk) rows; the
    record-key sums are arbitrary but fixed (num and den keys differ)."""
    out = pd.DataFrame(
        rows,
        columns=[
            "geo_level",
            "geo_code",
            "breakdown_key",
            "num",
            "den",
            "npers",
            "dpers",
            "expected_risk",
            "var_risk",
        ],
    )
    out["indicator_id"], out["period"], out["sq"] = "t", 2023, out["num"]
    out["nkey"] = (np.arange(len(out)) * 377_123 + 91_001).astype(float)
    out["dkey"] = (np.arange(len(out)) * 511_997 + 7_777).astype(float)
    for col in (
        "dsr",
        "dsr_var_poisson",
        "dsr_var_binomial",
        "dsr_var_mean",
        "dsr_w_max",
        "expected",
    ):
        out[col] = np.nan
    return out


HOSPITALS = [
    ("belgium", "01000", "", 10, 50, 10, 50, np.nan, np.nan),
    ("hospital", "71000000001", "", 5, 25, 5, 25, 2.0, 1.5),
    ("hospital", "71000000002", "", 5, 25, 5, 25, 8.0, 6.0),
]


def test_hospital_values_from_exact_counts():
    out = finalise_group(cells(HOSPITALS), SETTINGS, EXACT).set_index("geo_code")
    assert not out.suppressed.any()
    # H1: O/E 2.5, limits 1 +- z sqrt(1.5) / 2: 99.8% upper 2.892, 95% upper 2.200
    assert out.loc["71000000001", "oe_ratio"] == 2.5
    assert out.loc["71000000001", "funnel_high_inner"] == half_away(1 + 1.959964 * 1.5**0.5 / 2, 3)
    assert out.loc["71000000001", "outlier"] == "above_95"
    assert out.loc["71000000002", "outlier"] == "within"


def test_a_small_hospital_is_hidden_alone_and_says_only_small_count():
    # H2 has 4 persons: hidden. No complement is hidden: noise protects H2 from
    # Belgium - H1, which gives H2's count plus two independent noises, never H2's count.
    rows = [*HOSPITALS[:2], ("hospital", "71000000002", "", 3, 4, 3, 4, 1.0, 0.8)]
    out = finalise_group(cells(rows), SETTINGS, EXACT).set_index("geo_code")
    assert list(out.suppressed) == [False, False, True]
    assert out.loc["71000000002", "suppression_reason"] == "small_count"
    assert (
        out.loc["71000000002", ["numerator", "expected", "oe_ratio", "funnel_high_outer"]]
        .isna()
        .all()
    )


def test_hospital_figures_come_from_the_perturbed_counts():
    table = PTable()
    frame = cells(HOSPITALS)
    out = finalise_group(frame, SETTINGS, table).set_index("geo_code")
    h = out.loc["71000000001"]
    num = 5 + table.noise(np.array([5]), cell_key(frame.nkey[1:2]))[0]
    den = 25 + table.noise(np.array([25]), cell_key(frame.dkey[1:2]))[0]
    assert (h.numerator, h.denominator) == (min(num, den), den)
    assert (h.numerator_persons, h.denominator_persons) == (num, den)
    # expected scales with the denominator: E = 2 x den / 25; O/E from the published numerator
    assert h.expected == 2.0 * den / 25
    assert h.oe_ratio == half_away(min(num, den) / (2.0 * den / 25), 3)
