"""Declared stage schemas (phm.publish.tables): the cells between aggregation and finalisation,
the results between finalisation and the write, and the disclosive columns blanked in a
suppressed cell. Spark is used for schemas only (empty frames, no job)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from phm.compile.plan import build_plan
from phm.disclosure import EXACT
from phm.errors import PhmError, StageSchemaError
from phm.execute.aggregate import MEASURES, Cube, cube_columns, indicator_cells
from phm.execute.finalise import OUTPUT_COLUMNS, Settings, finalise, finalise_group
from phm.execute.periods import with_period_columns
from phm.publish.export import VALUE_COLUMNS, published_frame
from phm.publish.tables import CELLS, PERIOD_COLUMNS, RESULTS, RUN_COLUMNS, check_stage
from phm.publish.write import with_timestamp
from phm.spec import load_catalogue
from phm.spec.models import Disclosure
from spec_helpers import EXACT_COUNTS, REPO_SPECS

# what was blanked by hand before the declarations (finalise._blank, export.VALUE_COLUMNS)
BLANKED_BY_FINALISE = {
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
    "numerator_persons",
    "denominator_persons",
}
BLANKED_BY_EXPORT = {
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
    "change",
    "change_ci_low",
    "change_ci_high",
}
# a direct-standardised share, a crude share and a pooled rate
INDICATORS = ["bim_share", "specialist_contact_share", "mortality_per_1000_person_years_3y"]


@pytest.fixture(scope="module")
def plan():
    catalogue = load_catalogue(REPO_SPECS)
    return build_plan(catalogue, catalogue.select(INDICATORS))


def _schema(drop=(), retype=None):
    from pyspark.sql import types as T

    fields = [f for f in CELLS.schema.fields if f.name not in drop]
    return T.StructType(
        [T.StructField(f.name, (retype or {}).get(f.name, f.dataType), True) for f in fields]
    )


def test_the_error_names_the_stage_table_and_columns():
    from pyspark.sql import types as T

    with pytest.raises(StageSchemaError) as err:
        check_stage(
            _schema(drop=("dkey", "var_risk"), retype={"period": T.LongType()}), CELLS, "finalise"
        )
    e = err.value
    assert isinstance(e, PhmError)
    assert (e.stage, e.table, e.missing) == ("finalise", "cells", ["dkey", "var_risk"])
    assert e.wrong == {"period": ("bigint", "int")}
    for part in ("'finalise'", "'cells'", "dkey", "var_risk", "period is bigint, declared int"):
        assert part in str(e)
    check_stage(_schema(), CELLS, "finalise")  # as declared: passes
    check_stage(_schema().add("extra", "string"), CELLS, "finalise")  # extra columns are fine


def test_pandas_frames_are_checked_by_name():
    frame = pd.DataFrame(columns=[c for c in CELLS.column_names if c != "nkey"])
    with pytest.raises(StageSchemaError, match="nkey") as err:
        check_stage(frame, CELLS, "finalise (pandas)")
    assert err.value.missing == ["nkey"] and err.value.wrong == {}
    # a subset of the declared columns
    check_stage(frame, CELLS, "finalise (pandas)", [c for c in CELLS.column_names if c != "nkey"])


def test_cells_of_the_aggregate_path_conform(spark, plan):
    """indicator_cells on an (empty) cube of the plan's columns: names, order and types."""
    from pyspark.sql import types as T

    typed = {"year": T.IntegerType(), "age5": T.IntegerType()}
    frame = spark.createDataFrame(
        [],
        T.StructType(
            [T.StructField("_k", T.IntegerType())]
            + [T.StructField(c, typed.get(c, T.StringType())) for c in cube_columns(plan)]
            + [T.StructField(m, T.DoubleType()) for m in MEASURES]
        ),
    )
    cube = Cube(frame, rates={})
    cells = indicator_cells(spark, cube, plan, [2022, 2023])
    assert cells.columns == CELLS.column_names
    check_stage(cells, CELLS, "aggregate")
    assert {f.name: f.dataType.simpleString() for f in cells.schema.fields} == {
        c.name: c.dtype.ddl for c in CELLS.columns
    }


