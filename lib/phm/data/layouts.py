"""Delivery layouts: how a delivered file maps onto a source table of the contract.

A layout is one YAML file, ``indicator_specs/layouts/<id>.yaml``::

    table: population          # the source table the file feeds
    format: csv                # csv or parquet
    csv:                       # CSV only (defaults shown)
      delimiter: ";"
      encoding: utf-8
      date_format: yyyy-MM-dd  # Spark datetime pattern of every date column
      decimal_separator: "."
    columns:                   # delivered column -> contract column
      PP0010: person_id

Contract columns that are not mapped are expected under their own name. Every mapped source
column must be in the file's header, and so must every required contract column (nullable ones
may be absent: they load as null). The catalogue (:mod:`phm.spec.catalogue`) does not read the
``layouts/`` folder; :func:`load_layout` does, with the same ``file:line`` errors.

Pure: no pyspark here (:mod:`phm.data.ingest` reads the files).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from phm.data.schemas import SOURCE_TABLES, Table
from phm.errors import InputError
from phm.spec.issues import SpecError, SpecIssue, suggest
from phm.spec.models import Model
from phm.spec.yaml_source import YamlSource, read_yaml

LAYOUTS_FOLDER = "layouts"
_SUFFIXES = (".yaml", ".yml")


class CsvOptions(Model):
    """How a CSV delivery is written. The first line is always the header."""

    delimiter: str = Field(",", min_length=1, max_length=1, description="One character.")
    header: Literal[True] = Field(True, description="The first line names the columns (required).")
    encoding: str = Field("utf-8", description="Text encoding, e.g. utf-8, latin-1, cp1252.")
    date_format: str = Field(
        "yyyy-MM-dd", min_length=1, description="Spark datetime pattern of the date columns."
    )
    decimal_separator: Literal[".", ","] = "."

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value


class Layout(Model):
    """One delivery layout (file ``layouts/<id>.yaml``)."""

    description: str | None = None
    table: str = Field(description="The source table the delivery feeds.")
    format: Literal["csv", "parquet"] = "csv"
    csv: CsvOptions = CsvOptions()
    columns: dict[str, str] = Field(
        default_factory=dict, description="Delivered column name -> contract column name."
    )


@dataclass(frozen=True)
class DeliveryLayout:
    """A checked layout: ``id`` is the file's stem, ``source`` its path."""

    id: str
    source: str
    spec: Layout

    @property
    def table(self) -> Table:
        return SOURCE_TABLES[self.spec.table]

    @property
    def renames(self) -> dict[str, str]:
        """Delivered name -> contract name, for every contract column (except ``load_id``)."""
        mapped = {target: src for src, target in self.spec.columns.items()}
        return {
            mapped.get(c.name, c.name): c.name for c in self.table.columns if c.name != "load_id"
        }

    @property
    def required_sources(self) -> list[str]:
        """Delivered names the header must hold: mapped columns and required contract ones."""
        nullable = {c.name for c in self.table.columns if c.nullable}
        return [
            src
            for src, target in self.renames.items()
            if src in self.spec.columns or target not in nullable
        ]

    @property
    def date_columns(self) -> list[str]:
        """Contract names of the date columns (parsed with ``csv.date_format``)."""
        return [c.name for c in self.table.columns if c.dtype.name == "date"]

    @property
    def decimal_columns(self) -> list[str]:
        """Contract names of the numeric non-integer columns (decimal separator applies)."""
        return [c.name for c in self.table.columns if c.dtype.name in ("decimal", "double")]


def _check(source: YamlSource, layout: Layout) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    if layout.table not in SOURCE_TABLES:
        issues.append(
            SpecIssue(
                source.name,
                source.line_of(("table",)),
                "table",
                f"unknown source table {layout.table!r}{suggest(layout.table, SOURCE_TABLES)} "
                f"(source tables: {', '.join(SOURCE_TABLES)})",
            )
        )
        return issues
    table = SOURCE_TABLES[layout.table]
    names = [c.name for c in table.columns if c.name != "load_id"]
    seen: dict[str, str] = {}
    for src, target in layout.columns.items():
        loc = ("columns", src)
        if target not in names:
            issues.append(
                SpecIssue(
                    source.name,
                    source.line_of(loc),
                    f"columns.{src}",
                    f"{target!r} is not a column of {table.name}{suggest(target, names)} "
                    f"(columns: {', '.join(names)})",
                )
            )
        elif target in seen:
            issues.append(
                SpecIssue(
                    source.name,
                    source.line_of(loc),
                    f"columns.{src}",
                    f"{target!r} is already delivered as {seen[target]!r}",
                )
            )
        else:
            seen[target] = src
        if src != target and src in names and src not in layout.columns.values():
            issues.append(
                SpecIssue(
                    source.name,
                    source.line_of(loc),
                    f"columns.{src}",
                    f"{src!r} is itself a contract column of {table.name}: map it to "
                    f"{src!r} or map another delivered column onto {src!r}",
                )
            )
    return issues


def read_layout(path: Path | str) -> DeliveryLayout:
    """Read and check one layout file.

    Raises:
        SpecError: the YAML, a field or a column mapping is wrong (``file:line`` issues).
    """
    from phm.spec.catalogue import _validate  # the catalogue's pydantic -> file:line issues

    path = Path(path)
    source = read_yaml(path)
    issues: list[SpecIssue] = []
    layout = _validate(source, Layout, issues)
    if layout is not None:
        issues += _check(source, layout)
    if issues:
        raise SpecError(issues)
    return DeliveryLayout(path.stem, source.name, layout)


def layout_ids(specs_dir: Path | str) -> list[str]:
    folder = Path(specs_dir) / LAYOUTS_FOLDER
    return sorted(p.stem for p in folder.glob("*") if p.suffix in _SUFFIXES and p.is_file())


def load_layout(layout_id: str, specs_dir: Path | str = "indicator_specs") -> DeliveryLayout:
    """The layout ``<specs_dir>/layouts/<layout_id>.yaml``, read and checked.

    Raises:
        InputError: no such layout (the message lists the known ones).
        SpecError: the layout is invalid.
    """
    folder = Path(specs_dir) / LAYOUTS_FOLDER
    for suffix in _SUFFIXES:
        path = folder / f"{layout_id}{suffix}"
        if path.is_file():
            return read_layout(path)
    known = layout_ids(specs_dir)
    raise InputError(
        f"no layout {layout_id!r} in {folder}{suggest(layout_id, known)} "
        f"(layouts: {', '.join(known) or 'none'})"
    )
