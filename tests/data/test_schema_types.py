"""The contract's column types (phm.data.schemas.SqlType) give exactly the Spark schemas the
tables had when types were pyspark objects: types, nullability, and the nullability of array
elements and map values (``!`` = not null). Literal taken from the pyspark-typed schemas."""

from __future__ import annotations

import pytest

from phm.data import schemas
from phm.data.schemas import MONEY, STR, SqlType, array_of, map_of
from phm.publish.tables import PUBLISHED_TABLES

EXPECTED = {
    "health_care": (
        "claim_id string!, person_id string!, nomen_code string!, service_date date!, "
        "accounting_month date!, quantity integer!, amount_reimbursed decimal(12,2)!, "
        "amount_personal_share decimal(12,2)!, amount_supplement decimal(12,2)!, "
        "provider_id string, provider_qualification string, institution_id string, "
        "stay_id string, setting string!, year integer!, load_id string!"
    ),
    "hospital_stay": (
        "stay_id string!, person_id string!, hospital_id string!, admission_date date!, "
        "discharge_date date!, stay_type string!, admitted_via_ed boolean!, "
        "discharge_destination string!, service_type string!, main_diagnosis_group string, "
        "accounting_month date!, year integer!, load_id string!"
    ),
    "indicator_metadata": (
        "indicator_id string!, indicator_version integer!, spec_hash string!, "
        "status string!, theme string!, collections array<string!>, grain string, "
        "event string, hospital_comparison string, owner string!, label_nl string!, "
        "label_fr string!, label_en string!, definition_nl string!, definition_fr string!, "
        "definition_en string!, measure string!, per double!, unit string!, "
        "decimals integer!, confidence_interval string!, standardisation string!, "
        "min_count integer!, geography array<string!>!, breakdowns array<string!>!, "
        "features map<string,integer!>!, codelists map<string,integer!>!, "
        "sources array<string!>!, references array<string!>!, changelog string!, "
        "spec_yaml string!, updated_at timestamp!"
    ),
    "load_log": (
        "load_id string!, table string!, mode string!, input_rows long!, "
        "accepted_rows long!, quarantined_rows long!, reasons map<string,long!>!, "
        "loaded_at timestamp!, accounting_through date"
    ),
    "pharmacy": (
        "delivery_id string!, person_id string!, cnk string!, atc5 string, "
        "delivery_date date!, accounting_month date!, packages integer!, ddd double, "
        "amount_reimbursed decimal(12,2)!, amount_personal_share decimal(12,2)!, "
        "amount_supplement decimal(12,2)!, pharmacy_id string!, prescriber_id string, "
        "year integer!, load_id string!"
    ),
    "population": (
        "year integer!, person_id string!, birth_year integer!, sex string!, "
        "nis_municipality string!, insurer string!, bim boolean!, bim_basis string, "
        "death_date date, chronic_status boolean!, disability boolean!, "
        "nursing_home boolean!, medical_house boolean!, gmd boolean!, load_id string!"
    ),
    "quarantine": (
        "source_table string!, load_id string!, row_key string!, "
        "reject_reasons array<string!>!, row_json string!, quarantined_at timestamp!"
    ),
    "ref_geography": (
        "nis string!, name_nl string!, name_fr string!, arr_nis string!, "
        "arr_name_nl string!, prov_nis string, prov_name_nl string, reg_nis string!, "
        "reg_name_nl string!, nis_2025 string!, pop_2020_total long!"
    ),
    "ref_nomenclature": (
        "nomen_code string!, label_en string!, service_group string!, "
        "provider_profession string!, fee decimal(12,2)!, setting string!, source string!"
    ),
    "ref_products": (
        "cnk string!, product_name string!, atc5 string!, ddd_per_package double!, "
        "package_price decimal(12,2)!, reimbursement_category string!"
    ),
    "results": (
        "indicator_id string!, indicator_version integer!, spec_hash string!, "
        "period integer!, period_label string, geo_level string!, geo_code string!, "
        "breakdown_key string!, breakdown map<string,string>!, numerator double, "
        "denominator double, numerator_persons long, denominator_persons long, value double, "
        "ci_low double, ci_high double, value_standardised double, std_ci_low double, "
        "std_ci_high double, expected double, oe_ratio double, funnel_low_inner double, "
        "funnel_high_inner double, funnel_low_outer double, funnel_high_outer double, "
        "outlier string, change double, change_ci_low double, change_ci_high double, "
        "suppressed boolean!, suppression_reason string, run_id string!, "
        "computed_at timestamp!"
    ),
    "risk_models": (
        "indicator_id string!, spec_hash string!, period integer!, term string!, "
        "coefficient double!, std_error double!, stays long!, events long!, "
        "converged boolean!, run_id string!"
    ),
    "run_ledger": (
        "run_id string!, status string!, at timestamp!, periods array<integer!>!, "
        "spec_hashes map<string,string!>!, input_versions map<string,long!>!, "
        "code_version string!, timings map<string,double!>!, result_rows long, error string, "
        "disclosure string, warnings array<string!>, "
        "recomputed map<string,array<integer!>!>, gate string"
    ),
    "computation_log": (
        "indicator_id string!, period integer!, spec_hash string!, fingerprint string!, "
        "run_id string!, computed_at timestamp!"
    ),
    "simulation_diagnostics": (
        "scenario_id string!, variant string!, spec_hash string!, year integer!, "
        "population string!, dimension string!, level string!, persons long, "
        "person_years double, actual double, expected double, ratio double, "
        "ratio_low double, ratio_high double, cpm double, mape double, suppressed boolean!, "
        "run_id string!"
    ),
    "simulation_models": (
        "scenario_id string!, variant string!, spec_hash string!, year integer!, "
        "family string!, term string!, coefficient double!, std_error double!, r2 double!, "
        "scale double!, rows long!, person_years double!, iterations integer!, "
        "outlier_threshold double, replicates integer!, cpm double!, mape double!, "
        "run_id string!"
    ),
    "simulation_results": (
        "scenario_id string!, variant string!, spec_hash string!, area string!, "
        "year integer!, persons long, person_years double, actual double, expected double, "
        "expected_low double, expected_high double, gain double, gain_low double, "
        "gain_high double, oe_ratio double, oe_low double, oe_high double, payout double, "
        "allocated double, difference double, difference_low double, difference_high double, "
        "outlier_threshold double, suppressed boolean!, suppression_reason string, "
        "run_id string!"
    ),
}

