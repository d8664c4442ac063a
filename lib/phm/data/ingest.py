"""Ingest delivered files (CSV or Parquet) into a source table, through :func:`load.load_table`.

``ingest(spark, warehouse, layout, paths, load_id)``:

1. Checks every file before Spark reads a row (nothing is written when one fails): a CSV file
   must decode in the layout's encoding (its first bytes are decoded in Python) and its header
   must hold every column the layout needs; a wrong delimiter shows as one single column and is
   named as such. A Parquet file's schema is checked the same way.
2. Reads each CSV file with its own header as all-string columns, ``PERMISSIVE``, with a
   ``_corrupt_record`` column: a line that does not split into the header's columns (a short or
   truncated last line, an extra field) is kept and quarantined as ``MALFORMED_LINE``, its raw
   text in the quarantine's ``row_json``; no line is dropped. A line holding bytes that are
   not valid in the encoding beyond the part checked in step 1 (Spark reads them as U+FFFD) is
   quarantined as ``UNDECODABLE_TEXT``, never loaded with altered text.
3. Renames the delivered columns to contract names, parses the date columns with the layout's
   ``date_format`` (explicitly, so ``2021`` is not read as 2021-01-01): a value that does not parse
   is quarantined as ``UNPARSABLE_<COLUMN>``, also for a nullable date such as ``death_date``;
   with a ``,`` decimal separator the amounts are rewritten with ``.``.
4. Loads with :func:`phm.data.load.load_table` under ``load_id``: the contract's rules run, the
   same ``load_id`` again replaces that load, ``accepted + quarantined == input`` (the data lines
   of the files; Spark skips blank lines).

Paths are local (or mounted) files or folders: the pre-checks read them in Python. A folder stands
for its ``*.csv`` files (CSV layouts) or is one Parquet dataset.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Sequence
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from phm.data import load, rules
from phm.data.layouts import DeliveryLayout
from phm.data.warehouse import Warehouse
from phm.errors import InputError

CORRUPT = "_corrupt_record"
_SAMPLE_BYTES = 1 << 20  # bytes decoded in Python to check the encoding (the header and a sample)
_DELIMITERS = (";", ",", "\t", "|")


def default_load_id(layout: DeliveryLayout, paths: Sequence[str | Path]) -> str:
    """A load id from the file names: ``<layout>.<stem>`` (several files: their stems, or a hash
    of them when too long), so delivering the same files again replaces that load."""
    stems = sorted(re.sub(r"[^A-Za-z0-9_.\-]", "_", Path(str(p)).name.split(".")[0]) for p in paths)
    load_id = f"{layout.id}.{'_'.join(stems)}"
    if len(load_id) > 100:
        digest = hashlib.sha256("\n".join(stems).encode()).hexdigest()[:12]
        load_id = f"{layout.id}.{stems[0][:40]}_{len(stems)}files_{digest}"
    return load_id


def _files(layout: DeliveryLayout, paths: Sequence[str | Path]) -> list[Path]:
    if not paths:
        raise InputError("no file to ingest: give at least one --from PATH")
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if p.is_dir() and layout.spec.format == "csv":
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".csv")
            if not found:
                raise InputError(f"{p}: the folder holds no .csv file")
            out += found
        else:
            out.append(p)
    return out


def _decoded_head(path: Path, encoding: str) -> str:
    """The first bytes of ``path`` decoded (BOM dropped); InputError when they are not text in
    ``encoding``."""
    with path.open("rb") as fh:
        raw = fh.read(_SAMPLE_BYTES)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(raw, final=len(raw) < _SAMPLE_BYTES)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: not valid {encoding} text: byte {exc.start} (0x{raw[exc.start]:02x}) on "
            f"line {line} cannot be decoded; save the file as {encoding} or declare its encoding "
            "in the layout (csv.encoding)"
        ) from None
    return text.removeprefix("\ufeff")


def _csv_header(path: Path, layout: DeliveryLayout) -> list[str]:
    options = layout.spec.csv
    text = _decoded_head(path, options.encoding)
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise InputError(f"{path}: the file is empty or its first line is blank (no header)")
    header = next(csv.reader([first], delimiter=options.delimiter))
    _check_header(path, layout, [h.strip() for h in header], first)
    return [h.strip() for h in header]


def _check_header(path: Path, layout: DeliveryLayout, header: list[str], line: str = "") -> None:
    expected = layout.required_sources
    missing = [c for c in expected if c not in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise InputError(f"{path}: the header names {duplicated} more than once")
    if not missing:
        return
    where = f"layout {layout.id!r} ({layout.source})"
    message = (
        f"{path}: the header lacks {missing} required by {where}; "
        f"expected columns {expected}, found {header}"
    )
    if layout.spec.format == "csv":
        delimiter = layout.spec.csv.delimiter
        message += f" (delimiter {delimiter!r})"
        others = [d for d in _DELIMITERS if d != delimiter and d in line]
        if len(header) == 1 and others:
            message += (
                f"; a single column: the file looks delimited by {others[0]!r}, not "
                f"{delimiter!r} (csv.delimiter in the layout)"
            )
    raise InputError(message)


def _read_csv(spark: SparkSession, path: Path, layout: DeliveryLayout) -> DataFrame:
    header = _csv_header(path, layout)
    schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in header]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    options = layout.spec.csv
    return (
        spark.read.schema(schema)
        .option("header", True)
        .option("enforceSchema", True)  # positional: the schema *is* this file's header
        .option("sep", options.delimiter)
        .option("encoding", codecs.lookup(options.encoding).name)  # Java knows these names
        .option("quote", '"')
        .option("escape", '"')  # RFC 4180: "" inside a quoted field
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .csv(str(path))
    )


def _read_parquet(spark: SparkSession, path: Path, layout: DeliveryLayout) -> DataFrame:
    df = spark.read.parquet(str(path))
    _check_header(path, layout, df.columns)
    return df


def _to_contract(df: DataFrame, layout: DeliveryLayout, path: Path) -> DataFrame:
    """Delivered columns renamed to contract names, dates and decimals normalised, and the
    reasons found while reading in ``rules.INGEST_ERRORS``."""
    renames = layout.renames
    clash = [c for c in df.columns if c not in renames and c in renames.values()]
    if clash:
        raise InputError(
            f"{path}: the columns {clash} are contract columns that layout {layout.id!r} "
            "expects under another name; drop or rename them"
        )
    df = df.select(*[F.col(f"`{c}`").alias(renames.get(c, c)) for c in df.columns])
    # one select: every reason is computed from the values as delivered
    errors: list[Column] = []
    strings = {f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)}
    if CORRUPT in df.columns:
        errors.append(F.when(F.col(CORRUPT).isNotNull(), F.lit(rules.MALFORMED_LINE)))
        # Spark decodes bytes invalid in the encoding as U+FFFD: past the sample checked in
        # Python, such a line is quarantined rather than loaded with altered text
        garbled = [
            F.coalesce(F.col(f"`{n}`").contains("\ufffd"), F.lit(False))
            for n in df.columns
            if n in strings
        ]
        if garbled:
            errors.append(
                F.when(reduce(lambda a, b: a | b, garbled), F.lit(rules.UNDECODABLE_TEXT))
            )
    fmt, comma = layout.spec.csv.date_format, layout.spec.csv.decimal_separator == ","
    out: list[Column] = []
    for name in df.columns:
        raw = F.col(f"`{name}`")
        if name in layout.date_columns and name in strings:
            parsed = F.try_to_date(raw, fmt)
            errors.append(
                F.when(raw.isNotNull() & parsed.isNull(), F.lit(f"UNPARSABLE_{name.upper()}"))
            )
            # ISO text the contract's cast reads; an unparsable value stays as delivered
            raw = F.when(parsed.isNotNull(), F.date_format(parsed, "yyyy-MM-dd")).otherwise(raw)
        elif comma and name in layout.decimal_columns and name in strings:
            raw = F.regexp_replace(raw, ",", ".")
        out.append(raw.alias(name))
    if errors:
        reasons = F.filter(F.array(*errors), lambda x: x.isNotNull())
    else:
        reasons = F.array().cast("array<string>")
    return df.select(*out, reasons.alias(rules.INGEST_ERRORS))


def check_delivery(layout: DeliveryLayout, paths: Sequence[str | Path]) -> list[Path]:
    """The files to read, each CSV one checked (encoding, header) without Spark: the CLI calls
    this before it takes the warehouse's lease or starts Spark. Parquet schemas are checked
    when Spark opens the files (:func:`read_delivery`)."""
    files = _files(layout, paths)
    if layout.spec.format == "csv":
        for path in files:
            _csv_header(path, layout)
    return files


def read_delivery(
    spark: SparkSession, layout: DeliveryLayout, paths: Sequence[str | Path]
) -> DataFrame:
    """The delivered rows with contract column names (all files checked before any is read)."""
    files = _files(layout, paths)
    reader = _read_csv if layout.spec.format == "csv" else _read_parquet
    frames = [(path, reader(spark, path, layout)) for path in files]  # every check first
    out: DataFrame | None = None
    for path, df in frames:
        part = _to_contract(df, layout, path)
        out = part if out is None else out.unionByName(part, allowMissingColumns=True)
    assert out is not None  # _files returns at least one file
    return out


def ingest(
    spark: SparkSession,
    warehouse: Warehouse,
    layout: DeliveryLayout,
    paths: Sequence[str | Path],
    load_id: str,
) -> load.LoadResult:
    """Load delivered files into the layout's source table as load ``load_id``.

    Raises:
        InputError: a file is missing, not in the declared encoding, or its header lacks a
            column the layout needs (nothing is written then); a bad ``load_id``.
    """
    load._checked_table(layout.table.name, load_id, "append")  # a bad id fails before reading
    df = read_delivery(spark, layout, paths)
    return load.load_table(spark, warehouse, layout.table.name, df, load_id)


def write_delivery(df: DataFrame, layout: DeliveryLayout, folder: str | Path) -> None:
    """Write contract rows as one delivery file in ``layout`` (``phm generate --to-files``),
    the inverse of :func:`read_delivery`: delivered column names, dates in the layout's format,
    its decimal separator, and for CSV its delimiter and encoding with one header line. Nulls
    are empty fields, empty strings quoted (``""``), as the reader expects."""
    options = layout.spec.csv
    comma = options.decimal_separator == ","
    columns = []
    for delivered, contract in layout.renames.items():
        value = F.col(contract)
        if contract in layout.date_columns:
            value = F.date_format(value, options.date_format)
        elif comma and contract in layout.decimal_columns:
            value = F.regexp_replace(value.cast("string"), r"\.", ",")
        else:
            value = value.cast("string")
        columns.append(value.alias(delivered))
    out = df.select(*columns).coalesce(1)  # one file, as a fund delivers it
    if layout.spec.format == "parquet":
        out.write.mode("overwrite").parquet(str(folder))
        return
    (
        out.write.mode("overwrite")
        .option("header", True)
        .option("sep", options.delimiter)
        .option("encoding", codecs.lookup(options.encoding).name)
        .option("quote", '"')
        .option("escape", '"')
        .csv(str(folder))
    )
