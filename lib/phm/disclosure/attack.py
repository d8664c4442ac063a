"""An attacker holding everything a run published, to check the protection.

The attacker is deliberately stronger than a real one:

- **It knows the structure of the persons.** Persons are grouped into *atoms*: persons of the
  same year, municipality, custom areas and breakdown values who fall in exactly the same
  numerators and denominators of every indicator. Every published person count is a sum of
  atom sizes, so the atoms capture every linear relation between published counts: within an
  indicator (geography, breakdowns, areas), across indicators (a denominator published in one
  indicator and hidden in another, a numerator that is another indicator's denominator, a
  complement), across levels. The attacker knows which atoms exist (a real one would not)
  but not their sizes.
- **It knows the method**: the perturbation table's largest noise ``D``, so a published count
  ``y`` bounds the true count to ``[y - D, y + D]``; that a published cell has at least ``m``
  persons (``m`` the minimum count) and that a published 0 is a true 0.

For each hidden count of 1 to ``m - 1`` persons (the cells the rule protects) it computes, by
linear programming (HiGHS), the smallest and largest size consistent with all
of the above, rounded inwards to integers; ``determined`` means both are equal. All atoms of
a year are unknowns of one linear program (no part of the truth is given away). Two audiences:
``public`` sees the exports (numerator and denominator values: person counts only where they
count persons), ``internal`` also sees the results table's person counts of every cell.

Hospital rows are in the same system: atoms also record, per indicator compared across
hospitals, the hospitals whose rows count their persons (a person with stays in two hospitals
counts in both), so hospitals link to the geography through the same persons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from phm.registry.geography import GEO, GEO_COLUMNS

# the atoms' column of each geography level with one (Belgium has one unit)
GEO_LEVELS = {name: column for name, column in GEO_COLUMNS.items() if column}
HOSPITAL = "hospital"
PUBLIC, INTERNAL = "public", "internal"


@dataclass(frozen=True)
class Indicator:
    """What the attacker knows of an indicator's definition."""

    id: str
    min_count: int
    numerator_counts_persons: bool  # proportions of persons, persons with an event
    denominator_counts_persons: bool  # everything but ratios and stay-grain indicators


def person_atoms(person_year, plan, index=None) -> pd.DataFrame:
    """Atoms of the person-year table (Spark in, a small pandas frame out): one row per
    distinct (year, geography, areas, breakdown values, in-numerator and in-denominator flags
    of every indicator, and for indicators compared per hospital the hospitals whose
    numerator and denominator count the person) with its number of persons. ``index`` is the
    run's index-event table (needed for hospital rows)."""
    from pyspark.sql import functions as F

    from phm.execute.aggregate import STRATA, breakdown_values, person_measures, top_thresholds

    flags = {}
    tops = top_thresholds(person_year, plan)
    for k, ind in enumerate(plan.indicators):
        measures = person_measures(ind, k, tops)
        flags[f"n{k}"] = measures[f"m{k}_npers"]
        flags[f"d{k}"] = measures[f"m{k}_dpers"]
    dims = breakdown_values(plan)
    strata = {d: F.col(d).cast("string") for d in plan.dims if d in STRATA}
    areas = [f"area_{a}" for a, _ in plan.area_sets]
    rows = (
        person_year.withColumn("_key", F.lit(0))
        .withColumns(flags)
        .withColumns(dims)
        .withColumns(strata)
    )
    hospitals = []
    if index is not None:
        rows, hospitals = _with_hospitals(rows, index, plan)
    keys = ["year", *GEO_LEVELS.values(), *areas, *dims, *strata, *flags, *hospitals]
    return rows.groupBy(*keys).agg(F.count("*").alias("persons")).toPandas()


