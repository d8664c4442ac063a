"""catalogue: loading a spec folder, the checks across specs, and what the loader gives back.

Broken specs are written as YAML text into a copy of the repository's features, code lists, age
schemes and area sets, so the line of every problem is known.
"""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path

import pytest

from phm.spec import SpecError, catalogue, load_catalogue
from phm.spec.catalogue import Catalogue
from phm.spec.models import THEMES
from phm.spec.yaml_source import YamlSource, read_yaml

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"

# The header every indicator below shares: 9 lines, so the body starts on line 10.
HEAD = """\
id: @ID@
version: 1
status: draft
owner: tests
changelog:
  - {version: 1, date: 2026-01-01, change: First version.}
theme: care_consumption
label: {nl: Test, fr: Test, en: Test}
definition: {nl: Test, fr: Test, en: Test}
"""
# a valid body: lines 10-16
BODY = """\
numerator:
  where:
    - {feature: gp_contacts, at_least: 1}
measure:
  kind: proportion
  per: 100
  unit: "%"
"""


def line_of(text: str, snippet: str) -> int:
    """1-based line of the only line of ``text`` containing ``snippet`` (the expected line)."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if snippet in line]
    assert len(found) == 1, (snippet, found)
    return found[0]


@pytest.fixture(scope="module")
def repo() -> Catalogue:
    return load_catalogue(REPO_SPECS)


class Specs:
    """A spec folder in tmp_path; file names in issues are relative to tmp_path (the cwd)."""

    def __init__(self, tmp_path: Path):
        self.root = tmp_path / "specs"
        for kind in ("features", "codelists", "age_schemes", "areas"):
            shutil.copytree(REPO_SPECS / kind, self.root / kind)
        (self.root / "indicators").mkdir()

    def write(self, rel: str, text: str) -> str:
        text = textwrap.dedent(text)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return text

    def indicator(
        self, ident: str, body: str = BODY, extra: str = "", *, rel: str | None = None
    ) -> str:
        """HEAD + body (lines 10-16 by default) + extra (from line 17 on), each dedented."""
        text = HEAD.replace("@ID@", ident) + textwrap.dedent(body) + textwrap.dedent(extra)
        return self.write(rel or f"indicators/{ident}.yaml", text)

    def feature(self, ident: str, body: str) -> str:
        head = f"id: {ident}\nversion: 1\nlabel: {{nl: F, fr: F, en: F}}\n"
        return self.write(f"features/{ident}.yaml", head + textwrap.dedent(body))

    def load(self) -> Catalogue:
        return load_catalogue(self.root)

    def issues(self) -> list:
        with pytest.raises(SpecError) as info:
            self.load()
        return info.value.issues


_PARSED: dict[str, tuple] = {}


def _read_yaml_once(path: Path) -> YamlSource:
    """read_yaml, parsing each distinct text once: the ~60 copied specs are the same in every
    test and pure-Python YAML parsing is most of a load's time. Files that fail are not cached."""
    text = path.read_text(encoding="utf-8")
    if text not in _PARSED:
        source = read_yaml(path)
        _PARSED[text] = (source.data, source.lines)
    data, lines = _PARSED[text]
    return YamlSource(path, copy.deepcopy(data), dict(lines))


@pytest.fixture
def specs(tmp_path, monkeypatch) -> Specs:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(catalogue, "read_yaml", _read_yaml_once)
    return Specs(tmp_path)


def only(issues, field: str | None = None):
    """The one issue (on ``field`` when given)."""
    chosen = [i for i in issues if field is None or i.field == field]
    assert len(chosen) == 1, "\n".join(map(str, issues))
    return chosen[0]


# -- the repository's catalogue ----------------------------------------------------------------


def test_repository_catalogue_loads(repo):
    assert len(repo.indicators) >= 25
    assert {i.theme for i in repo.indicators.values()} == set(THEMES)
    assert set(THEMES) == {
        "demography",
        "prevention",
        "health_status",
        "care_consumption",
        "accessibility",
        "organisation",
        "quality_of_care",
    }
    quality = {i.id for i in repo.select(collections=["quality"])}
    assert {
        "readmission_via_ed_7d",
        "polypharmacy_65plus",
        "emergency_admissions_per_1000",
        "medication_continuity_statins",
        "avoidable_hospitalisations_acsc",
    } <= quality
    assert len(repo.events) >= 8
    for ind in repo.indicators.values():
        for text in (ind.label, ind.definition):
            for lang in ("nl", "fr", "en"):
                assert getattr(text, lang).strip(), f"{ind.id}: empty {lang}"
    assert all(w.severity == "warning" for w in repo.warnings)


