"""Code lists and column filters as Spark predicates.

Lists are expanded once into literal sets: exact codes become one ``isin`` (Spark turns a long
``IN`` into a hash-set lookup, ``InSet``); ATC prefixes become one ``isin`` per prefix length on
``substring``, so ``A10`` matches every ATC5 below it without a regex or a join.
"""

from __future__ import annotations

from collections import defaultdict

from pyspark.sql import Column
from pyspark.sql import functions as F

from phm.compile.plan import code_column
from phm.spec.models import CodeList


def column_filters(filters: dict) -> list[Column]:
    """``{column: value or [values]}`` of a spec as never-null tests, one per column."""
    return [
        F.coalesce(F.col(c).isin(v) if isinstance(v, list) else F.col(c) == F.lit(v), F.lit(False))
        for c, v in sorted(filters.items())
    ]


def matches(codelist: CodeList) -> Column:
    """True where the row's code column holds a code of the list (null codes never match)."""
    col = F.col(code_column(codelist))
    if codelist.system != "atc":
        return F.coalesce(col.isin(sorted(codelist.codes)), F.lit(False))
    by_length: dict[int, list[str]] = defaultdict(list)
    for code in codelist.codes:
        by_length[len(code)].append(code)
    tests = [
        (
            col.isin(sorted(codes))
            if length == 7
            else F.substring(col, 1, length).isin(sorted(codes))
        )
        for length, codes in sorted(by_length.items())
    ]
    out = tests[0]
    for test in tests[1:]:
        out = out | test
    return F.coalesce(out, F.lit(False))
