"""The repository stands alone: product files cite public sources, never private notes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The private notes file and the folder beside the repository that holds it. Written in two
# pieces so that a grep for them over the repository finds only real citations.
PRIVATE = (b"domain" + b".md", b"../" + b"shared")


def _repository_files() -> list[str]:
    """Tracked files, plus new files not yet added that .gitignore does not exclude."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    return sorted({p for p in out.decode().split("\0") if p})


def test_no_file_outside_tests_cites_private_notes():
    offending = []
    for rel in _repository_files():
        path = ROOT / rel
        if rel.startswith("tests/") or not path.is_file():
            continue
        data = path.read_bytes()
        offending += [f"{rel}: {p.decode()}" for p in PRIVATE if p in data]
    assert not offending, (
        "cite the public source itself (publisher + URL), not the private notes: "
        + ", ".join(offending)
    )
