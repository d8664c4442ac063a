"""Schemas of the tables a run publishes into the warehouse (documented like the sources)."""

from __future__ import annotations

from phm.data.schemas import BOOL, DBL, INT, LONG, STR, STRS, Column, Table, array_of, map_of
from phm.data.schemas import TIMESTAMP as TS

RESULTS = Table(
    name="results",
    doc=(
        "Indicator values in long format: one row per indicator x period x geography x "
        "breakdown cell, as published after disclosure control (cell-key method, "
        "docs/disclosure.md): person counts perturbed, every other figure computed from them. "
        "Hidden cells keep their key, flag and reason; every number is null."
    ),
    key=("indicator_id", "period", "geo_level", "geo_code", "breakdown_key"),
    kind="published",
    columns=(
        Column("indicator_id", STR, "Indicator id (spec file name)."),
        Column("indicator_version", INT, "Spec version."),
        Column(
            "spec_hash",
            STR,
            "Content hash of the spec and everything it depends on (features, code lists, schemes).",
        ),
        Column(
            "period",
            INT,
            "Reference year: the last year of a pooled period, the year a season begins in.",
        ),
        Column(
            "period_label",
            STR,
            "Years the period covers: '2024', or pooled '2022-2024'.",
            nullable=True,
        ),
        Column(
            "geo_level",
            STR,
            "'municipality', 'arrondissement', 'province', 'region', 'belgium', 'area:<set>' or 'hospital' (discharging hospital, hospital comparison).",
        ),
        Column(
            "geo_code", STR, "NIS code (Belgium 01000), custom area code or hospital RIZIV number."
        ),
        Column(
            "breakdown_key",
            STR,
            "Breakdown values as 'dim=value|dim=value' sorted by dim; '' for the total.",
        ),
        Column("breakdown", map_of(STR, STR, contains_null=True), "The same breakdown as a map."),
        Column(
            "numerator",
            DBL,
            "Numerator: persons (proportions), events (rates), summed amounts, or index stays followed up (event indicators).",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "denominator",
            DBL,
            "Denominator: persons, person-years or person-days insured (rates with a person-time denominator), the summed denominator feature of a ratio, or index stays (event indicators); pooled periods add up their years.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "numerator_persons",
            LONG,
            "Persons behind the numerator, perturbed (internal: not exported).",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "denominator_persons",
            LONG,
            "Persons behind the denominator, perturbed (internal: not exported).",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "value",
            DBL,
            "Crude value x per, rounded to the spec's decimals.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "ci_low",
            DBL,
            "Lower confidence bound of the crude value.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "ci_high",
            DBL,
            "Upper confidence bound of the crude value.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "value_standardised",
            DBL,
            "Directly standardised value, or indirectly standardised (O/E x Belgian crude); hospital rows: risk-adjusted value (O/E x national crude).",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "std_ci_low",
            DBL,
            "Lower bound of the standardised value.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "std_ci_high",
            DBL,
            "Upper bound of the standardised value.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "expected",
            DBL,
            "Indirect standardisation: expected numerator from Belgium's age-sex rates; hospital rows: from the risk model.",
            nullable=True,
            disclosive=True,
        ),
        Column("oe_ratio", DBL, "Observed / expected.", nullable=True, disclosive=True),
        Column(
            "funnel_low_inner",
            DBL,
            "Hospital rows: lower funnel limit of O/E at the narrowest level (95% by default).",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "funnel_high_inner",
            DBL,
            "Hospital rows: upper funnel limit of O/E at the narrowest level.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "funnel_low_outer",
            DBL,
            "Hospital rows: lower funnel limit of O/E at the widest level (99.8% by default).",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "funnel_high_outer",
            DBL,
            "Hospital rows: upper funnel limit of O/E at the widest level.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "outlier",
            STR,
            "Hospital rows: 'above_<level>' / 'below_<level>' for the widest funnel limit crossed, else 'within'.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "change",
            DBL,
            "Indicators with change: value minus the previous period's (standardised when the indicator is), rounded like the value; null when either cell is suppressed or the previous period was not computed in the run.",
            nullable=True,
            disclosive=True,
        ),
        Column(
            "change_ci_low",
            DBL,
            "Lower bound of the change (MOVER from the two intervals, periods taken as independent).",
            nullable=True,
            disclosive=True,
        ),
        Column("change_ci_high", DBL, "Upper bound of the change.", nullable=True, disclosive=True),
        Column("suppressed", BOOL, "True when the cell is not published."),
        Column(
            "suppression_reason",
            STR,
            "'small_count' (fewer than the minimum count of persons, true or perturbed); the only reason, so a hidden cell says nothing more.",
            nullable=True,
        ),
        Column("run_id", STR, "Run that computed the row."),
        Column("computed_at", TS, "When the run computed it (UTC)."),
    ),
)