TABLES = {**schemas.ALL_TABLES, **PUBLISHED_TABLES}


def _compact(data_type) -> str:
    """A pyspark type as in EXPECTED, from its JSON (so pyspark itself writes the text)."""
    d = data_type.jsonValue() if hasattr(data_type, "jsonValue") else data_type
    if isinstance(d, str):
        return d
    if d["type"] == "array":
        return f"array<{_compact(d['elementType'])}{'' if d['containsNull'] else '!'}>"
    if d["type"] == "map":
        return (
            f"map<{_compact(d['keyType'])},{_compact(d['valueType'])}"
            f"{'' if d['valueContainsNull'] else '!'}>"
        )
    raise ValueError(f"unexpected type {d}")


def test_every_table_is_listed():
    assert sorted(TABLES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spark_schema_is_unchanged(name):
    schema = TABLES[name].schema
    got = ", ".join(
        f"{f.name} {_compact(f.dataType)}{'' if f.nullable else '!'}" for f in schema.fields
    )
    assert got == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ddl_is_spark_simple_string(name):
    for column in TABLES[name].columns:
        assert column.dtype.ddl == column.dtype.spark().simpleString()


def test_types_describe_spark_types():
    from pyspark.sql import types as T

    assert MONEY.spark() == T.DecimalType(12, 2) and MONEY.numeric and not STR.numeric
    assert array_of(STR, contains_null=True).spark() == T.ArrayType(T.StringType(), True)
    assert map_of(STR, MONEY, contains_null=False).ddl == "map<string,decimal(12,2)>"
    assert map_of(STR, MONEY, contains_null=False).spark() == T.MapType(
        T.StringType(), T.DecimalType(12, 2), False
    )


def test_unknown_type_is_refused():
    with pytest.raises(ValueError, match="not a supported column type"):
        SqlType("varchar")
    with pytest.raises(ValueError, match="not a supported column type"):
        SqlType("decimal", precision=12)