def test_repository_catalogue_without_indicators_is_valid(specs):
    cat = specs.load()
    assert cat.indicators == {} and "gp_contacts" in cat.features and "atlas" in cat.age_schemes


def test_valid_indicator_loads(specs):
    specs.indicator("tiny")
    cat = specs.load()
    assert cat.indicators["tiny"].numerator.where[0].feature == "gp_contacts"
    assert cat.sources[("indicators", "tiny")].name == "specs/indicators/tiny.yaml"


# -- shape errors, with lines and suggestions --------------------------------------------------


def test_typo_in_a_top_level_field(specs):
    text = specs.indicator("typo", BODY.replace("numerator:", "numerater:"))
    issues = specs.issues()
    # numerator is optional (event indicators have none), so the typo is the one problem
    assert [(i.line, i.field) for i in issues] == [(10, "numerater")]
    typo = only(issues, "numerater")
    assert typo.file == "specs/indicators/typo.yaml"
    assert typo.line == line_of(text, "numerater:") == 10
    assert typo.message.startswith(
        "unknown field 'numerater'; did you mean 'numerator'? (allowed: "
    )
    assert "breakdowns, change, changelog, collections, definition" in typo.message
    assert str(typo).startswith("specs/indicators/typo.yaml:10  numerater: unknown field")


def test_missing_numerator(specs):
    specs.indicator(
        "bare",
        "\n".join(
            line
            for line in BODY.splitlines()
            if not line.startswith(("numerator:", "  where:", "    - {feature"))
        ),
    )
    issues = specs.issues()
    assert [i.message for i in issues] == ["give a numerator (where or sum)"]


def test_typo_in_a_nested_field(specs):
    text = specs.indicator(
        "typo",
        BODY.replace("{feature: gp_contacts, at_least: 1}", "{featur: gp_contacts, at_least: 1}"),
    )
    issue = only(specs.issues(), "numerator.where[0].featur")
    assert issue.line == line_of(text, "featur:") == 12
    assert issue.message.startswith(
        "unknown field 'featur'; did you mean 'feature'? "
        "(allowed: at_least, at_most, equals, feature, in, top)"
    )


def test_bad_literal_suggests_the_close_one(specs):
    text = specs.indicator("lit", BODY.replace("kind: proportion", "kind: proportio"))
    issue = only(specs.issues())
    assert (issue.field, issue.line) == ("measure.kind", line_of(text, "proportio"))
    assert issue.line == 14
    assert issue.message == (
        "expected one of 'proportion', 'rate', 'mean' or 'ratio', got "
        "'proportio'; did you mean 'proportion'?"
    )


def test_model_rule_is_reported_at_the_spec(specs):
    specs.write(
        "indicators/ver.yaml",
        HEAD.replace("@ID@", "ver").replace("version: 1\n", "version: 2\n", 1) + BODY,
    )
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == ("specs/indicators/ver.yaml", 1, "")
    assert issue.message == "the changelog has no entry for version 2"


def test_not_a_mapping(specs):
    specs.write("indicators/empty.yaml", "# nothing yet\n")
    specs.write("indicators/list.yaml", "- id: list\n")
    issues = specs.issues()
    assert [(i.file, i.line, i.message) for i in issues] == [
        (
            "specs/indicators/empty.yaml",
            1,
            "expected a mapping of fields (key: value lines), got an empty file",
        ),
        (
            "specs/indicators/list.yaml",
            1,
            "expected a mapping of fields (key: value lines), got a list",
        ),
    ]


def test_yaml_errors_are_collected_with_the_others(specs):
    specs.write("indicators/dup.yaml", HEAD.replace("@ID@", "dup") + BODY + "theme: demography\n")
    specs.write("indicators/syntax.yaml", "id: syntax\nlabel:\n  nl: a\n fr: b\n")
    issues = specs.issues()
    assert [(i.file, i.line) for i in issues] == [
        ("specs/indicators/dup.yaml", 17),
        ("specs/indicators/syntax.yaml", 4),
    ]
    assert issues[0].message == "duplicate key 'theme' (first given on line 7)"
    assert issues[1].message.startswith("YAML syntax error")


# -- references between specs ------------------------------------------------------------------


