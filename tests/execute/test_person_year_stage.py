"""The person-year table is checked at the aggregation's door, by schema only."""

from __future__ import annotations

import pytest
from spec_helpers import REPO_SPECS

from phm.compile.plan import build_plan
from phm.errors import StageSchemaError
from phm.execute.person_year import check_person_year, person_year_columns
from phm.spec import load_catalogue


def test_a_missing_person_year_column_is_named(spark):
    catalogue = load_catalogue(REPO_SPECS)
    plan = build_plan(catalogue, catalogue.select(["gp_contact_share"]))
    needed = person_year_columns(plan) + [f"age_{s}" for s in plan.age_schemes]
    assert "gp_contacts" in needed and "age_atlas" in needed
    complete = spark.createDataFrame([], ", ".join(f"`{c}` string" for c in needed))
    check_person_year(complete, plan)  # no error, and no Spark job on an empty frame
    with pytest.raises(StageSchemaError, match=r"aggregate.*person_year.*gp_contacts"):
        check_person_year(complete.drop("gp_contacts"), plan)
