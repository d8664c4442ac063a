"""A plan in words, for ``phm explain``: what is read, in how many passes, and each indicator
as compiled (population, numerator, measure), so an analyst can check that a spec says what was
meant. Reads only the resolved plan (no catalogue, no Spark)."""

from __future__ import annotations

from phm.compile.plan import Plan
from phm.registry.aggregates import AGGREGATES
from phm.registry.measures import MEASURES
from phm.registry.sources import SOURCES
from phm.spec.models import Condition, Event, Feature, Indicator, Selection


def explain(plan: Plan) -> str:
    """The plan in words, for ``phm explain``."""
    lines = [
        f"{len(plan.indicators)} indicator(s): "
        + ", ".join(f"{i.id} v{i.version}" for i in plan.indicators),
        "",
    ]
    if plan.events:
        follow = sorted({e.follow_up.source for e in plan.events})
        lines.append(
            "0. Index events (materialised once, one row per index episode): "
            "hospital_stay read ONCE, classic stays chained into episodes "
            "(transfers the same or next day elsewhere, overlapping stays), each "
            "event's index a flag on the same rows; follow-ups from "
            f"{' and '.join(follow)} (read ONCE) found by one window per person, a "
            "range frame per event, no join:"
        )
        for e in plan.events:
            lines.append(f"   - {e.id}: {_describe_event(e)}")
        lines.append("")
    lines.append("1. Person-year table (materialised once, one row per person and year):")
    lines.append(
        "   - population: the period years and the year before "
        "(age, sex, BIM, residence, flags, insured the previous year)"
    )
    for p in plan.passes:
        how = (
            f"summed per person, year and {p.per_code}, then per person and year"
            if p.per_code
            else "one group-by per person and year"
        )
        window = (
            f"; reads {p.max_window - 1} extra year(s) for windows (a period whose "
            "window starts before the data is not computed)"
            if p.max_window > 1
            else ""
        )
        lines.append(
            f"   - {p.table}: ONE pass, {len(p.features)} feature(s) as conditional "
            f"aggregates, {how}{window}:"
        )
        for f in p.features:
            lines.append(f"       {f.id}: {_describe_feature(f, plan)}")
    if plan.derived:
        lines.append(
            "   - derived from the above, no extra pass: " + ", ".join(f.id for f in plan.derived)
        )
    if plan.events:
        lines.append(
            f"   - event counts (index stays, followed stays) of {len(plan.events)} "
            "event(s), from the index-event table above"
        )
    lines.append("")
    n_sets = len(plan.grouping_sets)
    lines.append(
        f"2. Aggregation: the person-year table summed once into a cube (indicator x "
        f"municipality x {', '.join(plan.dims) or 'no breakdown'} x age band x sex), then "
        f"copied into the grouping sets ({n_sets} set(s); each indicator's rows go to "
        "its own sets only: its breakdown combinations, then their geography levels), "
        "strata added up per cell:"
    )
    for level, combo in plan.grouping_sets:
        lines.append(f"   - {level}" + (f" x {' x '.join(combo)}" if combo else ""))
    for area, combos in plan.area_sets:
        lines.append(f"   - custom areas {area!r} x {len(combos)} breakdown set(s)")
    lines.append("")
    compared = [i for i in plan.indicators if i.hospital_comparison]
    if compared:
        lines.append(
            "2b. Hospital comparison (index stays per discharging hospital; a logistic "
            "risk model per indicator and year, fitted on covariate patterns):"
        )
        for ind in compared:
            hc = ind.hospital_comparison
            assert hc is not None  # in compared
            lines.append(
                f"   - {ind.id}: risk factors {', '.join(hc.risk_factors)}; funnel "
                f"limits {', '.join(f'{x:.1%}' for x in hc.funnel)}"
            )
        lines.append("")
    lines.append("3. Per indicator (statistics, then disclosure control):")
    for ind in plan.indicators:
        std = ind.standardisation
        std_text = {
            "none": "crude only",
            "direct": f"direct age-sex standardisation on {std.reference}",
            "indirect": "indirect standardisation (O/E against Belgium's age-sex rates)",
        }[std.method]
        grain = {
            "person_year": "",
            "stay": f" of index stays of {ind.events}",
            "person": f" of persons with an index stay of {ind.events}",
        }[ind.grain]
        lines.append(
            f"   - {ind.id} [{plan.hashes[ind.id]}]: {ind.measure.kind}{grain} "
            f"x{ind.measure.per:g}"
            f" ({ind.measure.unit}), CI {ind.measure.interval}, {std_text}; person "
            f"counts perturbed (cell key), cells under {ind.disclosure.min_count} "
            "persons hidden"
        )
    lines += [
        "",
        "Indicators, as compiled from their specs (who is counted, what, how it is expressed):",
    ]
    for ind in plan.indicators:
        lines += describe_indicator(ind, plan)
    return "\n".join(lines)