def test_unknown_feature_in_a_condition(specs):
    text = specs.indicator("unk", BODY.replace("gp_contacts", "gp_contact"))
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/indicators/unk.yaml",
        line_of(text, "gp_contact,"),
        "numerator.where[0].feature",
    )
    assert issue.message == (
        "unknown feature or attribute 'gp_contact'; did you mean 'gp_contacts'?"
    )


def test_unknown_feature_in_population_exclude(specs):
    text = specs.indicator(
        "unk",
        BODY,
        """\
        population:
          exclude:
            - {feature: medical_hous, equals: true}
        """,
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (
        line_of(text, "medical_hous"),
        "population.exclude[0].feature",
    )
    assert issue.message.endswith("did you mean 'medical_house'?")


def test_unknown_code_list_in_a_feature(specs):
    text = specs.feature(
        "gp_visits",
        """\
        source: health_care
        codes: gp_contacs
        aggregate: count
        """,
    )
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/features/gp_visits.yaml",
        line_of(text, "codes:"),
        "codes",
    )
    assert issue.line == 5
    assert issue.message == "unknown code list 'gp_contacs'; did you mean 'gp_contact'?"


def test_code_list_of_the_wrong_system(specs):
    text = specs.feature(
        "gp_medicines",
        """\
        source: pharmacy
        codes: gp_contact
        aggregate: any
        """,
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (line_of(text, "codes:"), "codes")
    assert issue.message == (
        "code list 'gp_contact' holds nomenclature codes, matched on "
        "health_care.nomen_code; this feature reads pharmacy"
    )


def test_unknown_source_column_in_where(specs):
    text = specs.feature(
        "long_stays",
        """\
        source: hospital_stay
        where:
          stay_typ: classic
          admitted_via_ed: true
        aggregate: count
        """,
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (line_of(text, "stay_typ"), "where.stay_typ")
    assert issue.line == 6
    assert issue.message == "hospital_stay has no column 'stay_typ'; did you mean 'stay_type'?"


def test_of_must_be_a_numeric_column_for_sum(specs):
    text = specs.feature(
        "odd_sum",
        """\
        source: health_care
        aggregate: sum
        of: nomen_code
        """,
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (line_of(text, "of:"), "of")
    assert issue.message == "sum needs a numeric column; health_care.nomen_code is string"


def test_at_least_on_a_flag_feature(specs):
    text = specs.indicator(
        "flag",
        BODY.replace(
            "{feature: gp_contacts, at_least: 1}", "{feature: antidepressant_user, at_least: 1}"
        ),
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (line_of(text, "antidepressant_user"), "numerator.where[0]")
    assert issue.message == (
        "'antidepressant_user' is a flag: test it with equals/in, not at_least/at_most/top"
    )


def test_flag_equals_must_be_boolean(specs):
    text = specs.indicator(
        "flag",
        BODY.replace("{feature: gp_contacts, at_least: 1}", "{feature: bim, equals: yes-please}"),
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (line_of(text, "yes-please"), "numerator.where[0].equals")
    assert issue.message == "'bim' is a flag: expected true or false, got 'yes-please'"


def test_unknown_breakdown_and_unknown_age_scheme(specs):
    text = specs.indicator(
        "brk",
        BODY,
        """\
        breakdowns:
          by:
            - sex
            - bmi
            - [sex, "age:atlass"]
            - age
        """,
    )
    issues = specs.issues()
    assert [(i.line, i.field, i.message) for i in issues] == [
        (
            line_of(text, "- bmi"),
            "breakdowns.by[1]",
            "unknown breakdown 'bmi'; did you mean 'bim'?",
        ),
        (
            line_of(text, "atlass"),
            "breakdowns.by[2]",
            "unknown age scheme 'atlass'; did you mean 'atlas'?",
        ),
        (
            line_of(text, "- age"),
            "breakdowns.by[3]",
            "break down by age through a named scheme: 'age:<scheme>' such as 'age:atlas'",
        ),
    ]
    assert [i.line for i in issues] == [20, 21, 22]


def test_numeric_feature_is_no_breakdown(specs):
    specs.indicator("brk", BODY + "breakdowns:\n  by: [gp_contacts]\n")
    issue = only(specs.issues())
    assert issue.message == "'gp_contacts' is a number; break down by flags or categories only"


def test_unknown_area_set(specs):
    text = specs.indicator(
        "areas",
        BODY,
        """\
        breakdowns:
          areas: [pilot_region]
        """,
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (line_of(text, "pilot_region"), "breakdowns.areas[0]")
    assert issue.message == "unknown area set 'pilot_region'; did you mean 'pilot_regions'?"


AREAS = """\
id: zones
version: 1
label: {nl: Z, fr: Z, en: Z}
areas:
  leuven:
    label: Leuven
    municipalities: ["24062", "24038"]
  herent:
    label: Herent
    municipalities:
      - "24009"
      - "24038"
"""


def test_overlapping_areas_in_one_set(specs):
    specs.write("areas/zones.yaml", AREAS)
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/areas/zones.yaml",
        12,
        "areas.herent.municipalities[1]",
    )
    assert issue.message.startswith(
        "municipality 24038 is already in area 'leuven'; areas of one set must not overlap"
    )


def test_unknown_municipality_in_an_area(specs):
    specs.write("areas/zones.yaml", AREAS.replace('- "24038"', '- "99999"'))
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (12, "areas.herent.municipalities[1]")
    assert issue.message.startswith("unknown municipality NIS code '99999' (2019-2024 codes)")


def test_derived_feature_cycle(specs):
    text = specs.feature("cyc_a", "derived:\n  any_of:\n    - {feature: cyc_b, equals: true}\n")
    specs.feature("cyc_b", "derived:\n  all_of:\n    - {feature: cyc_a, equals: true}\n")
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/features/cyc_a.yaml",
        line_of(text, "derived:"),
        "derived",
    )
    assert issue.message == "derived features form a cycle: cyc_a -> cyc_b -> cyc_a"


def test_sum_of_needs_numeric_features(specs):
    text = specs.feature("odd_total", "derived:\n  sum_of: [reimbursed_hc, bim, reimbursed_ph]\n")
    issues = specs.issues()
    assert [(i.line, i.field, i.message) for i in issues] == [
        (
            line_of(text, "sum_of"),
            "derived.sum_of[1]",
            "flag feature 'bim': sum_of adds numeric features",
        ),
        (
            line_of(text, "sum_of"),
            "derived.sum_of[2]",
            (
                "unknown feature 'reimbursed_ph': sum_of adds numeric features; did you mean "
                "'reimbursed_hc'?"
            ),
        ),
    ]


# -- ids ---------------------------------------------------------------------------------------


def test_id_differs_from_file_name(specs):
    specs.indicator("gp_share", rel="indicators/gp_contact_share.yaml")
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/indicators/gp_contact_share.yaml",
        1,
        "id",
    )
    assert issue.message == (
        "id 'gp_share' differs from the file name 'gp_contact_share'; name the file <id>.yaml"
    )


def test_the_same_id_twice(specs):
    specs.indicator("twice", rel="indicators/a/twice.yaml")
    specs.indicator("twice", rel="indicators/b/twice.yaml")
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == ("specs/indicators/b/twice.yaml", 1, "id")
    assert issue.message == "indicator 'twice' is already defined in specs/indicators/a/twice.yaml"


def test_several_errors_at_once_sorted_by_file_and_line(specs):
    specs.indicator(
        "b_two",
        BODY.replace("gp_contacts", "gp_contact").replace("kind: proportion", "kind: proportio"),
    )
    specs.indicator("a_one", BODY + "breakdowns:\n  by: [bmi]\n")
    specs.feature("z_feature", "source: pharmacy\ncodes: gp_contacs\naggregate: any\n")
    with pytest.raises(SpecError) as info:
        specs.load()
    issues = info.value.issues
    assert [(i.file, i.line, i.field) for i in issues] == [
        ("specs/features/z_feature.yaml", 5, "codes"),
        ("specs/indicators/a_one.yaml", 18, "breakdowns.by[0]"),
        ("specs/indicators/b_two.yaml", 14, "measure.kind"),
    ]
    # (b_two's unknown feature is not among them: its shape failed, so it is not cross-checked)
    assert str(info.value).startswith(
        "3 problems in the specs:\n  specs/features/z_feature.yaml:5  codes: "
    )


def test_every_reference_error_of_a_file_is_reported(specs):
    text = specs.indicator(
        "many",
        BODY.replace("gp_contacts", "gp_contact"),
        """\
        population:
          where:
            - {feature: agee, at_least: 18}
        breakdowns:
          areas: [zonez]
          by: [sexe]
        """,
    )
    issues = specs.issues()
    assert [(i.line, i.field) for i in issues] == [
        (line_of(text, "gp_contact,"), "numerator.where[0].feature"),
        (line_of(text, "agee"), "population.where[0].feature"),
        (line_of(text, "zonez"), "breakdowns.areas[0]"),
        (line_of(text, "sexe"), "breakdowns.by[0]"),
    ]
    assert [i.line for i in issues] == [12, 19, 21, 22]


# -- warnings ----------------------------------------------------------------------------------


def test_codes_absent_from_reference_tables_are_warnings(specs):
    text = specs.write(
        "codelists/rare.yaml",
        """\
        id: rare
        version: 1
        label: {nl: R, fr: R, en: R}
        system: nomenclature
        codes: ["101032", "999999", "999998"]
        """,
    )
    specs.feature("rare_acts", "source: health_care\ncodes: rare\naggregate: count\n")
    cat = specs.load()
    assert "rare_acts" in cat.features
    warning = only([w for w in cat.warnings if w.file == "specs/codelists/rare.yaml"])
    assert (warning.severity, warning.line, warning.field) == (
        "warning",
        line_of(text, "codes"),
        "codes",
    )
    assert warning.message == "2 code(s) not in the reference tables: ['999999', '999998']"
    assert str(warning).startswith("specs/codelists/rare.yaml:5  [warning] codes: ")


def test_sex_breakdown_of_a_one_sex_population_is_a_warning(specs):
    specs.indicator("women", BODY + "population:\n  sex: F\nbreakdowns:\n  by: [sex]\n")
    cat = specs.load()
    warning = only([w for w in cat.warnings if "women" in w.file])
    assert (warning.line, warning.field) == (20, "breakdowns.by")
    assert warning.message.startswith("the population has one sex only")


def test_warnings_are_not_errors_when_errors_exist(specs):
    specs.indicator(
        "women",
        BODY.replace("gp_contacts", "nope") + "population:\n  sex: F\nbreakdowns:\n  by: [sex]\n",
    )
    issues = specs.issues()
    assert all(i.severity == "error" for i in issues)
    assert [i.field for i in issues] == ["numerator.where[0].feature"]


# -- lookups -----------------------------------------------------------------------------------


def test_select_unknown_id_suggests_the_close_one(repo):
    with pytest.raises(SpecError) as info:
        repo.select(["gp_contact_share", "gp_contact_shar"])
    [issue] = info.value.issues
    assert issue.message == "unknown indicator 'gp_contact_shar'; did you mean 'gp_contact_share'?"


def test_select(repo, specs):
    chosen = repo.select(["mortality_per_1000", "bim_share", "bim_share"])
    assert [i.id for i in chosen] == ["bim_share", "mortality_per_1000"]
    assert [i.id for i in repo.select()] == sorted(
        i for i, s in repo.indicators.items() if s.status != "retired"
    )
    specs.indicator("draft_one")
    specs.indicator("old_one", rel="indicators/old_one.yaml")
    path = specs.root / "indicators/old_one.yaml"
    path.write_text(path.read_text().replace("status: draft", "status: retired"))
    cat = specs.load()
    assert [i.id for i in cat.select()] == ["draft_one"]
    assert cat.select(include_drafts=False) == []
    assert [i.id for i in cat.select(["old_one"])] == ["old_one"]


def test_features_for_returns_inputs_before_derived_features(repo):
    chosen = repo.select(["treated_diabetes_share", "reimbursed_per_capita"])
    names = [f.id for f in repo.features_for(chosen)]
    assert len(names) == len(set(names))
    for derived, inputs in (
        ("treated_diabetes", ["antidiabetic_ddd", "diabetes_care_trajectory"]),
        ("reimbursed_total", ["reimbursed_hc", "reimbursed_pharmacy"]),
    ):
        for name in inputs:
            assert names.index(name) < names.index(derived), names
    everything = [f.id for f in repo.features_for(repo.indicators.values())]
    for position, name in enumerate(everything):
        feature = repo.features[name]
        if feature.derived is not None:
            inputs = feature.derived.sum_of or [
                c.feature for c in feature.derived.any_of or feature.derived.all_of
            ]
            for dep in inputs:
                if dep in repo.features:
                    assert everything.index(dep) < position, (dep, name)


def test_variable_kind(repo):
    assert repo.variable_kind("age") == "number"
    assert repo.variable_kind("bim") == "flag"
    assert repo.variable_kind("sex") == "category"
    assert repo.variable_kind("gp_contacts") == "number"
    assert repo.variable_kind("antidepressant_user") == "flag"
    assert repo.variable_kind("treated_diabetes") == "flag"
    assert repo.variable_kind("reimbursed_total") == "number"
    assert repo.variable_kind("nope") is None


# -- content hashes ----------------------------------------------------------------------------


def test_hash_of_follows_the_code_lists_it_depends_on(specs):
    specs.indicator("gp_any")  # gp_contacts -> gp_contact code list
    specs.indicator("dentist_any", BODY.replace("gp_contacts", "dentist_contacts"))
    first = specs.load()
    again = specs.load()
    keys = [
        ("indicators", "gp_any"),
        ("indicators", "dentist_any"),
        ("features", "gp_contacts"),
        ("codelists", "gp_contact"),
    ]
    before = {k: first.hash_of(*k) for k in keys}
    assert before == {k: again.hash_of(*k) for k in keys}
    assert len(set(before.values())) == len(before)

    # comments and layout do not change the hash
    path = specs.root / "indicators/gp_any.yaml"
    path.write_text("# a comment\n" + path.read_text().replace("per: 100", "per:   100.0"))
    assert specs.load().hash_of("indicators", "gp_any") == before[("indicators", "gp_any")]

    codes = specs.root / "codelists/gp_contact.yaml"
    codes.write_text(codes.read_text().replace('  - "104230"\n', ""))
    after = specs.load()
    assert after.hash_of("codelists", "gp_contact") != before[("codelists", "gp_contact")]
    assert after.hash_of("features", "gp_contacts") != before[("features", "gp_contacts")]
    assert after.hash_of("indicators", "gp_any") != before[("indicators", "gp_any")]
    assert after.hash_of("indicators", "dentist_any") == before[("indicators", "dentist_any")]


def test_hash_of_follows_derived_inputs_age_schemes_and_areas(specs):
    specs.indicator(
        "diab",
        BODY.replace(
            "{feature: gp_contacts, at_least: 1}", "{feature: treated_diabetes, equals: true}"
        )
        + 'breakdowns:\n  areas: [pilot_regions]\n  by: ["age:atlas"]\n',
    )
    before = specs.load().hash_of("indicators", "diab")
    for rel, old, new in (
        ("codelists/atc_antidiabetics.yaml", "version: 1", "version: 2"),
        ("age_schemes/atlas.yaml", "en: Age groups (Atlas)", "en: Atlas age groups"),
        ("areas/pilot_regions.yaml", "label: Namur et environs", "label: Namur"),
        ("features/treated_diabetes.yaml", "at_least: 90", "at_least: 60"),
    ):
        path = specs.root / rel
        assert old in path.read_text(), rel
        path.write_text(path.read_text().replace(old, new))
        after = specs.load().hash_of("indicators", "diab")
        assert after != before, rel
        before = after


# -- what used to be silently wrong (issue 10) -------------------------------------------------

NOWHERE = """\
id: nowhere
version: 1
label: {nl: N, fr: N, en: N}
system: nomenclature
codes: ["999999", "999998"]
"""
USES_NOWHERE = BODY.replace("gp_contacts", "nowhere_acts")


def _published(specs, ident: str, body: str = BODY) -> str:
    head = HEAD.replace("@ID@", ident).replace("status: draft", "status: published")
    return specs.write(f"indicators/{ident}.yaml", head + body)


def test_code_list_matching_nothing_is_an_error_for_a_published_indicator(specs):
    text = specs.write("codelists/nowhere.yaml", NOWHERE)
    specs.feature("nowhere_acts", "source: health_care\ncodes: nowhere\naggregate: count\n")
    _published(specs, "uses_nowhere", USES_NOWHERE)
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/codelists/nowhere.yaml",
        line_of(text, "codes"),
        "codes",
    )
    assert "none of the 2 codes" in issue.message
    assert "uses_nowhere" in issue.message and "allow_absent" in issue.message


def test_code_list_matching_nothing_is_a_warning_for_drafts_only(specs):
    specs.write("codelists/nowhere.yaml", NOWHERE)
    specs.feature("nowhere_acts", "source: health_care\ncodes: nowhere\naggregate: count\n")
    specs.indicator("draft_nowhere", USES_NOWHERE)
    cat = specs.load()
    warning = only([w for w in cat.warnings if "nowhere" in w.file])
    assert warning.severity == "warning"


def test_code_list_matching_nothing_allowed_with_a_reason(specs):
    specs.write(
        "codelists/nowhere.yaml",
        NOWHERE + "allow_absent: true\nreason: Real codes, "
        "absent from the synthetic reference tables.\n",
    )
    specs.feature("nowhere_acts", "source: health_care\ncodes: nowhere\naggregate: count\n")
    _published(specs, "uses_nowhere", USES_NOWHERE)
    cat = specs.load()
    assert cat.codelists["nowhere"].allow_absent
    assert all(w.severity == "warning" for w in cat.warnings)


@pytest.mark.parametrize(
    "extra, field", [("allow_absent: true\n", "allow_absent"), ("reason: Because.\n", "reason")]
)
def test_allow_absent_and_reason_go_together(specs, extra, field):
    text = specs.write("codelists/nowhere.yaml", NOWHERE + extra)
    issue = only(specs.issues())
    assert (issue.file, issue.line, issue.field) == (
        "specs/codelists/nowhere.yaml",
        line_of(text, field),
        field,
    )
    assert "allow_absent" in issue.message and "reason" in issue.message


def test_code_list_of_an_event_matching_nothing_is_an_error(specs):
    shutil.copytree(REPO_SPECS / "events", specs.root / "events")
    text = specs.write("codelists/nowhere.yaml", NOWHERE)
    specs.write(
        "events/gp_after.yaml",
        """\
        id: gp_after
        version: 1
        label: {nl: E, fr: E, en: E}
        index: {where: {service_type: general}}
        follow_up:
          source: health_care
          codes: nowhere
          window: {from_days: 1, to_days: 7}
        """,
    )
    _published(
        specs,
        "gp_after_share",
        "grain: stay\nevents: gp_after\nmeasure:\n  kind: proportion\n  per: 100\n  unit: '%'\n",
    )
    issue = only(specs.issues())
    assert (issue.file, issue.line) == ("specs/codelists/nowhere.yaml", line_of(text, "codes"))


def test_partly_unknown_code_list_of_a_published_indicator_stays_a_warning(specs):
    specs.write("codelists/nowhere.yaml", NOWHERE.replace('"999999"', '"101032"'))
    specs.feature("nowhere_acts", "source: health_care\ncodes: nowhere\naggregate: count\n")
    _published(specs, "uses_nowhere", USES_NOWHERE)
    cat = specs.load()
    assert [w.field for w in cat.warnings if "nowhere" in w.file] == ["codes"]


def test_value_of_a_categorical_column_is_checked(specs):
    text = specs.feature(
        "clasic",
        """\
        source: hospital_stay
        where:
          stay_type: clasic
          service_type: [general, psychiatrc]
        aggregate: count
        """,
    )
    issues = specs.issues()
    assert [(i.line, i.field) for i in issues] == [
        (line_of(text, "stay_type"), "where.stay_type"),
        (line_of(text, "psychiatrc"), "where.service_type"),
    ]
    assert issues[0].message == (
        "hospital_stay.stay_type has no value 'clasic'; did you mean "
        "'classic'? (values: classic, day)"
    )
    assert "'psychiatrc'; did you mean 'psychiatric'?" in issues[1].message


def test_value_of_a_boolean_column_must_be_true_or_false(specs):
    specs.feature(
        "via_ed", "source: hospital_stay\nwhere:\n  admitted_via_ed: 'yes'\naggregate: count\n"
    )
    issue = only(specs.issues())
    assert (issue.line, issue.field) == (6, "where.admitted_via_ed")
    assert "true or false" in issue.message


def test_value_of_an_episode_column_is_checked(specs):
    specs.write(
        "events/psy.yaml",
        """\
        id: psy
        version: 1
        label: {nl: E, fr: E, en: E}
        index:
          where: {service_type: psychiatry}
          exclude: {discharge_destination: [death, transfert]}
        follow_up:
          source: health_care
          where: {setting: ambulant}
          window: {from_days: 1, to_days: 7}
        """,
    )
    issues = specs.issues()
    assert [(i.line, i.field) for i in issues] == [
        (5, "index.where.service_type"),
        (6, "index.exclude.discharge_destination"),
        (9, "follow_up.where.setting"),
    ]
    assert "did you mean 'psychiatric'?" in issues[0].message
    assert "did you mean 'transfer'?" in issues[1].message
    assert "did you mean 'ambulatory'?" in issues[2].message


def test_yml_files_are_loaded(specs):
    specs.indicator("tiny", rel="indicators/tiny.yml")
    assert "tiny" in specs.load().indicators


def test_yaml_outside_a_known_folder_is_reported(specs):
    specs.indicator("lost", rel="indicator/lost.yaml")
    specs.write("notes.yaml", "a: 1\n")
    issues = specs.issues()
    assert [(i.file, i.line) for i in issues] == [
        ("specs/indicator/lost.yaml", None),
        ("specs/notes.yaml", None),
    ]
    assert "'indicator' is not a spec folder; did you mean 'indicators'?" in issues[0].message
    assert "not in a spec folder" in issues[1].message


def test_column_values_are_those_of_the_data_quality_rules():
    """The checker reads the allowed values from the data model; the data-quality rules spell
    them too: both must agree (one source of truth until the rules read schemas.py)."""
    import re

    from phm.data.rules import RULES
    from phm.data.schemas import SOURCE_TABLES

    from_rules = {}
    for table, rules in RULES.items():
        for rule in rules:
            found = re.fullmatch(r"(\w+) must be one of (.+)", rule.description)
            if found:
                from_rules[(table, found[1])] = tuple(found[2].split(", "))
    from_rules[("population", "bim_basis")] = ("benefit", "income")
    from_schema = {
        (t.name, c.name): c.values for t in SOURCE_TABLES.values() for c in t.columns if c.values
    }
    assert from_schema == from_rules


def test_value_of_a_category_attribute_is_checked(specs):
    specs.indicator(
        "women",
        BODY,
        "population:\n  where:\n    - {feature: sex, equals: W}\n"
        "    - {feature: bim_basis, in: [benefit, incme]}\n",
    )
    issues = specs.issues()
    assert [(i.line, i.field) for i in issues] == [
        (19, "population.where[0].equals"),
        (20, "population.where[1].in"),
    ]
    assert issues[0].message == "population.sex has no value 'W' (values: M, F)"
    assert "did you mean 'income'?" in issues[1].message


# ------------------------------------------------------------------ no cascade of a broken spec


@pytest.mark.parametrize(
    "feature, old, new, users",
    [
        # a schema error: gp_contacts is read by two indicators (three references)
        (
            "gp_contacts",
            "aggregate: count",
            "aggregate: cont",
            "gp_contact_share, gp_contacts_per_patient",
        ),
        # a YAML syntax error: reimbursed_hc is summed by a feature and read by both scenarios
        (
            "reimbursed_hc",
            "aggregate: sum",
            "aggregate: [sum",
            "budget_guarantee_2017, capitation_pilots, reimbursed_total",
        ),
    ],
)
def test_a_broken_feature_is_one_error_not_a_cascade(
    tmp_path, monkeypatch, feature, old, new, users
):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO_SPECS, tmp_path / "specs")
    path = tmp_path / "specs" / "features" / f"{feature}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_catalogue(tmp_path / "specs")
    issues = info.value.issues
    errors = [i for i in issues if i.severity == "error"]
    notes = [i for i in issues if i.severity == "note"]
    assert [i.file for i in errors] == [f"specs/features/{feature}.yaml"]
    assert [str(i) for i in notes] == [
        f"specs/features/{feature}.yaml  [note] not loaded "
        f"because of the error(s) above; used by {users} "
        "(checked without it)"
    ]
    assert issues[-1] is notes[0]  # after the error it explains
    assert "did you mean" not in str(info.value).replace("did you mean 'count'?", "")
    assert str(info.value).startswith("1 problem in the specs:")


def test_a_reference_to_a_spec_that_does_not_exist_is_still_an_error(specs):
    """Only specs present on disk are spared: a typo keeps its did-you-mean."""
    specs.write("features/gp_contacts.yaml", "id: gp_contacts\nversion: one\n")
    specs.indicator("typo", BODY.replace("gp_contacts", "gp_contcts"))
    specs.indicator("fine", BODY)
    issues = specs.issues()
    notes = [i for i in issues if i.severity == "note"]
    assert [(i.file, i.message.split("used by ")[1]) for i in notes] == [
        ("specs/features/gp_contacts.yaml", "fine (checked without it)")
    ]
    typo = [i for i in issues if i.file.endswith("typo.yaml")]
    assert len(typo) == 1 and "unknown feature or attribute 'gp_contcts'" in typo[0].message
    assert not [i for i in issues if i.file.endswith("fine.yaml")]
