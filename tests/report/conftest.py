"""Fixtures of the report tests: hand-made published frames (pure rendering) and a small real
warehouse (the hand-built one, a few indicators run) for the end-to-end test."""

from __future__ import annotations

import pandas as pd
import pytest
from report_frames import result_rows


@pytest.fixture
def two_year_results() -> pd.DataFrame:
    """Arrondissements over two years: 11000 published, 12000 suppressed in 2023, 13000 no row
    in 2023; values differ between the years so the breaks depend on both."""
    rows = []
    for period, values in (
        (2022, {"11000": 10.0, "12000": 20.0, "13000": 30.0, "21000": 40.0}),
        (2023, {"11000": 50.0, "12000": None, "21000": 60.0}),
    ):
        for code, value in values.items():
            if value is None:
                rows.append(
                    dict(
                        period=period,
                        geo_level="arrondissement",
                        geo_code=code,
                        suppressed=True,
                        suppression_reason="small_count",
                    )
                )
            else:
                rows.append(
                    dict(
                        period=period,
                        geo_level="arrondissement",
                        geo_code=code,
                        value=value,
                        ci_low=value - 1,
                        ci_high=value + 1,
                    )
                )
        rows.append(
            dict(
                period=period,
                geo_level="belgium",
                geo_code="01000",
                value=35.0,
                ci_low=34.0,
                ci_high=36.0,
            )
        )
        rows.append(
            dict(
                period=period,
                geo_level="region",
                geo_code="02000",
                value=30.0,
                ci_low=29.0,
                ci_high=31.0,
            )
        )
    return result_rows(rows)


@pytest.fixture(scope="session")
def report_warehouse(spark, tmp_path_factory):
    """The hand-built quality warehouse (tests/handbuilt_quality.py), everyone in 11002
    Antwerpen, with one event indicator compared per hospital twice: under min_count 1 (every
    area published) and 5 (the municipality and arrondissement suppressed), both published (not
    drafts), so the report shows them by default. Two event indicators share their episodes,
    so the run stays short."""
    import handbuilt_quality as hq
    from spec_helpers import EXACT_COUNTS, indicator, write_specs

    from phm.runs.indicators import run_indicators

    proportion = {"kind": "proportion", "per": 100, "unit": "%", "decimals": 1}
    model = {"risk_factors": ["sex"], "funnel": [0.95, 0.998]}
    specs = [
        indicator(
            "t_readmit",
            grain="stay",
            events="readmission_30d",
            measure=proportion,
            hospital_comparison=model,
            status="published",
        ),
        indicator(
            "t_readmit_protected",
            grain="stay",
            events="readmission_30d",
            measure=proportion,
            hospital_comparison=model,
            disclosure={"min_count": 5},
            status="published",
        ),
    ]
    wh = hq.build(spark, tmp_path_factory.mktemp("report_wh"))
    folder = write_specs(tmp_path_factory.mktemp("report_specs"), specs)
    run_indicators(spark, wh, folder, years=[2023], run_id="report", protection=EXACT_COUNTS)
    return wh
