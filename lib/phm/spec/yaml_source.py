"""Read a YAML spec keeping the line of every key, and refuse duplicate keys.

PyYAML silently keeps the last of two equal keys; in a spec that hides a mistake (two
``numerator:`` blocks), so the node tree is walked by hand. ``lines`` maps a location path such
as ``("numerator", "where", 0, "feature")`` to its 1-based line, which is how validation errors
from pydantic are turned into ``file:line`` messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from phm.spec.issues import SpecError, SpecIssue, display_path


@dataclass
class YamlSource:
    path: Path
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def line_of(self, loc: tuple) -> int | None:
        """Line of the deepest known prefix of ``loc`` (pydantic locs may go below the YAML)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def read_yaml(path: Path) -> YamlSource:
    text = path.read_text(encoding="utf-8")
    loader = yaml.SafeLoader(text)
    name = display_path(path)
    try:
        node = loader.get_single_node()
        source = YamlSource(path, None, {(): 1})
        if node is not None:
            source.data = _walk(loader, node, (), source, name)
        return source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError([SpecIssue(name, line, "", f"YAML syntax error: {exc.problem or exc}")]) from None
    finally:
        loader.dispose()


def _walk(loader: yaml.SafeLoader, node: yaml.Node, loc: tuple, source: YamlSource, name: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise SpecError([SpecIssue(name, line, ".".join(map(str, loc + (key,))),
                                           f"duplicate key {key!r} (first given on line {first_line[key]})")])
            first_line[key] = line
            source.lines[loc + (key,)] = line
            out[key] = _walk(loader, value_node, loc + (key,), source, name)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            source.lines[loc + (i,)] = item.start_mark.line + 1
            items.append(_walk(loader, item, loc + (i,), source, name))
        return items
    return loader.construct_object(node, deep=True)
