"""Hand-made published frames for the report tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = [
    "indicator_id",
    "indicator_version",
    "spec_hash",
    "period",
    "period_label",
    "geo_level",
    "geo_code",
    "breakdown_key",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "value_standardised",
    "std_ci_low",
    "std_ci_high",
    "expected",
    "oe_ratio",
    "funnel_low_inner",
    "funnel_high_inner",
    "funnel_low_outer",
    "funnel_high_outer",
    "outlier",
    "suppressed",
    "suppression_reason",
    "run_id",
    "computed_at",
]


def result_rows(rows: list[dict]) -> pd.DataFrame:
    """Result rows with every published column; ``rows`` give what differs."""
    base = {c: np.nan for c in COLUMNS}
    base.update(
        indicator_id="t_ind",
        indicator_version=1,
        spec_hash="h1",
        breakdown_key="",
        suppressed=False,
        suppression_reason=None,
        run_id="r",
        outlier=None,
        computed_at=pd.Timestamp("2026-11-01"),
    )
    frame = pd.DataFrame([{**base, **r} for r in rows], columns=COLUMNS)
    frame["period_label"] = frame.period_label.where(
        frame.period_label.notna(), frame.period.astype(str)
    )
    return frame


def metadata_row(ind: str = "t_ind", **extra) -> dict:
    row = {
        "indicator_id": ind,
        "indicator_version": 1,
        "spec_hash": "h1",
        "status": "published",
        "theme": "prevention",
        "collections": ["atlas"],
        "owner": "tests",
        "label_nl": f"Label NL {ind}",
        "label_fr": f"Libellé FR {ind}",
        "label_en": f"Label EN {ind}",
        "definition_nl": "Definitie.",
        "definition_fr": "Définition.",
        "definition_en": "Definition.",
        "measure": "proportion",
        "per": 100.0,
        "unit": "%",
        "decimals": 1,
        "confidence_interval": "wilson",
        "standardisation": "none",
        "min_count": 5,
        "sources": ["population"],
        "references": ["IMA Atlas"],
    }
    row.update(extra)
    return row