def _with_hospitals(rows, index, plan):
    """Columns h{side}{k}: the hospitals (comma-separated, sorted) in whose row of indicator k
    the person is counted, as numerator (n) or denominator (d) persons."""
    from pyspark.sql import functions as F

    from phm.execute.events import followed_flag, index_flag

    columns = []
    for k, ind in enumerate(plan.indicators):
        if ind.hospital_comparison is None:
            continue
        e = ind.events
        stays = (
            index.where(F.col(index_flag(e)))
            .groupBy("person_id", "year")
            .agg(
                F.array_join(F.array_sort(F.collect_set("hospital_id")), ",").alias(f"hd{k}"),
                F.array_join(
                    F.array_sort(
                        F.collect_set(F.when(F.col(followed_flag(e)), F.col("hospital_id")))
                    ),
                    ",",
                ).alias(f"hn{k}"),
            )
        )
        rows = rows.join(stays, ["person_id", "year"], "left")
        # only persons of the indicator's population are in its hospital rows
        rows = rows.withColumns(
            {
                f"hd{k}": F.when(
                    F.col(f"d{k}") > 0, F.coalesce(F.col(f"hd{k}"), F.lit(""))
                ).otherwise(F.lit("")),
                f"hn{k}": F.when(
                    F.col(f"d{k}") > 0, F.coalesce(F.col(f"hn{k}"), F.lit(""))
                ).otherwise(F.lit("")),
            }
        )
        columns += [f"hd{k}", f"hn{k}"]
    return rows, columns


@dataclass
class System:
    """Published person counts as sums of atoms, with what the attacker knows of each."""

    atoms: pd.DataFrame  # one row per atom (geography, persons = the truth)
    counts: pd.DataFrame  # one row per count: cell key, side, truth, low/high known, hidden
    matrix: sparse.csr_matrix  # counts x atoms, 1 where the atom is counted


def definitions(plan) -> list[Indicator]:
    """What the attacker reads in the specs: which published values count persons."""
    out = []
    for ind in plan.indicators:
        persons = ind.grain == "person"
        out.append(
            Indicator(
                ind.id,
                ind.disclosure.min_count,
                numerator_counts_persons=persons
                or (ind.grain == "person_year" and ind.measure.kind == "proportion"),
                denominator_counts_persons=persons
                or (ind.grain == "person_year" and ind.measure.kind != "ratio"),
            )
        )
    return out


def published_system(spark, warehouse, plan, max_noise: int, audience: str = PUBLIC) -> System:
    """The system of a run's published results (truth from the working tables of the latest
    run that built them). ``plan`` must be the plan of that run, and the run must have computed
    every period published (a full run: an incremental one keeps the stale periods only)."""
    from pyspark.sql import functions as F

    from phm.runs.indicators import latest_work

    work = latest_work(spark, warehouse)
    index = work.read(spark, "index_events") if plan.events else None
    atoms = person_atoms(work.read(spark, "person_year"), plan, index)
    ids = [i.id for i in plan.indicators]
    results = (
        warehouse.read(spark, "results")
        .where(F.col("indicator_id").isin(ids))
        .drop("breakdown")
        .toPandas()
    )
    return linear_system(atoms, results, definitions(plan), max_noise, audience)


def linear_system(
    atoms: pd.DataFrame,
    results: pd.DataFrame,
    indicators: list[Indicator],
    max_noise: int,
    audience: str = PUBLIC,
) -> System:
    """Every non-hospital cell of ``results`` (numerator and denominator person counts) as a
    row of the atom matrix, with the bounds the audience can read from what is published."""
    atoms = atoms.reset_index(drop=True)
    rows, cols, frames = [], [], []
    for k, ind in enumerate(indicators):
        res = results[results.indicator_id == ind.id].reset_index(drop=True)
        if res.empty:
            continue
        dims = res["breakdown_key"].map(
            lambda key: tuple(p.split("=", 1)[0] for p in key.split("|") if p)
        )
        cell_of = {
            key: i
            for i, key in enumerate(
                res["period"].astype(str)
                + "#"
                + res["geo_level"]
                + "#"
                + res["geo_code"]
                + "#"
                + res["breakdown_key"]
            )
        }
        for side in ("n", "d"):
            counted = atoms.index[atoms[f"{side}{k}"].to_numpy() > 0]
            sub = atoms.loc[counted]
            offset = sum(len(f) for f in frames)
            for level, dimset in sorted(set(zip(res["geo_level"], dims))):
                if level == HOSPITAL:
                    keys = _hospital_cell_keys(sub, f"h{side}{k}")
                else:
                    keys = _atom_cell_keys(sub, level, dimset)
                idx = keys.map(cell_of)
                found = idx.notna().to_numpy()
                rows.append(offset + idx[found].astype(np.int64).to_numpy())
                cols.append(keys.index[found].to_numpy())
            frames.append(_count_rows(res, ind, side, max_noise, audience))
    counts = pd.concat(frames, ignore_index=True)
    r, c = np.concatenate(rows), np.concatenate(cols)
    matrix = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(counts), len(atoms)))
    truth = matrix @ atoms["persons"].to_numpy(float)
    counts["truth"] = np.rint(truth).astype(np.int64)
    return System(atoms, counts, matrix)