# results columns added after finalisation (phm.execute.finalise): by the periods pass
# (phm.execute.periods.with_period_columns), then by the run (phm.publish.write.with_timestamp)
PERIOD_COLUMNS = ("period_label", "change", "change_ci_low", "change_ci_high")
RUN_COLUMNS = ("run_id", "computed_at")

_SUM = "; pooled periods add up their years"
CELLS = Table(
    name="cells",
    doc=(
        "Indicator cells before statistics and disclosure: one row per indicator x period x "
        "geography x breakdown cell with the true sums the statistics need, as built by "
        "phm.execute.aggregate.indicator_cells and, for hospital comparisons (geo_level "
        "'hospital'), phm.execute.hospital.hospital_cells; read by phm.execute.finalise. Never "
        "stored: it holds true counts and the cell keys."
    ),
    key=("indicator_id", "period", "geo_level", "geo_code", "breakdown_key"),
    kind="stage",
    columns=(
        Column("indicator_id", STR, "Indicator id."),
        Column("period", INT, "Reference year (the last year of a pooled period)."),
        Column(
            "geo_level",
            STR,
            "'municipality', 'arrondissement', 'province', 'region', 'belgium', 'area:<set>' or 'hospital'.",
        ),
        Column(
            "geo_code", STR, "NIS code (Belgium 01000), custom area code or hospital RIZIV number."
        ),
        Column(
            "breakdown_key",
            STR,
            "Breakdown values as 'dim=value|dim=value' sorted by dim; '' for the total (always on hospital rows).",
        ),
        Column(
            "breakdown",
            map_of(STR, STR, contains_null=True),
            "The same breakdown as a map (empty on hospital rows); finalise rebuilds it from the key.",
        ),
        Column(
            "num",
            DBL,
            "Numerator sum: persons (proportions), events (rates), summed amounts, followed-up index stays (event indicators, hospital rows)"
            + _SUM
            + ".",
        ),
        Column(
            "den",
            DBL,
            "Denominator sum: persons, person-time insured, the summed denominator feature (ratios) or index stays"
            + _SUM
            + ".",
        ),
        Column(
            "npers",
            DBL,
            "True persons behind the numerator (pooled: the most of any one year), for disclosure control.",
        ),
        Column(
            "dpers", DBL, "True persons behind the denominator (pooled: the most of any one year)."
        ),
        Column(
            "nkey",
            DBL,
            "Sum of the record keys of the numerator's persons: its cell key (phm.disclosure.cell_key).",
        ),
        Column("dkey", DBL, "Sum of the record keys of the denominator's persons."),
        Column(
            "sq",
            DBL,
            "Sum of the squared per-person numerators (variance of means); hospital rows: num.",
        ),
        Column(
            "dsr",
            DBL,
            "Direct standardisation: sum of w x rate over the strata present / sum of w; null otherwise and on hospital rows.",
            nullable=True,
        ),
        Column(
            "dsr_var_poisson",
            DBL,
            "Direct standardisation: Poisson variance of dsr, sum of w^2 num / den^2 / (sum of w)^2.",
            nullable=True,
        ),
        Column(
            "dsr_var_binomial",
            DBL,
            "Direct standardisation: binomial variance of dsr (proportions), sum of w^2 p(1-p) / den / (sum of w)^2.",
            nullable=True,
        ),
        Column(
            "dsr_var_mean",
            DBL,
            "Direct standardisation: variance of dsr for means, sum of w^2 var / den / (sum of w)^2.",
            nullable=True,
        ),
        Column(
            "dsr_w_max",
            DBL,
            "Direct standardisation: max of w / den over the strata / sum of w (Fay-Feuer interval).",
            nullable=True,
        ),
        Column(
            "expected",
            DBL,
            "Indirect standardisation: expected numerator, sum of den x Belgium's stratum rate; null otherwise and on hospital rows.",
            nullable=True,
        ),
        Column(
            "expected_risk",
            DBL,
            "Hospital rows: expected numerator from the risk model (sum of predicted risks); null on other rows.",
            nullable=True,
        ),
        Column(
            "var_risk",
            DBL,
            "Hospital rows: variance of the observed count under the risk model, sum of p(1-p); null on other rows.",
            nullable=True,
        ),
    ),
)


