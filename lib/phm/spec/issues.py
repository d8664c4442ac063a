"""Problems found in specs, each pointing at a file, a line and a field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from phm.errors import PhmError

Loc = tuple[object, ...]
"""A location in a spec: keys and list indexes, as in pydantic's error ``loc``."""


@dataclass(frozen=True)
class SpecIssue:
    file: str
    line: int | None
    field: str
    message: str
    severity: str = "error"  # error | warning | note

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f"{self.field}: " if self.field else ""
        tag = "" if self.severity == "error" else f"[{self.severity}] "
        return f"{where}  {tag}{field}{self.message}"


class SpecError(PhmError):
    """One or more specs are invalid; ``issues`` holds every error found, not just the first,
    and notes (severity 'note': what the errors keep from being checked), each after the errors
    of its file."""

    def __init__(self, issues: Iterable[SpecIssue]):
        self.issues = sorted(
            issues, key=lambda i: (i.file, i.severity == "note", i.line or 0, i.field)
        )
        n = sum(i.severity != "note" for i in self.issues)
        head = f"{n} problem{'s' if n != 1 else ''} in the specs:"
        super().__init__("\n".join([head, *(f"  {i}" for i in self.issues)]))


def suggest(word: str, choices: Iterable[str]) -> str:
    """' did you mean ...?' for a likely typo, else ''."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def display_path(path: Path) -> str:
    """The path as the user knows it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def dotted(loc: Loc) -> str:
    """('numerator', 'where', 0, 'feature') -> 'numerator.where[0].feature'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