def test_finalise_output_is_results_but_the_later_columns(spark, plan):
    later = {*PERIOD_COLUMNS, *RUN_COLUMNS}
    cells = spark.createDataFrame([], CELLS.schema)
    out = finalise(cells, plan, EXACT_COUNTS)
    assert out.columns == [c for c in RESULTS.column_names if c not in later]
    check_stage(out, RESULTS, "test", out.columns)
    assert OUTPUT_COLUMNS == [c for c in out.columns if c != "breakdown"]
    # then the periods pass and the run add the rest: what the write checks
    published = with_timestamp(with_period_columns(out, plan), "run")
    assert sorted(published.columns) == sorted(RESULTS.column_names)
    check_stage(published, RESULTS, "publish results")
    with pytest.raises(StageSchemaError, match="publish results.*computed_at"):
        check_stage(published.drop("computed_at"), RESULTS, "publish results")


def test_finalise_refuses_cells_without_a_declared_column(spark, plan):
    cells = spark.createDataFrame([], CELLS.schema).drop("expected_risk")
    with pytest.raises(StageSchemaError, match="'finalise'.*expected_risk"):
        finalise(cells, plan, EXACT_COUNTS)


def test_disclosive_columns_are_what_finalise_and_export_blanked():
    disclosive = {c.name for c in RESULTS.columns if c.disclosive}
    assert disclosive == BLANKED_BY_FINALISE | BLANKED_BY_EXPORT
    assert set(VALUE_COLUMNS) == disclosive
    # finalise blanks those it computes; the change columns come later (from blanked values)
    assert disclosive - set(OUTPUT_COLUMNS) == {"change", "change_ci_low", "change_ci_high"}


def _suppressed_and_shown() -> pd.DataFrame:
    """Two cells of a proportion with min_count 5: 2 of 3 persons (hidden), 20 of 40 (shown)."""
    rows = pd.DataFrame({"geo_code": ["11001", "11002"], "num": [2.0, 20.0], "den": [3.0, 40.0]})
    rows["npers"], rows["dpers"] = rows["num"], rows["den"]
    rows["indicator_id"], rows["period"], rows["geo_level"] = "t", 2023, "municipality"
    rows["breakdown_key"], rows["sq"] = "", rows["num"]
    rows["nkey"], rows["dkey"] = [101.0, 202.0], [303.0, 404.0]
    for col in (
        "dsr",
        "dsr_var_poisson",
        "dsr_var_binomial",
        "dsr_var_mean",
        "dsr_w_max",
        "expected",
        "expected_risk",
        "var_risk",
    ):
        rows[col] = np.nan
    return rows


def test_finalise_blanks_exactly_the_disclosive_columns():
    s = Settings(
        version=1,
        spec_hash="h",
        kind="proportion",
        per=100,
        decimals=1,
        ci="wilson",
        level=0.95,
        method="none",
        disclosure=Disclosure(),
        dims=(),
    )
    out = finalise_group(_suppressed_and_shown(), s, EXACT)
    assert list(out.columns) == OUTPUT_COLUMNS
    out = out.set_index("geo_code")
    hidden, shown = out.loc["11001"], out.loc["11002"]
    assert bool(hidden["suppressed"]) and not bool(shown["suppressed"])
    disclosive = {c.name for c in RESULTS.columns if c.disclosive}
    for col in OUTPUT_COLUMNS:
        if col in disclosive:
            assert pd.isna(hidden[col]), col
        elif col != "geo_code":
            assert not pd.isna(hidden[col]), col
    assert shown["numerator"] == 20 and shown["denominator_persons"] == 40
    assert shown["value"] == 50.0


def test_export_blanks_every_disclosive_column_of_a_suppressed_row():
    rows = pd.DataFrame(
        {
            "indicator_id": ["t", "t"],
            "indicator_version": [1, 1],
            "spec_hash": ["h", "h"],
            "period": [2023, 2023],
            "geo_level": ["belgium", "region"],
            "geo_code": ["01000", "02000"],
            "breakdown_key": ["", ""],
            "breakdown": [{}, {}],
            "suppressed": [True, False],
            "suppression_reason": ["small_count", None],
        }
    )
    exported = [c for c in VALUE_COLUMNS if "persons" not in c]
    for col in exported:
        rows[col] = [1.0, 2.0] if col != "outlier" else ["within", "within"]
    names = pd.DataFrame(
        columns=["geo_level", "geo_code", "geo_name_nl", "geo_name_fr", "geo_name_en"]
    )
    frame = published_frame(rows, names).set_index("geo_code")
    assert frame.loc["01000", exported].isna().all()
    assert frame.loc["02000", exported].notna().all()