def check_stage(frame, table: Table, stage: str, columns: list[str] | None = None) -> None:
    """Raise :class:`~phm.errors.StageSchemaError` naming ``stage``, the table, the declared
    columns ``frame`` lacks and those of another type. ``frame``: a Spark DataFrame or
    StructType (names and types; reads the schema, never the data), a pandas DataFrame or a
    list of names (names only). ``columns``: only these declared columns (default: all).
    Extra columns are allowed; nullability is not checked (Spark's is only an inference)."""
    from phm.errors import StageSchemaError

    declared = [c for c in table.columns if columns is None or c.name in columns]
    schema = frame if hasattr(frame, "fields") else getattr(frame, "schema", None)
    if hasattr(schema, "fields"):
        have = {f.name: f.dataType.simpleString() for f in schema.fields}
    else:
        have = dict.fromkeys(map(str, getattr(frame, "columns", frame)))
    missing = [c.name for c in declared if c.name not in have]
    wrong = {
        c.name: (have[c.name], c.dtype.ddl)
        for c in declared
        if have.get(c.name) is not None and have[c.name] != c.dtype.ddl
    }
    if missing or wrong:
        raise StageSchemaError(stage, table.name, missing, wrong)


METADATA = Table(
    name="indicator_metadata",
    doc="One row per indicator version (spec hash): labels, definitions, unit and method, the metadata of the Atlas kept in the database.",
    key=("indicator_id", "spec_hash"),
    kind="published",
    columns=(
        Column("indicator_id", STR, "Indicator id."),
        Column("indicator_version", INT, "Spec version."),
        Column("spec_hash", STR, "Content hash (matches results.spec_hash)."),
        Column("status", STR, "draft, published or retired."),
        Column("theme", STR, "Atlas theme."),
        Column(
            "collections",
            STRS,
            "Sets the indicator is published in (atlas, quality, ...).",
            nullable=True,
        ),
        Column("grain", STR, "person_year, stay (index events) or person.", nullable=True),
        Column(
            "event",
            STR,
            "Event sequence as JSON (index, follow-up, window), event indicators only.",
            nullable=True,
        ),
        Column(
            "hospital_comparison",
            STR,
            "Risk factors and funnel levels as JSON, when compared per hospital.",
            nullable=True,
        ),
        Column("owner", STR, "Owner of the definition."),
        Column("label_nl", STR, "Label, Dutch."),
        Column("label_fr", STR, "Label, French."),
        Column("label_en", STR, "Label, English."),
        Column("definition_nl", STR, "Definition, Dutch."),
        Column("definition_fr", STR, "Definition, French."),
        Column("definition_en", STR, "Definition, English."),
        Column("measure", STR, "proportion, rate, mean or ratio."),
        Column("per", DBL, "Multiplier (100 for %, 1000 per 1,000)."),
        Column("unit", STR, "Unit as published."),
        Column("decimals", INT, "Decimals published."),
        Column("confidence_interval", STR, "Interval method of the crude value."),
        Column("standardisation", STR, "none, direct:<reference> or indirect."),
        Column("min_count", INT, "Disclosure threshold (persons)."),
        Column("geography", STRS, "Geography levels published."),
        Column("breakdowns", STRS, "Breakdown sets published ('sex', 'age:atlas+sex', ...)."),
        Column("features", map_of(STR, INT, contains_null=False), "Features used -> version."),
        Column("codelists", map_of(STR, INT, contains_null=False), "Code lists used -> version."),
        Column("sources", STRS, "Source tables read."),
        Column("references", STRS, "Sources of the definition."),
        Column("changelog", STR, "Changelog as JSON."),
        Column("spec_yaml", STR, "The spec file as written."),
        Column("updated_at", TS, "When this row was last written."),
    ),
)

