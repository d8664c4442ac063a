"""Financing scenarios (indicator_specs/simulations/): the shipped examples load, grids expand
into checked variants, and every mistake names its file, line and field."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from phm.spec import SpecError, load_catalogue
from phm.spec.scenario import Scenario

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"

# lines 1-17; the grid starts on line 18
VALID = """\
id: trial
version: 1
label: {nl: T, fr: T, en: T}
attribution:
  areas: pilot_regions
  target_group:
    - {feature: chronic_status, equals: true}
cost:
  features: [reimbursed_hc, reimbursed_pharmacy]
risk_model:
  family: ols
  factors: [age5_sex, bim, chronic_status]
years:
  baseline: 2022
  guarantee: [2023, 2024]
outliers:
  rule: none
"""


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "specs"
    for kind in ("features", "codelists", "age_schemes", "areas"):
        shutil.copytree(REPO_SPECS / kind, root / kind)
    (root / "simulations").mkdir()
    return root


def _issues(root: Path, text: str) -> list[tuple[int, str, str]]:
    (root / "simulations" / "trial.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_catalogue(root)
    for issue in info.value.issues:
        assert issue.file == "specs/simulations/trial.yaml"
    return [(i.line, i.field, i.message) for i in info.value.issues]


def test_shipped_scenarios_load_with_their_variants():
    cat = load_catalogue(REPO_SPECS)
    guarantee = cat.simulations["budget_guarantee_2017"]
    variants = guarantee.variants()
    assert len(variants) == 6  # 3 outlier rules x 2 model families
    chosen = variants["outliers=rule:cap_quantile+quantile:0.99,risk_model.family=tweedie"]
    assert (chosen.outliers.quantile, chosen.risk_model.family, chosen.risk_model.power) == (
        0.99,
        "tweedie",
        1.5,
    )
    # the rest of the scenario is the base's
    assert chosen.sharing == guarantee.sharing and chosen.years == guarantee.years
    capitation = cat.simulations["capitation_pilots"]
    assert capitation.kind == "capitation" and list(capitation.variants()) == ["base"]
    assert capitation.capitation.budget == "actual_total"


def test_valid_scenario_loads_and_its_hash_follows_its_features(folder):
    (folder / "simulations" / "trial.yaml").write_text(VALID, encoding="utf-8")
    cat = load_catalogue(folder)
    trial = cat.simulations["trial"]
    assert trial.reference == "outside_pilots" and trial.method == "risk_adjusted"
    assert (trial.sharing.share, trial.sharing.floor_at_zero, trial.uncertainty.replicates) == (
        1.0,
        True,
        200,
    )
    before = cat.hash_of("simulations", "trial")
    feature = folder / "features" / "reimbursed_pharmacy.yaml"
    feature.write_text(feature.read_text().replace("version: 1", "version: 2"))
    assert load_catalogue(folder).hash_of("simulations", "trial") != before


@pytest.mark.parametrize(
    "old, new, expected",
    [
        # a typo in a field name, with the closest known one
        ("  rule: none", "  rul: none", (17, "outliers.rul", "unknown field 'rul'; did you mean")),
        # a value outside the choices
        (
            "  family: ols",
            "  family: poisson",
            (11, "risk_model.family", "expected one of 'ols', 'gamma' or 'tweedie'"),
        ),
        # rules spanning fields
        (
            "  guarantee: [2023, 2024]",
            "  guarantee: [2021, 2023]",
            (13, "years", "guarantee years must follow the baseline year 2022"),
        ),
        ("  rule: none", "  rule: cap_quantile", (16, "outliers", "cap_quantile needs a quantile")),
        # references to other specs
        (
            "  areas: pilot_regions",
            "  areas: pilot_region",
            (
                5,
                "attribution.areas",
                "unknown area set 'pilot_region'; did you mean 'pilot_regions'",
            ),
        ),
        (
            "  features: [reimbursed_hc, reimbursed_pharmacy]",
            "  features: [reimbursed_hc, gp_contact]",
            (9, "cost.features[1]", "cost feature 'gp_contact': unknown feature; did you mean"),
        ),
        (
            "  features: [reimbursed_hc, reimbursed_pharmacy]",
            "  features: [reimbursed_hc, flu_vaccine]",
            (
                9,
                "cost.features[1]",
                "cost feature 'flu_vaccine': expected a numeric feature, it is a flag",
            ),
        ),
        (
            "  factors: [age5_sex, bim, chronic_status]",
            "  factors: [age5_sex, bim, chronic]",
            (
                12,
                "risk_model.factors[2]",
                "unknown risk factor 'chronic'; did you mean 'chronic_status'",
            ),
        ),
        (
            "    - {feature: chronic_status, equals: true}",
            "    - {feature: chronic_status, at_least: 1}",
            (
                7,
                "attribution.target_group[0]",
                "'chronic_status' is a flag: test it with equals/in",
            ),
        ),
    ],
)
def test_mistakes_name_file_line_and_field(folder, old, new, expected):
    _one_issue(folder, old, new, expected)


# every other block of a scenario: appended fields, or a changed line
@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "  rule: none",
            "  rule: none\nmethod: diff_in_trend",
            (18, "method", "expected one of 'risk_adjusted' or 'difference_in_trend'"),
        ),
        (
            "  rule: none",
            "  rule: none\nreference: flanders",
            (18, "reference", "expected one of 'outside_pilots' or 'belgium'"),
        ),
        (
            "  areas: pilot_regions",
            "  areas: pilot_regions\n  timing: retrospective",
            (6, "attribution.timing", "expected one of 'prospective' or 'concurrent'"),
        ),
        (
            "  features: [reimbursed_hc, reimbursed_pharmacy]",
            "  features: [reimbursed_hc, reimbursed_pharmacy]\n  annualise: sometimes",
            (10, "cost.annualise", "Input should be a valid boolean"),
        ),
        (
            "  family: ols",
            "  family: tweedie\n  variance_power: 2.5",
            (12, "risk_model.variance_power", "Input should be less than 2"),
        ),
        (
            "  factors: [age5_sex, bim, chronic_status]",
            "  factors: [age5_sex, bim, chronic_status]\n  interactions: [[bim, nursing_home]]",
            (10, "risk_model", "interaction ['bim', 'nursing_home']: nursing_home not among the"),
        ),
        (
            "  rule: none",
            "  rule: none\nsharing:\n  share: 1.5",
            (19, "sharing.share", "Input should be less than or equal to 1"),
        ),
        (
            "  rule: none",
            "  rule: none\nuncertainty:\n  replicates: -3",
            (19, "uncertainty.replicates", "Input should be greater than or equal to 0"),
        ),
        (
            "  rule: none",
            "  rule: none\ncapitation:\n  budget: actual_total",
            (1, "", "a capitation block is given exactly for kind: capitation"),
        ),
    ],
)
def test_every_block_names_its_mistakes(folder, old, new, expected):
    _one_issue(folder, old, new, expected)


def _one_issue(folder, old, new, expected):
    assert old in VALID
    issues = _issues(folder, VALID.replace(old, new))
    line, field, start = expected
    assert [(i[0], i[1]) for i in issues] == [(line, field)], issues
    assert issues[0][2].startswith(start), issues[0][2]


def test_a_grid_value_that_breaks_a_variant_is_reported_at_the_grid(folder):
    issues = _issues(
        folder, VALID + "grid:\n  risk_model.family: [ols, negbin]\n  outliers.rule: [none]\n"
    )
    assert [(i[0], i[1]) for i in issues] == [(19, "grid.risk_model.family")]
    assert "a variant is invalid at risk_model.family: " in issues[0][2]
    issues = _issues(
        folder,
        VALID + "grid:\n  risk_model.factors:\n    - [age5_sex, bim]\n    - [age5_sex, bmi]\n",
    )
    assert [(i[0], i[1]) for i in issues] == [(18, "grid")]
    assert "unknown risk factor 'bmi'; did you mean 'bim'" in issues[0][2]


def test_variants_are_the_product_of_the_grid_values():
    base = Scenario.model_validate(
        {
            "id": "gg",
            "version": 1,
            "label": {"nl": "G", "fr": "G", "en": "G"},
            "attribution": {"areas": "pilot_regions"},
            "cost": {"features": ["reimbursed_hc"]},
            "risk_model": {"factors": ["age5_sex"]},
            "years": {"baseline": 2022, "guarantee": [2023]},
            "grid": {
                "sharing.share": [0.5, 1.0],
                "reference": ["outside_pilots", "belgium"],
                "uncertainty.replicates": [0],
            },
        }
    )
    variants = base.variants()
    assert sorted(variants) == sorted(
        f"reference={r},sharing.share={s},uncertainty.replicates=0"
        for r in ("outside_pilots", "belgium")
        for s in (0.5, 1.0)
    )
    picked = variants["reference=belgium,sharing.share=0.5,uncertainty.replicates=0"]
    assert (picked.reference, picked.sharing.share, picked.uncertainty.replicates) == (
        "belgium",
        0.5,
        0,
    )
    assert picked.grid == {} and picked.sharing.floor_at_zero is True
    with pytest.raises(ValueError, match="only the method can vary"):
        Scenario.model_validate({**base.model_dump(), "grid": {"id": ["x"]}})


def test_a_what_if_of_a_scenario_with_a_grid_keeps_its_variants():
    # regression: the what-if's id, <id>[path=value], is no identifier; its variants used to be
    # re-validated under it and refused, so `phm simulate --set` failed on any grid
    from phm.runs.simulations import apply_overrides

    catalogue = load_catalogue(REPO_SPECS)
    changed, [sid] = apply_overrides(
        catalogue, ["budget_guarantee_2017"], ["years.guarantee=[2023]"]
    )
    assert sid == "budget_guarantee_2017[years.guarantee=[2023]]"
    variants = changed.simulations[sid].variants()
    assert variants == {name: v for name, v in variants.items() if v.id == sid}
    assert len(variants) == len(catalogue.simulations["budget_guarantee_2017"].variants())
    assert all(v.years.guarantee == [2023] for v in variants.values())
