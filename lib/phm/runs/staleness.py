"""Incremental recomputation: which (indicator, period) pairs a run must compute.

A published (indicator, period) is *fresh* while nothing it was computed from has changed. What
it was computed from is summed up in one fingerprint (SHA-256) of:

- its spec hash (the spec and everything it uses: features, code lists, events, age schemes,
  areas), phm's version, the disclosure settings (the perturbation table, and a keyed hash of
  the cell-key secret, never the secret);
- for an indicator with an event or a seasonal feature, the last day of data of the tables
  whose data end can change its figures (:func:`phm.compile.requirements.data_end_tables`):
  a new accounting month moves it, and with it which index stays have a whole window;
- for every source table it reads (:func:`phm.compile.requirements.indicator_tables`) and every
  year partition in its input range (:func:`phm.compile.requirements.input_years`: pooled
  years, look-backs, the previous period of a change, the year after for follow-ups and
  seasons), the names of the Delta data files of that partition. Delta never rewrites a data
  file, so the names change exactly when rows of the partition were added, replaced or removed
  (late claims of 2023 delivered in 2025 land in partition 2023 and make 2023 stale). A
  compaction (``OPTIMIZE``) also renames files: a needless recompute, never a missed one;
- the data files of the reference tables (geography, nomenclature, products), which every
  period reads.

File names come from the Delta log (``DataFrame.inputFiles``: no data file is opened), grouped
by the ``year=`` directory of partitioned tables; a table whose file paths do not show the
partition (another writer's layout) counts as changed in every year when any file changed.

The ``computation_log`` table keeps the fingerprint of each (indicator, period) as last
published; it is written after the results, so a run killed in between leaves an older
fingerprint and the next run recomputes those periods again: it converges.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping

import datetime as dt

from pyspark.sql import SparkSession

import phm
from phm.compile.plan import Plan
from phm.compile.requirements import data_end_tables, indicator_tables, input_years
from phm.data.schemas import REFERENCE_TABLES
from phm.data.warehouse import Warehouse
from phm.disclosure import Protection
from phm.publish.tables import COMPUTATIONS
from phm.publish.write import replace_where, slices_predicate

_YEAR_DIR = re.compile(r"/year=(-?\d+)/")
_ALL_YEARS = -(10**9)  # the key of a table's digest when its paths do not show the partition


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def partition_digests(spark: SparkSession, warehouse: Warehouse, table: str) -> dict[int, str]:
    """Year -> digest of the names of its data files (a year without files has no entry); a
    table with a file outside any ``year=`` directory gets one digest for all years
    (key ``_ALL_YEARS``). A missing table has no entry at all."""
    if not warehouse.exists(spark, table):
        return {}
    files = warehouse.read(spark, table).inputFiles()
    by_year: dict[int, list[str]] = {}
    for path in files:
        found = _YEAR_DIR.search(path)
        if found is None:
            return {_ALL_YEARS: _digest(sorted(p.rsplit("/", 1)[-1] for p in files))}
        by_year.setdefault(int(found.group(1)), []).append(path.rsplit("/", 1)[-1])
    return {year: _digest(sorted(names)) for year, names in by_year.items()}


def settings_digest(protection: Protection) -> str:
    """What every period depends on besides its spec and data: phm's version and the
    disclosure settings (a keyed hash stands for the secret)."""
    secret = hmac.new(protection.secret.encode(), b"phm-fingerprint", "sha256").hexdigest()
    return _digest([phm.__version__, protection.describe(), secret])


def fingerprints(
    spark: SparkSession,
    warehouse: Warehouse,
    plan: Plan,
    computed: dict[str, list[int]],
    settings: str,
    data_ends: Mapping[str, dt.date],
) -> dict[tuple[str, int], str]:
    """The fingerprint of every (indicator, period) in ``computed`` as the warehouse is now;
    ``data_ends`` holds the last day of data of (at least) every table of
    :func:`~phm.compile.requirements.data_end_tables` of the indicators."""
    indicators = {i.id: i for i in plan.indicators}
    tables = sorted({t for i in indicators.values() for t in indicator_tables(plan, i)})
    digests = {t: partition_digests(spark, warehouse, t) for t in tables}
    reference = _digest(
        f"{t}:{y}:{d}"
        for t in sorted(REFERENCE_TABLES)
        for y, d in sorted(partition_digests(spark, warehouse, t).items())
    )
    out = {}
    for ind_id, periods in computed.items():
        ind = indicators[ind_id]
        for period in periods:
            first, last = input_years(plan, ind, period)
            parts = [plan.hashes[ind_id], settings, reference]
            parts += [f"end:{t}:{data_ends[t]}" for t in data_end_tables(plan, ind)]
            for table in indicator_tables(plan, ind):
                parts += [
                    f"{table}:{year}:{digest}"
                    for year, digest in sorted(digests[table].items())
                    if year == _ALL_YEARS or first <= year <= last
                ]
            out[(ind_id, period)] = _digest(parts)
    return out


def last_fingerprints(spark: SparkSession, warehouse: Warehouse) -> dict[tuple[str, int], str]:
    """The fingerprint of every (indicator, period) as last published."""
    if not warehouse.exists(spark, COMPUTATIONS.name):
        return {}
    rows = warehouse.read(spark, COMPUTATIONS.name).select("indicator_id", "period", "fingerprint")
    return {(r.indicator_id, int(r.period)): r.fingerprint for r in rows.collect()}


def stale(
    now: dict[tuple[str, int], str], last: dict[tuple[str, int], str]
) -> dict[str, list[int]]:
    """The periods of each indicator whose fingerprint differs from the last published one
    (or that were never published)."""
    out: dict[str, list[int]] = {}
    for (ind_id, period), fingerprint in sorted(now.items()):
        if last.get((ind_id, period)) != fingerprint:
            out.setdefault(ind_id, []).append(period)
    return out


def computation_rows(
    prints: dict[tuple[str, int], str], plan: Plan, run_id: str
) -> list[tuple[str, int, str, str, str, dt.datetime]]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return [
        (ind_id, period, plan.hashes[ind_id], fingerprint, run_id, now)
        for (ind_id, period), fingerprint in sorted(prints.items())
    ]


def record_computations(
    spark: SparkSession,
    warehouse: Warehouse,
    prints: dict[tuple[str, int], str],
    plan: Plan,
    run_id: str,
) -> None:
    """Record the fingerprints of the periods just published (one Delta transaction)."""
    if not prints:
        return
    frame = spark.createDataFrame(computation_rows(prints, plan, run_id), COMPUTATIONS.schema)
    periods: dict[str, list[int]] = {}
    for ind_id, period in sorted(prints):
        periods.setdefault(ind_id, []).append(period)
    replace_where(spark, warehouse, COMPUTATIONS, frame, slices_predicate(periods))