RUNS = Table(
    name="run_ledger",
    doc="One row per run event (started, succeeded, failed): what was computed from what.",
    key=("run_id", "status"),
    kind="system",
    columns=(
        Column("run_id", STR, "Run id."),
        Column(
            "status",
            STR,
            "started, then succeeded (published, or nothing stale), held (the publication gate "
            "stopped it: see gate), published (a held run accepted) or failed.",
        ),
        Column("at", TS, "When the event happened (UTC)."),
        Column("periods", array_of(INT, contains_null=False), "Years computed."),
        Column("spec_hashes", map_of(STR, STR, contains_null=False), "Indicator id -> spec hash."),
        Column(
            "input_versions",
            map_of(STR, LONG, contains_null=False),
            "Source table -> Delta version read.",
        ),
        Column("code_version", STR, "phm version."),
        Column("timings", map_of(STR, DBL, contains_null=False), "Seconds per stage."),
        Column("result_rows", LONG, "Rows published (succeeded only).", nullable=True),
        Column("error", STR, "Error message (failed only).", nullable=True),
        Column(
            "disclosure",
            STR,
            "Disclosure control applied: method and perturbation-table parameters (never the secret).",
            nullable=True,
        ),
        Column(
            "warnings",
            STRS,
            "Periods left out (look-back before the data) and indicator x year x geography levels without a single cell; null when none.",
            nullable=True,
        ),
        Column(
            "recomputed",
            map_of(STR, array_of(INT, contains_null=False), contains_null=False),
            "Indicator id -> periods computed (the stale ones; all with --full); null before the scope is known.",
            nullable=True,
        ),
        Column(
            "gate",
            STR,
            "The publication gate's report (JSON: per indicator cells compared, moved, lost, gained, suppressed share before and after; the reasons a run was held); null when there was nothing to compare.",
            nullable=True,
        ),
    ),
)

COMPUTATIONS = Table(
    name="computation_log",
    doc="The fingerprint of each (indicator, period) as last published: what an incremental run compares to decide what is stale.",
    key=("indicator_id", "period"),
    kind="system",
    columns=(
        Column("indicator_id", STR, "Indicator id."),
        Column("period", INT, "Period (year)."),
        Column("spec_hash", STR, "Spec hash it was computed with."),
        Column(
            "fingerprint",
            STR,
            "SHA-256 of the spec hash, settings, and the data files of every source partition it reads.",
        ),
        Column("run_id", STR, "Run that published it."),
        Column("computed_at", TS, "When it was recorded (UTC)."),
    ),
)

RISK_MODELS = Table(
    name="risk_models",
    doc="Coefficients of the risk models behind hospital comparisons, one row per term.",
    key=("indicator_id", "period", "term"),
    kind="published",
    columns=(
        Column("indicator_id", STR, "Indicator id."),
        Column("spec_hash", STR, "Spec hash of the indicator."),
        Column("period", INT, "Year the model was fitted on."),
        Column("term", STR, "'intercept', 'factor=level' (categorical) or the factor name."),
        Column("coefficient", DBL, "Log-odds coefficient."),
        Column("std_error", DBL, "Standard error."),
        Column("stays", LONG, "Index stays the model was fitted on."),
        Column("events", LONG, "Of which followed up."),
        Column("converged", BOOL, "Whether the fit converged."),
        Column("run_id", STR, "Run that fitted it."),
    ),
)