def _atom_cell_keys(atoms: pd.DataFrame, level: str, dims: tuple[str, ...]) -> pd.Series:
    if level in GEO and GEO[level].column is None:
        geo = pd.Series(GEO[level].code, index=atoms.index)
    elif level.startswith("area:"):
        geo = atoms[f"area_{level[5:]}"].astype(object)
    else:
        geo = atoms[GEO_LEVELS[level]].astype(object)
    key = atoms["year"].astype(str) + "#" + level + "#" + geo.fillna("\0").astype(str) + "#"
    parts = [d + "=" + atoms[d.replace(":", "_")].astype(str) for d in sorted(dims)]
    if parts:
        joined = parts[0]
        for p in parts[1:]:
            joined = joined + "|" + p
        key = key + joined
    return key


def _hospital_cell_keys(atoms: pd.DataFrame, column: str) -> pd.Series:
    """One key per (atom, hospital of the atom's persons): a person with stays in two
    hospitals counts in both rows."""
    if column not in atoms:
        return pd.Series([], dtype=object)
    hospitals = atoms[column].str.split(",").explode()
    hospitals = hospitals[hospitals.notna() & (hospitals != "")]
    years = atoms.loc[hospitals.index, "year"].astype(str)
    return years + "#" + HOSPITAL + "#" + hospitals + "#"


def _count_rows(
    res: pd.DataFrame, ind: Indicator, side: str, max_noise: int, audience: str
) -> pd.DataFrame:
    hidden = res["suppressed"].to_numpy(bool)
    if audience == INTERNAL:
        column = "numerator_persons" if side == "n" else "denominator_persons"
    else:
        persons = ind.numerator_counts_persons if side == "n" else ind.denominator_counts_persons
        column = ("numerator" if side == "n" else "denominator") if persons else None
    y = res[column].to_numpy(float) if column else np.full(len(res), np.nan)
    y = np.where(hidden, np.nan, y)
    low = np.where(y == 0, 0.0, np.maximum(y - max_noise, ind.min_count))
    high = y + max_noise
    if side == "n" and audience == PUBLIC and ind.numerator_counts_persons:
        # a proportion's numerator is capped at its denominator: a cap hides how far above
        high = np.where(
            res["numerator"].to_numpy(float) >= res["denominator"].to_numpy(float), np.inf, high
        )
    return pd.DataFrame(
        {
            "indicator_id": ind.id,
            "period": res["period"].to_numpy(),
            "geo_level": res["geo_level"],
            "geo_code": res["geo_code"],
            "breakdown_key": res["breakdown_key"],
            "side": side,
            "hidden": hidden,
            "low": low,
            "high": high,
            "min_count": ind.min_count,
        }
    )


def targets(system: System) -> pd.DataFrame:
    """The counts the rule protects: hidden, with 1 to min_count - 1 persons."""
    c = system.counts
    return c[c.hidden & (c.truth >= 1) & (c.truth < c.min_count)]


@dataclass(frozen=True)
class Interval:
    low: int
    high: int

    @property
    def width(self) -> int:
        return self.high - self.low


