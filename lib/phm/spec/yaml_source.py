"""Read a YAML spec keeping the line of every key, and refuse duplicate keys.

PyYAML silently keeps the last of two equal keys; in a spec that hides a mistake (two
``numerator:`` blocks), so the node tree is walked by hand. ``lines`` maps a location path such
as ``("numerator", "where", 0, "feature")`` to its 1-based line, which is how validation errors
from pydantic are turned into ``file:line`` messages.

Whatever the file holds, reading it ends in a :class:`SpecError` naming the file and the line, never
in another exception: bytes that are not UTF-8, characters YAML forbids, values YAML cannot build
(``2019-13-45``), keys that are lists, nesting deeper than a spec needs, and aliases (``*name``),
refused while composing so that a "billion laughs" file fails at once instead of eating memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from phm.spec.issues import Loc, SpecError, SpecIssue, display_path, dotted


@dataclass
class YamlSource:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return display_path(self.path)

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest known prefix of ``loc`` (pydantic locs may go below the YAML)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def read_yaml(path: Path) -> YamlSource:
    """Read one spec file; every problem (not UTF-8, syntax, aliases, duplicate keys, values
    YAML cannot build) is a :class:`SpecError` naming the file and the line."""
    name = display_path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line: int | None = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            [
                SpecIssue(
                    name,
                    line,
                    "",
                    f"the file is not UTF-8 text: byte "
                    f"{exc.start} (0x{raw[exc.start]:02x}) cannot be read; "
                    "save the file as UTF-8",
                )
            ]
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        loader = _Loader(text, name)
        try:
            node = loader.get_single_node()
            source = YamlSource(path, None, {(): 1})
            if node is not None:
                source.data = _walk(loader, node, (), source, name)
            return source
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(
            [
                SpecIssue(
                    name,
                    line,
                    "",
                    f"YAML syntax error: {_plain(exc.problem or exc.context or 'unreadable')}",
                )
            ]
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        raise SpecError(
            [
                SpecIssue(
                    name,
                    line,
                    "",
                    f"character {char!r} (code {code}) at "
                    f"position {exc.position} is not allowed in YAML",
                )
            ]
        ) from None
    except RecursionError:
        raise SpecError(
            [SpecIssue(name, None, "", "the file is nested too deeply to be a spec")]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError([SpecIssue(name, None, "", f"YAML error: {_plain(str(exc))}")]) from None


MAX_NESTING = 50


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # yaml is untyped here (no types-PyYAML)
    """SafeLoader that refuses aliases and deep nesting while composing (one pass): a spec says
    everything where it is read, and nested aliases ("billion laughs") can expand into billions
    of nodes."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.spec_name = name
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise SpecError(
                [
                    SpecIssue(
                        self.spec_name,
                        event.start_mark.line + 1,
                        "",
                        f"alias *{event.anchor} is not supported: write the value "
                        "out (anchors and aliases are refused in specs)",
                    )
                ]
            )
        self.depth += 1
        if self.depth > MAX_NESTING:
            event = self.peek_event()
            raise SpecError(
                [
                    SpecIssue(
                        self.spec_name,
                        event.start_mark.line + 1,
                        "",
                        f"nested more than {MAX_NESTING} levels deep: not a spec",
                    )
                ]
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _plain(message: str) -> str:
    return str(message).replace("NoneType", "nothing")


def _construct(loader: _Loader, node: yaml.Node, name: str) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # e.g. a date that does not exist (2019-13-45)
        raise SpecError(
            [
                SpecIssue(
                    name,
                    node.start_mark.line + 1,
                    "",
                    f"cannot read the value {_snippet(node)!r}: {_plain(str(exc))}",
                )
            ]
        ) from None


def _snippet(node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else "..."
    return value if len(value) <= 40 else value[:37] + "..."


def _walk(loader: _Loader, node: yaml.Node, loc: Loc, source: YamlSource, name: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(
                    [
                        SpecIssue(
                            name,
                            line,
                            dotted(loc),
                            "a key must be a plain name, not a list or a mapping",
                        )
                    ]
                )
            key = _construct(loader, key_node, name)
            if key in first_line:
                raise SpecError(
                    [
                        SpecIssue(
                            name,
                            line,
                            ".".join(map(str, loc + (key,))),
                            f"duplicate key {key!r} (first given on line {first_line[key]})",
                        )
                    ]
                )
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
    return _construct(loader, node, name)
