"""Feature aggregates: how the source rows a feature selects become one value per person-year.

Each kind is one subclass of :class:`Aggregate`, registered under its ``name`` by being
defined. It declares its shape (does it read a column ``of``, must that column be numeric, can
it add up over a window of years or a season, can it take a per-code threshold ``having``, which
sources it reads) and its behaviour: the value of a person-year without any selected row
(``fill``), its description, and its Spark aggregate, either in one group-by per person and year
(:meth:`Aggregate.column`) or in two levels, per person, year and code then per person and year
(:meth:`Aggregate.per_code`, for sources with a per-code grain such as pharmacy's ATC5).

``cond`` is the row condition of the feature (its code list, filters, window and season), or
None when every row counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pyspark.sql import Column

    from phm.spec.models import Feature

AGGREGATES: dict[str, Aggregate] = {}


def _listing(names: Iterable[str]) -> str:
    """'a, b or c'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def when_selected(cond: Column | None, value: Column) -> Column:
    """``value`` on the rows ``cond`` selects (every row when None), else null."""
    from pyspark.sql import functions as F

    return value if cond is None else F.when(cond, value)


def _of(f: Feature) -> Column:
    """The column ``of`` of a feature whose kind ``reads_of`` (the spec models require it)."""
    from pyspark.sql import functions as F

    assert f.of is not None  # Aggregate.check: a kind that reads_of needs 'of'
    return F.col(f.of)


def _present(cond: Column | None) -> Column:
    """1 for a selected row, 0 for another."""
    from pyspark.sql import functions as F

    return F.when(cond, 1).otherwise(0) if cond is not None else F.lit(1)


class Aggregate:
    """One kind of feature aggregate (subclasses register themselves by ``name``)."""

    name: ClassVar[str]
    doc: ClassVar[str]  # one line, in the JSON Schema and docs/specs.md
    reads_of: ClassVar[bool] = False  # needs 'of', the column it aggregates
    numeric_of: ClassVar[bool] = False  # ... which must be numeric
    kind: ClassVar[str] = "number"  # variable kind of the feature: 'number' or 'flag'
    # verb of look-back messages ("feature x counts 2 years ...") for kinds that a window or a
    # season can add up over; empty: the kind takes neither
    over_years: ClassVar[str] = ""
    takes_having: ClassVar[bool] = False  # a per-code threshold (pharmacy)
    sources: ClassVar[tuple[str, ...] | None] = None  # None: any source table
    # its partial aggregate is a list: Spark then runs the whole group-by as an object hash
    # aggregate that falls back to sorting, so the pass gives such features a group-by of their own
    collects_lists: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        AGGREGATES[cls.name] = cls()

    # -- shape -------------------------------------------------------------------------------
    def check(self, f: Feature) -> str | None:
        """What is wrong with a feature of this kind, or None (the spec models raise it)."""
        if self.reads_of and not f.of:
            return f"aggregate {self.name!r} needs 'of' (the column)"
        if not self.reads_of and f.of:
            return f"aggregate {self.name!r} takes no 'of'"
        if self.sources is not None and f.source not in self.sources:
            return (
                f"aggregate {self.name!r} reads {' or '.join(self.sources)}: give source: "
                f"{self.sources[0]}"
            )
        windowed = _listing(n for n, a in AGGREGATES.items() if a.over_years)
        if f.window_years > 1 and not self.over_years:
            return f"window_years > 1 only adds up {windowed} over the years"
        if f.season is not None and (f.window_years > 1 or not self.over_years):
            return f"a season goes with aggregate {windowed}, without window_years"
        if f.having is not None and not self.takes_having:
            having = _listing(n for n, a in AGGREGATES.items() if a.takes_having)
            return f"'having' goes with aggregate {having} (codes reaching a threshold)"
        return None

    # -- behaviour ---------------------------------------------------------------------------
    def fill(self) -> bool | int:
        """The value of a person-year without any selected row."""
        return False if self.kind == "flag" else 0

    def describe(self, f: Feature) -> str:
        raise NotImplementedError

    def column(self, f: Feature, cond: Column | None) -> Column:
        """The aggregate over a person-year's rows, in one group-by."""
        raise NotImplementedError

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        """Two levels: the aggregate per person, year and ``code``, and the function that
        combines those per person and year. ``year`` is the period year a row counts for and
        ``date`` the row's date."""
        raise NotImplementedError

    def over_codes_reaching(self, reached: Column) -> Column:
        """With ``having`` (kinds that take it): the value per person and year from
        ``reached``, true for each code whose sum reaches the threshold."""
        raise NotImplementedError


class Count(Aggregate):
    name = "count"
    doc = "number of selected rows"
    over_years = "counts"

    def describe(self, f: Feature) -> str:
        return "number of rows"

    def column(self, f: Feature, cond: Column | None) -> Column:
        from pyspark.sql import functions as F

        return F.count(when_selected(cond, F.lit(1)))

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        from pyspark.sql import functions as F

        return F.count(when_selected(cond, F.lit(1))), lambda x: F.sum(x)