class Attacker:
    """The smallest and largest size of a count consistent with everything published, over
    all atoms of one year.

    Constraints: every published count within its bounds; the numerator persons of every
    blank cell between 0 and ``m - 1 + D`` (the linear relaxation of the hiding rule); no
    atom negative. Identical rows (a denominator shared by
    indicators) are merged with the tightest bounds. (Atoms of at least one person would hand
    the attacker the list of persons: with sparse data an atom is often one person.)

    The program is solved exactly by column generation, which is what makes a whole catalogue
    tractable (a demo year: 20,000 atoms, 40,000 distinct counts, 3 million non-zeros; the
    whole program costs minutes per solve, a target's few hundred atoms a second). Unknowns
    are each atom's deviation from its true size, split in an increase and a decrease, so
    "every atom at its true size" is a feasible start and an atom left out of the program sits
    at its true size. The program starts with the target's atoms and adds, each round, the
    atoms whose reduced cost (from the duals of the rows present) says they would improve the
    objective, with every row they touch; it stops when no atom would, which proves the
    optimum of the whole program (the duals of the rows present, zero elsewhere, are then
    feasible for the whole program), or when the count reaches the end of what a blank cell
    allows (0, or ``m - 1 + D``). The truth only serves as the starting point: the interval
    is the one of the whole program whatever the start.
    """

    ROUND = 200  # atoms added per round, the most attractive first

    def __init__(self, system: System, year: int, max_noise: int):
        self.system, self.max_noise = system, max_noise
        counts = system.counts
        self.cols = np.flatnonzero(system.atoms["year"].to_numpy() == year)
        # a blank cell has fewer than m numerator persons or fewer than m denominator
        # persons (true or perturbed), and never more of the first than of the second:
        # either way at most m - 1 + D numerator persons; its denominator may be anything
        hidden = counts["hidden"].to_numpy()
        small = hidden & (counts["side"].to_numpy() == "n")
        low = np.where(small, 0.0, np.where(hidden, np.nan, counts["low"].to_numpy(float)))
        high = np.where(
            small,
            counts["min_count"].to_numpy(float) - 1 + max_noise,
            np.where(hidden, np.nan, counts["high"].to_numpy(float)),
        )
        rows = np.flatnonzero(
            (counts["period"].to_numpy() == year) & (np.isfinite(low) | np.isfinite(high))
        )
        a = system.matrix[rows][:, self.cols].tocsr()
        a, low, high = _merge_identical_rows(a, low[rows], high[rows])
        self.a, self.by_col = a, a.tocsc()
        self.truth = system.atoms["persons"].to_numpy(float)[self.cols]
        activity = a @ self.truth
        # bounds of the deviations: rows from their true activity, atoms from 0 and from the
        # smallest upper bound of a row that counts them (implied, so the program is the same)
        self.row_low, self.row_high = low - activity, high - activity
        smallest = np.full(a.shape[1], np.inf)
        np.minimum.at(smallest, a.indices, np.repeat(high, np.diff(a.indptr)))
        self.increase = smallest - self.truth
        if (self.row_low > 1e-9).any() or (self.row_high < -1e-9).any():
            raise ValueError(
                "the truth does not satisfy the published bounds: the system "
                "does not describe this publication"
            )

    def interval(self, target: int) -> Interval:
        """Smallest and largest size of count ``target`` the attacker cannot rule out."""
        cost = self.system.matrix.getrow(target)[:, self.cols].toarray().ravel()
        true = float(cost @ self.truth)
        cap = int(self.system.counts["min_count"].iloc[target]) - 1 + self.max_noise
        low = true + self._minimum(cost, stop=-true)
        high = true - self._minimum(-cost, stop=true - cap)
        return Interval(int(np.ceil(low - 1e-6)), min(int(np.floor(high + 1e-6)), cap))

    def _minimum(self, cost: np.ndarray, stop: float) -> float:
        """Minimum of ``cost . deviation`` over the whole program, or a value <= ``stop``
        once one is reached (nothing below it matters)."""
        import highspy

        highs = highspy.Highs()  # kHighsInf is float("inf")
        highs.setOptionValue("output_flag", False)
        # new atoms join at their true size, so the last basis stays feasible: primal simplex
        # goes on from it (presolve would discard it; the dual simplex is 15x slower here)
        highs.setOptionValue("presolve", "off")
        highs.setOptionValue("simplex_strategy", 4)
        n_rows = self.a.shape[0]
        row_at = np.full(n_rows, -1)  # row of the program -> its HiGHS row
        up_at = np.full(self.a.shape[1], -1)  # atom -> its increase column in HiGHS
        down_at = np.full(self.a.shape[1], -1)  # atom -> its decrease column
        present = np.zeros(self.a.shape[1], bool)

        def add(atoms: np.ndarray) -> None:
            sub = self.by_col[:, atoms]
            new = np.setdiff1d(np.unique(sub.indices), np.flatnonzero(row_at >= 0))
            if len(new):
                # rows join with their entries for the atoms already present
                old = np.flatnonzero(present)
                rows = self.a[new][:, old].tocsr()
                index = np.column_stack(
                    [up_at[old][rows.indices], down_at[old][rows.indices]]
                ).ravel()
                value = np.column_stack([rows.data, -rows.data]).ravel()
                row_at[new] = highs.getNumRow() + np.arange(len(new))
                highs.addRows(
                    len(new),
                    self.row_low[new],
                    self.row_high[new],
                    len(index),
                    (2 * rows.indptr[:-1]).astype(np.int32),
                    index.astype(np.int32),
                    value.astype(float),
                )
            index = row_at[sub.indices].astype(np.int32)
            start = sub.indptr[:-1].astype(np.int32)
            for sign, upper, at in (
                (1.0, self.increase[atoms], up_at),
                (-1.0, self.truth[atoms], down_at),
            ):
                at[atoms] = highs.getNumCol() + np.arange(len(atoms))
                highs.addCols(
                    len(atoms),
                    sign * cost[atoms],
                    np.zeros(len(atoms)),
                    upper,
                    sub.nnz,
                    start,
                    index,
                    sign * sub.data.astype(float),
                )
            present[atoms] = True

        add(np.flatnonzero(cost))
        while True:
            highs.run()
            status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kUnbounded:
                return -np.inf
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"attack LP: {highs.modelStatusToString(status)}")
            value = highs.getInfo().objective_function_value
            if value <= stop + 1e-9:
                return value
            dual = np.zeros(n_rows)
            placed = row_at >= 0
            dual[placed] = np.asarray(highs.getSolution().row_dual)[row_at[placed]]
            reduced = cost - self.by_col.T @ dual
            better = ~present & (
                ((reduced < -1e-9) & (self.increase > 0)) | ((reduced > 1e-9) & (self.truth > 0))
            )
            atoms = np.flatnonzero(better)
            if not len(atoms):
                return value
            add(atoms[np.argsort(-np.abs(reduced[atoms]))[: self.ROUND]])


