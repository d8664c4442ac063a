"""Compare two warehouses' published results cell by cell: are two runs identical?

Used to show that a refactoring or an optimisation leaves every published figure unchanged::

    .venv/bin/python benchmarks/compare_results.py WAREHOUSE_BEFORE WAREHOUSE_AFTER

Both warehouses must hold the same source data and the same cell-key secret (copy a generated
warehouse, then run the two code versions on the copies). Rows are matched on the results key
(indicator, period, geography level and code, breakdown); every other column except the run's
own (``run_id``, ``computed_at``) must be equal, nulls included, doubles exactly: published
figures are rounded, so any difference is a real one. The risk models are compared the same
way. Prints the differing columns with a few examples and exits 1 when anything differs.
"""

from __future__ import annotations

import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from phm.data.warehouse import Warehouse
from phm.publish.tables import RESULTS, RISK_MODELS
from phm.spark.session import get_spark

RUN_COLUMNS = {"run_id", "computed_at"}


def _comparable(frame: DataFrame) -> DataFrame:
    """Maps (not comparable in Spark) as their sorted entries in JSON; a marker of presence."""
    maps = {
        f.name: F.to_json(F.array_sort(F.map_entries(F.col(f.name))))
        for f in frame.schema.fields
        if isinstance(f.dataType, MapType)
    }
    return frame.withColumns({**maps, "_present": F.lit(True)})


def differences(a: DataFrame, b: DataFrame, key: list[str], examples: int = 3) -> dict[str, list]:
    """Per column (or 'missing_in_a' / 'missing_in_b'): how many keys differ, and examples."""
    values = [c for c in a.columns if c not in key and c not in RUN_COLUMNS]
    joined = (
        _comparable(a)
        .alias("a")
        .join(_comparable(b).alias("b"), key, "full_outer")
        .select(
            *key,
            *[
                F.col(f"{side}.{c}").alias(f"{side}__{c}")
                for side in ("a", "b")
                for c in [*values, "_present"]
            ],
        )
    )
    present_a, present_b = F.col("a___present").isNotNull(), F.col("b___present").isNotNull()
    checks = {"missing_in_a": ~present_a, "missing_in_b": ~present_b}
    checks |= {
        c: present_a & present_b & ~F.col(f"a__{c}").eqNullSafe(F.col(f"b__{c}")) for c in values
    }
    counts = joined.agg(*[F.sum(t.cast("int")).alias(n) for n, t in checks.items()]).collect()[0]
    out = {}
    for name, test in checks.items():
        n = int(counts[name] or 0)
        if n:
            shown = [*key] + ([f"a__{name}", f"b__{name}"] if name in values else [])
            rows = joined.where(test).select(*shown).limit(examples).collect()
            out[name] = [n, [r.asDict() for r in rows]]
    return out


def compare(spark, before: str, after: str) -> bool:
    same = True
    for table in (RESULTS, RISK_MODELS):
        wa, wb = Warehouse.at(before), Warehouse.at(after)
        if not (wa.exists(spark, table.name) or wb.exists(spark, table.name)):
            continue
        a, b = wa.read(spark, table.name), wb.read(spark, table.name)
        diff = differences(a, b, list(table.key))
        rows = a.count()
        if diff:
            same = False
            print(f"{table.name}: DIFFERENT ({rows} rows before, {b.count()} after)")
            for name, (n, shown) in diff.items():
                print(f"  {name}: {n} row(s), e.g. {shown}")
        else:
            print(
                f"{table.name}: identical, {rows} rows, every column but "
                f"{', '.join(sorted(RUN_COLUMNS & set(a.columns)))}"
            )
    return same


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    spark = get_spark("compare-results")
    return 0 if compare(spark, *argv) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