class Sum(Aggregate):
    name = "sum"
    doc = "sum of the column 'of' over the selected rows"
    reads_of = numeric_of = True
    over_years = "sums"

    def describe(self, f: Feature) -> str:
        return f"sum of {f.of}"

    def column(self, f: Feature, cond: Column | None) -> Column:
        from pyspark.sql import functions as F

        return F.sum(when_selected(cond, _of(f))).cast("double")

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        from pyspark.sql import functions as F

        return F.sum(when_selected(cond, _of(f))), lambda x: F.sum(x).cast("double")


class CountDistinct(Aggregate):
    name = "count_distinct"
    doc = "distinct values of the column 'of' (on pharmacy: distinct medicines, of: atc5)"
    reads_of = True
    takes_having = True

    def describe(self, f: Feature) -> str:
        return f"distinct {f.of}"

    def column(self, f: Feature, cond: Column | None) -> Column:
        from pyspark.sql import functions as F

        return F.count_distinct(when_selected(cond, _of(f)))

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        from pyspark.sql import functions as F

        # distinct codes: present per code, then counted
        return F.max(_present(cond)), lambda x: F.sum(F.when(code.isNotNull(), x))

    def over_codes_reaching(self, reached: Column) -> Column:
        from pyspark.sql import functions as F

        return F.count(F.when(reached, 1))


class AnyRow(Aggregate):
    name = "any"
    doc = "true when at least one row is selected"
    kind = "flag"
    over_years = "looks at"
    takes_having = True

    def describe(self, f: Feature) -> str:
        return "at least one row"

    def column(self, f: Feature, cond: Column | None) -> Column:
        from pyspark.sql import functions as F

        return F.bool_or(cond if cond is not None else F.lit(True))

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        from pyspark.sql import functions as F

        return F.max(_present(cond)), lambda x: F.max(x) > 0

    def over_codes_reaching(self, reached: Column) -> Column:
        from pyspark.sql import functions as F

        return F.coalesce(F.bool_or(reached), F.lit(False))


class Max(Aggregate):
    name = "max"
    doc = "largest value of the column 'of' over the selected rows"
    reads_of = numeric_of = True

    def describe(self, f: Feature) -> str:
        return f"max of {f.of}"

    def column(self, f: Feature, cond: Column | None) -> Column:
        from pyspark.sql import functions as F

        return F.max(when_selected(cond, _of(f))).cast("double")

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        from pyspark.sql import functions as F

        return F.max(when_selected(cond, _of(f))), lambda x: F.max(x).cast("double")


class ProportionOfDaysCovered(Aggregate):
    name = "pdc"
    doc = (
        "proportion of days covered (0-1) from the first delivery in the year to 31 "
        "December, each delivery covering 'of' days (ddd), overlapping supplies shifted"
    )
    reads_of = numeric_of = True
    sources = ("pharmacy",)
    collects_lists = True

    def check(self, f: Feature) -> str | None:
        if f.of and (f.source != "pharmacy" or not f.codes):
            return (
                "aggregate 'pdc' reads pharmacy deliveries of a code list: give "
                "source: pharmacy and codes"
            )
        return super().check(f)

    def describe(self, f: Feature) -> str:
        return f"proportion of days covered ({f.of} = days, overlaps shifted)"

    def per_code(
        self, f: Feature, cond: Column | None, *, code: Column, year: Column, date: Column
    ) -> tuple[Column, Callable[[Column], Column]]:
        from pyspark.sql import functions as F

        supply = F.struct(
            F.datediff(date, F.make_date(year, F.lit(1), F.lit(1))).alias("d"),
            F.coalesce(_of(f).cast("double"), F.lit(0.0)).alias("s"),
        )
        return (
            F.collect_list(when_selected(cond, supply)),
            lambda x: proportion_of_days_covered(F.array_sort(F.flatten(F.collect_list(x))), year),
        )


def proportion_of_days_covered(supplies: Column, year: Column) -> Column:
    """PDC of one person-year from its deliveries sorted by day: ``d`` (day of the year, 0 =
    1 January) and ``s`` (days supplied). The period runs from the first delivery to
    31 December. A supply delivered before the previous one ran out starts when it ends
    (shifted, not double counted): the running end is ``e_i = max(d_i, e_{i-1}) + s_i``, a fold
    over the array (Spark's ``aggregate``, no Python UDF). Shifted supplies never overlap, so
    the days covered are the total supplied minus what spills past 31 December."""
    from pyspark.sql import functions as F

    from phm.execute.person_year import days_in_year  # the one leap-year rule of phm

    year_days = days_in_year(year)
    end = F.aggregate(
        supplies, F.lit(-1.0e9), lambda acc, x: F.greatest(x["d"].cast("double"), acc) + x["s"]
    )
    total = F.aggregate(supplies, F.lit(0.0), lambda acc, x: acc + x["s"])
    covered = total - F.greatest(F.lit(0.0), end - year_days)
    period = year_days - supplies[0]["d"]
    return F.when(F.size(supplies) > 0, covered / period)
