"""yaml_source: the line of every key and list item; duplicate keys and syntax errors."""

from __future__ import annotations

import pytest

from phm.spec.issues import SpecError
from phm.spec.yaml_source import read_yaml

NESTED = """\
# a comment line
id: demo
numerator:
  where:
    - {feature: gp_contacts, at_least: 1}
    - feature: bim
      equals: true
breakdowns:
  by:
    - sex
    - [sex, "age:atlas"]
measure:

  kind: rate
"""


@pytest.fixture
def write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def _write(text: str, name: str = "spec.yaml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def test_lines_of_nested_keys_and_list_items(write):
    source = read_yaml(write(NESTED))
    assert source.data["numerator"]["where"][1] == {"feature": "bim", "equals": True}
    assert source.lines[()] == 1
    assert source.lines[("id",)] == 2
    assert source.lines[("numerator",)] == 3
    assert source.lines[("numerator", "where")] == 4
    assert source.lines[("numerator", "where", 0)] == 5
    assert source.lines[("numerator", "where", 0, "feature")] == 5  # flow mapping: same line
    assert source.lines[("numerator", "where", 0, "at_least")] == 5
    assert source.lines[("numerator", "where", 1)] == 6
    assert source.lines[("numerator", "where", 1, "feature")] == 6
    assert source.lines[("numerator", "where", 1, "equals")] == 7
    assert source.lines[("breakdowns", "by", 0)] == 10
    assert source.lines[("breakdowns", "by", 1)] == 11
    assert source.lines[("breakdowns", "by", 1, 1)] == 11
    assert source.lines[("measure", "kind")] == 14  # blank line counted


def test_line_of_falls_back_to_the_deepest_known_prefix(write):
    source = read_yaml(write(NESTED))
    # pydantic locations may go below the YAML (union tags, model fields not written)
    assert source.line_of(("numerator", "where", 1, "equals", "bool")) == 7
    assert source.line_of(("numerator", "where", 1, "in")) == 6
    assert source.line_of(("population", "age")) == 1
    assert source.line_of(()) == 1


def test_name_is_relative_to_the_working_directory(write):
    assert read_yaml(write(NESTED, "x.yaml")).name == "x.yaml"


def test_duplicate_top_level_key_names_both_lines(write):
    path = write("id: demo\nnumerator:\n  sum: a\nmeasure: {kind: rate}\nnumerator:\n  sum: b\n")
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    [issue] = info.value.issues
    assert (issue.file, issue.line, issue.field) == ("spec.yaml", 5, "numerator")
    assert issue.message == "duplicate key 'numerator' (first given on line 2)"
    assert "spec.yaml:5  numerator: duplicate key 'numerator' (first given on line 2)" in str(
        info.value
    )


def test_duplicate_nested_key_names_its_path(write):
    path = write("id: demo\nmeasure:\n  kind: rate\n  unit: x\n  kind: mean\n")
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    [issue] = info.value.issues
    assert (issue.line, issue.field) == (5, "measure.kind")
    assert issue.message == "duplicate key 'kind' (first given on line 3)"


def test_duplicate_key_inside_a_list_item(write):
    path = write("where:\n  - feature: a\n    equals: true\n    feature: b\n")
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    [issue] = info.value.issues
    assert (issue.line, issue.field) == (4, "where.0.feature")
    assert "first given on line 2" in issue.message


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("id: x\nlabel:\n  nl: a\n fr: b\n", 4, "expected <block end>"),
        ("id: x\nversion: 1\nlabel: a: b\n", 3, "mapping values are not allowed here"),
        ("id: x\nversion: 1\nlabel:\n\tnl: a\n", 4, "cannot start any token"),
        ("id: x\n---\nid: y\n", 2, "another document"),
    ],
)
def test_syntax_error_gives_the_line(write, text, line, problem):
    with pytest.raises(SpecError) as info:
        read_yaml(write(text))
    [issue] = info.value.issues
    assert (issue.file, issue.line, issue.field) == ("spec.yaml", line, "")
    assert issue.message.startswith("YAML syntax error: ")
    assert problem in issue.message
    assert f"spec.yaml:{line}  YAML syntax error" in str(info.value)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_has_no_data(write, text):
    source = read_yaml(write(text))
    assert source.data is None
    assert source.lines == {(): 1}


def test_scalars_keep_their_yaml_types(write):
    source = read_yaml(write('code: "0101"\nflag: yes\nday: 2026-01-02\n'))
    assert source.data["code"] == "0101"
    assert source.data["flag"] is True  # YAML 1.1, as PyYAML reads it
    assert str(source.data["day"]) == "2026-01-02"


# -- a reader that never crashes (issue 10 §3) ------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n"
    for i in range(9)
)


def test_yaml_bomb_is_refused_quickly(write):
    import time

    path = write(BOMB)
    start = time.perf_counter()
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    assert time.perf_counter() - start < 1
    issue = info.value.issues[0]
    assert (issue.file, issue.line) == ("spec.yaml", 2)
    assert "alias" in issue.message


def test_file_that_is_not_utf8_names_the_byte(write, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    issue = info.value.issues[0]
    assert (issue.file, issue.line) == ("latin1.yaml", 1)
    assert "not UTF-8" in issue.message and "byte 7" in issue.message


@pytest.mark.parametrize(
    "text, line",
    [
        ("id: x\nwhen: 2019-13-45\n", 2),  # a date that does not exist
        ("? [a, b]\n: 1\n", 1),  # a list as a key
        ("id: x\nbad: \x07\n", 2),  # a control character
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", 1),  # nested too deeply
        ("a: !!python/object:os.system x\n", 1),  # a Python tag
    ],
)
def test_bad_content_is_a_spec_error(write, text, line):
    path = write(text)
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    issue = info.value.issues[0]
    assert issue.file == "spec.yaml" and issue.line == line
    for jargon in ("NoneType", "instance of", "Error", "Traceback"):
        assert jargon not in issue.message
