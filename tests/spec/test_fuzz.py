"""Fuzzing the checker: seeded mutations of the shipped specs never crash ``load_catalogue``.

Each case copies nothing: the shipped specs are copied once, one file is mutated (a line deleted
or duplicated, two values swapped, a value of another type, random bytes, truncation, a broken
indentation), the catalogue is loaded, and the file is restored. Whatever the mutation, the
loader either accepts the specs or raises :class:`SpecError`, never another exception, and every
issue names a file of the folder and a line in it. Only whole-file problems (a file outside the
spec folders) have no line.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from phm.spec import SpecError, catalogue, load_catalogue
from phm.spec.yaml_source import YamlSource, read_yaml

REPO_SPECS = Path(__file__).resolve().parents[2] / "indicator_specs"
N_CASES = 300
JARGON = ("NoneType", "instance of", "Traceback", "pattern '", "^[", "Error:", "<class")
# issues about a whole file rather than a place in it: the only ones without a line (a file
# outside the spec folders; YAML problems PyYAML gives without a position)
WHOLE_FILE = ("not a spec folder", "not in a spec folder", "nested too deeply", "YAML error:")
VALUES = [
    "[]",
    "{}",
    "null",
    "~",
    "42",
    "-1",
    "0",
    "true",
    "'text'",
    "1e400",
    "2019-13-45",
    "[1, [2, {a: b}]]",
    "{in: 3}",
    '""',
    "&anchor x",
    "*alias",
    "!!binary aGk=",
    "!!python/name:os.system",
    "'{{x}}'",
    '"\\u00e9"',
    "- a",
    "a: b: c",
    "|\n  text",
]

_PARSED: dict[bytes, tuple] = {}


def _read_yaml_once(path: Path) -> YamlSource:
    """read_yaml, parsing each distinct content once (the unmutated files are the same in every
    case; the loader does not change what it reads, so it is not copied); files that fail are
    read every time."""
    raw = path.read_bytes()
    if raw not in _PARSED:
        source = read_yaml(path)
        _PARSED[raw] = (source.data, source.lines)
    data, lines = _PARSED[raw]
    return YamlSource(path, data, lines)


def mutate(text: bytes, rng: random.Random) -> tuple[str, bytes]:
    lines = text.split(b"\n")
    i = rng.randrange(len(lines))
    kind = rng.choice(
        ["delete", "duplicate", "swap", "value", "bytes", "truncate", "indent", "key"]
    )
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "swap":
        j = rng.randrange(len(lines))
        a, b = lines[i].partition(b":"), lines[j].partition(b":")
        if a[1] and b[1]:
            lines[i], lines[j] = a[0] + a[1] + b[2], b[0] + b[1] + a[2]
        else:
            lines[i], lines[j] = lines[j], lines[i]
    elif kind == "value":
        head, colon, _ = lines[i].partition(b":")
        value = rng.choice(VALUES).encode()
        lines[i] = head + b": " + value if colon else value
    elif kind == "bytes":
        at = rng.randrange(len(text) + 1)
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        return kind, text[:at] + junk + text[at:]
    elif kind == "truncate":
        return kind, text[: rng.randrange(len(text) + 1)]
    elif kind == "indent":
        lines[i] = (
            b" " * rng.choice([1, 2, 3, 5]) + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
        )
    else:  # rename a key
        head, colon, rest = lines[i].partition(b":")
        if colon:
            lines[i] = head + rng.choice([b"x", b"_", b"1", b"id", b"in", b"where"]) + colon + rest
    return kind, b"\n".join(lines)


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "specs"
    shutil.copytree(REPO_SPECS, root, ignore=shutil.ignore_patterns("schema"))
    return root


def test_mutated_specs_give_spec_errors_only(specs, monkeypatch):
    monkeypatch.chdir(specs.parent)
    monkeypatch.setattr(catalogue, "read_yaml", _read_yaml_once)
    files = sorted(p for p in specs.rglob("*.yaml"))
    rng = random.Random(20261129)
    outcomes = {"loaded": 0, "errors": 0}
    for case in range(N_CASES):
        path = rng.choice(files)
        original = path.read_bytes()
        kind, text = mutate(original, rng)
        path.write_bytes(text)
        where = f"case {case}: {kind} in {path.relative_to(specs)}"
        try:
            load_catalogue(specs)
            outcomes["loaded"] += 1
        except SpecError as exc:
            outcomes["errors"] += 1
            assert exc.issues, where
            for issue in exc.issues:
                _check_issue(issue, specs, where)
            errors_in = {i.file for i in exc.issues if i.severity == "error"}
            for note in (i for i in exc.issues if i.severity == "note"):
                # a note says which specs use a file that did not load, after its errors
                assert note.file in errors_in and "not loaded" in note.message, (where, note)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(
                f"{where}: {type(exc).__name__}: {exc}\n--- file:\n"
                f"{text.decode('utf-8', 'replace')}"
            )
        finally:
            path.write_bytes(original)
    assert outcomes["errors"] > N_CASES / 3, outcomes  # the mutations do break specs


def _check_issue(issue, specs: Path, where: str) -> None:
    assert issue.file and (specs.parent / issue.file).is_file(), (where, str(issue))
    assert issue.severity in ("error", "note"), (where, str(issue))
    if issue.severity == "note":
        return
    for word in JARGON:
        assert word not in issue.message, (where, str(issue))
    if issue.line is None:
        assert any(w in issue.message for w in WHOLE_FILE), (where, str(issue))
    else:
        n_lines = (specs.parent / issue.file).read_bytes().count(b"\n") + 1
        assert 1 <= issue.line <= n_lines, (where, str(issue))


@pytest.mark.parametrize("rel", ["indicator/x.yaml", "x.yml", "features/sub/.hidden/x.yaml"])
def test_stray_files_are_reported_or_skipped(specs, monkeypatch, rel):
    """Hidden folders (editor backups, .git) are skipped; other stray files are reported."""
    monkeypatch.chdir(specs.parent)
    path = specs / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("id: x\n", encoding="utf-8")
    try:
        if ".hidden" in rel:
            load_catalogue(specs)
        else:
            with pytest.raises(SpecError) as info:
                load_catalogue(specs)
            assert [(i.file, i.line) for i in info.value.issues] == [(f"specs/{rel}", None)]
    finally:
        path.unlink()