SIMULATION_RESULTS = Table(
    name="simulation_results",
    doc=(
        "Financing scenarios (docs/simulations.md): one row per scenario x variant x pilot "
        "area x guarantee year, after disclosure control (persons perturbed with the cell-key "
        "method, euro sums scaled with them, pilots under 5 persons hidden)."
    ),
    key=("scenario_id", "variant", "area", "year"),
    kind="published",
    columns=(
        Column("scenario_id", STR, "Scenario id (spec file name)."),
        Column("variant", STR, "'base', or the grid values of the variant ('path=value,...')."),
        Column("spec_hash", STR, "Content hash of the scenario and of what it depends on."),
        Column("area", STR, "Pilot area (an area of the scenario's area set)."),
        Column("year", INT, "Guarantee year."),
        Column("persons", LONG, "Persons attributed to the pilot, perturbed.", nullable=True),
        Column(
            "person_years",
            DBL,
            "Sum of the fractions of the year insured (1 without annualising).",
            nullable=True,
        ),
        Column("actual", DBL, "Actual cost, EUR, after the outlier rule.", nullable=True),
        Column("expected", DBL, "Expected cost from the risk model, EUR.", nullable=True),
        Column(
            "expected_low",
            DBL,
            "Lower bound of the 95% bootstrap interval of expected.",
            nullable=True,
        ),
        Column(
            "expected_high",
            DBL,
            "Upper bound of the 95% bootstrap interval of expected.",
            nullable=True,
        ),
        Column("gain", DBL, "expected - actual, EUR.", nullable=True),
        Column(
            "gain_low", DBL, "Lower bound of the 95% bootstrap interval of gain.", nullable=True
        ),
        Column(
            "gain_high", DBL, "Upper bound of the 95% bootstrap interval of gain.", nullable=True
        ),
        Column("oe_ratio", DBL, "actual / expected.", nullable=True),
        Column(
            "oe_low",
            DBL,
            "Lower bound of the 95% bootstrap interval of the O/E ratio.",
            nullable=True,
        ),
        Column(
            "oe_high",
            DBL,
            "Upper bound of the 95% bootstrap interval of the O/E ratio.",
            nullable=True,
        ),
        Column(
            "payout",
            DBL,
            "Budget guarantee: the pilot's share of the gain under the sharing rule, EUR.",
            nullable=True,
        ),
        Column(
            "allocated",
            DBL,
            "Capitation: the pilot's part of the budget, in proportion to its expected cost, EUR.",
            nullable=True,
        ),
        Column(
            "difference",
            DBL,
            "Capitation: allocated - actual, EUR (positive: the pilot would receive more than it spent).",
            nullable=True,
        ),
        Column(
            "difference_low",
            DBL,
            "Lower bound of the 95% bootstrap interval of difference.",
            nullable=True,
        ),
        Column(
            "difference_high",
            DBL,
            "Upper bound of the 95% bootstrap interval of difference.",
            nullable=True,
        ),
        Column(
            "outlier_threshold",
            DBL,
            "Cap or exclusion threshold applied, EUR per person-year.",
            nullable=True,
        ),
        Column(
            "suppressed",
            BOOL,
            "True when the row is not published (fewer than 5 persons, true or perturbed).",
        ),
        Column("suppression_reason", STR, "'small_count' or null.", nullable=True),
        Column("run_id", STR, "Run that computed the row."),
    ),
)