def describe_indicator(ind: Indicator, plan: Plan) -> list[str]:
    """An indicator in words: population, numerator, measure and the spec's definition, so an
    analyst can check that the spec says what was meant."""
    m = ind.measure
    lines = [
        f"   - {ind.id} v{ind.version} ({ind.status}): {ind.label.en}",
        f"       population: {_describe_population(ind)}",
        f"       numerator: {_describe_numerator(ind, plan)}",
    ]
    per = "" if m.per == 1 else f" x {m.per:g}"
    value = MEASURES[m.kind].value_text(m.denominator, m.denominator_sum, per)
    if ind.grain != "person_year":
        value = (
            "numerator / "
            + {"stay": "index stays", "person": "persons with an index stay"}[ind.grain]
            + f" of {ind.events}{per}"
        )
    std = ind.standardisation
    std_text = {
        "none": "crude",
        "direct": f"direct age-sex standardisation on {std.reference}",
        "indirect": "indirect age-sex standardisation (O/E against Belgium)",
    }[std.method]
    ci = "no interval" if m.interval == "none" else f"{m.interval} {m.ci_level:.0%} interval"
    lines.append(
        f"       measure: {m.kind} = {value}, in {m.unit}, {m.decimals} decimal(s); "
        f"{ci}; {std_text}"
    )
    if ind.pooled_years > 1:
        lines.append(
            f"       period: {ind.pooled_years} years pooled (period Y adds up the "
            f"numerators and denominators of Y-{ind.pooled_years - 1} to Y)"
        )
    if ind.change:
        lines.append(
            "       change: the value minus that of the previous period, with its interval"
        )
    lines.append(f"       definition: {' '.join(ind.definition.en.split())}")
    return lines


def _describe_population(ind: Indicator) -> str:
    pop = ind.population
    who = "index stays of persons" if ind.grain == "stay" else "persons"
    age = pop.age
    if age.min is not None and age.max is not None:
        ages = f"aged {age.min}-{age.max} at 31 December"
    elif age.min is not None:
        ages = f"aged {age.min} and over at 31 December"
    elif age.max is not None:
        ages = f"aged {age.max} or under at 31 December"
    else:
        ages = "of all ages"
    parts = [f"{who} in the population of the year, {ages}"]
    if pop.sex:
        parts.append({"F": "women only", "M": "men only"}[pop.sex])
    if pop.alive_at_end:
        parts.append("alive at the end of the year")
    if pop.insured_previous_year:
        parts.append("also insured the year before")
    if pop.insured_years > 1:
        parts.append(
            f"in the population in each of the {pop.insured_years} years up to the period year"
        )
    if pop.where:
        parts.append("with " + " and ".join(describe_condition(c) for c in pop.where))
    if pop.exclude:
        parts.append("excluding " + " or ".join(describe_condition(c) for c in pop.exclude))
    return ", ".join(parts)


def _describe_numerator(ind: Indicator, plan: Plan) -> str:
    if ind.grain == "stay":
        return f"index stays of {ind.events} with a follow-up in the window"
    if ind.grain == "person":
        return f"persons with a followed index stay of {ind.events}"
    num = ind.numerator
    assert num is not None  # person-year grain: Indicator requires a numerator
    if num.sum is None:
        assert num.where is not None  # Numerator._one: where or sum
        return "persons with " + " and ".join(describe_condition(c) for c in num.where)
    feature = plan.feature(num.sum)
    unit = f" ({feature.unit})" if feature is not None and feature.unit else ""
    who = (
        (
            "the persons of the population with "
            + " and ".join(describe_condition(c) for c in num.where)
        )
        if num.where
        else "the persons of the population"
    )
    return f"sum of {num.sum}{unit} over {who}"


def describe_condition(c: Condition) -> str:
    """A population or target-group condition in words (also used for scenarios)."""
    if c.equals is not None:
        value = str(c.equals).lower() if isinstance(c.equals, bool) else c.equals
        return f"{c.feature} = {value}"
    if c.in_ is not None:
        return f"{c.feature} in {', '.join(map(str, c.in_))}"
    if c.top is not None:
        return (
            f"{c.feature} in the top {c.top * 100:g}% of the population of the year "
            "(ties at the cut included)"
        )
    if c.at_least is not None and c.at_most is not None:
        return f"{c.feature} {c.at_least:g}-{c.at_most:g}"
    if c.at_least is not None:
        return f"{c.feature} >= {c.at_least:g}"
    return f"{c.feature} <= {c.at_most:g}"


def _describe_selection(sel: Selection) -> str:
    parts = []
    if sel.codes:
        parts.append(f"codes {sel.codes}")
    parts += [f"{k} = {v}" for k, v in sel.where.items()]
    if sel.exclude_codes:
        parts.append(f"not codes {sel.exclude_codes}")
    parts += [f"not {k} = {v}" for k, v in sel.exclude.items()]
    return ", ".join(parts) or "all"


def _describe_event(e: Event) -> str:
    w = e.follow_up.window
    what = SOURCES[e.follow_up.source].row
    return (
        f"index episodes ({_describe_selection(e.index)}) followed by {what} "
        f"({_describe_selection(e.follow_up)}) {w.from_days}-{w.to_days} days after "
        f"discharge; indexes whose window passes the data end are left out"
    )


def _describe_feature(f: Feature, plan: Plan) -> str:
    assert f.aggregate is not None  # a feature of a pass, not derived: Feature._shape
    what = AGGREGATES[f.aggregate].describe(f)
    parts = [what]
    if f.codes:
        cl = plan.codelists[f.codes]
        parts.append(f"with {cl.system} in {f.codes} v{cl.version} ({len(cl.codes)} code(s))")
    if f.where:
        parts.append("where " + ", ".join(f"{k} = {v}" for k, v in f.where.items()))
    if f.having:
        parts.append(f"counting codes with sum({f.having.sum_of}) >= {f.having.at_least:g}")
    if f.window_years > 1:
        parts.append(f"over {f.window_years} years")
    if f.season is not None:
        parts.append(f"dated in the season {f.season.label} of period year Y")
    return " ".join(parts)
