"""Small-cell suppression of published indicator cells (IMA/AIM rule: no cell below 5 persons).

One call of :func:`suppress` handles the cells of ONE indicator and ONE period (it runs inside
Spark's ``groupBy(...).applyInPandas``), so it is pure pandas/numpy, deterministic and
independent of the row order of its input.

Cells
    ``geo_level`` ('municipality', 'arrondissement', 'province', 'region', 'belgium' or
    ``'area:<set_id>'``), ``geo_code``, one column per breakdown dimension (a category, or
    None/NaN for "total over this dimension"), ``num_persons`` and ``den_persons``. Any other
    column is passed through unchanged.

Primary suppression
    A cell is suppressed when ``den_persons < min_count``, or when ``num_persons < min_count``
    (a zero numerator is safe when ``zero_is_safe``: it describes nobody).

Complementary suppression
    Counts add up along every hierarchy, so each "group" of cells forms a linear equation
    ``parent = sum of children`` (for numerators and for denominators):

    * geography: a geo cell and every cell whose geographic parent it is (per
      :attr:`Hierarchy.geo_parent`), with all dimension values equal (None included);
    * custom areas: an ``area:*`` cell and the municipality cells of its members
      (:attr:`Hierarchy.area_members`), with all dimension values equal;
    * each dimension ``d``: for the same geography and the same values of the other dimensions,
      the cell with ``d`` = None and the cells with ``d`` = each category.

    A group exists only when its parent cell and at least one child are present. A group with
    exactly one suppressed member would let anyone recover that member by subtraction, so one
    more member is suppressed: the published child with the smallest ``den_persons`` (ties:
    smallest ``num_persons``, then the canonical order of the key columns), or the parent when
    no child is published any more. This is repeated until no group has exactly one suppressed
    member (a fixpoint; every step suppresses a new cell, so it terminates).

    This is the usual sequential heuristic. It guarantees that no suppressed cell can be
    recovered from a *single* equation, but it is not an optimal (minimum information loss)
    solution, and it does not defend against every attack combining several equations (e.g.
    two suppressed cells shared by two groups, solved as a linear system), nor against
    interval (bounds) disclosure.

Determinism: cells are first put in a canonical order (geographic level from the country down
to municipalities, then custom areas; geo code; for each dimension in ``dims`` order the total
first, then categories as sorted strings); groups are processed in that order of their parent
cell, geography before areas before dimensions. The result therefore depends only on the set
of cells, never on the input row order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PRIMARY = "primary"
COMPLEMENTARY = "complementary"

SUPPRESSED_COLUMN = "suppressed"
REASON_COLUMN = "suppression_reason"

AREA_PREFIX = "area:"
MUNICIPALITY = "municipality"

# Canonical order of the standard levels; custom areas come after, unknown levels last.
_LEVEL_RANK = {"belgium": 0, "region": 1, "province": 2, "arrondissement": 3, MUNICIPALITY: 4}
_AREA_RANK = 5
_UNKNOWN_RANK = 6

_REQUIRED = ("geo_level", "geo_code", "num_persons", "den_persons")

# Group types, in processing order for a given parent cell: geography, area, then one per dim.
_GEO, _AREA, _FIRST_DIM = 0, 1, 2


@dataclass(frozen=True)
class Hierarchy:
    """The geographic equations known to exist between cells.

    ``geo_parent`` maps ``(level, code)`` to its parent ``(level, code)``, e.g.
    ``('municipality', '11002') -> ('arrondissement', '11000')``,
    ``('arrondissement', '21000') -> ('region', '04000')`` (Brussels has no province),
    ``('region', '02000') -> ('belgium', '01000')``.

    ``area_members`` maps a custom area ``('area:<set_id>', code)`` to the NIS codes of the
    municipalities it is made of.
    """

    geo_parent: Mapping[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    area_members: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)


def suppress(
    cells: pd.DataFrame,
    dims: Sequence[str],
    hierarchy: Hierarchy,
    *,
    min_count: int = 5,
    zero_is_safe: bool = True,
) -> pd.DataFrame:
    """Return a copy of ``cells`` with ``suppressed`` (bool) and ``suppression_reason`` added.

    ``suppression_reason`` is ``'primary'``, ``'complementary'`` or None (published). Row order
    and index are kept; the input is not modified; existing columns of those two names are
    overwritten. See the module docstring for the rules and the limits of the heuristic.

    Raises ``ValueError`` when a required column is missing, a count or a geo key is null, or
    two cells share the same key (geo level, geo code, dimension values).
    """
    dims = list(dims)
    _validate(cells, dims, min_count)
    out = cells.copy()
    n = len(cells)
    if n == 0:
        out[SUPPRESSED_COLUMN] = pd.Series(dtype=bool, index=out.index)
        out[REASON_COLUMN] = pd.Series(dtype=object, index=out.index)
        return out

    num = cells["num_persons"].to_numpy().astype(np.int64)
    den = cells["den_persons"].to_numpy().astype(np.int64)
    small_num = num < min_count
    if zero_is_safe:
        small_num &= num != 0
    primary = (den < min_count) | small_num

    # --- canonical encoding of the keys -------------------------------------------------------
    levels = cells["geo_level"].astype(str).tolist()
    codes = cells["geo_code"].astype(str).tolist()
    nodes = sorted(set(zip(levels, codes)), key=_node_sort_key)
    node_id = {node: i for i, node in enumerate(nodes)}
    geo = np.fromiter((node_id[k] for k in zip(levels, codes)), dtype=np.int64, count=n)
    dim_codes = [_encode_dim(cells[d]) for d in dims]

    # Canonical cell order: geo node, then each dim (total first, then sorted categories).
    order = np.lexsort([*reversed(dim_codes), geo])
    geo = geo[order]
    dim_codes = [c[order] for c in dim_codes]
    num, den, primary = num[order], den[order], primary[order]
    keys = pd.MultiIndex.from_arrays([geo, *dim_codes])
    if not keys.is_unique:
        dup = np.flatnonzero(keys.duplicated())[0]
        row = cells.iloc[order[dup]]
        raise ValueError(
            "duplicate cell key: "
            + ", ".join(f"{c}={row[c]!r}" for c in ["geo_level", "geo_code", *dims])
        )

    def lookup(geo_q: np.ndarray, dims_q: list[np.ndarray]) -> np.ndarray:
        """Canonical position of the cells with these keys, -1 where absent."""
        if len(geo_q) == 0:
            return np.empty(0, dtype=np.int64)
        return keys.get_indexer(pd.MultiIndex.from_arrays([geo_q, *dims_q]))

    cell = np.arange(n, dtype=np.int64)
    g_type: list[np.ndarray] = []
    g_parent: list[np.ndarray] = []
    g_child: list[np.ndarray] = []

    def add(kind: int, parent: np.ndarray, child: np.ndarray) -> None:
        keep = parent >= 0
        g_type.append(np.full(int(keep.sum()), kind, dtype=np.int64))
        g_parent.append(parent[keep])
        g_child.append(child[keep])

    # Geography: parent node of every node (only nodes present among the cells matter).
    parent_node = np.array(
        [node_id.get(_as_node(hierarchy.geo_parent.get(node)), -1) for node in nodes],
        dtype=np.int64,
    )
    pnode = parent_node[geo]
    has = pnode >= 0
    add(_GEO, lookup(pnode[has], [c[has] for c in dim_codes]), cell[has])

    # Custom areas: area cell -> the municipality cells of its members, same dims.
    pairs = [
        (i, node_id[(MUNICIPALITY, m)])
        for i, (level, code) in enumerate(nodes)
        if level.startswith(AREA_PREFIX)
        for m in dict.fromkeys(str(m) for m in hierarchy.area_members.get((level, code), ()))
        if (MUNICIPALITY, m) in node_id
    ]
    if pairs:
        pair_area, pair_member = (np.array(x, dtype=np.int64) for x in zip(*pairs))
        # Each node's pairs are contiguous (pairs are built node by node).
        first = np.searchsorted(pair_area, np.arange(len(nodes)), side="left")
        last = np.searchsorted(pair_area, np.arange(len(nodes)), side="right")
        n_members = (last - first)[geo]
        area_cell = np.repeat(cell, n_members)
        offsets = np.arange(len(area_cell)) - np.repeat(np.cumsum(n_members) - n_members, n_members)
        member_node = pair_member[np.repeat(first[geo], n_members) + offsets]
        child = lookup(member_node, [c[area_cell] for c in dim_codes])
        found = child >= 0
        add(_AREA, area_cell[found], child[found])

    # Breakdown dimensions: (d = category) -> (d = None), all else equal.
    for j, codes_j in enumerate(dim_codes):
        has = codes_j >= 0
        query = [c[has] if k != j else np.full(int(has.sum()), -1) for k, c in enumerate(dim_codes)]
        add(_FIRST_DIM + j, lookup(geo[has], query), cell[has])

    kinds = np.concatenate(g_type)
    parents = np.concatenate(g_parent)
    children = np.concatenate(g_child)

    suppressed = primary.copy()
    if len(kinds):
        _complementary(
            suppressed, num, den, kinds, parents, children, n_kinds=_FIRST_DIM + len(dims)
        )

    # --- back to the input row order ----------------------------------------------------------
    supp_rows = np.empty(n, dtype=bool)
    supp_rows[order] = suppressed
    prim_rows = np.empty(n, dtype=bool)
    prim_rows[order] = primary
    reason = np.full(n, None, dtype=object)
    reason[supp_rows] = COMPLEMENTARY
    reason[prim_rows] = PRIMARY
    out[SUPPRESSED_COLUMN] = supp_rows
    out[REASON_COLUMN] = reason
    return out


def _complementary(
    suppressed: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    kinds: np.ndarray,
    parents: np.ndarray,
    children: np.ndarray,
    *,
    n_kinds: int,
) -> None:
    """Suppress cells (in place) until no group has exactly one suppressed member.

    ``(kinds, parents, children)`` list every (group kind, parent cell, child cell) link, with
    cells as canonical positions. A group is one (parent, kind) pair.
    """
    group_key = parents * n_kinds + kinds
    group_keys, group_of_link = np.unique(group_key, return_inverse=True)  # sorted: canonical
    n_groups = len(group_keys)
    group_parent = group_keys // n_kinds

    # Children of each group, cheapest first: smallest den, then num, then canonical position.
    by_cost = np.lexsort((children, num[children], den[children], group_of_link))
    child_sorted = children[by_cost]
    ends = np.cumsum(np.bincount(group_of_link, minlength=n_groups))
    starts = ends - np.bincount(group_of_link, minlength=n_groups)

    # Groups each cell belongs to (as parent or as child).
    member_cell = np.concatenate([group_parent, children])
    member_group = np.concatenate([np.arange(n_groups), group_of_link])
    by_cell = np.argsort(member_cell, kind="stable")
    cell_groups = member_group[by_cell].tolist()
    cell_end = np.cumsum(np.bincount(member_cell, minlength=len(suppressed)))
    cell_start = (cell_end - np.bincount(member_cell, minlength=len(suppressed))).tolist()
    cell_end = cell_end.tolist()

    counts = np.bincount(
        member_group, weights=suppressed[member_cell].astype(np.int64), minlength=n_groups
    ).astype(np.int64)

    supp = suppressed.tolist()
    child_list = child_sorted.tolist()
    parent_list = group_parent.tolist()
    ptr = starts.tolist()
    end_list = ends.tolist()
    count_list = counts.tolist()

    # Rounds: sweep the unsafe groups in canonical order; a fix may make other groups unsafe,
    # later in this sweep (handled now) or earlier (next round). Suppression is monotone, so
    # each group's pointer into its cost-sorted children only moves forward.
    while True:
        unsafe = np.flatnonzero(np.asarray(count_list) == 1).tolist()
        if not unsafe:
            break
        for g in unsafe:
            if count_list[g] != 1:
                continue
            p, e = ptr[g], end_list[g]
            while p < e and supp[child_list[p]]:
                p += 1
            ptr[g] = p
            # No published child left: the only child is the suppressed member, so the parent
            # is published (a group always has at least one child).
            target = child_list[p] if p < e else parent_list[g]
            supp[target] = True
            for h in cell_groups[cell_start[target] : cell_end[target]]:
                count_list[h] += 1

    suppressed[:] = supp


def _validate(cells: pd.DataFrame, dims: list[str], min_count: int) -> None:
    missing = [c for c in [*_REQUIRED, *dims] if c not in cells.columns]
    if missing:
        raise ValueError(f"cells lack column(s): {', '.join(missing)}")
    if len(set(dims)) != len(dims) or set(dims) & set(_REQUIRED):
        raise ValueError(f"invalid breakdown dims: {dims}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    for c in _REQUIRED:
        if cells[c].isna().any():
            raise ValueError(f"column {c} has null values")


def _node_sort_key(node: tuple[str, str]) -> tuple[int, str, str]:
    level, code = node
    rank = _LEVEL_RANK.get(level, _AREA_RANK if level.startswith(AREA_PREFIX) else _UNKNOWN_RANK)
    return rank, level, code


def _as_node(value: object) -> tuple[str, str] | None:
    if value is None:
        return None
    level, code = value  # type: ignore[misc]
    return str(level), str(code)


def _encode_dim(values: pd.Series) -> np.ndarray:
    """Integer code per cell: -1 for a total (None/NaN), else the rank of the category string."""
    is_total = values.isna().to_numpy()
    text = values.astype(object).where(~is_total, None)
    text[~is_total] = text[~is_total].astype(str)
    codes, _ = pd.factorize(text, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64)
