"""Hospital rows in statistics and disclosure, on hand-made cells (pure pandas, no Spark)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from phm.compile.finalise import Settings, finalise_group
from phm.disclosure import Hierarchy

SETTINGS = Settings(version=1, spec_hash="h", kind="proportion", per=100, decimals=1,
                    ci="wilson", level=0.95, method="none", min_count=5, zero_is_safe=True,
                    dims=("sex",), funnel=(0.95, 0.998))


def cells(rows: list[tuple]) -> pd.DataFrame:
    """(geo_level, geo_code, key, num, den, npers, dpers, expected_risk, var_risk) rows."""
    out = pd.DataFrame(rows, columns=["geo_level", "geo_code", "breakdown_key", "num", "den",
                                      "npers", "dpers", "expected_risk", "var_risk"])
    out["indicator_id"], out["period"], out["sq"] = "t", 2023, out["num"]
    for col in ("dsr", "dsr_var_poisson", "dsr_var_mean", "dsr_w_max", "expected"):
        out[col] = np.nan
    return out


def test_hospitals_never_add_up_to_a_hidden_national_total():
    # Belgium's women are 2 persons (primary) and the only category present, so the national
    # total is hidden as their complement. Both hospitals are publishable on their own, but
    # together they would give the hidden total: one of them must go.
    out = finalise_group(cells([
        ("belgium", "01000", "", 10, 50, 10, 50, np.nan, np.nan),
        ("belgium", "01000", "sex=F", 2, 10, 2, 10, np.nan, np.nan),
        ("hospital", "71000000001", "", 5, 25, 5, 25, 5.0, 4.0),
        ("hospital", "71000000002", "", 5, 25, 5, 24, 4.0, 3.0),
    ]), SETTINGS, Hierarchy()).set_index(["geo_code", "breakdown_key"])
    assert out.loc[("01000", ""), "suppression_reason"] == "complementary"
    assert out.loc[("01000", "sex=F"), "suppression_reason"] == "primary"
    # the smaller hospital (24 persons) is the complement
    assert out.loc[("71000000002", ""), "suppression_reason"] == "complementary"
    h1 = out.loc[("71000000001", "")]
    assert not h1.suppressed
    assert (h1.oe_ratio, h1.outlier, h1.value) == (1.0, "within", 20.0)


def test_hospitals_published_with_a_published_national_total():
    out = finalise_group(cells([
        ("belgium", "01000", "", 10, 50, 10, 50, np.nan, np.nan),
        ("hospital", "71000000001", "", 5, 25, 5, 25, 2.0, 1.5),
        ("hospital", "71000000002", "", 5, 25, 5, 25, 8.0, 6.0),
    ]), SETTINGS, Hierarchy()).set_index("geo_code")
    assert not out.suppressed.any()
    # H1: O/E 2.5, limits 1 +- z sqrt(1.5) / 2: 99.8% upper 2.892, 95% upper 2.200
    assert out.loc["71000000001", "oe_ratio"] == 2.5
    assert out.loc["71000000001", "funnel_high_inner"] == round(1 + 1.959964 * 1.5**0.5 / 2, 3)
    assert out.loc["71000000001", "outlier"] == "above_95"
    assert out.loc["71000000002", "outlier"] == "within"
