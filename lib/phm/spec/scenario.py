"""Population-financing scenarios as typed models: one file of
``indicator_specs/simulations/<id>.yaml`` on its own.

A scenario says who the pilot population is (attribution), against whom it is compared
(reference population), what cost is guaranteed, how expected cost is predicted (risk model,
outlier rule, method), over which years, and how a gain is shared. ``grid:`` expands one file
into named variants that differ in a few fields; every variant is checked like the base
scenario. Checks needing other specs (does the area set exist? is this feature a number?) are
in :mod:`phm.spec.catalogue`.

The design follows the budget guarantee of the Belgian integrated-care pilots (Joint plan
"Integrated care for better health", 2015; protocol agreement of 2017 on the pilot projects)
and the risk-equalisation models it is compared with: the Dutch risk equalisation
(Zorginstituut Nederland), the German Morbi-RSA (Bundesamt für Soziale Sicherung) and CMS-HCC.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Literal

from pydantic import Field, model_validator

from phm.spec.models import Condition, Ident, Model, Text

# risk factors known to the simulation without a feature of their own: age-sex bands and the
# previous year's cost band of a prospective model
SCENARIO_FACTORS = ("age5_sex", "prior_cost_band")
# the chronic conditions recognised from medication deliveries (the catalogue's treated_*
# features: "pseudopathologies" in Belgian claims research) counted by the diagnostics
PSEUDOPATHOLOGIES = (
    "treated_copd_asthma",
    "treated_depression",
    "treated_diabetes",
    "treated_dyslipidaemia",
    "treated_hypertension",
)


class Attribution(Model):
    """The pilot population: residents of the areas of an area set (each area is a pilot),
    optionally only those meeting the target-group conditions."""

    areas: Ident = Field(description="Area set whose areas are the pilots (e.g. pilot_regions).")
    target_group: list[Condition] = Field(
        default_factory=list, description="Conditions every attributed person meets (all of)."
    )
    timing: Literal["prospective", "concurrent"] = Field(
        "prospective",
        description="prospective: residence and target group at 31 December of "
        "the previous year; concurrent: in the year itself.",
    )


class Cost(Model):
    """The guaranteed cost of a person-year: a sum of numeric features, annualised by the
    fraction of the year insured (a death or birth is a part year)."""

    features: list[Ident] = Field(min_length=1, description="Numeric features summed.")
    annualise: bool = True


class RiskModel(Model):
    family: Literal["ols", "gamma", "tweedie"] = "ols"
    variance_power: float | None = Field(
        None,
        gt=1,
        lt=2,
        description="Tweedie variance power (1 < p < 2; tweedie only, default 1.5).",
    )
    factors: list[str] = Field(
        min_length=1, description="Attributes, features or " + ", ".join(SCENARIO_FACTORS) + "."
    )
    interactions: list[list[str]] = Field(
        default_factory=list, description="Pairs of factors whose product enters the model."
    )

    @property
    def power(self) -> float | None:
        """The variance power of a tweedie model (1.5 unless given)."""
        if self.family != "tweedie":
            return None
        return 1.5 if self.variance_power is None else self.variance_power

    @model_validator(mode="after")
    def _power(self) -> RiskModel:
        if self.family != "tweedie" and self.variance_power is not None:
            raise ValueError("variance_power is for the tweedie family only")
        if len(set(self.factors)) != len(self.factors):
            raise ValueError("a factor is listed twice")
        for pair in self.interactions:
            if len(pair) != 2 or pair[0] == pair[1]:
                raise ValueError(f"an interaction is two different factors, got {pair}")
            missing = [f for f in pair if f not in self.factors]
            if missing:
                raise ValueError(f"interaction {pair}: {', '.join(missing)} not among the factors")
        return self


class Outliers(Model):
    """Applied identically to fitting, expected and actual cost."""

    rule: Literal["none", "cap_quantile", "cap_amount", "exclude_above"] = "none"
    quantile: float | None = Field(
        None,
        gt=0.5,
        lt=1,
        description="Of the reference population's cost (cap_quantile, or exclude_above).",
    )
    amount: float | None = Field(
        None, gt=0, description="EUR per person-year (cap_amount, or exclude_above)."
    )

    @model_validator(mode="after")
    def _threshold(self) -> Outliers:
        given = [x for x in (self.quantile, self.amount) if x is not None]
        if self.rule == "none" and given:
            raise ValueError("rule 'none' takes no quantile or amount")
        if self.rule == "cap_quantile" and (self.quantile is None or self.amount is not None):
            raise ValueError("cap_quantile needs a quantile (and no amount)")
        if self.rule == "cap_amount" and (self.amount is None or self.quantile is not None):
            raise ValueError("cap_amount needs an amount (and no quantile)")
        if self.rule == "exclude_above" and len(given) != 1:
            raise ValueError("exclude_above needs a quantile or an amount")
        return self


class Years(Model):
    baseline: int = Field(ge=2000, le=2100)
    guarantee: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _after_baseline(self) -> Years:
        if sorted(set(self.guarantee)) != self.guarantee:
            raise ValueError("guarantee years must be increasing, each once")
        if self.guarantee[0] <= self.baseline:
            raise ValueError(f"guarantee years must follow the baseline year {self.baseline}")
        return self


class Sharing(Model):
    """How a gain (expected minus actual) becomes a payout to the pilot."""

    share: float = Field(1.0, ge=0, le=1, description="Share of the gain paid out.")
    floor_at_zero: bool = Field(True, description="A loss is not charged to the pilot.")
    corridor: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Gains within this fraction of expected cost (either side) are not shared.",
    )
    cap_per_capita: float | None = Field(None, gt=0, description="EUR per person-year.")


class Uncertainty(Model):
    replicates: int = Field(200, ge=0, le=10_000, description="Poisson bootstrap replicates.")
    seed: int = 1


class Capitation(Model):
    """A budget allocated across the pilots by risk-adjusted expected cost."""

    budget: Literal["actual_total", "amount"] = "actual_total"
    amount: float | None = Field(None, gt=0, description="EUR, with budget: amount.")

    @model_validator(mode="after")
    def _amount(self) -> Capitation:
        if (self.budget == "amount") != (self.amount is not None):
            raise ValueError("an amount is given exactly when budget is 'amount'")
        return self


class Scenario(Model):
    """A budget-guarantee or capitation what-if scenario (one file of
    ``indicator_specs/simulations/``)."""

    id: Ident
    version: int = Field(ge=1)
    kind: Literal["budget_guarantee", "capitation"] = "budget_guarantee"
    label: Text
    description: str | None = None
    attribution: Attribution
    reference: Literal["outside_pilots", "belgium"] = "outside_pilots"
    cost: Cost
    risk_model: RiskModel
    outliers: Outliers = Outliers()
    method: Literal["risk_adjusted", "difference_in_trend"] = "risk_adjusted"
    years: Years
    sharing: Sharing = Sharing()
    uncertainty: Uncertainty = Uncertainty()
    capitation: Capitation | None = None
    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Dotted field path -> values; the scenario expands "
        "into one variant per combination (e.g. outliers.rule, risk_model.family).",
    )

    @model_validator(mode="after")
    def _kind(self) -> Scenario:
        if (self.kind == "capitation") != (self.capitation is not None):
            raise ValueError("a capitation block is given exactly for kind: capitation")
        for path, values in self.grid.items():
            if not values:
                raise ValueError(f"grid {path!r}: no values")
            if path.split(".")[0] in ("id", "version", "kind", "label", "grid"):
                raise ValueError(f"grid {path!r}: only the method can vary, not the identity")
        return self

    def model_years(self) -> list[int]:
        """The years whose model this variant needs: the guarantee years, and the baseline
        year for a difference in trend."""
        extra = [self.years.baseline] if self.method == "difference_in_trend" else []
        return sorted({*extra, *self.years.guarantee})

    def years_read(self) -> list[int]:
        """Population years the scenario reads over all its variants: the years of their
        models, and the year before each for a prospective attribution or a prior-cost band."""
        out: set[int] = set()
        for variant in self.variants().values():
            years = set(variant.model_years())
            out |= years
            if (
                variant.attribution.timing == "prospective"
                or "prior_cost_band" in variant.risk_model.factors
            ):
                out |= {y - 1 for y in years}
        return sorted(out)

    def variants(self) -> dict[str, Scenario]:
        """``{variant name: scenario}``: the scenario itself (``base``) when there is no grid,
        else one per combination of grid values, named ``path=value,...``. A value that makes
        the scenario invalid raises the same errors as a wrong field would."""
        if not self.grid:
            return {"base": self}
        paths = sorted(self.grid)
        out: dict[str, Scenario] = {}
        for combo in itertools.product(*(self.grid[p] for p in paths)):
            # validated under a plain id: a what-if's id, ``<id>[path=value]``, is no
            # identifier, and the variant keeps it
            data = self.model_dump(by_alias=True, exclude={"grid"}) | {"id": "variant"}
            for path, value in zip(paths, combo):
                set_path(data, path, value)
            name = ",".join(f"{p}={_short(v)}" for p, v in zip(paths, combo))
            out[name] = Scenario.model_validate(data).model_copy(update={"id": self.id})
        return out


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """The scenario with fields replaced (``{"sharing.share": 0.8}``), as a quick what-if: its
    id becomes ``<id>[path=value,...]`` so its published rows never replace the scenario's
    own. A wrong path or value raises the validation error a wrong field in the file would."""
    if not overrides:
        return scenario
    data = scenario.model_dump(by_alias=True)
    for path, value in overrides.items():
        if path.split(".")[0] in ("id", "version", "kind", "label"):
            raise ValueError(f"{path}: only the method can change, not the identity")
        varied = [
            g
            for g in scenario.grid
            if g == path or g.startswith(path + ".") or path.startswith(g + ".")
        ]
        if varied:  # the grid would silently win over the override
            raise ValueError(
                f"{path}: the scenario's grid varies {', '.join(varied)}; "
                "compare its variants instead, or override another field"
            )
        set_path(data, path, value)
    name = ",".join(f"{p}={_short(v)}" for p, v in overrides.items())
    return Scenario.model_validate(data).model_copy(update={"id": f"{scenario.id}[{name}]"})


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, creating missing levels (a mapping value replaces the
    whole block: its fields not given take their defaults)."""
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = copy.deepcopy(value)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "+".join(f"{k}:{v}" for k, v in value.items())
    return str(value)