def _merge_identical_rows(a: sparse.csr_matrix, low: np.ndarray, high: np.ndarray):
    """Rows counting the same atoms (a denominator shared by indicators) merged into one,
    with the tightest bounds."""
    keys = [a.indices[a.indptr[i] : a.indptr[i + 1]].tobytes() for i in range(a.shape[0])]
    frame = pd.DataFrame({"g": pd.factorize(pd.Series(keys))[0], "low": low, "high": high})
    merged = (
        frame.reset_index()
        .groupby("g")
        .agg(row=("index", "min"), low=("low", "max"), high=("high", "min"))
    )
    return a[merged["row"].to_numpy()], merged["low"].to_numpy(), merged["high"].to_numpy()


def audit(
    system: System,
    max_noise: int,
    *,
    limit: int | None = None,
    seed: int = 0,
    only: pd.Index | None = None,
) -> pd.DataFrame:
    """The attack on every protected count (or a random ``limit`` of them, or the counts
    ``only``): one row per count with its truth and the attacker's interval."""
    chosen = targets(system)
    if only is not None:
        chosen = chosen.loc[only]
    elif limit is not None and len(chosen) > limit:
        chosen = chosen.sample(limit, random_state=seed)
    out = []
    for year, group in chosen.groupby("period"):
        attacker = Attacker(system, int(year), max_noise)
        for i in group.index:
            found = attacker.interval(int(i))
            out.append(
                {**group.loc[i].to_dict(), "attack_low": found.low, "attack_high": found.high}
            )
    return pd.DataFrame(out)


def protected(found: pd.DataFrame) -> pd.Series:
    """The protection level: the attacker cannot narrow a hidden count beyond what a blank
    cell says (fewer than ``m`` persons): every count from 1 to ``m - 1`` stays possible."""
    return (found["attack_low"] <= 1) & (found["attack_high"] >= found["min_count"] - 1)
