"""A financing scenario in words, for ``phm explain`` (pure Python: no Spark needed)."""

from __future__ import annotations

from phm.compile.explain import describe_condition
from phm.compile.plan import feature_plan
from phm.spec.catalogue import Catalogue, scenario_variables
from phm.spec.scenario import PSEUDOPATHOLOGIES, Scenario


def _pct(x: float) -> str:
    return f"{100 * x:g}%"


def _outliers(v: Scenario) -> str:
    o = v.outliers
    if o.rule == "none":
        return "none"
    threshold = (
        f"the {100 * o.quantile:g}th percentile of the reference population's cost"
        if o.quantile is not None
        else f"EUR {o.amount:,.0f}"
    )
    return {
        "cap_quantile": f"cost per person-year capped at {threshold}",
        "cap_amount": f"cost per person-year capped at {threshold}",
        "exclude_above": f"person-years costing more than {threshold} left out "
        "(pilots and reference)",
    }[o.rule] + "; the same for fitting, expected and actual"


def _model(v: Scenario) -> str:
    m = v.risk_model
    family = {
        "ols": "least squares (OLS)",
        "gamma": "gamma GLM, log link",
        "tweedie": f"Tweedie GLM (power {m.power}), log link",
    }[m.family]
    out = f"{family} on {', '.join(m.factors)}"
    if m.interactions:
        out += "; interactions " + ", ".join(f"{a} x {b}" for a, b in m.interactions)
    return (
        out + f"; fitted on the reference population of each year, weights = "
        f"{'fraction of the year insured' if v.cost.annualise else '1'}"
    )


def _outcome(v: Scenario) -> list[str]:
    if v.kind == "capitation":
        budget = (
            "the pilots' total actual cost"
            if v.capitation.budget == "actual_total"
            else f"EUR {v.capitation.amount:,.0f}"
        )
        return [
            f"capitation: {budget} allocated to the pilots in proportion to their expected "
            "cost; per pilot allocated, actual and allocated - actual"
        ]
    s = v.sharing
    rule = f"{_pct(s.share)} of the gain (expected - actual)"
    if s.corridor:
        rule += f" beyond a corridor of {_pct(s.corridor)} of expected cost either side"
    rule += "; a loss is not charged" if s.floor_at_zero else "; a loss is charged alike"
    if s.cap_per_capita is not None:
        rule += f"; at most EUR {s.cap_per_capita:,.0f} per person-year either way"
    return [f"payout: {rule}"]


def explain_scenario(scenario: Scenario, catalogue: Catalogue) -> str:
    variants = scenario.variants()
    kind = scenario.kind.replace("_", " ")
    lines = [
        f"Scenario {scenario.id} v{scenario.version} ({kind}), {len(variants)} "
        f"variant(s); reads population years {', '.join(map(str, scenario.years_read()))}."
    ]
    wanted = sorted(
        scenario_variables(scenario) | {p for p in PSEUDOPATHOLOGIES if p in catalogue.features}
    )
    plan = feature_plan(catalogue, wanted)
    passes = "; ".join(f"{p.table} ({', '.join(f.id for f in p.features)})" for p in plan.passes)
    lines.append(
        "1. Person-year table, ONCE for all variants: population, and one pass per "
        f"source table: {passes or 'none'}."
    )
    lines.append(
        "2. Per variant and year: the outlier rule, ONE aggregation into sums per "
        "pilot and risk pattern, the model fitted on the driver from them, and ONE "
        "aggregation for all bootstrap replicates."
    )
    first: list[str] | None = None
    for name, v in variants.items():
        described = _variant(v, catalogue)
        if first is None:
            first = described
            lines += [f"   Variant {name}:", *described]
        else:  # the grid's other variants: what differs from the first
            lines += [
                f"   Variant {name}, as the first except:",
                *[line for line in described if line not in first],
            ]
    lines.append(
        "3. Published: simulation_results (per pilot and year), simulation_models "
        "(per year and term), simulation_diagnostics (predictive ratios), under the "
        "cell-key method; pilots and groups under 5 persons hidden."
    )
    return "\n".join(lines)


def _variant(v: Scenario, catalogue: Catalogue) -> list[str]:
    a = v.attribution
    areas = catalogue.areas.get(a.areas)
    count = f" ({len(areas.areas)} areas)" if areas else ""
    when = (
        "at 31 December of the previous year" if a.timing == "prospective" else "in the year itself"
    )
    group = (
        ", meeting " + " and ".join(describe_condition(c) for c in a.target_group)
        if a.target_group
        else ""
    )
    reference = (
        "everyone resident outside all pilot areas"
        if v.reference == "outside_pilots"
        else "everyone in Belgium, pilot residents included"
    )
    method = (
        "risk-adjusted: expected cost from the model of the same year"
        if v.method == "risk_adjusted"
        else "difference in trend: the pilot's "
        f"actual/expected ratio of {v.years.baseline} carried to each year's expected cost"
    )
    cost = f"{' + '.join(v.cost.features)} per person-year"
    if v.cost.annualise:
        cost += ", annualised by the fraction of the year insured"
    intervals = (
        f"{v.uncertainty.replicates} Poisson-bootstrap replicates, seed {v.uncertainty.seed}"
        if v.uncertainty.replicates
        else "none (no bootstrap)"
    )
    return [
        f"   - pilots: each area of {a.areas}{count}, residents {when}{group}",
        f"   - reference: {reference}",
        f"   - cost: {cost}",
        f"   - risk model: {_model(v)}",
        f"   - outliers: {_outliers(v)}",
        f"   - method: {method}",
        f"   - years: baseline {v.years.baseline}, guarantee "
        f"{', '.join(map(str, v.years.guarantee))}",
        *[f"   - {line}" for line in _outcome(v)],
        f"   - intervals: {intervals}",
    ]