SIMULATION_MODELS = Table(
    name="simulation_models",
    doc="Risk models of the financing scenarios: one row per scenario x variant x year x term.",
    key=("scenario_id", "variant", "year", "term"),
    kind="published",
    columns=(
        Column("scenario_id", STR, "Scenario id."),
        Column("variant", STR, "Variant name."),
        Column("spec_hash", STR, "Content hash of the scenario."),
        Column("year", INT, "Year the model was fitted on (reference population of that year)."),
        Column("family", STR, "'ols', 'gamma' or 'tweedie'."),
        Column("term", STR, "'intercept', a factor, 'factor=level' or 'a*b' (interaction)."),
        Column("coefficient", DBL, "Coefficient (EUR for OLS; log scale for GLMs)."),
        Column("std_error", DBL, "Standard error."),
        Column("r2", DBL, "OLS: weighted R²; GLM: 1 - deviance / null deviance."),
        Column("scale", DBL, "OLS: residual variance; GLM: Pearson dispersion."),
        Column("rows", LONG, "Reference person-years the model was fitted on."),
        Column("person_years", DBL, "Their sum of weights."),
        Column("iterations", INT, "IRLS iterations (1 for OLS)."),
        Column(
            "outlier_threshold",
            DBL,
            "Threshold of the outlier rule, EUR per person-year.",
            nullable=True,
        ),
        Column(
            "replicates", INT, "Bootstrap replicates the intervals come from (0: no bootstrap)."
        ),
        Column(
            "cpm",
            DBL,
            "Cumming's prediction measure over the reference: 1 - sum w|y - yhat| / sum w|y - mean|.",
        ),
        Column(
            "mape", DBL, "Mean absolute prediction error over the reference, EUR per person-year."
        ),
        Column("run_id", STR, "Run that fitted it."),
    ),
)

SIMULATION_DIAGNOSTICS = Table(
    name="simulation_diagnostics",
    doc=(
        "Predictive ratios of the financing scenarios' risk models (docs/simulations.md): one "
        "row per scenario x variant x year x population x dimension x level, after "
        "disclosure control (persons perturbed, sums scaled, groups under 5 hidden)."
    ),
    key=("scenario_id", "variant", "year", "population", "dimension", "level"),
    kind="published",
    columns=(
        Column("scenario_id", STR, "Scenario id."),
        Column("variant", STR, "Variant name."),
        Column("spec_hash", STR, "Content hash of the scenario."),
        Column("year", INT, "Year of the model and of the rows."),
        Column(
            "population",
            STR,
            "'reference' (the rows the model is fitted on) or 'pilots' (all pilots' rows).",
        ),
        Column(
            "dimension",
            STR,
            "'all', 'age_band', 'sex', 'bim', 'chronic_status', 'pseudopathologies', 'prior_cost_decile' or 'region'.",
        ),
        Column("level", STR, "Level of the dimension ('unknown' when the variable is missing)."),
        Column("persons", LONG, "Person-years (rows) in the group, perturbed.", nullable=True),
        Column("person_years", DBL, "Sum of weights.", nullable=True),
        Column("actual", DBL, "sum w y, EUR, after the outlier rule.", nullable=True),
        Column("expected", DBL, "sum w yhat, EUR.", nullable=True),
        Column("ratio", DBL, "Predictive ratio actual / expected.", nullable=True),
        Column(
            "ratio_low",
            DBL,
            "Lower bound of its 95% interval (linearised variance).",
            nullable=True,
        ),
        Column("ratio_high", DBL, "Upper bound of its 95% interval.", nullable=True),
        Column("cpm", DBL, "Cumming's prediction measure within the group.", nullable=True),
        Column("mape", DBL, "Mean absolute prediction error per person-year, EUR.", nullable=True),
        Column(
            "suppressed", BOOL, "True when the group has fewer than 5 persons, true or perturbed."
        ),
        Column("run_id", STR, "Run that computed the row."),
    ),
)

PUBLISHED_TABLES = {
    t.name: t
    for t in (
        RESULTS,
        METADATA,
        RUNS,
        COMPUTATIONS,
        RISK_MODELS,
        SIMULATION_RESULTS,
        SIMULATION_MODELS,
        SIMULATION_DIAGNOSTICS,
    )
}
